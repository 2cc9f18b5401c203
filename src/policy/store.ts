/**
 * The running PolicySet and its hot reload.
 *
 * A new file is validated before it replaces anything: an invalid one is
 * refused with every error logged, and the running policy stays. `watch()`
 * watches the file's directory (and its symlink target's), not the file,
 * so it sees editors that write a new file and rename it into place, and the
 * Kubernetes ConfigMap swap (the `..data` symlink replaced atomically).
 * Events are debounced (~100 ms) and a change is recognized by the content's
 * hash, so touching or re-saving the same content does nothing. A slow poll
 * (default 10 s) backs up file systems whose events are unreliable.
 */
import { createHash } from 'node:crypto';
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { AppError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { formatErrors } from './format.js';
import { parsePolicyText } from './parse.js';
import { EMPTY_POLICY_SET, type PolicySet } from './policy-set.js';
import type { PolicyError } from './schema.js';

export interface PolicyStoreOptions {
  /** Quiet time after the last file event before reloading (default 100 ms). */
  readonly debounceMs?: number;
  /** Period of the backup content check while watching; 0 turns it off (default 10 s). */
  readonly pollMs?: number;
}

export type ReloadResult =
  | { readonly ok: true; readonly revision: string; readonly changed: boolean }
  | { readonly ok: false; readonly errors: readonly PolicyError[] };

export type PolicyListener = (set: PolicySet, previous: PolicySet) => void;

type Read = { readonly text: string; readonly hash: string } | { readonly error: string; readonly hash: string };

async function readPolicy(file: string): Promise<Read> {
  try {
    const text = await readFile(file, 'utf8');
    return { text, hash: createHash('sha256').update(text).digest('hex') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return { error: code, hash: `error:${code}` };
  }
}

const readError = (code: string): PolicyError => ({ path: '', message: `cannot read the policy file (${code})`, fix: 'check the path and that hookwarden may read it' });

export class PolicyStore {
  readonly #file: string | undefined;
  readonly #log: Logger;
  readonly #debounceMs: number;
  readonly #pollMs: number;
  readonly #listeners = new Set<PolicyListener>();
  readonly #watchers = new Map<string, FSWatcher>();
  #set: PolicySet;
  #lastHash: string | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #debounce: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #watching = false;
  #closed = false;
  #reloads = 0;
  #refused = 0;

  private constructor(file: string | undefined, log: Logger, set: PolicySet, hash: string | undefined, options: PolicyStoreOptions) {
    this.#file = file;
    this.#log = log;
    this.#set = set;
    this.#lastHash = hash;
    this.#debounceMs = options.debounceMs ?? 100;
    this.#pollMs = options.pollMs ?? 10_000;
  }

  /** Load `file` (no file: the empty policy). An unreadable or invalid file is an AppError listing every problem. */
  static async open(file: string | undefined, log: Logger, options: PolicyStoreOptions = {}): Promise<PolicyStore> {
    if (file === undefined) return new PolicyStore(undefined, log, EMPTY_POLICY_SET, undefined, options);
    const path = resolve(file);
    const read = await readPolicy(path);
    const result = 'text' in read ? parsePolicyText(read.text) : { ok: false as const, errors: [readError(read.error)] };
    if (!result.ok) {
      throw new AppError('EXH_POLICY_INVALID', `policy file ${file} has ${result.errors.length} error(s):\n${formatErrors(result.errors)}`);
    }
    log.info({ file: path, revision: result.set.revision, policies: result.set.entries.length, needs: result.set.needs }, 'policy loaded');
    return new PolicyStore(path, log, result.set, read.hash, options);
  }

  /** The running policy set. */
  current(): PolicySet {
    return this.#set;
  }

  get file(): string | undefined {
    return this.#file;
  }

  /** Changes applied and files refused since start (for the metrics). */
  counts(): { readonly reloads: number; readonly refused: number } {
    return { reloads: this.#reloads, refused: this.#refused };
  }

  /** Re-read and validate now (SIGHUP). Invalid: errors logged and returned, the running policy stays. */
  reload(): Promise<ReloadResult> {
    return this.#serial(() => this.#load(true));
  }

  /** Be told of every change of revision (not of refused files). Returns the unsubscribe function. */
  onChange(listener: PolicyListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Reload on file changes (see the module comment). Does nothing without a file. */
  watch(): void {
    if (this.#file === undefined || this.#watching || this.#closed) return;
    this.#watching = true;
    void this.#serial(() => this.#rewatch());
    if (this.#pollMs > 0) {
      this.#poll = setInterval(() => void this.#serial(() => this.#load(false)), this.#pollMs);
      this.#poll.unref();
    }
  }

  /** Stop watching; an ongoing reload finishes first. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#debounce);
    clearInterval(this.#poll);
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
    this.#listeners.clear();
    await this.#chain;
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(task);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #onEvent(): void {
    if (this.#closed) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.#serial(() => this.#load(false)), this.#debounceMs);
    this.#debounce.unref();
  }

  /** Watch the file's directory and, when it is a symlink, its target's directory (which a ConfigMap swap replaces). */
  async #rewatch(): Promise<void> {
    const file = this.#file;
    if (file === undefined || this.#closed) return;
    const dirs = new Set([dirname(file)]);
    try {
      dirs.add(dirname(await realpath(file)));
    } catch {
      // missing for now: the directory watch will see it come back
    }
    for (const [dir, w] of this.#watchers) {
      if (!dirs.has(dir)) {
        w.close();
        this.#watchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (this.#watchers.has(dir)) continue;
      try {
        const w = fsWatch(dir, { persistent: false }, () => this.#onEvent());
        w.on('error', () => {
          w.close();
          if (this.#watchers.get(dir) === w) this.#watchers.delete(dir);
          this.#onEvent();
        });
        this.#watchers.set(dir, w);
      } catch (err) {
        this.#log.warn({ dir, err: (err as Error).message }, 'cannot watch the policy directory; relying on the periodic check and SIGHUP');
      }
    }
  }

  async #load(forced: boolean): Promise<ReloadResult> {
    const file = this.#file;
    if (file === undefined) return { ok: true, revision: this.#set.revision, changed: false };
    const read = await readPolicy(file);
    if (this.#watching) await this.#rewatch();
    const unchanged = read.hash === this.#lastHash;
    if (unchanged && !forced) return { ok: true, revision: this.#set.revision, changed: false };
    this.#lastHash = read.hash;
    const result = 'text' in read ? parsePolicyText(read.text) : { ok: false as const, errors: [readError(read.error)] };
    if (!result.ok) {
      this.#refused++;
      this.#log.error(
        { file, errors: result.errors, running: this.#set.revision },
        `policy file refused (${result.errors.length} error(s)); the running policy stays:\n${formatErrors(result.errors)}`,
      );
      return { ok: false, errors: result.errors };
    }
    const previous = this.#set;
    if (result.set.revision === previous.revision) {
      if (forced) this.#log.info({ file, revision: previous.revision }, 'policy unchanged');
      return { ok: true, revision: previous.revision, changed: false };
    }
    this.#set = result.set;
    this.#reloads++;
    this.#log.info({ file, revision: result.set.revision, previous: previous.revision, needs: result.set.needs }, 'policy reloaded');
    for (const listener of this.#listeners) {
      try {
        listener(result.set, previous);
      } catch (err) {
        this.#log.error({ err }, 'a policy change listener failed');
      }
    }
    return { ok: true, revision: result.set.revision, changed: true };
  }
}
