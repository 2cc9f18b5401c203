/**
 * PURE: one step of a client's machine, `(snapshot, event) -> { next, facts,
 * decision }`, plus what the shell needs around it (initial snapshot, a name
 * for humans, forgetting, packing).
 *
 * `step` calls `clientMachine.transition` with ONE module-level inert actor
 * scope instead of XState's exported `transition()` (which creates an actor
 * per call): the same computation, several times cheaper. Executed actions
 * are collected, never run; the `xstate.emit` ones are the facts. The
 * high-volume transitions and the common lifecycle hooks skip the
 * interpreter (client.fast.ts).
 */
import { createActor, type SnapshotFrom } from 'xstate';
import type { Decision } from '../../src/domain/decision.js';
import { fastStep } from './client.fast.js';
import { clientMachine } from './client.machine.js';
import { packState, unpackState, PACK_VERSION, READABLE_PACK_VERSIONS, type ClientStateValue } from './client.pack.js';
import type { ClientContext, ClientEvent, ClientFact, MachineEvent } from './client.types.js';

export type { ClientFact, ClientEvent, ClientContext } from './client.types.js';
export { clientMachine } from './client.machine.js';

/** Bumped whenever the machine's meaning or the packed format changes (then replay instead of restoring). */
export const MACHINE_VERSION = `client-${PACK_VERSION}.1`;

/**
 * Whether a snapshot stored by machine `version` can be restored: this
 * version's, or an older one whose packed form still unpacks to the same
 * meaning (client-1.1: the same machine before operator overrides).
 */
export const canRestore = (version: string): boolean =>
  version === MACHINE_VERSION || READABLE_PACK_VERSIONS.some((v) => version === `client-${v}.1`);

export type ClientSnapshot = SnapshotFrom<typeof clientMachine>;

export interface StepResult {
  readonly next: ClientSnapshot;
  readonly facts: readonly ClientFact[];
  /** Set for the valued hooks only (authenticate, authorize, publish). */
  readonly decision?: Decision;
}

type Scope = Parameters<typeof clientMachine.transition>[2];
interface Collected {
  readonly type: string;
  readonly params?: unknown;
}

const collected: Collected[] = [];
const self = createActor(clientMachine);
const scope = {
  self,
  id: '',
  sessionId: '',
  system: self.system,
  logger() {},
  defer() {},
  stopChild() {},
  emit() {},
  actionExecutor(action: Collected) {
    collected.push(action);
  },
} as unknown as Scope;

const initial: ClientSnapshot = clientMachine.getInitialSnapshot(scope);
collected.length = 0;

/** A client never seen before (shared and immutable). */
export const initialSnapshot = (): ClientSnapshot => initial;

const needsTick = (ctx: ClientContext, at: number): boolean => {
  const now = at > ctx.lastAt ? at : ctx.lastAt;
  return (ctx.bannedUntil !== 0 && now >= ctx.bannedUntil) || (ctx.quarantinedUntil !== 0 && now >= ctx.quarantinedUntil);
};

const transitionOnce = (snapshot: ClientSnapshot, event: MachineEvent, facts: ClientFact[]): ClientSnapshot => {
  const next = clientMachine.transition(snapshot, event, scope);
  for (let i = 0; i < collected.length; i++) {
    const a = collected[i] as Collected;
    if (a.type === 'xstate.emit') facts.push((a.params as { event: ClientFact }).event);
  }
  collected.length = 0;
  return next;
};

const NO_FACTS: readonly ClientFact[] = Object.freeze([]);

const isValued = (t: ClientEvent['type']): boolean => t === 'message.publish' || t === 'client.authorize' || t === 'client.authenticate';

/**
 * Steps `snapshot` on `event`. Expired bans and quarantines are lifted first
 * (an internal `clock.tick` at the event's time), so the event is judged
 * without them. The high-volume transitions and the common lifecycle hooks
 * take the verified fast path (client.fast.ts); everything else runs through
 * the machine.
 * Throws only on a machine bug (status not `active`).
 */
export function step(snapshot: ClientSnapshot, event: ClientEvent): StepResult {
  const ctx = snapshot.context;
  if (!((ctx.bannedUntil !== 0 || ctx.quarantinedUntil !== 0) && needsTick(ctx, event.at))) {
    const fast = fastStep(snapshot, event);
    if (fast) {
      const decision = isValued(event.type) ? fast.next.context.last : undefined;
      return decision ? { next: fast.next, facts: fast.facts, decision } : fast;
    }
  }
  return stepInterpreted(snapshot, event);
}

/** `step` with every event through `clientMachine.transition` (the reference; tests and benchmarks). */
export function stepInterpreted(snapshot: ClientSnapshot, event: ClientEvent): StepResult {
  collected.length = 0;
  const facts: ClientFact[] = [];
  let s = snapshot;
  const ctx = s.context;
  if ((ctx.bannedUntil !== 0 || ctx.quarantinedUntil !== 0) && needsTick(ctx, event.at)) {
    s = transitionOnce(s, { type: 'clock.tick', at: event.at }, facts);
  }
  const next = transitionOnce(s, event, facts);
  if (next.status !== 'active') throw new Error(`client machine ${next.status} after ${event.type}`);
  if (isValued(event.type)) {
    const decision = next.context.last;
    if (decision) return { next, facts, decision };
  }
  return { next, facts: facts.length > 0 ? facts : NO_FACTS };
}

const valueOf = (snapshot: ClientSnapshot): ClientStateValue => snapshot.value as unknown as ClientStateValue;

/** One word for humans: `banned`, `quarantined`, else the lifecycle (`idle`, `connecting`, `connected`, `disconnected`). */
export function stateName(snapshot: ClientSnapshot): string {
  const v = valueOf(snapshot);
  return v.standing === 'ok' ? v.lifecycle : v.standing;
}

/** Whether the client can be dropped from memory at `at`: not while a ban, a quarantine or an operator's override is active. */
export function isForgettable(snapshot: ClientSnapshot, at: number): boolean {
  const c = snapshot.context;
  return !(c.bannedUntil > at) && !(c.quarantinedUntil > at) && c.override === null;
}

/** The compact string form of a snapshot (see client.pack.ts). */
export const packSnapshot = (snapshot: ClientSnapshot): string => packState(valueOf(snapshot), snapshot.context);

/** Restores a packed snapshot; it continues exactly as the original. Throws `RangeError` on a bad string. */
export function unpackSnapshot(packed: string): ClientSnapshot {
  const { value, context } = unpackState(packed);
  return clientMachine.resolveState({ value: { ...value }, context });
}
