/**
 * Append-only segment files of the embedded journal: `seg-<first seq>.jsonl`,
 * one JSON line per record (`{"v":1,"seq":N,"event":{...},"snapshot":{...}}`).
 *
 * Durability rule: `writeSync` returns once write(2) is done (the bytes are
 * in the OS page cache), so a process crash (kill -9) loses nothing written;
 * fdatasync runs every `fsyncIntervalMs` when dirty, on rotation and on
 * close (with `fsyncIntervalMs: 0` the caller syncs before acknowledging),
 * so a power loss may lose the last interval. A torn last line (crash during
 * a write) is truncated at open: it was never acknowledged.
 *
 * Retention deletes whole closed segments, oldest first, when the total size
 * passes `retainBytes` or a segment's last write is older than `retainMs`,
 * but never past the newest checkpoint (the caller writes one first).
 */
import { closeSync, fdatasync, fdatasyncSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { open, readdir, stat, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface SegmentStoreOptions {
  readonly dir: string;
  readonly segmentMaxBytes: number;
  readonly retainBytes: number;
  readonly retainMs: number;
  readonly now: () => number;
}

export interface SegmentInfo {
  readonly firstSeq: number;
  readonly file: string;
  size: number;
  mtimeMs: number;
}

const SEGMENT_RE = /^seg-(\d{20})\.jsonl$/;
const SEQ_PREFIX_RE = /^\{"v":\d+,"seq":(\d+),/;
const READ_CHUNK = 1 << 20;

/** Where a line is: segment (its first position), byte offset, byte length without the newline. */
export interface LineRef {
  readonly seg: number;
  readonly off: number;
  readonly len: number;
}

export const segmentName = (firstSeq: number): string => `seg-${String(firstSeq).padStart(20, '0')}.jsonl`;

/** Position of a stored line: from its fixed prefix, else by parsing. */
export function seqOfLine(line: string): number | undefined {
  const m = SEQ_PREFIX_RE.exec(line);
  if (m?.[1]) return Number(m[1]);
  try {
    const v = JSON.parse(line) as { seq?: unknown };
    return typeof v.seq === 'number' ? v.seq : undefined;
  } catch {
    return undefined;
  }
}

/** Complete lines of a file from `start`, each with its byte offset and the offset just after its newline. */
export async function* readLines(file: string, start = 0): AsyncGenerator<{ line: string; start: number; end: number }> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // deleted by retention meanwhile
    throw err;
  }
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    let carry: Buffer = Buffer.alloc(0);
    let pos = start;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, pos);
      if (bytesRead === 0) return;
      const data = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      const base = pos - carry.length;
      let from = 0;
      for (let nl = data.indexOf(10, from); nl !== -1; nl = data.indexOf(10, from)) {
        yield { line: data.toString('utf8', from, nl), start: base + from, end: base + nl + 1 };
        from = nl + 1;
      }
      carry = Buffer.from(data.subarray(from));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* best effort: some filesystems refuse fsync on directories */
  }
}

export class SegmentStore {
  readonly #opts: SegmentStoreOptions;
  readonly #segments: SegmentInfo[];
  #fd: number;
  #dirty = false;
  #syncing: Promise<void> | undefined;
  #lastSeq: number;
  #corrupt = 0;
  #fsyncs = 0;
  #closed = false;

  private constructor(opts: SegmentStoreOptions, segments: SegmentInfo[], fd: number, lastSeq: number, corrupt: number) {
    this.#opts = opts;
    this.#segments = segments;
    this.#fd = fd;
    this.#lastSeq = lastSeq;
    this.#corrupt = corrupt;
  }

