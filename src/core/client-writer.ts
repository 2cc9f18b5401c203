/**
 * Journaling a client's steps, and redoing them when another writer got
 * there first: the single-writer-per-client rule of a cluster.
 *
 * Every step is appended with the journal's fence (NATS: the client's last
 * stream sequence). When the fence fails (`ConflictError`: another instance
 * appended for this client) or an append timed out (`AppendTimeoutError`:
 * it may or may not have landed), the client is recovered in its mailbox,
 * ahead of anything that arrives later:
 *
 * 1. load the client's newest snapshot from the journal (this re-arms the fence);
 * 2. after a timeout, see from the ids in the client's newest message whether ours landed;
 * 3. step every unstored step again, in arrival order, on the loaded state, and append it again.
 *
 * A valued hook's answer is the decision of the step that got stored, so the
 * answer always follows from the journal (bans and limits set elsewhere hold).
 * A step is tried at most `MAX_ATTEMPTS` times; then its valued hook fails
 * (the edge answers the configured fallback). Journals whose appends cannot
 * conflict (memory, files) take the plain path.
 */
import { mergeStrict } from '../../machines/client/client.merge.js';
import {
  canRestore,
  initialSnapshot,
  packSnapshot,
  stateName,
  unpackSnapshot,
  type ClientSnapshot,
} from '../../machines/client/client.step.js';
import type { ClientEvent } from '../../machines/client/client.types.js';
import type { ClientEntry, StepResult } from '../actors/client-entry.js';
import { decision, type Decision } from '../domain/decision.js';
import type { HookEvent } from '../domain/hook-event.js';
import { decodeEntries, encodeRecord } from '../journal/events.js';
import type { JournalEntry, JournalPort, JournalRecord } from '../journal/journal.js';
import { AppendTimeoutError, ConflictError } from '../journal/journal-errors.js';
import { RecordIds } from '../journal/record-ids.js';
import type { Logger } from '../observability/logger.js';
import type { Outbox } from './outbox.js';

/** Tries per step (first append + redos) before its hook fails. */
export const MAX_ATTEMPTS = 4;

export const NO_DECISION = decision('ignore', { code: 'default', policy: '-', detail: 'notification' });

/** Builds the journal record of a step (hook-service.ts owns the record's shape). */
export type RecordBuilder = (entry: ClientEntry, hook: HookEvent, event: ClientEvent, r: StepResult) => JournalRecord;

interface Step {
  readonly id: string;
  readonly hook: HookEvent;
  readonly event: ClientEvent;
  readonly deadline: number | undefined;
  readonly attempt: number;
  readonly decision: Decision | undefined;
  /** Set when its append failed with a conflict or timeout. */
  failed?: Error;
  readonly answer: { resolve: (d: Decision) => void; reject: (err: unknown) => void } | undefined;
  /** Set by `#append`: what was journaled, for the outbox if the journal goes away. */
  record?: JournalRecord;
  snapshot?: () => string;
}

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

export interface WriterCounters {
  /** Steps redone after a conflict or timeout. */
  redone: number;
  /** Recoveries (loads after a failed fence). */
  recoveries: number;
  /** Records written to the outbox while degraded, and flushed to the journal since. */
  outboxed: number;
  flushed: number;
  /** Valued hooks denied because the outbox was full or the degrade mode is `deny`. */
  failedClosed: number;
}

/** Marks a step made while degraded that waits behind steps still in flight. */
const DEGRADED = new Error('decided while the journal was unreachable');

const degradedDeny = (detail: string): Decision => decision('deny', { code: 'degraded', policy: '-', detail });

