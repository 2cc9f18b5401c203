/**
 * The embedded journal (default, no NATS). In process, bounded memory: a
 * small index entry per client (newest position + snapshot) and tails of
 * recent records for recently active clients only (`memory-index.ts`).
 *
 * With `dataDir` the records also go to append-only segment files
 * (`segment-store.ts`) and the index to a periodic checkpoint
 * (`checkpoint.ts`), so state survives a restart:
 *
 * - **Group commit.** Records appended in one event-loop turn are written
 *   with one write(2) in the check phase (`setImmediate`) of that turn;
 *   durable appends resolve right after it. Notifications alone wait at most
 *   `flushIntervalMs` (default 100 ms) or 1 MiB of buffer.
 * - **Crash rule.** A durable (valued) record is in the OS page cache before
 *   its promise resolves, so kill -9 loses no answered decision. A crash
 *   loses at most the notifications of the last flush interval.
 * - **Power-loss rule.** fdatasync every `fsyncIntervalMs` (default 1000 ms)
 *   when dirty, on segment rotation and on close: a power loss may lose the
 *   last interval. `fsyncIntervalMs: 0` fdatasyncs before resolving each
 *   group (slower, power-loss safe).
 * - One process per directory (`LOCK` holds the pid).
 */
import { mkdirSync } from 'node:fs';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { acquireLock, releaseLock } from './dir-lock.js';
import { decodeEntry, encodeRecord } from './events.js';
import {
  isDurableByDefault,
  packedSnapshot,
  type AppendAck,
  type AppendOptions,
  type CommonJournalOptions,
  type JournalEntry,
  type JournalPort,
  type JournalRecord,
  type JournalStats,
  type LoadedClient,
  type StoredSnapshot,
} from './journal.js';
import { JournalClosedError, JournalError } from './journal-errors.js';
import { ClientIndex, Tails, type HeldEntry, type Tail } from './memory-index.js';
import { RecordIds, sourceOf } from './record-ids.js';
import { SegmentStore, type LineRef } from './segment-store.js';

export interface EmbeddedJournalOptions extends CommonJournalOptions {
  /** Directory for segments, checkpoint and lock; memory only when absent. */
  readonly dataDir?: string;
  /** Clients indexed (newest position + snapshot); least recently written forgotten beyond. */
  readonly maxClients?: number;
  /** Clients with an in-memory tail of recent records. */
  readonly tailClients?: number;
  readonly tailPerClient?: number;
  /** Total bytes of all tails. */
  readonly tailMaxBytes?: number;
  /** Longest a buffered notification waits for its write (ms). */
  readonly flushIntervalMs?: number;
  /** fdatasync period (ms); 0 = before every durable acknowledgement. */
  readonly fsyncIntervalMs?: number;
  readonly segmentMaxBytes?: number;
  /** Retention: total segment bytes kept. */
  readonly retainBytes?: number;
  /** Retention: segments whose last write is older than this are deleted (ms). */
  readonly retainMs?: number;
  /** Checkpoint period (ms) while records are being written. */
  readonly checkpointIntervalMs?: number;
  /** Clock for retention ages and checkpoint periods (default Date.now). */
  readonly now?: () => number;
}

export const EMBEDDED_DEFAULTS = {
  maxClients: 2_000_000,
  tailClients: 10_000,
  tailPerClient: 32,
  tailMaxBytes: 32 * 1024 * 1024,
  flushIntervalMs: 100,
  fsyncIntervalMs: 1000,
  segmentMaxBytes: 64 * 1024 * 1024,
  retainBytes: 1024 * 1024 * 1024,
  retainMs: 7 * 24 * 3600 * 1000,
  checkpointIntervalMs: 5 * 60 * 1000,
} as const;

/** Buffered notification bytes that trigger a write before the flush interval. */
const FLUSH_BYTES = 1 << 20;

interface Waiter {
  readonly seq: number;
  readonly resolve: (ack: AppendAck) => void;
  readonly reject: (err: Error) => void;
}

