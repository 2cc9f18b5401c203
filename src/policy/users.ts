/**
 * Password hashes for `users:` and the credential check of
 * `authenticate: users`.
 *
 * The KDF (scrypt, or pbkdf2) runs on libuv's thread pool through node's
 * async crypto, never on the event loop, at most `concurrency` at a time;
 * at most `maxQueue` more wait, and beyond that a check answers
 * `not_checked` at once, so a reconnect storm can neither stall other hooks
 * nor build an unbounded backlog. Identical concurrent checks share one
 * derivation. Verified results are cached (bounded LRU with a TTL) under an
 * HMAC of (username, password, stored hash) with a per-process random key:
 * the cache never holds a password, and a changed hash or password misses.
 * Unknown usernames cost one derivation against a dummy hash, so timing
 * does not reveal which usernames exist.
 */
import { createHmac, pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Credentials } from '../domain/policy.types.js';
import type { Secret } from '../domain/secret.js';
import { formatPbkdf2, formatScrypt, parsePasswordHash, PBKDF2_DEFAULTS, SCRYPT_DEFAULTS, type PasswordHash } from './password-hash.js';
import type { UserTable } from './policy-set.js';

export interface HashOptions {
  readonly scheme?: 'scrypt' | 'pbkdf2-sha256' | 'pbkdf2-sha512';
  /** scrypt cost (power of two), block size, parallelism. */
  readonly N?: number;
  readonly r?: number;
  readonly p?: number;
  /** pbkdf2 iterations. */
  readonly iterations?: number;
}

function derive(plain: string, h: PasswordHash): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, key: Buffer): void => (err ? reject(err) : resolve(key));
    if (h.scheme === 'scrypt') {
      scrypt(plain, h.salt, h.hash.length, { N: h.N, r: h.r, p: h.p, maxmem: 128 * h.r * (h.N + h.p + 2) + 1024 * 1024 }, done);
    } else pbkdf2(plain, h.salt, h.iterations, h.hash.length, h.digest, done);
  });
}

/** A `password_hash` for `plain` (scrypt N=2^14, r=8, p=1 unless told otherwise). */
export async function hashPassword(plain: string, opts: HashOptions = {}): Promise<string> {
  const scheme = opts.scheme ?? 'scrypt';
  const salt = randomBytes(SCRYPT_DEFAULTS.saltBytes);
  const placeholder = Buffer.alloc(SCRYPT_DEFAULTS.hashBytes);
  const text =
    scheme === 'scrypt'
      ? formatScrypt(opts.N ?? SCRYPT_DEFAULTS.N, opts.r ?? SCRYPT_DEFAULTS.r, opts.p ?? SCRYPT_DEFAULTS.p, salt, placeholder)
      : formatPbkdf2(scheme === 'pbkdf2-sha256' ? 'sha256' : 'sha512', opts.iterations ?? PBKDF2_DEFAULTS.iterations, salt, placeholder);
  const template = parsePasswordHash(text); // validates the parameters
  if ('problem' in template) throw new RangeError(`cannot hash with these parameters: ${template.problem}`);
  const key = await derive(plain, template);
  return text.slice(0, text.lastIndexOf('$') + 1) + key.toString('base64');
}

/** Whether `plain` matches `stored` (constant-time comparison). */
export async function verifyPassword(plain: string, stored: PasswordHash | string): Promise<boolean> {
  const h = typeof stored === 'string' ? parsePasswordHash(stored) : stored;
  if ('problem' in h) throw new RangeError(h.problem);
  const key = await derive(plain, h);
  return key.length === h.hash.length && timingSafeEqual(key, h.hash);
}

/** Where verified results are kept; an LRU with a TTL unless one is given. Keys are HMACs, values `true`. */
export interface CredentialCache {
  get(key: string): true | undefined;
  set(key: string, value: true): unknown;
  clear(): void;
  readonly size: number;
}

export interface CredentialCheckerOptions {
  /** The current users (the running policy's `users`); none by default. */
  readonly users?: () => UserTable;
  /** Derivations at once (default 2, leaving libuv's other pool threads free). */
  readonly concurrency?: number;
  /** Checks that may wait for a slot (default 32); beyond it, `not_checked` at once. */
  readonly maxQueue?: number;
  /** Verified results kept (default 10000) and for how long (default 15 min). */
  readonly cacheSize?: number;
  readonly cacheTtlMs?: number;
  /** Replaces the built-in LRU (cacheSize and cacheTtlMs then do not apply). */
  readonly cache?: CredentialCache;
}

