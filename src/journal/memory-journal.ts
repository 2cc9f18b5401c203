/**
 * The default journal when nothing is persisted: one bounded ring of the
 * newest records of all clients, held as appended (encoded only when read).
 * An append is a few stores into an array: no per-client bookkeeping, no
 * encoding, nothing to wait for. `recent` scans the ring (an operator's
 * question, not the hot path). State does not survive a restart.
 */
import { decodeEntry, encodeRecord } from './events.js';
import { JournalClosedError } from './journal-errors.js';
import type {
  AppendAck,
  AppendOptions,
  CommonJournalOptions,
  JournalEntry,
  JournalPort,
  JournalRecord,
  JournalStats,
  LoadedClient,
} from './journal.js';
import { packedSnapshot } from './journal.js';
import { RecordIds, sourceOf } from './record-ids.js';

export interface MemoryJournalOptions extends CommonJournalOptions {
  /** Records kept, all clients together (default 100,000). */
  readonly capacity?: number;
}

export class MemoryJournal implements JournalPort {
  readonly kind = 'memory' as const;
  readonly #capacity: number;
  readonly #records: (JournalRecord | undefined)[];
  readonly #ids: (string | undefined)[];
  readonly #snapshots: (string | undefined)[];
  readonly #idGen = new RecordIds();
  readonly #sourceJson: string;
  readonly #machineVersion: string;
  readonly #onError: CommonJournalOptions['onError'];
  #seq = 0;
  #closed = false;

  constructor(opts: MemoryJournalOptions = {}) {
    this.#capacity = Math.max(1, opts.capacity ?? 4096);
    this.#records = new Array<JournalRecord | undefined>(this.#capacity);
    this.#ids = new Array<string | undefined>(this.#capacity);
    this.#snapshots = new Array<string | undefined>(this.#capacity);
    this.#sourceJson = JSON.stringify(sourceOf(opts.instance));
    this.#machineVersion = String(opts.machineVersion ?? '');
    this.#onError = opts.onError;
  }

  append(record: JournalRecord, opts?: AppendOptions): Promise<AppendAck> | undefined {
    if (this.#closed) {
      const err = new JournalClosedError();
      if (opts?.durable ?? record.decision !== undefined) return Promise.reject(err);
      this.#onError?.(err, record.clientId, [record]);
      return undefined;
    }
    const slot = this.#seq++ % this.#capacity;
    this.#records[slot] = record;
    this.#ids[slot] = this.#idGen.next();
    this.#snapshots[slot] = packedSnapshot(opts?.snapshot);
    return undefined;
  }

  #entryAt(seq: number): JournalEntry | undefined {
    const slot = (seq - 1) % this.#capacity;
    const record = this.#records[slot];
    const id = this.#ids[slot];
    if (!record || id === undefined) return undefined;
    const packed = this.#snapshots[slot];
    return decodeEntry(
      encodeRecord(record, id, this.#sourceJson, packed === undefined ? undefined : { machineVersion: this.#machineVersion, packed }, seq),
    );
  }

  get #oldest(): number {
    return Math.max(1, this.#seq - this.#capacity + 1);
  }

  async load(): Promise<LoadedClient | undefined> {
    return undefined; // nothing survives in memory that the registry does not already hold
  }

  async recent(clientId: string, limit: number): Promise<JournalEntry[]> {
    const out: JournalEntry[] = [];
    for (let seq = this.#seq; seq >= this.#oldest && out.length < limit; seq--) {
      if (this.#records[(seq - 1) % this.#capacity]?.clientId !== clientId) continue;
      const e = this.#entryAt(seq);
      if (e) out.push(e);
    }
    return out.reverse();
  }

  async *readAll(opts: { readonly fromSeq?: number } = {}): AsyncIterable<JournalEntry> {
    const end = this.#seq;
    for (let seq = Math.max(this.#oldest, opts.fromSeq ?? 0); seq <= end; seq++) {
      const e = this.#entryAt(seq);
      if (e) yield e;
    }
  }

  forget(): void {}

  async flush(): Promise<void> {}

  stats(): JournalStats {
    return { kind: 'memory', appended: this.#seq, stored: this.#seq, pending: 0, conflicts: 0, timeouts: 0, dropped: 0 };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
