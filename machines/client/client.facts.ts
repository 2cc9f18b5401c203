/**
 * PURE: the facts the machine emits, built from the context and the event.
 * The machine wraps each in `emit`. Strings copied from events are clipped.
 */
import { clip } from './client.explain.js';
import { clockOf, MAX_UNTIL, recordViolation, type ViolationOutcome } from './client.rules.js';
import type { Rate } from '../../src/domain/policy.types.js';
import type { ClientContext, ClientFact, ClientOverride, LimitsOverride, MachineEvent, StaleWhy, ViolationCode } from './client.types.js';
import { connOf } from './client.update.js';

export type FactOf = (ctx: ClientContext, e: MachineEvent) => ClientFact;

function staleWhy(ctx: ClientContext, e: MachineEvent): StaleWhy {
  switch (e.type) {
    case 'admin.unban':
      return 'not_banned';
    case 'admin.release':
      return 'not_quarantined';
    case 'admin.ban':
    case 'admin.quarantine':
      return 'already_expired';
    case 'admin.clear_override':
      return 'no_override';
    case 'session.terminated':
      return 'older_connection';
    default:
      return connOf(e) === ctx.conn ? 'duplicate' : 'older_connection';
  }
}

const reasonOf = (e: MachineEvent): string => (e.type === 'client.disconnected' || e.type === 'session.terminated' ? clip(e.reason) : '');

export const facts = {
  stale: (c, e) => ({ type: 'StaleEventIgnored', at: e.at, event: e.type, conn: connOf(e), why: staleWhy(c, e) }),
  connecting: (_c, e) => ({ type: 'ClientConnecting', at: e.at, conn: connOf(e) }),
  /** Emitted after `acceptConnect`: the window already holds this connect. */
  flappingBan: (c, e) => ({
    type: 'ClientBanned',
    at: e.at,
    until: Math.min(clockOf(c, e.at) + (e.type === 'client.connect' ? (e.policy.flapping?.banMs ?? 0) : 0), MAX_UNTIL),
    reason: 'flapping',
    note: '',
    connects: c.connects.length,
  }),
  connected: (_c, e) => ({ type: 'ClientConnected', at: e.at, conn: connOf(e) }),
  disconnected: (_c, e) => ({ type: 'ClientDisconnected', at: e.at, conn: connOf(e), reason: reasonOf(e) }),
  olderClosed: (_c, e) => ({ type: 'OlderConnectionClosed', at: e.at, conn: connOf(e), reason: reasonOf(e) }),
  refused: (_c, e) => ({ type: 'ConnectionRefused', at: e.at, conn: connOf(e) }),
  sessionBegan: (_c, e) => ({ type: e.type === 'session.created' ? 'SessionCreated' : 'SessionResumed', at: e.at, conn: connOf(e) }),
  /** `current`: the session being ended is the client's current one (not replaced already). */
  sessionEnded: (c, e) => ({
    type: e.type === 'session.discarded' ? 'SessionDiscarded' : 'SessionTakenOver',
    at: e.at,
    conn: connOf(e),
    current: !c.fresh,
  }),
  terminated: (_c, e) => ({ type: 'SessionTerminated', at: e.at, conn: connOf(e), reason: reasonOf(e) }),
  subscription: (c, e) => ({
    type: e.type === 'session.subscribed' ? 'Subscribed' : 'Unsubscribed',
    at: e.at,
    topic: e.type === 'session.subscribed' || e.type === 'session.unsubscribed' ? clip(e.topic) : '',
    subscriptions: c.subscriptions.length,
  }),
  /** Emitted after the decision was recorded in `last`. */
  refusal: (c, e) => {
    const code = c.last?.reason.code ?? 'default';
    const shadowed = c.last?.shadowed === true;
    switch (e.type) {
      case 'client.authorize':
        return { type: 'AuthorizationDenied', at: e.at, action: e.action, topic: clip(e.topic), code, shadowed };
      case 'message.publish':
        return { type: 'PublishDenied', at: e.at, topic: clip(e.topic), bytes: e.bytes, code, shadowed };
      default:
        return { type: 'AuthenticationRefused', at: e.at, conn: connOf(e), code, shadowed };
    }
  },
} satisfies Record<string, FactOf>;

/** A change made together with facts (violations, operator actions, expiry). */
export interface Effect {
  readonly patch: Partial<ClientContext>;
  readonly facts: readonly ClientFact[];
}