export interface CredentialStats {
  readonly running: number;
  readonly queued: number;
  readonly cached: number;
  readonly derivations: number;
  readonly cacheHits: number;
  readonly rejected: number;
}

type Outcome = boolean | undefined; // undefined: not checked (deadline passed or KDF error)

export class CredentialChecker {
  readonly #users: () => UserTable;
  readonly #concurrency: number;
  readonly #maxQueue: number;
  readonly #cache: CredentialCache;
  readonly #hmacKey = randomBytes(32);
  readonly #inflight = new Map<string, Promise<Outcome>>();
  readonly #queue: (() => void)[] = [];
  readonly #dummy: PasswordHash;
  #running = 0;
  #derivations = 0;
  #cacheHits = 0;
  #rejected = 0;

  constructor(options: CredentialCheckerOptions = {}) {
    this.#users = options.users ?? (() => new Map());
    this.#concurrency = Math.max(1, options.concurrency ?? 2);
    this.#maxQueue = Math.max(0, options.maxQueue ?? 32);
    this.#cache = options.cache ?? new LRUCache<string, true>({ max: Math.max(1, options.cacheSize ?? 10_000), ttl: options.cacheTtlMs ?? 15 * 60_000 });
    const dummy = parsePasswordHash(formatScrypt(SCRYPT_DEFAULTS.N, SCRYPT_DEFAULTS.r, SCRYPT_DEFAULTS.p, randomBytes(16), randomBytes(32)));
    if ('problem' in dummy) throw new Error(dummy.problem);
    this.#dummy = dummy;
  }

  /**
   * Check `username`/`password` against the current users. `deadline`
   * (epoch ms): a check still waiting for a slot then is dropped as
   * `not_checked` (its answer would come too late to matter).
   */
  async check(username: string, password: Secret, opts: { readonly deadline?: number } = {}): Promise<Credentials> {
    if (username === '') return 'unknown_user';
    const stored = this.#users().get(username);
    const target = stored ?? this.#dummy;
    const key = this.#keyOf(username, password, target.text);
    if (stored && this.#cache.get(key)) {
      this.#cacheHits++;
      return 'ok';
    }
    let pending = this.#inflight.get(key);
    if (!pending) {
      if (this.#running >= this.#concurrency && this.#queue.length >= this.#maxQueue) {
        this.#rejected++;
        return 'not_checked';
      }
      pending = this.#schedule(target, password, opts.deadline);
      this.#inflight.set(key, pending);
      void pending.finally(() => this.#inflight.delete(key));
    }
    const verified = await pending;
    if (verified === undefined) return 'not_checked';
    if (!stored) return 'unknown_user';
    if (!verified) return 'bad_password';
    this.#cache.set(key, true);
    return 'ok';
  }

  stats(): CredentialStats {
    return {
      running: this.#running,
      queued: this.#queue.length,
      cached: this.#cache.size,
      derivations: this.#derivations,
      cacheHits: this.#cacheHits,
      rejected: this.#rejected,
    };
  }

  /** Forget every cached verification (e.g. after a password change was rolled out). */
  clearCache(): void {
    this.#cache.clear();
  }

  /** HMAC-SHA256 under a per-process key of the length-prefixed fields: never the password itself. */
  #keyOf(username: string, password: Secret, hashText: string): string {
    const h = createHmac('sha256', this.#hmacKey);
    for (const field of [username, password.reveal(), hashText]) h.update(`${Buffer.byteLength(field)}:`).update(field);
    return h.digest('base64');
  }

  #schedule(target: PasswordHash, password: Secret, deadline: number | undefined): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const run = (): void => {
        if (deadline !== undefined && Date.now() > deadline) {
          resolve(undefined);
          return;
        }
        this.#running++;
        this.#derivations++;
        derive(password.reveal(), target)
          .then(
            (key) => resolve(key.length === target.hash.length && timingSafeEqual(key, target.hash)),
            () => resolve(undefined),
          )
          .finally(() => {
            this.#running--;
            this.#next();
          });
      };
      if (this.#running < this.#concurrency) run();
      else this.#queue.push(run);
    });
  }

  #next(): void {
    while (this.#running < this.#concurrency && this.#queue.length > 0) (this.#queue.shift() as () => void)();
  }
}
