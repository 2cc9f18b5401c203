/**
 * The fast path (machines/client/client.fast*.ts) against the interpreter on
 * sequences weighted toward the lifecycle and session hooks it now covers:
 * a few connections, replaced and normal disconnect reasons, flapping that
 * trips, time that sometimes goes back.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastStep } from '../../machines/client/client.fast.js';
import { initialSnapshot, step, stepInterpreted, type ClientSnapshot } from '../../machines/client/client.step.js';
import type { ClientEvent } from '../../machines/client/client.types.js';
import type { ResolvedPolicy } from '../../src/domain/policy.types.js';
import { OVERRIDES } from './arbitraries.js';
import { A, aPolicy, B, connectSequence, ev, factTypes, run, T0 } from './support.js';

const C = 'emqx@n3|10.0.0.9|40003';
const CONNS = [A, B, C];
const REASONS = ['normal', 'normal', 'normal', 'takenover', 'discarded', 'tcp_closed'];
const POLICIES: readonly ResolvedPolicy[] = [
  aPolicy({ name: 'flappy', flapping: { maxCount: 3, windowMs: 4_000, banMs: 1_500 }, limits: { maxSubscriptions: 2 } }),
  aPolicy({ name: 'plain' }),
  aPolicy({ name: 'users', authenticate: 'users', flapping: { maxCount: 1, windowMs: 1_000, banMs: 500 } }),
];

type Build = (at: number, policy: ResolvedPolicy, conn: string, n: number) => ClientEvent;
/** [weight, builder]: the eight lifecycle hooks dominate; a little traffic and an operator ban keep standings moving. */
const BUILDERS: readonly [number, Build][] = [
  [6, (at, p, conn) => ev.connect(at, conn, p)],
  [5, (at, p, conn, n) => ev.authenticate(at, n % 5 === 0 ? 'bad_password' : 'ok', p, conn)],
  [5, (at, _p, conn, n) => ev.session(n % 4 === 0 ? 'session.resumed' : 'session.created', at, conn)],
  [5, (at, p, conn) => ev.connected(at, conn, p)],
  [5, (at, _p, conn, n) => ev.connack(at, n % 6 !== 0, conn)],
  [4, (at, _p, conn, n) => (n % 5 === 0 ? ev.unsubscribed(at, `t/${n % 3}`, conn) : ev.subscribed(at, `t/${n % 3}`, conn))],
  [5, (at, _p, conn, n) => ev.disconnected(at, REASONS[n % REASONS.length] ?? 'normal', conn)],
  [5, (at, _p, conn) => ev.terminated(at, '{shutdown,normal}', conn)],
  [1, (at, p) => ev.publish(at, 10, p)],
  [1, (at) => ev.delivered(at)],
  [1, (at, _p, _c, n) => (n % 2 ? ev.ban(at, at + 800) : ev.unban(at))],
  // An operator's override changes the verdicts the fast path takes for publish and authenticate.
  [1, (at, _p, _c, n) => (n % 3 ? ev.override(at, OVERRIDES[n % OVERRIDES.length]) : ev.clearOverride(at))],
];

const stepArb = fc.record({
  build: fc.oneof(...BUILDERS.map(([weight, b]) => ({ weight, arbitrary: fc.constant(b) }))),
  dt: fc.oneof({ weight: 10, arbitrary: fc.nat({ max: 700 }) }, { weight: 1, arbitrary: fc.integer({ min: -200, max: 0 }) }),
  policy: fc.nat({ max: POLICIES.length - 1 }),
  // Mostly the connection of the latest connect (as EMQX sends), else the one before it (late hooks), or any.
  conn: fc.oneof(
    { weight: 4, arbitrary: fc.constant(-1) },
    { weight: 1, arbitrary: fc.constant(-2) },
    { weight: 1, arbitrary: fc.nat({ max: CONNS.length - 1 }) },
  ),
  n: fc.nat({ max: 999 }),
});

const lifecycleEventsArb = (maxLength: number): fc.Arbitrary<ClientEvent[]> =>
  fc.array(stepArb, { minLength: 1, maxLength, size: 'max' }).map((steps) => {
    let at = T0;
    let current = A;
    let previous = B;
    return steps.map((s) => {
      at += s.dt;
      const conn = s.conn === -1 ? current : s.conn === -2 ? previous : (CONNS[s.conn] as string);
      const e = s.build(at, POLICIES[s.policy] as ResolvedPolicy, conn, s.n);
      if (e.type === 'client.connect' && e.conn !== current) [previous, current] = [current, e.conn];
      return e;
    });
  });

