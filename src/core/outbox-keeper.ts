/**
 * The local outbox's bookkeeping for the degrade rules (docs/CLUSTER.md
 * §Degrade): which parts of the journal (shards) are down, which clients
 * have records waiting, and the flush that moves them into the journal once
 * it answers again: per client, in the client's mailbox, loading its journal
 * state, merging it strictly with the local one (`mergeStrict`) and
 * appending the records with their original ids, each as a message of its
 * own (one that landed before is deduplicated).
 */
import { mergeStrict } from '../../machines/client/client.merge.js';
import { canRestore, packSnapshot, stateName, unpackSnapshot, type ClientSnapshot } from '../../machines/client/client.step.js';
import type { ClientEntry } from '../actors/client-entry.js';
import { decodeEntries, encodeRecord } from '../journal/events.js';
import type { JournalEntry, JournalPort, JournalRecord } from '../journal/journal.js';
import { ConflictError } from '../journal/journal-errors.js';
import type { Logger } from '../observability/logger.js';
import type { Outbox } from './outbox.js';

/** Tries per client flush (a conflict means another writer moved the client on meanwhile). */
const FLUSH_ATTEMPTS = 4;

/** What to do with a valued hook while the journal cannot be reached. */
export type DegradeMode = 'local' | 'deny';

export interface DegradeOptions {
  readonly outbox: Outbox;
  /** Per valued hook; default `local`. */
  readonly modes: Readonly<Partial<Record<'client.authenticate' | 'client.authorize' | 'message.publish', DegradeMode>>>;
  /** CloudEvent `source` of this instance (JSON string) and the machine version, for outbox entries. */
  readonly sourceJson: string;
  readonly machineVersion: string;
  /** The client's entry, for flushing clients nothing else touched since (after a restart). */
  readonly entryOf: (clientId: string) => ClientEntry;
  /** How often the outbox is flushed while it holds records (default 500 ms). */
  readonly flushEveryMs?: number;
}

/** Outbox figures the writer reports (`WriterCounters`). */
export interface OutboxCounters {
  outboxed: number;
  flushed: number;
}

export class OutboxKeeper {
  readonly #journal: JournalPort;
  readonly #log: Logger;
  readonly #o: DegradeOptions;
  readonly #counters: OutboxCounters;
  /** Journal partitions (shards) that cannot be reached: their clients' records go to the outbox. */
  readonly #down = new Set<number>();
  /** Clients with records in the outbox: their next records follow them there until flushed. */
  readonly #outboxed = new Set<string>();
  #flushing = false;
  readonly #timer: NodeJS.Timeout;

  constructor(journal: JournalPort, log: Logger, options: DegradeOptions, counters: OutboxCounters) {
    this.#journal = journal;
    this.#log = log;
    this.#o = options;
    this.#counters = counters;
    this.#timer = setInterval(() => void this.flush(), options.flushEveryMs ?? 500);
    this.#timer.unref();
    if (options.outbox.size > 0) this.#rememberOutboxed(options.outbox.read()); // left by a previous run: those clients flush first
  }

  /** Some part of the journal is down (this instance decides locally for its clients). */
  get degraded(): boolean {
    return this.#down.size > 0;
  }

  get size(): number {
    return this.#o.outbox.size;
  }

  part(clientId: string): number {
    return this.#journal.partitionOf?.(clientId) ?? 0;
  }

  isDown(clientId: string): boolean {
    return this.#down.size > 0 && this.#down.has(this.part(clientId));
  }

  /** Records of this client go to the outbox: its part of the journal is down, or it has records there already. */
  local(clientId: string): boolean {
    return this.isDown(clientId) || this.#outboxed.has(clientId);
  }

