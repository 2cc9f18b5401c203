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
}

export interface WriterCounters {
  /** Steps redone after a conflict or timeout. */
  redone: number;
  /** Recoveries (loads after a failed fence). */
  recoveries: number;
}

export class ClientWriter {
  readonly counters: WriterCounters = { redone: 0, recoveries: 0 };
  readonly #journal: JournalPort;
  readonly #log: Logger;
  readonly #build: RecordBuilder;
  readonly #ids = new RecordIds();
  /** Steps appended and not yet acknowledged, per client, oldest first. */
  readonly #open = new WeakMap<ClientEntry, Step[]>();
  readonly #recovering = new WeakSet<ClientEntry>();

  constructor(journal: JournalPort, log: Logger, build: RecordBuilder) {
    this.#journal = journal;
    this.#log = log;
    this.#build = build;
  }

  /** Whether appends can conflict (another instance shares the journal). */
  get fenced(): boolean {
    return this.#journal.kind === 'nats';
  }

  /** Journal a step of a NATS-journaled client; the decision (valued) resolves once a step of this hook is stored. */
  write(entry: ClientEntry, hook: HookEvent, event: ClientEvent, r: StepResult, deadline: number | undefined, attempt = 1): Decision | Promise<Decision> {
    const d = r.decision;
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
    const ack = this.#journal.append(record, {
      snapshot: () => packSnapshot(r.snapshot),
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
  }

  #failed(entry: ClientEntry, step: Step, err: unknown): void {
    if (!(err instanceof ConflictError || err instanceof AppendTimeoutError)) {
      this.#settle(entry, step);
      if (step.answer) step.answer.reject(err);
      else this.#log.warn({ err, clientId: entry.clientId, hook: step.hook.type }, 'journal append failed');
      return;
    }
    step.failed = err;
    if (this.#recovering.has(entry)) return;
    this.#recovering.add(entry);
    void entry.enqueueTask(() => this.#recover(entry));
  }

  /** Reload the client and redo its failed steps in order (runs in the client's mailbox). */
  async #recover(entry: ClientEntry): Promise<void> {
    this.#recovering.delete(entry);
    this.counters.recoveries++;
    const open = this.#open.get(entry) ?? [];
    const failed = open.filter((s) => s.failed);
    this.#open.set(
      entry,
      open.filter((s) => !s.failed),
    );
    if (failed.length === 0) return;
    let landed = new Set<string>();
    try {
      const loaded = await this.#journal.load(entry.clientId);
      const snap = loaded?.snapshot;
      if (snap && !canRestore(snap.machineVersion)) {
        throw new Error(`the journal holds a snapshot of machine ${snap.machineVersion}, which this version cannot read`);
      }
      // a timed-out append may have landed: it is then in the newest message (unless another writer
      // wrote since, when it is redone: an over-count, which errs strict)
      landed = new Set(loaded?.newestIds ?? []);
      entry.snapshot = snap ? unpackSnapshot(snap.packed) : loaded ? entry.snapshot : initialSnapshot();
    } catch (err) {
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
        this.#log.warn({ clientId: entry.clientId, hook: s.hook.type, attempts: s.attempt }, 'gave up redoing a step: other writers keep moving the client');
        s.answer?.reject(s.failed);
        continue;
      }
      this.counters.redone++;
      const r = entry.applyNow(s.event);
      // past its deadline EMQX already has the fallback: the redo still goes to the journal (the state
      // relies on it), with the journal's own budget instead of a deadline that would fail it at once
      const deadline = s.deadline !== undefined && s.deadline > Date.now() ? s.deadline : undefined;
      const next: Step = { ...s, id: this.#ids.next(), attempt: s.attempt + 1, decision: r.decision, deadline };
      delete next.failed;
      this.#append(entry, next, r);
    }
  }
}
