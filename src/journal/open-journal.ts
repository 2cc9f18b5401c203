/**
 * Composition helper: the journal the configuration asks for. NATS when
 * `nats` is given (`--nats URL`), else the embedded journal with files when
 * `dataDir` is given (`--data-dir DIR`), else the bounded in-memory ring.
 */
import { EmbeddedJournal, type EmbeddedJournalOptions } from './embedded-journal.js';
import type { CommonJournalOptions, JournalPort } from './journal.js';
import { MemoryJournal } from './memory-journal.js';
import { NatsJournal, type NatsJournalOptions } from './nats-journal.js';

export interface OpenJournalOptions extends EmbeddedJournalOptions {
  /** Use NATS JetStream (the embedded-only options are then ignored). */
  readonly nats?: Omit<NatsJournalOptions, keyof CommonJournalOptions>;
}

export async function openJournal(opts: OpenJournalOptions = {}): Promise<JournalPort> {
  const { nats, ...embedded } = opts;
  if (nats) {
    return NatsJournal.open({
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
