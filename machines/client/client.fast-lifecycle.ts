/**
 * PURE: the fast path (client.fast.ts) for the lifecycle and session hooks of
 * a normal connect and disconnect. Each case below names the machine's
 * transition it takes (client.machine.ts) and the conditions under which the
 * machine's guard order selects exactly that one transition and no other
 * region reacts; any other case returns undefined (the interpreter decides).
 *
 * A transition runs its update (an `assign`), then builds its fact (an
 * `emit`) from the updated context, as XState runs the action list. A target
 * moves one region: the next snapshot takes the state value and state nodes
 * of that configuration from a table the machine itself resolved.
 */
import type { SnapshotFrom } from 'xstate';
import type { FastResult } from './client.fast.js';
import { facts, type FactOf } from './client.facts.js';
import { clientMachine, INITIAL_CONTEXT, REPLACED_REASONS } from './client.machine.js';
import { connectFlaps, clockOf } from './client.rules.js';
import type { ClientContext, ClientEvent } from './client.types.js';
import { assignPatch, updates, type Update } from './client.update.js';

type Snapshot = SnapshotFrom<typeof clientMachine>;
type Region = 'lifecycle' | 'session' | 'standing';
type Value = Readonly<Record<Region, string>>;

const regionStates = (r: Region): string[] => Object.keys(clientMachine.root.states[r]?.states ?? {});
const keyOf = (l: string, s: string, st: string): string => `${l}/${s}/${st}`;

/** Every configuration of the three regions, resolved by the machine (value, state nodes, tags). */
const SHAPES = new Map<string, Snapshot>();
for (const l of regionStates('lifecycle')) {
  for (const s of regionStates('session')) {
    for (const st of regionStates('standing')) {
      const shape = clientMachine.resolveState({ value: { lifecycle: l, session: s, standing: st }, context: INITIAL_CONTEXT });
      Object.freeze(shape.value);
      SHAPES.set(keyOf(l, s, st), shape);
    }
  }
}

/** Runs `[update, fact]` on `ctx`; with `to`, the transition also moves `region` there. */
function take(snapshot: Snapshot, e: ClientEvent, update: Update, fact: FactOf, region?: Region, to?: string): FastResult | undefined {
  const context: ClientContext = assignPatch(snapshot.context, update(snapshot.context, e));
  const emitted = [fact(context, e)];
  if (region === undefined || to === undefined) return { next: { ...snapshot, context }, facts: emitted };
  const v = snapshot.value as Value;
  const shape = SHAPES.get(
    keyOf(region === 'lifecycle' ? to : v.lifecycle, region === 'session' ? to : v.session, region === 'standing' ? to : v.standing),
  );
  if (!shape) return undefined;
  return { next: { ...snapshot, context, value: shape.value, _nodes: shape._nodes, tags: shape.tags }, facts: emitted };
}

/** The lifecycle/session hooks' fast transitions, else undefined. */
export function lifecycleStep(snapshot: Snapshot, e: ClientEvent): FastResult | undefined {
  const ctx = snapshot.context;
  const lifecycle = (snapshot.value as Value).lifecycle;
  switch (e.type) {
    case 'client.connect':
      // lifecycle (any state): -> .connecting [acceptConnect, emitConnecting];
      // standing: [connectFlaps] -> .banned must not be taken.
      if (connectFlaps(ctx, e.policy, clockOf(ctx, e.at))) return undefined;
      return take(snapshot, e, updates.acceptConnect, facts.connecting, 'lifecycle', 'connecting');
    case 'session.created':
    case 'session.resumed':
      // session (any state): -> .created / .resumed [sessionBegan, emitSessionBegan]
      return take(snapshot, e, updates.sessionBegan, facts.sessionBegan, 'session', e.type === 'session.created' ? 'created' : 'resumed');
    case 'session.subscribed':
      // root: [subscribe, emitSubscription]
      return take(snapshot, e, updates.subscribe, facts.subscription);
    case 'session.unsubscribed':
      // root: [unsubscribe, emitSubscription]
      return take(snapshot, e, updates.unsubscribe, facts.subscription);
    case 'client.connected':
      // idle, disconnected: -> connected; connecting: not fromOlderLive (the newest connection) -> connected
      if (lifecycle === 'idle' || lifecycle === 'disconnected' || (lifecycle === 'connecting' && e.conn === ctx.conn)) {
        return take(snapshot, e, updates.becomeConnected, facts.connected, 'lifecycle', 'connected');
      }
      return undefined;
    case 'client.connack':
      // idle, disconnected: [connackSucceeded] -> connected; connecting: isCurrentConn, [connackSucceeded] -> connected
      if (e.success && (lifecycle === 'idle' || lifecycle === 'disconnected' || (lifecycle === 'connecting' && e.conn === ctx.conn))) {
        return take(snapshot, e, updates.becomeConnected, facts.connected, 'lifecycle', 'connected');
      }
      return undefined;
    case 'client.disconnected':
      // connected: not replacedReason, [isCurrentConn] -> disconnected [becomeDisconnected, emitDisconnected]
      if (lifecycle === 'connected' && !REPLACED_REASONS.has(e.reason) && e.conn === ctx.conn) {
        return take(snapshot, e, updates.becomeDisconnected, facts.disconnected, 'lifecycle', 'disconnected');
      }
      return undefined;
    case 'session.terminated':
      // in lifecycle.disconnected from the current connection the stale guard is false:
      // -> .terminated [sessionTerminated, emitTerminated]
      if (lifecycle === 'disconnected' && e.conn === ctx.conn) {
        return take(snapshot, e, updates.sessionTerminated, facts.terminated, 'session', 'terminated');
      }
      return undefined;
    default:
      return undefined;
  }
}
