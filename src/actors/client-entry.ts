/**
 * One client's live state and its mailbox: one event at a time, in arrival
 * order (Restate's "exclusive handler"). When nothing is queued a step runs
 * synchronously (the hot path allocates no promise); work that needs an async
 * preparation (a password check) queues everything behind it.
 */
import { step, type ClientSnapshot, type ClientFact } from '../../machines/client/client.step.js';
import type { ClientEvent } from '../../machines/client/client.types.js';
import type { Decision } from '../domain/decision.js';
import type { ResolvedPolicy } from '../domain/policy.types.js';

export interface StepResult {
  readonly facts: readonly ClientFact[];
  readonly decision: Decision | undefined;
  readonly snapshot: ClientSnapshot;
}

/** The registry's bookkeeping: an entry with queued work must not be evicted mid-step. */
export interface EntryHooks {
  busy(entry: ClientEntry): void;
  settled(entry: ClientEntry): void;
}

export class ClientEntry {
  /** Work items queued or running. */
  pending = 0;
  /** Evicted from the hot tier while busy: pack when drained. */
  parked = false;
  /** Last known username and peer address (volatile; refreshed by every client hook). */
  username = '';
  peerhost = '';
  /** The resolved policy and what it was resolved from (revision, username, peerhost). */
  policy: ResolvedPolicy | undefined;
  policyRevision = '';
  policyUsername = '';
  policyPeerhost = '';
  /** Created from nothing (not found in any tier): the journal may still know the client. */
  fresh = false;
  /**
   * Why this instance must not write for the client (the journal holds a state of a newer machine
   * or schema version: a rolling upgrade is under way); undefined normally.
   */
  foreign: string | undefined;
  /** The newer machine version that wrote the client, when known (forwarding picks its instances). */
  foreignVersion: string | undefined;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly clientId: string,
    public snapshot: ClientSnapshot,
    private readonly hooks: EntryHooks,
  ) {}

  get idle(): boolean {
    return this.pending === 0;
  }

  /** Step now. Only valid when `idle` (the caller checks). */
  applyNow(event: ClientEvent): StepResult {
    const { next, facts, decision } = step(this.snapshot, event);
    this.snapshot = next;
    return { facts, decision, snapshot: next };
  }

  /**
   * Queue `prepare` (async, may fail) then the step, behind everything already
   * queued. `then` runs synchronously right after the step (journal append).
   * The mailbox moves on once the step ran: what `then` returns (an answer
   * waiting for the journal) is not waited for here, so a recovery queued
   * behind it (client-writer.ts) can settle it.
   */
  enqueue<T>(prepare: () => Promise<ClientEvent> | ClientEvent, then: (r: StepResult, e: ClientEvent) => T | Promise<T>): Promise<T> {
    if (this.pending++ === 0) this.hooks.busy(this);
    const stepped = this.#tail.then(async () => {
      const event = await prepare();
      const result = this.applyNow(event);
      return { answer: then(result, event) };
    });
    this.#tail = stepped.then(
      () => this.#done(),
      () => this.#done(),
    );
    return stepped.then((s) => s.answer);
  }

  /** Queue a task (loading the client from the journal) behind everything already queued. */
  enqueueTask(task: () => Promise<void>): Promise<void> {
    if (this.pending++ === 0) this.hooks.busy(this);
    const run = this.#tail.then(task);
    this.#tail = run.then(
      () => this.#done(),
      () => this.#done(),
    );
    return run;
  }

  #done(): void {
    this.pending--;
    if (this.pending === 0) this.hooks.settled(this);
  }
}
