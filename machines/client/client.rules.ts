/**
 * PURE: the decisions of the three valued hooks, computed from the client's
 * context, the event and the clock `now`. The machine's guards pick a branch
 * with these and its actions record the result; nothing here throws.
 */
import { decision, type Decision, type Explanation, type Outcome } from '../../src/domain/decision.js';
import { GCRA_REJECT, gcraAvailable, gcraLimit, gcraRetryAfter, gcraTake } from '../../src/domain/gcra.js';
import type { Credentials, ResolvedPolicy } from '../../src/domain/policy.types.js';
import { countInWindow, pushInWindow } from '../../src/domain/sliding-window.js';
import { mergeLimits } from '../../src/policy/merge.js';
import { clip, explain, type Values } from './client.explain.js';
import type { ClientContext, ClientEvent, RecentViolation, ViolationCode } from './client.types.js';

/** How many recent violations a client keeps for inspection. */
export const RECENT_VIOLATIONS = 5;
/** At most this many distinct subscriptions are tracked; `maxSubscriptions` above it is not enforced beyond it. */
export const MAX_TRACKED_SUBSCRIPTIONS = 256;

type Authorize = Extract<ClientEvent, { type: 'client.authorize' }>;
type Publish = Extract<ClientEvent, { type: 'message.publish' }>;

/** The latest time a ban or quarantine can last (the end of JavaScript dates): `untilAt` is capped to it. */
export const MAX_UNTIL = 8.64e15;

/** The machine's clock: event time, never earlier than the newest time already seen. */
export const clockOf = (ctx: ClientContext, at: number): number => (at > ctx.lastAt ? at : ctx.lastAt);

export const banActive = (ctx: ClientContext, now: number): boolean => ctx.bannedUntil > now;
export const quarantineActive = (ctx: ClientContext, now: number): boolean => ctx.quarantinedUntil > now;

// One-entry memo: every valued event of an overridden client asks for the same merge.
let memoPolicy: ResolvedPolicy | undefined;
let memoOverride: ClientContext['override'] = null;
let memoEffective: ResolvedPolicy | undefined;

/**
 * The policy an event is judged by: the one it carries, with the operator's
 * override (`ctx.override`) applied on top: its limits merged as a policy
 * entry merges over the default, its `shadow` setting the mode. Named
 * `<policy>+override` so every explanation shows that an override applied.
 * Without an override, the event's policy itself.
 */
export function effectivePolicy(ctx: ClientContext, policy: ResolvedPolicy): ResolvedPolicy {
  const o = ctx.override;
  if (o === null) return policy;
  if (memoPolicy === policy && memoOverride === o && memoEffective) return memoEffective;
  const mode = o.shadow === undefined ? policy.mode : o.shadow ? 'shadow' : 'enforce';
  memoPolicy = policy;
  memoOverride = o;
  memoEffective = { ...policy, name: `${policy.name}+override`, mode, limits: mergeLimits(policy.limits, o.limits) };
  return memoEffective;
}

/** A verdict before shadow mode is applied; `violation` when the denial counts toward quarantine. */
export interface Verdict {
  readonly outcome: Outcome;
  readonly reason: Explanation;
  readonly violation?: ViolationCode;
}

/**
 * The answer EMQX gets: in shadow mode a `deny` is answered `allow` with
 * `shadowed: true` (the reason is kept); state evolves exactly as enforced.
 */
export const finalDecision = (policy: ResolvedPolicy, v: Verdict): Decision =>
  v.outcome === 'deny' && policy.mode === 'shadow' ? decision('allow', v.reason, true) : decision(v.outcome, v.reason);

/** The ban or quarantine that blocks everything at `now`, if any (a ban wins). */
export function blockedBy(ctx: ClientContext, policy: ResolvedPolicy, now: number): Explanation | undefined {
  if (ctx.bannedUntil > now) {
    const base = { until: ctx.bannedUntil, remainingMs: ctx.bannedUntil - now };
    return ctx.banKind === 'override'
      ? explain('banned.override', policy.name, 'ban', { ...base, note: ctx.banNote })
      : explain('banned.flapping', policy.name, 'flapping', base);
  }
  if (ctx.quarantinedUntil > now) {
    const base = { until: ctx.quarantinedUntil, remainingMs: ctx.quarantinedUntil - now };
    return explain('quarantined', policy.name, 'quarantine', ctx.quarantineNote ? { ...base, note: ctx.quarantineNote } : base);
  }
  return undefined;
}

