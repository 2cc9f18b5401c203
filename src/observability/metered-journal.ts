/**
 * A journal that times its durable appends into a histogram cell
 * (`hookwarden_journal_append_duration_seconds`). Everything else is passed
 * through; notifications (no promise) cost one clock reading.
 */
import {
  isDurableByDefault,
  type AppendAck,
  type AppendOptions,
  type JournalEntry,
  type JournalKind,
  type JournalPort,
  type JournalRecord,
  type JournalStats,
  type LoadedClient,
} from '../journal/journal.js';
import type { HistogramCell } from './metric-cells.js';

export class MeteredJournal implements JournalPort {
  readonly inner: JournalPort;
  readonly #cell: HistogramCell;

  constructor(inner: JournalPort, cell: HistogramCell) {
    this.inner = inner;
    this.#cell = cell;
  }

  get kind(): JournalKind {
    return this.inner.kind;
  }

  partitionOf(clientId: string): number {
    return this.inner.partitionOf?.(clientId) ?? 0;
  }

  append(record: JournalRecord, opts?: AppendOptions): Promise<AppendAck> | undefined {
    // only durable appends are timed: a tracked notification's promise passes through untouched
    if (!(opts?.durable ?? isDurableByDefault(record))) return this.inner.append(record, opts);
    const startedAt = performance.now();
    const ack = this.inner.append(record, opts);
    if (ack === undefined) return undefined;
    const cell = this.#cell;
    return ack.then(
      (a) => {
        cell.observe((performance.now() - startedAt) / 1000);
        return a;
      },
      (err: unknown) => {
        cell.observe((performance.now() - startedAt) / 1000);
        throw err;
      },
    );
  }

  load(clientId: string): Promise<LoadedClient | undefined> {
    return this.inner.load(clientId);
  }

  recent(clientId: string, limit: number): Promise<JournalEntry[]> {
    return this.inner.recent(clientId, limit);
  }

  readAll(opts?: { readonly fromSeq?: number }): AsyncIterable<JournalEntry> {
    return this.inner.readAll(opts);
  }

  forget(clientId: string): void {
    this.inner.forget(clientId);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  stats(): JournalStats {
    return this.inner.stats();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
