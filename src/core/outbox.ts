/**
 * The local outbox: while the shared journal (NATS) cannot be reached, the
 * records of what this instance decided are written here, one journal entry
 * per line (the same JSON as a stored entry, with the record's id), and
 * flushed to the journal once it is back (outbox-flush in client-writer.ts).
 *
 * Bounded (`maxBytes`): when full, `append` refuses and the caller fails
 * closed. Written with `write(2)` at once (a killed process loses nothing);
 * fdatasync'd every `syncMs` (an OS crash loses at most that interval).
 * The file survives a restart and is flushed at start.
 */
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface OutboxOptions {
  readonly dir: string;
  /** Bytes the outbox may hold (default 64 MiB). */
  readonly maxBytes?: number;
  /** fdatasync period (default 200 ms). */
  readonly syncMs?: number;
}

export const OUTBOX_FILE = 'outbox.jsonl';

export class Outbox {
  readonly path: string;
  readonly maxBytes: number;
  #fd: number;
  #bytes: number;
  #lines: number;
  #dirty = false;
  readonly #timer: NodeJS.Timeout;

  constructor(opts: OutboxOptions) {
    mkdirSync(opts.dir, { recursive: true });
    this.path = join(opts.dir, OUTBOX_FILE);
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.#fd = openSync(this.path, 'a+');
    this.#bytes = fstatSync(this.#fd).size;
    this.#lines = this.#bytes === 0 ? 0 : this.read().length;
    this.#timer = setInterval(() => this.sync(), opts.syncMs ?? 200);
    this.#timer.unref();
  }

  /** Records waiting to be flushed. */
  get size(): number {
    return this.#lines;
  }
  get bytes(): number {
    return this.#bytes;
  }

  /** Append one entry line; false when the outbox is full (nothing written). */
  append(line: string): boolean {
    const buf = Buffer.from(`${line}\n`);
    if (this.#bytes + buf.length > this.maxBytes) return false;
    writeSync(this.#fd, buf);
    this.#bytes += buf.length;
    this.#lines++;
    this.#dirty = true;
    return true;
  }

  /** Every line, oldest first (a torn last line after a crash is left out). */
  read(): string[] {
    const text = readFileSync(this.path, 'utf8');
    const lines = text.split('\n');
    lines.pop(); // the part after the last newline: empty, or torn
    return lines.filter((l) => l.length > 0);
  }

  /** Keep only `keep` (lines still to flush, oldest first): the outbox is rewritten. */
  replace(keep: readonly string[]): void {
    ftruncateSync(this.#fd, 0);
    this.#bytes = 0;
    this.#lines = 0;
    for (const line of keep) this.append(line);
    this.sync();
  }

  sync(): void {
    if (!this.#dirty) return;
    this.#dirty = false;
    fdatasyncSync(this.#fd);
  }

  close(): void {
    clearInterval(this.#timer);
    this.sync();
    closeSync(this.#fd);
    this.#fd = -1;
  }
}
