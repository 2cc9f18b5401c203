/**
 * The embedded journal's memory, bounded on two axes so that a million
 * clients stay cheap:
 *
 * - `ClientIndex`: one small entry per client (position of its newest record
 *   and its newest snapshot, the packed string shared with the caller),
 *   capped at `maxClients`, least recently written evicted first;
 * - `Tails`: the newest records (encoded lines) of recently active clients
 *   only, capped by clients, records per client and total bytes.
 *
 * Both use a `Map`'s insertion order as recency (delete + set on write):
 * O(1) per append, no timers.
 */
import type { JournalRecord, StoredSnapshot } from './journal.js';

export interface IndexEntry {
  readonly clientId: string;
  /** Position of the client's newest record. */
  lastSeq: number;
  /** Position of the record the snapshot was taken after (0: no snapshot). */
  snapSeq: number;
  packed: string | undefined;
  machineVersion: string;
}

export class ClientIndex {
  readonly #map = new Map<string, IndexEntry>();
  #evictions = 0;

  constructor(readonly maxClients: number) {}

  get(clientId: string): IndexEntry | undefined {
    return this.#map.get(clientId);
  }

  /** Note that record `seq` was appended for `clientId`; returns the previous newest position (0 if none). */
  note(clientId: string, seq: number, snapshot: StoredSnapshot | undefined): number {
    let e = this.#map.get(clientId);
    const prev = e?.lastSeq ?? 0;
    if (e) this.#map.delete(clientId);
    else e = { clientId, lastSeq: 0, snapSeq: 0, packed: undefined, machineVersion: '' };
    e.lastSeq = seq;
    if (snapshot) {
      e.snapSeq = seq;
      e.packed = snapshot.packed;
      e.machineVersion = snapshot.machineVersion;
    }
    this.#map.set(clientId, e);
    this.#trim();
    return prev;
  }

  /** Put a recovered entry back (checkpoint load), newest last. */
  restore(entry: IndexEntry): void {
    this.#map.delete(entry.clientId);
    this.#map.set(entry.clientId, entry);
    this.#trim();
  }

  delete(clientId: string): void {
    this.#map.delete(clientId);
  }

  #trim(): void {
    while (this.#map.size > this.maxClients) {
      const oldest = this.#map.keys().next();
      if (oldest.done) return;
      this.#map.delete(oldest.value);
      this.#evictions++;
    }
  }

  get size(): number {
    return this.#map.size;
  }
  get evictions(): number {
    return this.#evictions;
  }

  /** A copy of the entry references, least recently written first (checkpoints). */
  entries(): IndexEntry[] {
    return Array.from(this.#map.values());
  }
}

export interface TailOptions {
  /** Clients with a tail (most recently active). */
  readonly maxClients: number;
  /** Records kept per client. */
  readonly perClient: number;
  /** Total bytes of all tails (line lengths plus a fixed overhead per record). */
  readonly maxBytes: number;
}

/**
 * The newest records of one client, oldest first: either the encoded lines
 * (memory mode: the only copy) or where they are on disk (file mode:
 * segment, byte offset, byte length). File mode keeps numbers only because
 * retaining every line costs the garbage collector several µs per append.
 */
/**
 * A record kept as it was appended (memory mode): encoding it costs more
 * than the whole rest of the hook, so it is encoded only when read.
 */
export interface HeldEntry {
  readonly id: string;
  readonly record: JournalRecord;
  readonly snapshot?: StoredSnapshot;
}

export interface Tail {
  readonly seqs: number[];
  readonly lines: (string | HeldEntry)[];
  readonly segs: number[];
  readonly offs: number[];
  readonly lens: number[];
  bytes: number;
  /** Every record of the client at or before this position is NOT in the tail. */
  evictedUpTo: number;
}

/** Approximate per-record overhead of the array slots (and the string header of a line). */
const LINE_OVERHEAD = 48;
const REF_OVERHEAD = 32;
/** Estimated heap of a held (unencoded) record: the record, its facts, decision and input objects. */
const HELD_COST = 640;
const costOf = (line: string | HeldEntry): number => (typeof line === 'string' ? line.length + LINE_OVERHEAD : HELD_COST);

export class Tails {
  readonly #map = new Map<string, Tail>();
  #bytes = 0;

  constructor(readonly opts: TailOptions) {}

  get enabled(): boolean {
    return this.opts.perClient > 0 && this.opts.maxClients > 0;
  }

  /** Add record `seq` of a client as its encoded line or held entry; `prevSeq` is the client's newest position before it. */
  pushLine(clientId: string, seq: number, line: string | HeldEntry, prevSeq: number): void {
    if (!this.enabled) return;
    const t = this.#slot(clientId, prevSeq);
    t.seqs.push(seq);
    t.lines.push(line);
    this.#grow(t, costOf(line));
  }

  /** Add record `seq` of a client by its place on disk. */
  pushRef(clientId: string, seq: number, seg: number, off: number, len: number, prevSeq: number): void {
    if (!this.enabled) return;
    const t = this.#slot(clientId, prevSeq);
    t.seqs.push(seq);
    t.segs.push(seg);
    t.offs.push(off);
    t.lens.push(len);
    this.#grow(t, REF_OVERHEAD);
  }

  #slot(clientId: string, prevSeq: number): Tail {
    let t = this.#map.get(clientId);
    if (t) this.#map.delete(clientId);
    else t = { seqs: [], lines: [], segs: [], offs: [], lens: [], bytes: 0, evictedUpTo: prevSeq };
    this.#map.set(clientId, t);
    return t;
  }

  #grow(t: Tail, cost: number): void {
    t.bytes += cost;
    this.#bytes += cost;
    while (t.seqs.length > this.opts.perClient) {
      t.evictedUpTo = t.seqs.shift() ?? t.evictedUpTo;
      const c = t.lines.length > 0 ? costOf(t.lines.shift() ?? '') : REF_OVERHEAD;
      if (t.segs.length > 0) {
        t.segs.shift();
        t.offs.shift();
        t.lens.shift();
      }
      t.bytes -= c;
      this.#bytes -= c;
    }
    while ((this.#map.size > this.opts.maxClients || this.#bytes > this.opts.maxBytes) && this.#map.size > 1) {
      const oldest = this.#map.entries().next();
      if (oldest.done) break;
      this.#map.delete(oldest.value[0]);
      this.#bytes -= oldest.value[1].bytes;
    }
  }

  get(clientId: string): Tail | undefined {
    return this.#map.get(clientId);
  }

  delete(clientId: string): void {
    const t = this.#map.get(clientId);
    if (!t) return;
    this.#map.delete(clientId);
    this.#bytes -= t.bytes;
  }

  get clients(): number {
    return this.#map.size;
  }
  get bytes(): number {
    return this.#bytes;
  }

  /** Every retained line with its position (memory mode; no order across clients). */
  *allLines(): IterableIterator<{ seq: number; line: string | HeldEntry }> {
    for (const t of this.#map.values()) {
      for (let i = 0; i < t.lines.length; i++) yield { seq: t.seqs[i] ?? 0, line: t.lines[i] ?? '' };
    }
  }
}