export class EmbeddedJournal implements JournalPort {
  readonly kind: 'memory' | 'file';
  readonly #opts: EmbeddedJournalOptions;
  readonly #ids = new RecordIds();
  readonly #sourceJson: string;
  readonly #machineVersion: string;
  readonly #index: ClientIndex;
  readonly #tails: Tails;
  readonly #now: () => number;
  #store: SegmentStore | undefined;
  #lockFile: string | undefined;
  #seq = 0;
  #closed = false;
  // group commit
  #buf: string[] = [];
  #bufClients: string[] = [];
  #bufSeqs: number[] = [];
  #bufPrev: number[] = [];
  #bufBytes = 0;
  #bufLastSeq = 0;
  #waiters: Waiter[] = [];
  #bufNotes: JournalRecord[] = [];
  #immediate: NodeJS.Immediate | undefined;
  #timer: NodeJS.Timeout | undefined;
  // background
  #fsyncTimer: NodeJS.Timeout | undefined;
  #maintainTimer: NodeJS.Timeout | undefined;
  #checkpointSeq = 0;
  #checkpointAt = 0;
  #checkpointing: Promise<void> | undefined;
  #maintaining: Promise<void> | undefined;
  #maintainAgain = false;
  #segmentCount = 0;
  // counters
  #appended = 0;
  #stored = 0;
  #writes = 0;
  #dropped = 0;
  #corrupt = 0;