/** `client.authenticate`: bans and quarantine first, then `policy.authenticate`. */
export function authenticateVerdict(ctx: ClientContext, policy: ResolvedPolicy, credentials: Credentials, now: number): Verdict {
  const blocked = blockedBy(ctx, policy, now);
  if (blocked) return { outcome: 'deny', reason: blocked };
  const name = policy.name;
  if (policy.authenticate !== 'users') {
    return { outcome: policy.authenticate, reason: explain('authn.policy', name, 'authenticate', { answer: policy.authenticate }) };
  }
  switch (credentials) {
    case 'ok':
      return { outcome: 'allow', reason: explain('authn.users.ok', name, 'users') };
    case 'bad_password':
      return { outcome: 'deny', reason: explain('authn.users.bad_password', name, 'users') };
    case 'unknown_user':
      return { outcome: 'deny', reason: explain('authn.users.unknown_user', name, 'users') };
    default:
      // `users` but the shell did not check: fail closed.
      return {
        outcome: 'deny',
        reason: explain('authn.policy', name, 'users', { answer: 'deny', credentials: 'not_checked' }),
      };
  }
}

/** `client.authorize`: bans and quarantine, then `maxSubscriptions`, then the ACL verdict (`policy`: the effective one). */
export function authorizeVerdict(ctx: ClientContext, e: Authorize, now: number, policy: ResolvedPolicy = e.policy): Verdict {
  const blocked = blockedBy(ctx, policy, now);
  if (blocked) return { outcome: 'deny', reason: blocked };
  const max = policy.limits.maxSubscriptions;
  if (e.action === 'subscribe' && max !== undefined) {
    const held = ctx.subscriptions.length;
    if (held >= max && !ctx.subscriptions.includes(e.topic)) {
      return {
        outcome: 'deny',
        reason: explain('limit.max_subscriptions', policy.name, 'max_subscriptions', {
          topic: clip(e.topic),
          max,
          subscriptions: held,
        }),
        violation: 'limit.max_subscriptions',
      };
    }
  }
  const acl = e.acl;
  if (acl.permission === 'no_match') {
    const answer = policy.noMatch;
    const reason = explain('acl.no_match', policy.name, 'no_match', { action: e.action, topic: clip(e.topic), answer });
    return answer === 'deny' ? { outcome: 'deny', reason, violation: 'acl.no_match' } : { outcome: answer, reason };
  }
  const rule = acl.rule === undefined ? 'acl' : `acl[${acl.rule}]`;
  const reason = explain('acl.rule', policy.name, rule, { permission: acl.permission, action: e.action, match: clip(acl.detail) });
  return acl.permission === 'allow' ? { outcome: 'allow', reason } : { outcome: 'deny', reason, violation: 'acl.rule' };
}

/** A publish verdict plus the buckets after it (unchanged unless allowed). */
export interface PublishVerdict extends Verdict {
  readonly msgTat: number;
  readonly byteTat: number;
}

const rateText = (r: { count: number; periodMs: number }): string => `${r.count}/${r.periodMs}ms`;

/**
 * `message.publish`: bans and quarantine, `maxPayload`, the messages bucket,
 * then the bytes bucket (cost = payload bytes). Both buckets are checked
 * before either is charged: a denied publish consumes nothing.
 */