/** Recording the violation of the decision just made (in `last`), possibly quarantining. */
export function violationEffect(c: ClientContext, e: MachineEvent): Effect {
  if (e.type !== 'client.authorize' && e.type !== 'message.publish') return { patch: {}, facts: [] };
  const code = (c.last?.reason.code ?? 'acl.rule') as ViolationCode;
  const r: ViolationOutcome = recordViolation(c, e.policy, code, clockOf(c, e.at), e.at);
  const recorded: ClientFact = { type: 'ViolationRecorded', at: e.at, code, count: r.count, max: r.max, windowMs: r.windowMs };
  if (r.quarantineUntil <= 0) return { patch: { violations: r.violations, recent: r.recent }, facts: [recorded] };
  return {
    patch: { violations: r.violations, recent: r.recent, quarantinedUntil: r.quarantineUntil, quarantineNote: '' },
    facts: [
      recorded,
      { type: 'ClientQuarantined', at: e.at, until: r.quarantineUntil, reason: 'violations', note: '', violations: r.count },
    ],
  };
}

/** Operator actions: ban, unban, quarantine, release, set and clear the override. */
export function operatorEffect(c: ClientContext, e: MachineEvent): Effect {
  const lastAt = clockOf(c, e.at);
  switch (e.type) {
    case 'admin.ban': {
      const note = clip(e.reason);
      const until = Math.min(e.untilAt, MAX_UNTIL);
      return {
        patch: { lastAt, bannedUntil: until, banKind: 'override', banNote: note },
        facts: [{ type: 'ClientBanned', at: e.at, until, reason: 'override', note, connects: 0 }],
      };
    }
    case 'admin.unban':
      return {
        patch: { lastAt, bannedUntil: 0, banKind: '', banNote: '', connects: [] },
        facts: [{ type: 'BanLifted', at: e.at, by: 'admin', until: c.bannedUntil }],
      };
    case 'admin.quarantine': {
      const note = clip(e.reason);
      const until = Math.min(e.untilAt, MAX_UNTIL);
      return {
        patch: { lastAt, quarantinedUntil: until, quarantineNote: note },
        facts: [{ type: 'ClientQuarantined', at: e.at, until, reason: 'override', note, violations: 0 }],
      };
    }
    case 'admin.release':
      return {
        patch: { lastAt, quarantinedUntil: 0, quarantineNote: '', violations: [] },
        facts: [{ type: 'QuarantineLifted', at: e.at, by: 'admin', until: c.quarantinedUntil }],
      };
    case 'admin.override': {
      const note = clip(e.reason);
      const limits = e.limits !== undefined && Object.keys(e.limits).length > 0 ? e.limits : undefined;
      const parts = { ...(limits ? { limits } : {}), ...(e.shadow !== undefined ? { shadow: e.shadow } : {}) };
      const override: ClientOverride = { ...parts, note, since: e.at };
      const buckets = sameLimits(c.override?.limits, limits) ? {} : FULL_BUCKETS;
      return { patch: { lastAt, override, ...buckets }, facts: [{ type: 'OverrideSet', at: e.at, note, ...parts }] };
    }
    case 'admin.clear_override':
      return {
        patch: { lastAt, override: null, ...(c.override?.limits ? FULL_BUCKETS : {}) },
        facts: [{ type: 'OverrideCleared', at: e.at, by: 'admin', note: c.override?.note ?? '' }],
      };
    default:
      return { patch: { lastAt }, facts: [] };
  }
}

/**
 * When an override changes the limits, the rate buckets start full under the
 * new ones (as for a new client): a bucket's state is a time computed with
 * the old rate, and carrying it over would throttle by the old limits.
 */
const FULL_BUCKETS: Partial<ClientContext> = { msgTat: 0, byteTat: 0 };

const sameRate = (a: Rate | null | undefined, b: Rate | null | undefined): boolean =>
  a === b || (a !== null && b !== null && a !== undefined && b !== undefined && a.count === b.count && a.periodMs === b.periodMs);

function sameLimits(a: LimitsOverride | undefined, b: LimitsOverride | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return (
    sameRate(a.messagesRate, b.messagesRate) &&
    sameRate(a.bytesRate, b.bytesRate) &&
    a.messagesBurst === b.messagesBurst &&
    a.bytesBurst === b.bytesBurst &&
    a.maxPayload === b.maxPayload &&
    a.maxSubscriptions === b.maxSubscriptions
  );
}

/** `clock.tick`: lift what has run out by event time (the window starts fresh after it). */
export function expiryEffect(c: ClientContext, e: MachineEvent): Effect {
  const now = clockOf(c, e.at);
  const out: ClientFact[] = [];
  let patch: Partial<ClientContext> = { lastAt: now };
  if (c.bannedUntil !== 0 && now >= c.bannedUntil) {
    out.push({ type: 'BanLifted', at: e.at, by: 'expiry', until: c.bannedUntil });
    patch = { ...patch, bannedUntil: 0, banKind: '', banNote: '', connects: [] };
  }
  if (c.quarantinedUntil !== 0 && now >= c.quarantinedUntil) {
    out.push({ type: 'QuarantineLifted', at: e.at, by: 'expiry', until: c.quarantinedUntil });
    patch = { ...patch, quarantinedUntil: 0, quarantineNote: '', violations: [] };
  }
  return { patch, facts: out };
}
