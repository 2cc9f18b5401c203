/** fast-check arbitraries for client event sequences (monotonic-ish times, a few policies and connections). */
import fc from 'fast-check';
import type { ResolvedPolicy } from '../../src/domain/policy.types.js';
import type { ClientEvent, LimitsOverride } from '../../machines/client/client.types.js';
import { A, aPolicy, B, T0 } from './support.js';

export const POLICIES: readonly ResolvedPolicy[] = [
  aPolicy(),
  aPolicy({
    name: 'tight',
    authenticate: 'users',
    limits: {
      messagesRate: { count: 2, periodMs: 1000 },
      messagesBurst: 3,
      bytesRate: { count: 100, periodMs: 1000 },
      maxPayload: 120,
      maxSubscriptions: 2,
    },
    flapping: { maxCount: 2, windowMs: 5_000, banMs: 3_000 },
    quarantine: { maxViolations: 2, windowMs: 5_000, durationMs: 2_000 },
    noMatch: 'deny',
  }),
  aPolicy({
    name: 'shadow',
    mode: 'shadow',
    authenticate: 'deny',
    limits: { messagesRate: { count: 1, periodMs: 500 } },
    flapping: { maxCount: 1, windowMs: 2_000, banMs: 1_000 },
    quarantine: { maxViolations: 0, windowMs: 1_000, durationMs: 1_500 },
    noMatch: 'deny',
  }),
];

/** Operator overrides: tighter and removed limits, shadow on and off. */
export const OVERRIDES: readonly { limits?: LimitsOverride; shadow?: boolean }[] = [
  { limits: { messagesRate: { count: 1, periodMs: 1000 }, messagesBurst: 1 } },
  { shadow: true },
  { shadow: false, limits: { maxPayload: 20, maxSubscriptions: 1 } },
  { limits: { messagesRate: null, bytesRate: null, maxPayload: null, maxSubscriptions: null } },
  { limits: { bytesRate: { count: 50, periodMs: 500 } }, shadow: true },
];

const CONNS = [A, B, 'emqx@n1|10.0.0.1|40001'];
const REASONS = ['normal', 'takenover', 'discarded', 'tcp_closed', 'takeovered'];
const TOPICS = ['t/1', 't/2', 'a/#', 'secret/x'];

type Build = (at: number, p: ResolvedPolicy, conn: string, n: number) => ClientEvent;

const BUILDERS: readonly Build[] = [
  (at, policy, conn) => ({ type: 'client.connect', conn, at, policy }),
  (at, policy, conn, n) => ({
    type: 'client.authenticate',
    conn,
    at,
    policy,
    credentials: (['ok', 'bad_password', 'unknown_user', 'not_checked'] as const)[n % 4] ?? 'ok',
  }),
  (at, policy, conn) => ({ type: 'client.connected', conn, at, policy }),
  (at, _p, conn, n) => ({ type: 'client.connack', conn, at, success: n % 3 !== 0 }),
  (at, _p, conn, n) => ({ type: 'client.disconnected', conn, at, reason: REASONS[n % REASONS.length] ?? 'normal' }),
  (at, _p, conn, n) => ({
    type: (['session.created', 'session.resumed', 'session.discarded', 'session.takenover'] as const)[n % 4] ?? 'session.created',
    conn,
    at,
  }),
  (at, _p, conn) => ({ type: 'session.terminated', conn, at, reason: '{shutdown,normal}' }),
  (at, _p, conn, n) => ({ type: n % 2 ? 'session.subscribed' : 'session.unsubscribed', conn, at, topic: TOPICS[n % 4] ?? 't' }),
  (at, policy, conn, n) => ({
    type: 'client.authorize',
    conn,
    at,
    policy,
    action: n % 2 ? 'publish' : 'subscribe',
    topic: TOPICS[n % 4] ?? 't',
    acl:
      n % 3 === 0
        ? { permission: 'deny', rule: 1, detail: 'deny rule matched' }
        : n % 3 === 1
          ? { permission: 'allow', rule: 0, detail: 'allow rule matched' }
          : { permission: 'no_match', detail: 'no rule matched' },
  }),
  (at, policy, _c, n) => ({ type: 'message.publish', at, policy, topic: TOPICS[n % 4] ?? 't', bytes: (n * 37) % 160, qos: n % 3 }),
  (at) => ({ type: 'message.delivered', at }),
  (at) => ({ type: 'message.acked', at }),
  (at) => ({ type: 'message.dropped', at }),
  (at, _p, _c, n) => ({ type: 'admin.ban', at, untilAt: at + ((n * 311) % 4000) - 200, reason: 'abuse' }),
  (at) => ({ type: 'admin.unban', at }),
  (at, _p, _c, n) => ({ type: 'admin.quarantine', at, untilAt: at + ((n * 173) % 3000) - 100, reason: 'review' }),
  (at) => ({ type: 'admin.release', at }),
  (at, _p, _c, n) => ({ type: 'admin.override', at, reason: 'tuning', ...(OVERRIDES[n % OVERRIDES.length] ?? {}) }),
  (at) => ({ type: 'admin.clear_override', at }),
];

/** One step's ingredients: which event, how much time passes (sometimes backwards), policy, connection, variant. */
const stepArb = fc.record({
  kind: fc.nat({ max: BUILDERS.length - 1 }),
  dt: fc.oneof({ weight: 8, arbitrary: fc.nat({ max: 1500 }) }, { weight: 1, arbitrary: fc.integer({ min: -300, max: 0 }) }),
  policy: fc.nat({ max: POLICIES.length - 1 }),
  conn: fc.nat({ max: CONNS.length - 1 }),
  n: fc.nat({ max: 1000 }),
});

/** A sequence of client events. */
export const eventsArb = (maxLength = 60): fc.Arbitrary<ClientEvent[]> =>
  fc.array(stepArb, { minLength: 1, maxLength }).map((steps) => {
    let at = T0;
    return steps.map((s) => {
      at += s.dt;
      const build = BUILDERS[s.kind] as Build;
      return build(at, POLICIES[s.policy] as ResolvedPolicy, CONNS[s.conn] as string, s.n);
    });
  });