export function publishVerdict(ctx: ClientContext, e: Publish, now: number, policy: ResolvedPolicy = e.policy): PublishVerdict {
  const { msgTat, byteTat } = ctx;
  const blocked = blockedBy(ctx, policy, now);
  if (blocked) return { outcome: 'deny', reason: blocked, msgTat, byteTat };
  const limits = policy.limits;
  const bytes = e.bytes;
  if (limits.maxPayload !== undefined && bytes > limits.maxPayload) {
    const reason = explain('limit.max_payload', policy.name, 'max_payload', { bytes, max: limits.maxPayload });
    return { outcome: 'deny', reason, violation: 'limit.max_payload', msgTat, byteTat };
  }
  let nextMsg = msgTat;
  let nextByte = byteTat;
  let messagesLeft = -1;
  let bytesLeft = -1;
  if (limits.messagesRate) {
    const lim = gcraLimit(limits.messagesRate, limits.messagesBurst);
    nextMsg = gcraTake(msgTat, now, 1, lim);
    if (nextMsg === GCRA_REJECT) {
      const reason = explain('limit.messages_rate', policy.name, 'messages_rate', {
        rate: rateText(limits.messagesRate),
        burst: lim.capacity,
        retryInMs: gcraRetryAfter(msgTat, now, 1, lim),
      });
      return { outcome: 'deny', reason, violation: 'limit.messages_rate', msgTat, byteTat };
    }
    messagesLeft = gcraAvailable(nextMsg, now, lim);
  }
  if (limits.bytesRate) {
    const lim = gcraLimit(limits.bytesRate, limits.bytesBurst);
    nextByte = gcraTake(byteTat, now, bytes, lim);
    if (nextByte === GCRA_REJECT) {
      const retry = gcraRetryAfter(byteTat, now, bytes, lim);
      const reason = explain('limit.bytes_rate', policy.name, 'bytes_rate', {
        rate: rateText(limits.bytesRate),
        burst: lim.capacity,
        bytes,
        retryInMs: Number.isFinite(retry) ? retry : -1,
      });
      return { outcome: 'deny', reason, violation: 'limit.bytes_rate', msgTat, byteTat };
    }
    bytesLeft = gcraAvailable(nextByte, now, lim);
  }
  const values: Values | undefined =
    messagesLeft >= 0 && bytesLeft >= 0
      ? { messagesLeft, bytesLeft }
      : messagesLeft >= 0
        ? { messagesLeft }
        : bytesLeft >= 0
          ? { bytesLeft }
          : undefined;
  return { outcome: 'allow', reason: explain('limit.ok', policy.name, 'limits', values), msgTat: nextMsg, byteTat: nextByte };
}

/**
 * Flapping (`policy.flapping`): every `client.connect` counts at its event
 * time; when MORE than `maxCount` connects fall in the trailing `windowMs`
 * (with maxCount 3, the 4th), that connect bans the client for `banMs` from
 * its time, and `client.authenticate` is refused while the ban lasts.
 *
 * During an active ban (flapping or operator), connects are NOT counted and
 * the window is emptied when the ban starts and when it ends: after a ban the
 * window starts fresh, so a client that keeps retrying while banned is not
 * banned again for those retries, and the ban is never extended by them.
 * Returns whether the connect at `now` is the one that bans.
 */
export function connectFlaps(ctx: ClientContext, policy: ResolvedPolicy, now: number): boolean {
  const f = policy.flapping;
  if (!f || f.banMs <= 0 || ctx.bannedUntil > now) return false;
  return countInWindow(ctx.connects, now, f.windowMs) + 1 > f.maxCount;
}

/** The flapping window after the connect at `now` (unchanged when not counted: no policy, or banned). */
export function connectsAfter(ctx: ClientContext, policy: ResolvedPolicy, now: number): readonly number[] {
  const f = policy.flapping;
  if (!f || ctx.bannedUntil > now) return ctx.connects;
  return pushInWindow(ctx.connects, now, f.windowMs, f.maxCount + 1);
}

/** What recording a violation at `now` does: the new window, and a quarantine end when it is one too many. */
export interface ViolationOutcome {
  readonly violations: readonly number[];
  readonly recent: readonly RecentViolation[];
  /** Violations in the window including this one (0 without a quarantine policy). */
  readonly count: number;
  readonly max: number;
  readonly windowMs: number;
  /** When > 0: quarantined until then. */
  readonly quarantineUntil: number;
}

export function recordViolation(
  ctx: ClientContext,
  policy: ResolvedPolicy,
  code: ViolationCode,
  now: number,
  at: number,
): ViolationOutcome {
  const recent = [...ctx.recent, { at, code }];
  if (recent.length > RECENT_VIOLATIONS) recent.splice(0, recent.length - RECENT_VIOLATIONS);
  const q = policy.quarantine;
  if (!q) return { violations: ctx.violations, recent, count: 0, max: 0, windowMs: 0, quarantineUntil: 0 };
  const violations = pushInWindow(ctx.violations, now, q.windowMs, q.maxViolations + 1);
  const count = countInWindow(violations, now, q.windowMs);
  const quarantineUntil = count > q.maxViolations && q.durationMs > 0 ? Math.min(now + q.durationMs, MAX_UNTIL) : 0;
  return {
    violations: quarantineUntil > 0 ? [] : violations,
    recent,
    count,
    max: q.maxViolations,
    windowMs: q.windowMs,
    quarantineUntil,
  };
}
