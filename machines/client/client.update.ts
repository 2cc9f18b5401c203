/**
 * PURE: how the machine's actions change the context, as plain functions
 * `(context, event) => partial context`. The machine wraps them in `assign`;
 * the fast path (client.fast.ts) applies the same functions the same way
 * (`Object.assign({}, context, partial)`, as XState's `assign` does).
 * Valued hooks are judged by `effectivePolicy` (the event's policy with the
 * operator's override from the context on top).
 */
import {
  MAX_UNTIL,
  authenticateVerdict,
  authorizeVerdict,
  clockOf,
  connectsAfter,
  effectivePolicy,
  finalDecision,
  MAX_TRACKED_SUBSCRIPTIONS,
  publishVerdict,
  type PublishVerdict,
  type Verdict,
} from './client.rules.js';
import type { ClientContext, ConnKey, Counters, MachineEvent } from './client.types.js';

export type Update = (ctx: ClientContext, e: MachineEvent) => Partial<ClientContext>;

const ZERO: Counters = { connects: 0, publishesAllowed: 0, publishesDenied: 0, bytesAllowed: 0, delivered: 0, acked: 0, dropped: 0 };

export const INITIAL_CONTEXT: ClientContext = {
  lastAt: 0,
  conn: '',
  live: '',
  fresh: false,
  msgTat: 0,
  byteTat: 0,
  connects: [],
  violations: [],
  bannedUntil: 0,
  banKind: '',
  banNote: '',
  quarantinedUntil: 0,
  quarantineNote: '',
  subscriptions: [],
  counters: ZERO,
  last: undefined,
  recent: [],
  override: null,
};

// One-entry memo: a guard, the action after it (and the fast path) ask for the same verdict.
let memoCtx: ClientContext | undefined;
let memoEvent: MachineEvent | undefined;
let memoVerdict: Verdict | undefined;

/** The verdict of a valued event against `ctx` (undefined for other events). */
export function verdictOf(ctx: ClientContext, event: MachineEvent): Verdict | undefined {
  if (ctx === memoCtx && event === memoEvent) return memoVerdict;
  let v: Verdict | undefined;
  switch (event.type) {
    case 'client.authenticate':
      v = authenticateVerdict(ctx, effectivePolicy(ctx, event.policy), event.credentials, clockOf(ctx, event.at));
      break;
    case 'client.authorize':
      v = authorizeVerdict(ctx, event, clockOf(ctx, event.at), effectivePolicy(ctx, event.policy));
      break;
    case 'message.publish':
      v = publishVerdict(ctx, event, clockOf(ctx, event.at), effectivePolicy(ctx, event.policy));
      break;
    default:
      v = undefined;
  }
  memoCtx = ctx;
  memoEvent = event;
  memoVerdict = v;
  return v;
}

/**
 * How the fast path applies an update, as XState's `assign` does:
 * `Object.assign({}, c, p)` written out (several times faster): same keys in
 * the same order. Valid because no update ever sets a field to `undefined`.
 */
export function assignPatch(c: ClientContext, p: Partial<ClientContext>): ClientContext {
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
    override: p.override === undefined ? c.override : p.override,
  };
}

export const connOf = (e: MachineEvent): ConnKey => ('conn' in e ? e.conn : '');

/** `c` with one counter incremented (an explicit literal keeps one object shape). */
function count(c: Counters, key: keyof Counters, bytes = 0): Counters {
  return {
    connects: c.connects + (key === 'connects' ? 1 : 0),
    publishesAllowed: c.publishesAllowed + (key === 'publishesAllowed' ? 1 : 0),
    publishesDenied: c.publishesDenied + (key === 'publishesDenied' ? 1 : 0),
    bytesAllowed: c.bytesAllowed + bytes,
    delivered: c.delivered + (key === 'delivered' ? 1 : 0),
    acked: c.acked + (key === 'acked' ? 1 : 0),
    dropped: c.dropped + (key === 'dropped' ? 1 : 0),
  };
}

