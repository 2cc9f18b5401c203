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
import type { StoredSnapshot } from './journal.js';

export interface IndexEntry {
  readonly clientId: string;
  /** Position of the client's newest record. */
  lastSeq: number;
  /** Position of the record the snapshot was taken after (0: no snapshot). */
  snapSeq: number;
  packed: string | undefined;
  machineVersion: number;
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
    else e = { clientId, lastSeq: 0, snapSeq: 0, packed: undefined, machineVersion: 0 };
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

export interface Tail {
  readonly seqs: number[];
  readonly lines: string[];
  bytes: number;
  /** Every record of the client at or before this position is NOT in the tail. */
  evictedUpTo: number;
}

/** Approximate per-record overhead of the two array slots and the string header. */
const RECORD_OVERHEAD = 48;

export class Tails {
  readonly #map = new Map<string, Tail>();
  #bytes = 0;

  constructor(readonly opts: TailOptions) {}

  /** Add record `seq` of a client; `prevSeq` is the client's newest position before it. */
  push(clientId: string, seq: number, line: string, prevSeq: number): void {
    if (this.opts.perClient <= 0 || this.opts.maxClients <= 0) return;
    let t = this.#map.get(clientId);
    if (t) this.#map.delete(clientId);
    else t = { seqs: [], lines: [], bytes: 0, evictedUpTo: prevSeq };
    this.#map.set(clientId, t);
    const cost = line.length + RECORD_OVERHEAD;
    t.seqs.push(seq);
    t.lines.push(line);
    t.bytes += cost;
    this.#bytes += cost;
    while (t.seqs.length > this.opts.perClient) {
      const dropped = t.seqs.shift() ?? 0;
      const droppedLine = t.lines.shift() ?? '';
      const c = droppedLine.length + RECORD_OVERHEAD;
      t.bytes -= c;
      this.#bytes -= c;
      t.evictedUpTo = dropped;
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

  /** Every retained line with its position (no order guarantee across clients). */
  *all(): IterableIterator<{ seq: number; line: string }> {
    for (const t of this.#map.values()) {
      for (let i = 0; i < t.seqs.length; i++) yield { seq: t.seqs[i] ?? 0, line: t.lines[i] ?? '' };
    }
  }
}