  /**
   * Open the directory's segments: replay every line with a position above
   * `fromSeq` through `onLine` (in order), truncate a torn last line, and
   * open the newest segment for appending.
   */
  static async open(
    opts: SegmentStoreOptions,
    fromSeq: number,
    onLine: (seq: number, line: string, where: LineRef) => void,
  ): Promise<SegmentStore> {
    const names = (await readdir(opts.dir)).filter((n) => SEGMENT_RE.test(n)).sort();
    const segments: SegmentInfo[] = [];
    for (const name of names) {
      const st = await stat(join(opts.dir, name));
      segments.push({ firstSeq: Number(SEGMENT_RE.exec(name)?.[1] ?? 0), file: join(opts.dir, name), size: st.size, mtimeMs: st.mtimeMs });
    }
    let lastSeq = 0;
    let corrupt = 0;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i] as SegmentInfo;
      const next = segments[i + 1];
      const isLast = next === undefined;
      lastSeq = Math.max(lastSeq, seg.firstSeq - 1);
      if (!isLast && next.firstSeq - 1 <= fromSeq) continue; // wholly covered by the checkpoint
      let validEnd = 0;
      for await (const { line, start, end } of readLines(seg.file)) {
        validEnd = end;
        const seq = seqOfLine(line);
        if (seq === undefined) {
          corrupt++;
          continue;
        }
        if (seq > lastSeq) lastSeq = seq;
        if (seq > fromSeq) onLine(seq, line, { seg: seg.firstSeq, off: start, len: end - start - 1 });
      }
      if (isLast && validEnd < seg.size) {
        await truncate(seg.file, validEnd); // torn write of an unacknowledged batch
        seg.size = validEnd;
      }
    }
    if (segments.length === 0) {
      const first = lastSeq + 1;
      segments.push({ firstSeq: first, file: join(opts.dir, segmentName(first)), size: 0, mtimeMs: opts.now() });
    }
    const active = segments[segments.length - 1] as SegmentInfo;
    const fd = openSync(active.file, 'a');
    syncDir(opts.dir);
    return new SegmentStore(opts, segments, fd, lastSeq, corrupt);
  }

  /** Newest position written (or found at open). */
  get lastSeq(): number {
    return this.#lastSeq;
  }
  get corrupt(): number {
    return this.#corrupt;
  }
  get fsyncs(): number {
    return this.#fsyncs;
  }
  get segments(): readonly SegmentInfo[] {
    return this.#segments;
  }
  /** Position of the oldest retained record (lower bound). */
  get oldestSeq(): number {
    return this.#segments[0]?.firstSeq ?? this.#lastSeq + 1;
  }

  /**
   * Write complete lines synchronously (one write(2) in the common case)
   * and return where they start. On failure the file is truncated back to
   * its previous size and the error is thrown: none of these lines is stored.
   */
  writeSync(bytes: Buffer, lastSeq: number): LineRef {
    if (this.#closed) throw new Error('segment store is closed');
    const active = this.#segments[this.#segments.length - 1] as SegmentInfo;
    const where: LineRef = { seg: active.firstSeq, off: active.size, len: bytes.length };
    let off = 0;
    try {
      while (off < bytes.length) off += writeSync(this.#fd, bytes, off, bytes.length - off);
    } catch (err) {
      try {
        ftruncateSync(this.#fd, active.size);
      } catch {
        /* keep the original error */
      }
      throw err;
    }
    active.size += bytes.length;
    active.mtimeMs = this.#opts.now();
    this.#lastSeq = Math.max(this.#lastSeq, lastSeq);
    this.#dirty = true;
    if (active.size >= this.#opts.segmentMaxBytes) this.#rotate();
    return where;
  }

  /** The lines at `refs` (undefined where the segment is gone), in the order given. */
  async readRefs(refs: readonly LineRef[]): Promise<(string | undefined)[]> {
    const out: (string | undefined)[] = new Array<string | undefined>(refs.length);
    const bySeg = new Map<number, number[]>();
    refs.forEach((r, i) => {
      const list = bySeg.get(r.seg);
      if (list) list.push(i);
      else bySeg.set(r.seg, [i]);
    });
    for (const [seg, idx] of bySeg) {
      const info = this.#segments.find((s) => s.firstSeq === seg);
      if (!info) continue;
      let fh;
      try {
        fh = await open(info.file, 'r');
      } catch {
        continue;
      }
      try {
        for (const i of idx) {
          const r = refs[i] as LineRef;
          const buf = Buffer.allocUnsafe(r.len);
          const { bytesRead } = await fh.read(buf, 0, r.len, r.off);
          if (bytesRead === r.len) out[i] = buf.toString('utf8');
        }
      } finally {
        await fh.close();
      }
    }
    return out;
  }

  #rotate(): void {
    fdatasyncSync(this.#fd);
    this.#fsyncs++;
    const old = this.#fd;
    const first = this.#lastSeq + 1;
    const seg: SegmentInfo = { firstSeq: first, file: join(this.#opts.dir, segmentName(first)), size: 0, mtimeMs: this.#opts.now() };
    this.#fd = openSync(seg.file, 'a');
    this.#segments.push(seg);
    this.#dirty = false;
    syncDir(this.#opts.dir);
    // an async fdatasync may still hold the old descriptor: close it after that
    const closeOld = (): void => closeSync(old);
    if (this.#syncing) void this.#syncing.then(closeOld, closeOld);
    else closeSync(old);
  }

  /** fdatasync the active segment if anything was written since the last sync. */
  sync(): Promise<void> {
    if (this.#syncing) return this.#syncing.then(() => this.sync());
    if (!this.#dirty || this.#closed) return Promise.resolve();
    this.#dirty = false;
    const fd = this.#fd;
    this.#syncing = new Promise<void>((resolve, reject) => {
      fdatasync(fd, (err) => {
        this.#syncing = undefined;
        this.#fsyncs++;
        if (err) {
          this.#dirty = true;
          reject(err);
        } else resolve();
      });
    });
    return this.#syncing;
  }

  /**
   * Delete closed segments past the retention limits whose records are all
   * at or before `checkpointSeq`. Returns how many were deleted and whether
   * some that should go were kept because no checkpoint covers them yet.
   */
  async retain(checkpointSeq: number): Promise<{ deleted: number; blocked: boolean }> {
    const now = this.#opts.now();
    let total = this.#segments.reduce((n, s) => n + s.size, 0);
    let deleted = 0;
    let blocked = false;
    while (this.#segments.length > 1) {
      const seg = this.#segments[0] as SegmentInfo;
      const next = this.#segments[1] as SegmentInfo;
      const tooBig = total > this.#opts.retainBytes;
      const tooOld = now - seg.mtimeMs > this.#opts.retainMs;
      if (!tooBig && !tooOld) break;
      if (next.firstSeq - 1 > checkpointSeq) {
        blocked = true;
        break;
      }
      this.#segments.shift();
      total -= seg.size;
      await unlink(seg.file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      deleted++;
    }
    return { deleted, blocked };
  }

  /** Stored lines with a position ≥ `fromSeq` that pass `filter`, in order. */
  async *scan(fromSeq: number, filter?: (line: string) => boolean): AsyncGenerator<{ seq: number; line: string }> {
    const segs = [...this.#segments];
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i] as SegmentInfo;
      const next = segs[i + 1];
      if (next && next.firstSeq <= fromSeq) continue;
      for await (const { line } of readLines(seg.file)) {
        if (filter && !filter(line)) continue;
        const seq = seqOfLine(line);
        if (seq === undefined) {
          this.#corrupt++;
          continue;
        }
        if (seq >= fromSeq) yield { seq, line };
      }
    }
  }

  /** Sync and close. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#syncing) await this.#syncing.catch(() => undefined);
    this.#closed = true;
    try {
      fdatasyncSync(this.#fd);
      this.#fsyncs++;
    } finally {
      closeSync(this.#fd);
    }
  }
}