  /** The client's part of the journal stopped answering; true when it was up until now. */
  markDown(clientId: string): boolean {
    const part = this.part(clientId);
    if (this.#down.has(part)) return false;
    this.#down.add(part);
    return true;
  }

  modeOf(hook: string): DegradeMode {
    return (this.#o.modes as Record<string, DegradeMode | undefined>)[hook] ?? 'local';
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#o.outbox.close();
  }

  /** Write one record to the outbox; false when it is full. */
  keep(record: JournalRecord, id: string, snapshot: (() => string) | undefined): boolean {
    const d = this.#o;
    const line = encodeRecord(record, id, d.sourceJson, snapshot ? { machineVersion: d.machineVersion, packed: snapshot() } : undefined);
    if (!d.outbox.append(line)) {
      this.#log.error({ clientId: record.clientId, hook: record.hook, bytes: d.outbox.bytes }, 'outbox full: record not kept');
      return false;
    }
    this.#counters.outboxed++;
    this.#outboxed.add(record.clientId);
    return true;
  }

  #rememberOutboxed(lines: readonly string[]): void {
    this.#outboxed.clear();
    for (const line of lines) {
      const id = decodeEntries(line, 0)?.[0]?.record.clientId;
      if (id !== undefined) this.#outboxed.add(id);
    }
  }

  /**
   * Move the outbox into the journal once it answers again. Every client with
   * records is flushed in its own mailbox (its new hooks wait behind): load its
   * journal state, merge it with the local one strictly (mergeStrict), append
   * the records with their ids (a record that landed before dedups) and the
   * merged snapshot. Clients that fail stay in the outbox for the next round.
   */
  async flush(): Promise<void> {
    const d = this.#o;
    if (this.#flushing) return;
    if (d.outbox.size === 0) {
      this.#down.clear(); // nothing waits: the next append tells whether the journal is back
      return;
    }
    this.#flushing = true;
    try {
      const lines = d.outbox.read();
      const groups = new Map<string, { lines: string[]; entries: JournalEntry[] }>();
      for (const line of lines) {
        const entry = decodeEntries(line, 0)?.[0];
        if (!entry) continue;
        const g = groups.get(entry.record.clientId) ?? { lines: [], entries: [] };
        g.lines.push(line);
        g.entries.push(entry);
        groups.set(entry.record.clientId, g);
      }
      // per part of the journal: a probe read (fails while that part is still away), then its clients
      const byPart = new Map<number, string[]>();
      for (const clientId of groups.keys()) byPart.set(this.part(clientId), [...(byPart.get(this.part(clientId)) ?? []), clientId]);
      for (const part of [...this.#down]) if (!byPart.has(part)) this.#down.delete(part);
      const results: Promise<string[] | undefined>[] = [];
      for (const [part, clients] of byPart) {
        try {
          await this.#journal.load(clients[0] as string);
        } catch {
          results.push(Promise.resolve(clients.flatMap((c) => groups.get(c)?.lines ?? [])));
          continue;
        }
        for (const clientId of clients) {
          const g = groups.get(clientId) as { lines: string[]; entries: JournalEntry[] };
          const entry = d.entryOf(clientId);
          results.push(
            entry
              .enqueueTask(() => this.#flushClient(entry, g.entries))
              .then(
                () => undefined,
                (err: unknown) => {
                  this.#log.warn({ err, clientId }, 'outbox flush of a client failed; kept for the next round');
                  return g.lines;
                },
              ),
          );
        }
        this.#down.delete(part); // new hooks go to the journal; the outbox clients' wait behind their flush
      }
      const kept = (await Promise.all(results)).flatMap((l) => l ?? []);
      const added = d.outbox.read().slice(lines.length); // written meanwhile (a new outage, or clients still waiting)
      d.outbox.replace([...kept, ...added]);
      this.#rememberOutboxed([...kept, ...added]);
      for (const line of kept) {
        const clientId = decodeEntries(line, 0)?.[0]?.record.clientId;
        if (clientId !== undefined) this.#down.add(this.part(clientId));
      }
      if (kept.length === 0) this.#log.info({ clients: groups.size, records: lines.length }, 'outbox flushed to the journal');
    } finally {
      this.#flushing = false;
    }
  }

  async #flushClient(entry: ClientEntry, records: readonly JournalEntry[]): Promise<void> {
    // an entry nothing touched in this process (after a restart) has its state in the outbox
    const lastPacked = records.findLast((e) => e.snapshot !== undefined)?.snapshot;
    const local: ClientSnapshot =
      entry.fresh && lastPacked && canRestore(lastPacked.machineVersion) ? unpackSnapshot(lastPacked.packed) : entry.snapshot;
    entry.fresh = false;
    for (let attempt = 1; ; attempt++) {
      const loaded = await this.#journal.load(entry.clientId);
      const remote = loaded?.snapshot && canRestore(loaded.snapshot.machineVersion) ? unpackSnapshot(loaded.snapshot.packed) : undefined;
      const merged = remote ? mergeStrict(remote, local) : local;
      const packed = packSnapshot(merged);
      try {
        await Promise.all(
          records.map((e, i) =>
            this.#journal.append(i === records.length - 1 ? { ...e.record, state: stateName(merged) } : e.record, {
              id: e.id,
              durable: true,
              alone: true, // its id may be stored already (landed before the outage was noticed): dedup per record
              ...(i === records.length - 1 ? { snapshot: packed } : {}),
            }),
          ),
        );
        entry.snapshot = merged;
        this.#counters.flushed += records.length;
        return;
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= FLUSH_ATTEMPTS) throw err;
      }
    }
  }
}