export class ClientWriter {
  readonly counters: WriterCounters = { redone: 0, recoveries: 0, outboxed: 0, flushed: 0, failedClosed: 0 };
  readonly #journal: JournalPort;
  readonly #log: Logger;
  readonly #build: RecordBuilder;
  readonly #ids = new RecordIds();
  /** Steps appended and not yet acknowledged, per client, oldest first. */
  readonly #open = new WeakMap<ClientEntry, Step[]>();
  readonly #recovering = new WeakSet<ClientEntry>();
  /** Told of the facts of redone steps (the EMQX link kicks on a ban that only the redo found). */
  onFacts: ((clientId: string, facts: StepResult['facts']) => void) | undefined;
  readonly #degrade: DegradeOptions | undefined;
  /** Journal partitions (shards) that cannot be reached: their clients' records go to the outbox. */
  readonly #down = new Set<number>();
  #flushing = false;
  /** Clients with records in the outbox: their next records follow them there until flushed. */
  readonly #outboxed = new Set<string>();
  #flushTimer: NodeJS.Timeout | undefined;

  constructor(journal: JournalPort, log: Logger, build: RecordBuilder, degrade?: DegradeOptions) {
    this.#journal = journal;
    this.#log = log;
    this.#build = build;
    this.#degrade = degrade;
    if (degrade) {
      this.#flushTimer = setInterval(() => void this.flushOutbox(), degrade.flushEveryMs ?? 500);
      this.#flushTimer.unref();
      if (degrade.outbox.size > 0) {
        this.#rememberOutboxed(degrade.outbox.read()); // left by a previous run: those clients flush first
      }
    }
  }

  /** True while the journal is unreachable and this instance decides locally (degrade rules). */
  get degraded(): boolean {
    return this.#down.size > 0;
  }