const nodeIds = (s: ClientSnapshot): string[] => s._nodes.map((n) => n.id).sort();

describe('client fast path - lifecycle hooks', () => {
  it('client fast path - equals the interpreter on lifecycle-heavy sequences, and takes every new branch', () => {
    const fastHits = new Map<string, number>();
    fc.assert(
      fc.property(lifecycleEventsArb(60), (events) => {
        let a = initialSnapshot();
        let b = initialSnapshot();
        for (const e of events) {
          if (fastStep(a, e)) {
            const branch = `${e.type}@${(a.value as { lifecycle: string }).lifecycle}`;
            fastHits.set(branch, (fastHits.get(branch) ?? 0) + 1);
          }
          const fast = step(a, e);
          const slow = stepInterpreted(b, e);
          expect(fast.next.value).toEqual(slow.next.value);
          expect(fast.next.context).toEqual(slow.next.context);
          expect(fast.facts).toEqual(slow.facts);
          expect(fast.decision).toEqual(slow.decision);
          expect(fast.next.status).toBe('active');
          expect(nodeIds(fast.next)).toEqual(nodeIds(slow.next));
          a = fast.next;
          b = slow.next;
        }
      }),
      { numRuns: 120 },
    );
    // The property is only worth something if the new fast branches ran (event@lifecycle before it).
    const branches = [
      ...['idle', 'connecting', 'connected', 'disconnected'].map((l) => `client.connect@${l}`),
      ...['idle', 'connecting', 'disconnected'].map((l) => `client.connected@${l}`),
      ...['idle', 'connecting', 'disconnected', 'connected'].map((l) => `client.connack@${l}`),
      'client.disconnected@connected',
      'session.terminated@disconnected',
      'session.created@connecting',
      'session.resumed@connecting',
      'session.subscribed@connected',
      'session.unsubscribed@connected',
      'client.authenticate@connecting',
    ];
    for (const b of branches) expect(fastHits.get(b) ?? 0, b).toBeGreaterThanOrEqual(5);
  });

  it('client fast path - the normal connect and disconnect sequence runs fast and emits its facts', () => {
    const events = [
      ...connectSequence(T0, A, POLICIES[0]),
      ev.subscribed(T0 + 5, 'a/b'),
      ev.disconnected(T0 + 6, 'normal'),
      ev.terminated(T0 + 7),
    ];
    let s = initialSnapshot();
    for (const e of events) {
      expect(fastStep(s, e), e.type).toBeDefined();
      s = step(s, e).next;
    }
    const fast = run(events);
    const slow = run(events, initialSnapshot(), stepInterpreted);
    expect(fast.results.map((r) => factTypes(r.facts))).toEqual(slow.results.map((r) => factTypes(r.facts)));
    expect(fast.results.flatMap((r) => factTypes(r.facts))).toEqual([
      'ClientConnecting',
      'SessionCreated',
      'ClientConnected',
      'Subscribed',
      'ClientDisconnected',
      'SessionTerminated',
    ]);
    expect(fast.snapshot.value).toEqual({ lifecycle: 'disconnected', session: 'terminated', standing: 'ok' });
    expect(fast.snapshot.matches({ lifecycle: 'disconnected' })).toBe(true);
  });

  it('client fast path - a connect that trips flapping, a stale or replaced hook goes to the interpreter', () => {
    const flappy = aPolicy({ flapping: { maxCount: 1, windowMs: 10_000, banMs: 1_000 } });
    const { snapshot: connected } = run(connectSequence(T0, A, flappy));
    expect(fastStep(connected, ev.connect(T0 + 10, A, flappy))).toBeUndefined();
    expect(fastStep(connected, ev.disconnected(T0 + 10, 'takenover'))).toBeUndefined();
    expect(fastStep(connected, ev.disconnected(T0 + 10, 'normal', B))).toBeUndefined();
    expect(fastStep(connected, ev.connected(T0 + 10, A))).toBeUndefined();
    expect(fastStep(connected, ev.terminated(T0 + 10))).toBeUndefined();
    const { snapshot: reconnecting } = run([ev.connect(T0 + 20_000, B, flappy)], connected);
    expect(fastStep(reconnecting, ev.connected(T0 + 20_001, A))).toBeUndefined();
    expect(fastStep(reconnecting, ev.connack(T0 + 20_001, true, A))).toBeUndefined();
  });
});
