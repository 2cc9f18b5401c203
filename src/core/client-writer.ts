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
import { canRestore, initialSnapshot, packSnapshot, unpackSnapshot } from '../../machines/client/client.step.js';
import type { ClientEvent } from '../../machines/client/client.types.js';
import type { ClientEntry, StepResult } from '../actors/client-entry.js';
import { decision, type Decision } from '../domain/decision.js';
import type { HookEvent } from '../domain/hook-event.js';
import type { JournalPort, JournalRecord } from '../journal/journal.js';
import { AppendTimeoutError, ConflictError } from '../journal/journal-errors.js';
import { RecordIds } from '../journal/record-ids.js';
import type { Logger } from '../observability/logger.js';

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

export type { DegradeMode, DegradeOptions } from './outbox-keeper.js';
import { OutboxKeeper, type DegradeMode, type DegradeOptions } from './outbox-keeper.js';

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
  /** The degrade rules' outbox (NATS journal with degrade options); absent: failures are not degraded. */
  readonly #keeper: OutboxKeeper | undefined;

  constructor(journal: JournalPort, log: Logger, build: RecordBuilder, degrade?: DegradeOptions) {
    this.#journal = journal;
    this.#log = log;
    this.#build = build;
    this.#keeper = degrade ? new OutboxKeeper(journal, log, degrade, this.counters) : undefined;
  }

  /** True while the journal is unreachable and this instance decides locally (degrade rules). */
  get degraded(): boolean {
    return this.#keeper?.degraded ?? false;
  }

  /** Records of this client go to the outbox (degrade rules). */
  #local(clientId: string): boolean {
    return this.#keeper?.local(clientId) ?? false;
  }

  /** Records waiting in the outbox. */
  get outboxSize(): number {
    return this.#keeper?.size ?? 0;
  }

  /** The degrade mode of a valued hook (`local` when none is configured). */
  modeOf(hook: string): DegradeMode {
    return this.#keeper?.modeOf(hook) ?? 'local';
  }

  /** Move the outbox into the journal (also runs on a timer while it holds records). */
  flushOutbox(): Promise<void> {
    return this.#keeper?.flush() ?? Promise.resolve();
  }

  /** Write one record to the outbox; false when it is full or there is none. */
  #toOutbox(record: JournalRecord, id: string, snapshot: (() => string) | undefined): boolean {
    return this.#keeper?.keep(record, id, snapshot) ?? false;
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
    this.#keeper?.stop();
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
    if (this.#local(entry.clientId)) {
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
    if (err instanceof AppendTimeoutError && this.#keeper?.markDown(entry.clientId)) {
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
    if (this.#keeper?.isDown(entry.clientId)) {
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
      if (this.#keeper && !entry.foreign) {
        // the journal is away after all: degrade this part, the steps wait in the outbox (their
        // state is this instance's, already applied) and are merged when it is back
        this.#keeper.markDown(entry.clientId);
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
}