  #part(clientId: string): number {
    return this.#journal.partitionOf?.(clientId) ?? 0;
  }

  /** Records of this client go to the outbox: its part of the journal is down, or it has records there already. */
  #local(clientId: string): boolean {
    return this.#degrade !== undefined && ((this.#down.size > 0 && this.#down.has(this.#part(clientId))) || this.#outboxed.has(clientId));
  }

  /** Records waiting in the outbox. */
  get outboxSize(): number {
    return this.#degrade?.outbox.size ?? 0;
  }

  /** The degrade mode of a valued hook (`local` when none is configured). */
  modeOf(hook: string): DegradeMode {
    return (this.#degrade?.modes as Record<string, DegradeMode | undefined> | undefined)?.[hook] ?? 'local';
  }

  /** A record that changes no state (a fallback answer): to the outbox while the client's records go there, else appended as a notification. */
  note(record: JournalRecord): void {
    if (this.#local(record.clientId)) {
      this.#toOutbox(record, this.#ids.next(), undefined);
      return;
    }
    this.#journal
      .append(record, { durable: false })
      ?.catch((err: unknown) => this.#log.warn({ err, clientId: record.clientId }, 'journal append failed'));
  }

  stop(): void {
    clearInterval(this.#flushTimer);
    this.#degrade?.outbox.close();
  }

  /** Whether appends can conflict (another instance shares the journal). */
  get fenced(): boolean {
    return this.#journal.kind === 'nats';
  }

  /** Journal a step of a NATS-journaled client; the decision (valued) resolves once a step of this hook is stored. */
  write(
    entry: ClientEntry,
    hook: HookEvent,
    event: ClientEvent,
    r: StepResult,
    deadline: number | undefined,
    attempt = 1,
  ): Decision | Promise<Decision> {
    const d = r.decision;
    if (this.#degrade && this.#local(entry.clientId)) {
      // degraded: decided from this instance's state (mode local) or denied (mode deny, the step
      // still counts: strict); the record waits in the outbox either way
      const deny =
        d && this.modeOf(hook.type) === 'deny'
          ? degradedDeny(`the journal (NATS) cannot be reached; degrade mode for ${hook.type} is deny`)
          : undefined;
      const record = this.#build(entry, hook, event, deny ? { ...r, decision: deny } : r);
      const snapshot = (): string => packSnapshot(r.snapshot);
      const open = this.#open.get(entry);
      if (open && open.length > 0) {
        // earlier steps of this client still wait for NATS: this one follows them (to the outbox or the journal)
        open.push({
          id: this.#ids.next(),
          hook,
          event,
          deadline: undefined,
          attempt: 1,
          decision: deny ?? d,
          answer: undefined,
          record,
          snapshot,
          failed: DEGRADED,
        });
        if (deny) this.counters.failedClosed++;
        return deny ?? d ?? NO_DECISION;
      }
      const ok = this.#toOutbox(record, this.#ids.next(), snapshot);
      if (deny) this.counters.failedClosed++;
      if (d && !ok) {
        this.counters.failedClosed++;
        return degradedDeny('the journal (NATS) cannot be reached and the local outbox is full');
      }
      return deny ?? d ?? NO_DECISION;
    }
    let answer: Step['answer'];
    const result = d ? new Promise<Decision>((resolve, reject) => (answer = { resolve, reject })) : NO_DECISION;
    this.#append(entry, { id: this.#ids.next(), hook, event, deadline, attempt, decision: d, answer }, r);
    return result;
  }

  #append(entry: ClientEntry, step: Step, r: StepResult): void {
    let open = this.#open.get(entry);
    if (!open) this.#open.set(entry, (open = []));
    open.push(step);
    const record = this.#build(entry, step.hook, step.event, r);
    const snapshot = (): string => packSnapshot(r.snapshot);
    step.record = record;
    step.snapshot = snapshot;
    const ack = this.#journal.append(record, {
      snapshot,
      id: step.id,
      track: true,
      ...(step.deadline !== undefined && step.decision ? { deadline: step.deadline } : {}),
    });
    if (!ack) {
      // not tracked by this adapter: treat as stored
      this.#settle(entry, step);
      step.answer?.resolve(step.decision ?? NO_DECISION);
      return;
    }
    ack.then(
      () => {
        this.#settle(entry, step);
        step.answer?.resolve(step.decision ?? NO_DECISION);
      },
      (err: unknown) => this.#failed(entry, step, err),
    );
  }

  #settle(entry: ClientEntry, step: Step): void {
    const open = this.#open.get(entry);
    const i = open ? open.indexOf(step) : -1;
    if (open && i >= 0) open.splice(i, 1);
    if (open?.[0]?.failed) this.#scheduleRecovery(entry); // failed steps were waiting behind this one
  }

  #scheduleRecovery(entry: ClientEntry): void {
    if (this.#recovering.has(entry)) return;
    this.#recovering.add(entry);
    void entry.enqueueTask(() => this.#recover(entry));
  }

  #failed(entry: ClientEntry, step: Step, err: unknown): void {
    if (!(err instanceof ConflictError || err instanceof AppendTimeoutError)) {
      this.#settle(entry, step);
      if (step.answer) step.answer.reject(err);
      else this.#log.warn({ err, clientId: entry.clientId, hook: step.hook.type }, 'journal append failed');
      return;
    }
    step.failed = err;
    if (err instanceof AppendTimeoutError && this.#degrade && !this.#down.has(this.#part(entry.clientId))) {
      this.#down.add(this.#part(entry.clientId));
      this.#log.warn(
        { clientId: entry.clientId },
        'journal (NATS) not answering: degraded, deciding locally and keeping records in the outbox',
      );
    }
    this.#scheduleRecovery(entry);
  }

  /** Reload the client and redo its failed steps in order (runs in the client's mailbox). */
  async #recover(entry: ClientEntry): Promise<void> {
    this.#recovering.delete(entry);
    this.counters.recoveries++;
    // the failed steps at the head, in order; a step still waiting for the journal ahead of them
    // triggers another recovery when it settles (#settle / #failed)
    const open = this.#open.get(entry) ?? [];
    const pendingAt = open.findIndex((s) => !s.failed);
    const failed = pendingAt < 0 ? open : open.slice(0, pendingAt);
    this.#open.set(entry, pendingAt < 0 ? [] : open.slice(pendingAt));
    if (failed.length === 0) return;
    if (this.#degrade && this.#down.has(this.#part(entry.clientId))) {
      this.#toOutboxAll(failed);
      return;
    }
    let landed = new Set<string>();
    try {
      const loaded = await this.#journal.load(entry.clientId);
      const snap = loaded?.snapshot;
      if (loaded?.unreadable || (snap && !canRestore(snap.machineVersion))) {
        // a newer version wrote it (rolling upgrade): never fold over it (hook-service answers the fallback)
        entry.foreign = loaded?.unreadable
          ? 'its newest journal entry has a newer schema'
          : `its journal snapshot is of machine ${snap?.machineVersion}`;
        throw new Error(`client ${JSON.stringify(entry.clientId)}: ${entry.foreign}`);
      }
      // a timed-out append may have landed: it is then in the newest message (unless another writer
      // wrote since, when it is redone: an over-count, which errs strict)
      landed = new Set(loaded?.newestIds ?? []);
      entry.snapshot = snap ? unpackSnapshot(snap.packed) : loaded ? entry.snapshot : initialSnapshot();
    } catch (err) {
      if (this.#degrade && !entry.foreign) {
        // the journal is away after all: degrade this part, the steps wait in the outbox (their
        // state is this instance's, already applied) and are merged when it is back
        this.#down.add(this.#part(entry.clientId));
        this.#toOutboxAll(failed);
        return;
      }
      this.#log.warn({ err, clientId: entry.clientId, steps: failed.length }, 'could not reload a client after a failed append');
      for (const s of failed) s.answer?.reject(s.failed);
      return;
    }
    for (const s of failed) {
      if (landed.has(s.id)) {
        s.answer?.resolve(s.decision ?? NO_DECISION); // stored after all: the loaded state includes it
        continue;
      }
      if (s.attempt >= MAX_ATTEMPTS) {
        this.#log.warn(
          { clientId: entry.clientId, hook: s.hook.type, attempts: s.attempt },
          'gave up redoing a step: other writers keep moving the client',
        );
        s.answer?.reject(s.failed);
        continue;
      }
      this.counters.redone++;
      const r = entry.applyNow(s.event);
      if (r.facts.length > 0) this.onFacts?.(entry.clientId, r.facts);
      // past its deadline EMQX already has the fallback: the redo still goes to the journal (the state
      // relies on it), with the journal's own budget instead of a deadline that would fail it at once
      const deadline = s.deadline !== undefined && s.deadline > Date.now() ? s.deadline : undefined;
      const next: Step = { ...s, id: this.#ids.next(), attempt: s.attempt + 1, decision: r.decision, deadline };
      delete next.failed;
      this.#append(entry, next, r);
    }
  }

  /** The journal is away: these steps' records wait in the outbox with the rest (same ids: a landed one dedups). */
  #toOutboxAll(failed: readonly Step[]): void {
    for (const s of failed) {
      if (s.record && s.snapshot) this.#toOutbox(s.record, s.id, s.snapshot);
      s.answer?.resolve(s.decision ?? NO_DECISION);
    }
  }

  /** Write one record to the outbox; false when it is full. */
  #toOutbox(record: JournalRecord, id: string, snapshot: (() => string) | undefined): boolean {
    const d = this.#degrade;
    if (!d) return false;
    const line = encodeRecord(record, id, d.sourceJson, snapshot ? { machineVersion: d.machineVersion, packed: snapshot() } : undefined);
    if (!d.outbox.append(line)) {
      this.#log.error({ clientId: record.clientId, hook: record.hook, bytes: d.outbox.bytes }, 'outbox full: record not kept');
      return false;
    }
    this.counters.outboxed++;
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
  async flushOutbox(): Promise<void> {
    const d = this.#degrade;
    if (!d || this.#flushing) return;
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
      for (const clientId of groups.keys()) byPart.set(this.#part(clientId), [...(byPart.get(this.#part(clientId)) ?? []), clientId]);
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
        if (clientId !== undefined) this.#down.add(this.#part(clientId));
      }
      if (kept.length === 0) this.#log.info({ clients: groups.size, records: lines.length }, 'outbox flushed to the journal');
    } finally {
      this.#flushing = false;
    }
  }

  async #flushClient(entry: ClientEntry, records: readonly JournalEntry[]): Promise<void> {
    const d = this.#degrade as DegradeOptions;
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
        this.counters.flushed += records.length;
        void d;
        return;
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= MAX_ATTEMPTS) throw err;
      }
    }
  }
}
