/**
 * Composition helper: the journal the configuration asks for. NATS when
 * `nats` is given (`--nats URL`), else the embedded journal with files when
 * `dataDir` is given (`--data-dir DIR`), else the bounded in-memory ring.
 * With NATS, `nats.shards` > 1 gives a `ShardedJournal`.
 */
import { EmbeddedJournal, type EmbeddedJournalOptions } from './embedded-journal.js';
import type { CommonJournalOptions, JournalPort } from './journal.js';
import { MemoryJournal } from './memory-journal.js';
import { openNatsJournal, type ShardedOptions } from './sharded-journal.js';

export interface OpenJournalOptions extends EmbeddedJournalOptions {
  /** Use NATS JetStream (the embedded-only options are then ignored); `shards` > 1 splits it (sharded-journal.ts). */
  readonly nats?: Omit<ShardedOptions, keyof CommonJournalOptions>;
}

export async function openJournal(opts: OpenJournalOptions = {}): Promise<JournalPort> {
  const { nats, ...embedded } = opts;
  if (nats) {
    return openNatsJournal({
      ...nats,
      ...(opts.instance !== undefined ? { instance: opts.instance } : {}),
      ...(opts.machineVersion !== undefined ? { machineVersion: opts.machineVersion } : {}),
      ...(opts.appendTimeoutMs !== undefined ? { appendTimeoutMs: opts.appendTimeoutMs } : {}),
      ...(opts.onError ? { onError: opts.onError } : {}),
      ...(opts.onBackgroundError ? { onBackgroundError: opts.onBackgroundError } : {}),
    });
  }
  if (!embedded.dataDir) return new MemoryJournal(embedded);
  return EmbeddedJournal.open(embedded);
}