  private constructor(opts: EmbeddedJournalOptions) {
    this.#opts = opts;
    this.kind = opts.dataDir ? 'file' : 'memory';
    this.#sourceJson = JSON.stringify(sourceOf(opts.instance));
    this.#machineVersion = String(opts.machineVersion ?? '');
    this.#now = opts.now ?? Date.now;
    this.#index = new ClientIndex(opts.maxClients ?? EMBEDDED_DEFAULTS.maxClients);
    this.#tails = new Tails({
      maxClients: opts.tailClients ?? EMBEDDED_DEFAULTS.tailClients,
      perClient: opts.tailPerClient ?? EMBEDDED_DEFAULTS.tailPerClient,
      maxBytes: opts.tailMaxBytes ?? EMBEDDED_DEFAULTS.tailMaxBytes,
    });
  }

  /** Open a journal; with `dataDir`, recover what the directory holds first. */
  static async open(opts: EmbeddedJournalOptions = {}): Promise<EmbeddedJournal> {
    const j = new EmbeddedJournal(opts);
    if (opts.dataDir) await j.#openDir(opts.dataDir);
    return j;
  }

  async #openDir(dir: string): Promise<void> {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new JournalError('EXH_JOURNAL_SETUP', `cannot create the data directory ${dir}: ${(err as Error).message}`, { cause: err });
    }
    this.#lockFile = acquireLock(dir);
    try {
      const cp = await readCheckpoint(dir, (e) => this.#index.restore(e));
      this.#checkpointSeq = cp.seq;
      this.#corrupt += cp.corrupt;
      const store = await SegmentStore.open(
        {
          dir,
          segmentMaxBytes: this.#opts.segmentMaxBytes ?? EMBEDDED_DEFAULTS.segmentMaxBytes,
          retainBytes: this.#opts.retainBytes ?? EMBEDDED_DEFAULTS.retainBytes,
          retainMs: this.#opts.retainMs ?? EMBEDDED_DEFAULTS.retainMs,
          now: this.#now,
        },
        cp.seq,
        (seq, line, where) => this.#replay(seq, line, where),
      );
      this.#store = store;
      let seq = Math.max(cp.seq, store.lastSeq);
      for (const e of this.#index.entries()) if (e.lastSeq > seq) seq = e.lastSeq;
      this.#seq = seq;
      this.#segmentCount = store.segments.length;
      this.#checkpointAt = this.#now();
    } catch (err) {
      releaseLock(this.#lockFile);
      this.#lockFile = undefined;
      throw err;
    }
    const fsyncMs = this.#opts.fsyncIntervalMs ?? EMBEDDED_DEFAULTS.fsyncIntervalMs;
    if (fsyncMs > 0) {
      this.#fsyncTimer = setInterval(() => {
        this.#store?.sync().catch((err: Error) => this.#background(err, 'fdatasync'));
      }, fsyncMs);
      this.#fsyncTimer.unref();
    }
    const cpMs = this.#opts.checkpointIntervalMs ?? EMBEDDED_DEFAULTS.checkpointIntervalMs;
    this.#maintainTimer = setInterval(() => void this.#maintain(), Math.min(cpMs, 60_000));
    this.#maintainTimer.unref();
  }

  #replay(seq: number, line: string, where: LineRef): void {
    const entry = decodeEntry(line);
    if (!entry) {
      this.#corrupt++;
      return;
    }
    const id = entry.record.clientId;
    const prev = this.#index.get(id)?.lastSeq ?? 0;
    if (seq <= prev) return; // already in the checkpoint
    this.#index.note(id, seq, entry.snapshot);
    this.#tails.pushRef(id, seq, where.seg, where.off, where.len, prev);
  }

  append(record: JournalRecord, opts: AppendOptions = {}): Promise<AppendAck> | undefined {
    const durable = opts.durable ?? isDurableByDefault(record);
    if (this.#closed) {
      const err = new JournalClosedError();
      if (durable) return Promise.reject(err);
      this.#dropped++;
      this.#opts.onError?.(err, record.clientId, [record]);
      return undefined;
    }
    const seq = ++this.#seq;
    const snapshot: StoredSnapshot | undefined =
      opts.snapshot !== undefined ? { machineVersion: this.#machineVersion, packed: packedSnapshot(opts.snapshot) as string } : undefined;
    const prev = this.#index.note(record.clientId, seq, snapshot);
    this.#appended++;
    if (!this.#store) {
      // memory mode: hold the record as is; it is encoded only if someone reads it
      this.#tails.pushLine(record.clientId, seq, { id: this.#ids.next(), record, ...(snapshot ? { snapshot } : {}) }, prev);
      this.#stored++;
      return undefined;
    }
    const line = encodeRecord(record, this.#ids.next(), this.#sourceJson, snapshot, seq);
    this.#buf.push(line);
    this.#bufClients.push(record.clientId);
    this.#bufSeqs.push(seq);
    this.#bufPrev.push(prev);
    this.#bufBytes += line.length + 1;
    this.#bufLastSeq = seq;
    if (durable) {
      const p = new Promise<AppendAck>((resolve, reject) => this.#waiters.push({ seq, resolve, reject }));
      this.#scheduleNow();
      return p;
    }
    this.#bufNotes.push(record);
    if (this.#bufBytes >= FLUSH_BYTES) this.#scheduleNow();
    else if (!this.#timer && !this.#immediate) {
      this.#timer = setTimeout(() => this.#flushNow(), this.#opts.flushIntervalMs ?? EMBEDDED_DEFAULTS.flushIntervalMs);
      this.#timer.unref();
    }
    return undefined;
  }

  #scheduleNow(): void {
    if (this.#immediate) return;
    this.#immediate = setImmediate(() => this.#flushNow());
  }

  /** Write everything buffered with one write(2), then settle the durable appends. */
  #flushNow(): void {
    if (this.#immediate) clearImmediate(this.#immediate);
    if (this.#timer) clearTimeout(this.#timer);
    this.#immediate = undefined;
    this.#timer = undefined;
    const store = this.#store;
    if (!store || this.#buf.length === 0) return;
    const bytes = Buffer.from(`${this.#buf.join('\n')}\n`, 'utf8');
    const count = this.#buf.length;
    const waiters = this.#waiters;
    const notes = this.#bufNotes;
    const clients = this.#bufClients;
    const seqs = this.#bufSeqs;
    const prevs = this.#bufPrev;
    const last = this.#bufLastSeq;
    this.#buf = [];
    this.#bufClients = [];
    this.#bufSeqs = [];
    this.#bufPrev = [];
    this.#bufBytes = 0;
    this.#waiters = [];
    this.#bufNotes = [];
    let where: LineRef;
    try {
      where = store.writeSync(bytes, last);
    } catch (cause) {
      const err = new JournalError(
        'EXH_JOURNAL_WRITE',
        `cannot write the journal in ${this.#opts.dataDir}: ${(cause as Error).message}; check free space and permissions`,
        { cause },
      );
      for (const w of waiters) w.reject(err);
      this.#dropNotes(err, notes);
      return;
    }
    this.#writes++;
    this.#stored += count;
    if (this.#tails.enabled) {
      for (let i = 0, pos = 0; i < count; i++) {
        const nl = bytes.indexOf(10, pos);
        this.#tails.pushRef(clients[i] as string, seqs[i] as number, where.seg, where.off + pos, nl - pos, prevs[i] as number);
        pos = nl + 1;
      }
    }
    if (store.segments.length !== this.#segmentCount) {
      this.#segmentCount = store.segments.length;
      setImmediate(() => void this.#maintain());
    }
    if (waiters.length === 0) return;
    if ((this.#opts.fsyncIntervalMs ?? EMBEDDED_DEFAULTS.fsyncIntervalMs) === 0) {
      store.sync().then(
        () => {
          for (const w of waiters) w.resolve({ seq: w.seq, duplicate: false });
        },
        (cause: Error) => {
          const err = new JournalError('EXH_JOURNAL_WRITE', `fdatasync of the journal failed: ${cause.message}`, { cause });
          for (const w of waiters) w.reject(err);
        },
      );
      return;
    }
    for (const w of waiters) w.resolve({ seq: w.seq, duplicate: false });
  }

  #dropNotes(err: JournalError, notes: readonly JournalRecord[]): void {
    this.#dropped += notes.length;
    const handler = this.#opts.onError;
    if (!handler || notes.length === 0) return;
    const byClient = new Map<string, JournalRecord[]>();
    for (const r of notes) {
      const list = byClient.get(r.clientId);
      if (list) list.push(r);
      else byClient.set(r.clientId, [r]);
    }
    for (const [clientId, records] of byClient) handler(err, clientId, records);
  }

  #background(err: Error, what: string): void {
    if (this.#opts.onBackgroundError) this.#opts.onBackgroundError(err, what);
    else process.emitWarning(`hookwarden journal: ${what} failed: ${err.message}`);
  }

  /** Checkpoint when due, then apply retention. Single-flight: a call during a run makes it run once more. */
  #maintain(): Promise<void> {
    if (this.#maintaining) {
      this.#maintainAgain = true;
      return this.#maintaining;
    }
    this.#maintaining = (async () => {
      do {
        this.#maintainAgain = false;
        await this.#maintainOnce();
      } while (this.#maintainAgain && !this.#closed);
    })().finally(() => {
      this.#maintaining = undefined;
    });
    return this.#maintaining;
  }

  /** Checkpoint when due, then apply retention (checkpointing first if retention is blocked). */
  async #maintainOnce(): Promise<void> {
    const store = this.#store;
    if (!store || this.#closed) return;
    try {
      const cpMs = this.#opts.checkpointIntervalMs ?? EMBEDDED_DEFAULTS.checkpointIntervalMs;
      if (this.#seq > this.#checkpointSeq && this.#now() - this.#checkpointAt >= cpMs) await this.#checkpoint();
      const r = await store.retain(this.#checkpointSeq);
      if (r.blocked && !this.#closed) {
        await this.#checkpoint();
        await store.retain(this.#checkpointSeq);
      }
    } catch (err) {
      this.#background(err as Error, 'checkpoint/retention');
    }
  }

  #checkpoint(): Promise<void> {
    const store = this.#store;
    const dir = this.#opts.dataDir;
    if (!store || !dir) return Promise.resolve();
    this.#checkpointing ??= (async () => {
      this.#flushNow();
      const seq = this.#seq;
      await store.sync();
      await writeCheckpoint(dir, seq, this.#index.entries());
      this.#checkpointSeq = seq;
      this.#checkpointAt = this.#now();
    })().finally(() => {
      this.#checkpointing = undefined;
    });
    return this.#checkpointing;
  }

  /** Write a checkpoint now (tests, admin); no-op in memory mode. */
  checkpoint(): Promise<void> {
    return this.#checkpoint();
  }

  /** Run checkpoint + retention now (tests, admin). */
  maintain(): Promise<void> {
    return this.#maintain();
  }

  async load(clientId: string): Promise<LoadedClient | undefined> {
    const e = this.#index.get(clientId);
    if (!e) return undefined;
    const snapshot =
      e.snapSeq > 0 && e.packed !== undefined ? { seq: e.snapSeq, machineVersion: e.machineVersion, packed: e.packed } : undefined;
    const base = { clientId, seq: e.lastSeq, ...(snapshot ? { snapshot } : {}) };
    if (e.lastSeq === e.snapSeq) return { ...base, after: [], complete: true };
    this.#flushNow();
    const t = this.#tails.get(clientId);
    if (t && t.evictedUpTo <= e.snapSeq) return { ...base, after: await this.#tailEntries(t, e.snapSeq, Infinity), complete: true };
    const store = this.#store;
    if (!store) return { ...base, after: t ? await this.#tailEntries(t, e.snapSeq, Infinity) : [], complete: false };
    const after: JournalEntry[] = [];
    for await (const { line } of store.scan(e.snapSeq + 1, subjectFilter(clientId))) {
      const d = decodeEntry(line);
      if (d?.record.clientId === clientId) after.push(d);
    }
    return { ...base, after, complete: store.oldestSeq <= e.snapSeq + 1 };
  }

  async recent(clientId: string, limit: number): Promise<JournalEntry[]> {
    if (limit <= 0) return [];
    this.#flushNow();
    const t = this.#tails.get(clientId);
    const store = this.#store;
    if (t && (t.evictedUpTo === 0 || t.seqs.length >= limit || !store)) {
      const fromTail = await this.#tailEntries(t, 0, limit);
      if (fromTail.length === Math.min(limit, t.seqs.length)) return fromTail; // else a segment went: read the files
    }
    if (!store) return [];
    const ring: JournalEntry[] = [];
    for await (const { line } of store.scan(0, subjectFilter(clientId))) {
      const d = decodeEntry(line);
      if (d?.record.clientId !== clientId) continue;
      ring.push(d);
      if (ring.length > limit) ring.shift();
    }
    return ring;
  }

  async *readAll(opts: { readonly fromSeq?: number } = {}): AsyncGenerator<JournalEntry> {
    const from = opts.fromSeq ?? 0;
    const store = this.#store;
    if (!store) {
      const lines = [...this.#tails.allLines()].filter((l) => l.seq >= from).sort((a, b) => a.seq - b.seq);
      for (const { seq, line } of lines) {
        const d = this.#decodeHeld(seq, line);
        if (d) yield d;
      }
      return;
    }
    this.#flushNow();
    for await (const { line } of store.scan(from)) {
      const d = decodeEntry(line);
      if (d) yield d;
      else this.#corrupt++;
    }
  }

  /**
   * Every indexed client with a snapshot, least recently written first: the
   * registry's bulk restore after a restart (load() per client also works).
   */
  *snapshots(): IterableIterator<{
    readonly clientId: string;
    readonly seq: number;
    readonly snapshot: StoredSnapshot & { readonly seq: number };
  }> {
    for (const e of this.#index.entries()) {
      if (e.snapSeq > 0 && e.packed !== undefined) {
        yield { clientId: e.clientId, seq: e.lastSeq, snapshot: { seq: e.snapSeq, machineVersion: e.machineVersion, packed: e.packed } };
      }
    }
  }

  /** The newest `limit` tail records of a client above position `after`, decoded (file mode reads them from disk). */
  async #tailEntries(t: Tail, after: number, limit: number): Promise<JournalEntry[]> {
    let from = 0;
    while (from < t.seqs.length && (t.seqs[from] ?? 0) <= after) from++;
    from = Math.max(from, t.seqs.length - limit);
    let lines: (string | HeldEntry | undefined)[];
    if (t.lines.length > 0 || !this.#store) lines = t.lines.slice(from);
    else {
      const refs: LineRef[] = [];
      for (let i = from; i < t.seqs.length; i++) refs.push({ seg: t.segs[i] ?? 0, off: t.offs[i] ?? 0, len: t.lens[i] ?? 0 });
      lines = await this.#store.readRefs(refs);
    }
    const out: JournalEntry[] = [];
    lines.forEach((line, i) => {
      const d = line === undefined ? undefined : this.#decodeHeld(t.seqs[from + i] ?? 0, line);
      if (d) out.push(d);
    });
    return out;
  }

  /** A stored line, or a held entry encoded and decoded now (so readers see exactly what a file would hold). */
  #decodeHeld(seq: number, line: string | HeldEntry): JournalEntry | undefined {
    return decodeEntry(typeof line === 'string' ? line : encodeRecord(line.record, line.id, this.#sourceJson, line.snapshot, seq));
  }

  forget(clientId: string): void {
    this.#index.delete(clientId);
    this.#tails.delete(clientId);
  }

  async flush(): Promise<void> {
    this.#flushNow();
  }

  stats(): JournalStats {
    return {
      kind: this.kind,
      appended: this.#appended,
      stored: this.#stored,
      pending: this.#buf.length,
      conflicts: 0,
      timeouts: 0,
      dropped: this.#dropped,
      writes: this.#writes,
      fsyncs: this.#store?.fsyncs ?? 0,
      segments: this.#store?.segments.length ?? 0,
      indexedClients: this.#index.size,
      tailClients: this.#tails.clients,
      tailBytes: this.#tails.bytes,
      corrupt: this.#corrupt + (this.#store?.corrupt ?? 0),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#fsyncTimer) clearInterval(this.#fsyncTimer);
    if (this.#maintainTimer) clearInterval(this.#maintainTimer);
    this.#flushNow();
    const store = this.#store;
    if (!store) return;
    try {
      if (this.#maintaining) await this.#maintaining.catch(() => undefined);
      if (this.#checkpointing) await this.#checkpointing.catch(() => undefined);
      if (this.#seq > this.#checkpointSeq) await this.#checkpoint();
    } finally {
      await store.close();
      releaseLock(this.#lockFile);
      this.#lockFile = undefined;
    }
  }
}

/** Cheap pre-filter of a client's lines: the CloudEvent `subject` as serialized. */
function subjectFilter(clientId: string): (line: string) => boolean {
  const needle = `"subject":${JSON.stringify(clientId)},`;
  return (line) => line.includes(needle);
}