const banMsOf = (e: MachineEvent): number => (e.type === 'client.connect' ? (e.policy.flapping?.banMs ?? 0) : 0);

export const updates = {
  touch: (c, e) => ({ lastAt: clockOf(c, e.at) }),

  acceptConnect: (c, e) => {
    if (e.type !== 'client.connect') return { lastAt: clockOf(c, e.at) };
    const now = clockOf(c, e.at);
    return { lastAt: now, conn: e.conn, fresh: false, connects: connectsAfter(c, e.policy, now), counters: count(c.counters, 'connects') };
  },
  banForFlapping: (c, e) => ({
    bannedUntil: Math.min(clockOf(c, e.at) + banMsOf(e), MAX_UNTIL),
    banKind: 'flapping',
    banNote: '',
    connects: [],
  }),
  becomeConnected: (c, e) => ({ lastAt: clockOf(c, e.at), conn: connOf(e), live: connOf(e) }),
  becomeDisconnected: (c, e) => ({ lastAt: clockOf(c, e.at), conn: connOf(e), live: '' }),
  dropLive: (c, e) => ({ lastAt: clockOf(c, e.at), live: '' }),
  backToLive: (c, e) => ({ lastAt: clockOf(c, e.at), conn: c.live }),
  markRefused: (c, e) => ({ lastAt: clockOf(c, e.at), conn: connOf(e) }),

  sessionBegan: (c, e) => ({
    lastAt: clockOf(c, e.at),
    fresh: true,
    subscriptions: e.type === 'session.created' ? [] : c.subscriptions,
  }),
  sessionTerminated: (c, e) => ({ lastAt: clockOf(c, e.at), fresh: false, subscriptions: [] }),
  subscribe: (c, e) => {
    const lastAt = clockOf(c, e.at);
    if (e.type !== 'session.subscribed') return { lastAt };
    const subs = c.subscriptions;
    if (subs.includes(e.topic) || subs.length >= MAX_TRACKED_SUBSCRIPTIONS) return { lastAt };
    return { lastAt, subscriptions: [...subs, e.topic] };
  },
  unsubscribe: (c, e) => {
    const lastAt = clockOf(c, e.at);
    if (e.type !== 'session.unsubscribed' || !c.subscriptions.includes(e.topic)) return { lastAt };
    return { lastAt, subscriptions: c.subscriptions.filter((t) => t !== e.topic) };
  },

  countDelivered: (c, e) => ({ lastAt: clockOf(c, e.at), counters: count(c.counters, 'delivered') }),
  countAcked: (c, e) => ({ lastAt: clockOf(c, e.at), counters: count(c.counters, 'acked') }),
  countDropped: (c, e) => ({ lastAt: clockOf(c, e.at), counters: count(c.counters, 'dropped') }),

  /** The decision of a valued hook (authenticate, authorize) into `last`. */
  decide: (c, e) => {
    const v = verdictOf(c, e);
    const lastAt = clockOf(c, e.at);
    if (!v || !('policy' in e)) return { lastAt };
    return { lastAt, last: finalDecision(effectivePolicy(c, e.policy), v) };
  },
  allowPublish: (c, e) => {
    const v = verdictOf(c, e) as PublishVerdict | undefined;
    const lastAt = clockOf(c, e.at);
    if (!v || e.type !== 'message.publish') return { lastAt };
    return {
      lastAt,
      msgTat: v.msgTat,
      byteTat: v.byteTat,
      last: finalDecision(effectivePolicy(c, e.policy), v),
      counters: count(c.counters, 'publishesAllowed', e.bytes),
    };
  },
  denyPublish: (c, e) => {
    const v = verdictOf(c, e);
    const lastAt = clockOf(c, e.at);
    if (!v || e.type !== 'message.publish') return { lastAt };
    return { lastAt, last: finalDecision(effectivePolicy(c, e.policy), v), counters: count(c.counters, 'publishesDenied') };
  },
} satisfies Record<string, Update>;
