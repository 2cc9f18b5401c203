/**
 * PURE: the high-volume, targetless transitions that emit nothing (delivered,
 * acked, dropped; an allowed publish, authorize or authenticate in
 * `standing.ok`; the CONNACK of the connection already connected) stepped
 * without the XState interpreter, which costs ~20-30 µs per event on this
 * parallel machine.
 *
 * It is not a second implementation: it takes the transition the machine's
 * own guard order selects for these events (only the root, `standing.ok` or
 * `lifecycle.connected` handles them; every earlier guard is false when the
 * verdict allows), applies the machine's own update function (client.update.ts) the
 * way XState's `assign` does (`Object.assign({}, context, partial)`), and
 * emits nothing, as those transitions do. test/machines/client.fast.test.ts
 * checks it against `clientMachine.transition` and XState's `transition()`.
 */
import type { SnapshotFrom } from 'xstate';
import type { clientMachine } from './client.machine.js';
import type { ClientContext, ClientEvent } from './client.types.js';
import { updates, verdictOf } from './client.update.js';

type Snapshot = SnapshotFrom<typeof clientMachine>;

type Value = { readonly lifecycle?: string; readonly standing?: string };
const inOk = (s: Snapshot): boolean => (s.value as Value).standing === 'ok';

/**
 * `Object.assign({}, c, p)` written out (several times faster): same keys in
 * the same order. Valid because no update ever sets a field to `undefined`.
 */
function merge(c: ClientContext, p: Partial<ClientContext>): ClientContext {
  return {
    lastAt: p.lastAt === undefined ? c.lastAt : p.lastAt,
    conn: p.conn === undefined ? c.conn : p.conn,
    live: p.live === undefined ? c.live : p.live,
    fresh: p.fresh === undefined ? c.fresh : p.fresh,
    msgTat: p.msgTat === undefined ? c.msgTat : p.msgTat,
    byteTat: p.byteTat === undefined ? c.byteTat : p.byteTat,
    connects: p.connects === undefined ? c.connects : p.connects,
    violations: p.violations === undefined ? c.violations : p.violations,
    bannedUntil: p.bannedUntil === undefined ? c.bannedUntil : p.bannedUntil,
    banKind: p.banKind === undefined ? c.banKind : p.banKind,
    banNote: p.banNote === undefined ? c.banNote : p.banNote,
    quarantinedUntil: p.quarantinedUntil === undefined ? c.quarantinedUntil : p.quarantinedUntil,
    quarantineNote: p.quarantineNote === undefined ? c.quarantineNote : p.quarantineNote,
    subscriptions: p.subscriptions === undefined ? c.subscriptions : p.subscriptions,
    counters: p.counters === undefined ? c.counters : p.counters,
    last: p.last === undefined ? c.last : p.last,
    recent: p.recent === undefined ? c.recent : p.recent,
  };
}

/** The next snapshot when `event` takes one of the hot transitions, else undefined (use the interpreter). */
export function fastStep(snapshot: Snapshot, event: ClientEvent): Snapshot | undefined {
  const ctx = snapshot.context;
  let patch;
  switch (event.type) {
    case 'message.delivered':
      patch = updates.countDelivered(ctx, event);
      break;
    case 'message.acked':
      patch = updates.countAcked(ctx, event);
      break;
    case 'message.dropped':
      patch = updates.countDropped(ctx, event);
      break;
    case 'message.publish':
    case 'client.authorize':
    case 'client.authenticate': {
      if (!inOk(snapshot)) return undefined;
      const v = verdictOf(ctx, event);
      if (!v || v.outcome === 'deny' || v.violation !== undefined) return undefined;
      patch = event.type === 'message.publish' ? updates.allowPublish(ctx, event) : updates.decide(ctx, event);
      break;
    }
    case 'client.connack':
      // lifecycle.connected: [connackSucceeded and isCurrentConn] -> touch
      if ((snapshot.value as Value).lifecycle !== 'connected' || !event.success || event.conn !== ctx.conn) return undefined;
      patch = updates.touch(ctx, event);
      break;
    default:
      return undefined;
  }
  return { ...snapshot, context: merge(ctx, patch) };
}
