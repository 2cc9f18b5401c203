import { describe, expect, it } from 'vitest';
import { stateName, type ClientSnapshot } from '../../machines/client/client.step.js';
import type { ClientEvent, ClientFact } from '../../machines/client/client.types.js';
import { A, aPolicy, B, connectSequence, ev, run, T0 } from './support.js';

interface Then {
  /** `stateName` after the step. */
  readonly state?: string;
  readonly value?: Partial<Record<'lifecycle' | 'session' | 'standing', string>>;
  /** The facts, in order, each matched as a subset. */
  readonly facts?: readonly Partial<ClientFact>[];
  readonly decision?: { outcome: string; code: string; shadowed?: boolean; rule?: string };
  readonly check?: (s: ClientSnapshot) => void;
}
interface Case {
  readonly name: string;
  readonly given: readonly ClientEvent[];
  readonly when: ClientEvent;
  readonly then: Then;
}

const connected = connectSequence(T0);
const users = aPolicy({ authenticate: 'users' });
const shadow = aPolicy({ authenticate: 'deny', mode: 'shadow' });
const aclDeny = { permission: 'deny' as const, rule: 3, detail: 'deny publish "secret/#" matched secret/x' };
const noMatch = { permission: 'no_match' as const, detail: 'no rule matched' };
const limited = aPolicy({ limits: { maxPayload: 100, maxSubscriptions: 1 } });

const cases: Case[] = [
  // lifecycle
  {
    name: 'a connect starts connecting',
    given: [],
    when: ev.connect(T0),
    then: { state: 'connecting', facts: [{ type: 'ClientConnecting', conn: A, at: T0 }] },
  },
  {
    name: 'connected after connect',
    given: [ev.connect(T0), ev.authenticate(T0 + 1)],
    when: ev.connected(T0 + 2),
    then: { state: 'connected', facts: [{ type: 'ClientConnected', conn: A }] },
  },
  {
    name: 'a successful connack after connected changes nothing',
    given: connected.slice(0, 4),
    when: ev.connack(T0 + 4),
    then: { state: 'connected', facts: [] },
  },
  {
    name: 'a refused connack ends a first attempt',
    given: [ev.connect(T0), ev.authenticate(T0 + 1, 'bad_password', users)],
    when: ev.connack(T0 + 2, false),
    then: { state: 'disconnected', facts: [{ type: 'ConnectionRefused', conn: A }] },
  },
  {
    name: 'a refused second attempt leaves the old connection connected',
    given: [...connected, ev.connect(T0 + 10, B), ev.authenticate(T0 + 11, 'bad_password', users, B)],
    when: ev.connack(T0 + 12, false, B),
    then: { state: 'connected', facts: [{ type: 'ConnectionRefused', conn: B }], check: (s) => expect(s.context.conn).toBe(A) },
  },
  {
    name: 'a normal disconnect of the current connection',
    given: connected,
    when: ev.disconnected(T0 + 10),
    then: { state: 'disconnected', facts: [{ type: 'ClientDisconnected', conn: A, reason: 'normal' }] },
  },
  {
    name: 'a takenover disconnect never ends presence',
    given: connected,
    when: ev.disconnected(T0 + 10, 'takenover'),
    then: { state: 'connected', facts: [{ type: 'OlderConnectionClosed', reason: 'takenover' }] },
  },
  {
    name: 'a late disconnect from another node is stale',
    given: [...connected, ...connectSequence(T0 + 100, B)],
    when: ev.disconnected(T0 + 200, 'tcp_closed', A),
    then: { state: 'connected', facts: [{ type: 'StaleEventIgnored', event: 'client.disconnected', why: 'older_connection' }] },
  },
  {
    name: 'a late connected of the older connection does not replace the newer one',
    given: [...connected, ev.connect(T0 + 10, B)],
    when: ev.connected(T0 + 11, A),
    then: { state: 'connecting', facts: [{ type: 'StaleEventIgnored', event: 'client.connected' }] },
  },
  {
    name: 'the old connection closing while a new one connects',
    given: [...connected, ev.connect(T0 + 10, B)],
    when: ev.disconnected(T0 + 11, 'tcp_closed', A),
    then: { state: 'connecting', facts: [{ type: 'OlderConnectionClosed', conn: A }], check: (s) => expect(s.context.live).toBe('') },
  },
  {
    name: 'a duplicate disconnect',
    given: [...connected, ev.disconnected(T0 + 10)],
    when: ev.disconnected(T0 + 11),
    then: { state: 'disconnected', facts: [{ type: 'StaleEventIgnored', why: 'duplicate' }] },
  },
  {
    name: 'a disconnect as the first event ever (after a restart) is accepted',
    given: [],
    when: ev.disconnected(T0),
    then: { state: 'disconnected', facts: [{ type: 'ClientDisconnected' }] },
  },
  {
    name: 'a publish as the first event ever is tracked and allowed',
    given: [],
    when: ev.publish(T0),
    then: { state: 'idle', decision: { outcome: 'allow', code: 'limit.ok' }, check: (s) => expect(s.context.counters.publishesAllowed).toBe(1) },
  },
  // session
  {
    name: 'a session terminated while connected is an older connection s',
    given: connected,
    when: ev.terminated(T0 + 10),
    then: { value: { session: 'created' }, facts: [{ type: 'StaleEventIgnored', event: 'session.terminated' }] },
  },
  {
    name: 'a session terminated after the disconnect ends it',
    given: [...connected, ev.subscribed(T0 + 5, 'a/#'), ev.disconnected(T0 + 10)],
    when: ev.terminated(T0 + 11),
    then: { value: { session: 'terminated' }, facts: [{ type: 'SessionTerminated' }], check: (s) => expect(s.context.subscriptions).toEqual([]) },
  },
  {
    name: 'subscriptions are tracked once per filter',
    given: [...connected, ev.subscribed(T0 + 5, 'a/#')],
    when: ev.subscribed(T0 + 6, 'a/#'),
    then: { facts: [{ type: 'Subscribed', topic: 'a/#', subscriptions: 1 }] },
  },
  {
    name: 'an unsubscribe removes the filter',
    given: [...connected, ev.subscribed(T0 + 5, 'a/#')],
    when: ev.unsubscribed(T0 + 6, 'a/#'),
    then: { facts: [{ type: 'Unsubscribed', subscriptions: 0 }] },
  },
  // authenticate
  {
    name: 'authenticate users: ok',
    given: [ev.connect(T0)],
    when: ev.authenticate(T0 + 1, 'ok', users),
    then: { decision: { outcome: 'allow', code: 'authn.users.ok' }, facts: [] },
  },
  {
    name: 'authenticate users: bad password',
    given: [ev.connect(T0)],
    when: ev.authenticate(T0 + 1, 'bad_password', users),
    then: { decision: { outcome: 'deny', code: 'authn.users.bad_password' }, facts: [{ type: 'AuthenticationRefused', shadowed: false }] },
  },
  {
    name: 'authenticate users: unknown user',
    given: [ev.connect(T0)],
    when: ev.authenticate(T0 + 1, 'unknown_user', users),
    then: { decision: { outcome: 'deny', code: 'authn.users.unknown_user' } },
  },
  {
    name: 'authenticate users: not checked fails closed',
    given: [ev.connect(T0)],
    when: ev.authenticate(T0 + 1, 'not_checked', users),
    then: { decision: { outcome: 'deny', code: 'authn.policy' } },
  },
  {
    name: 'authenticate ignore defers to EMQX',
    given: [],
    when: ev.authenticate(T0, 'not_checked', aPolicy({ authenticate: 'ignore' })),
    then: { decision: { outcome: 'ignore', code: 'authn.policy' } },
  },
  {
    name: 'shadow mode answers a deny as a shadowed allow',
    given: [ev.connect(T0)],
    when: ev.authenticate(T0 + 1, 'ok', shadow),
    then: { decision: { outcome: 'allow', code: 'authn.policy', shadowed: true }, facts: [{ type: 'AuthenticationRefused', shadowed: true }] },
  },
  // authorize
  {
    name: 'authorize: an ACL allow',
    given: connected,
    when: ev.authorize(T0 + 10, 'publish', 't/1'),
    then: { decision: { outcome: 'allow', code: 'acl.rule', rule: 'acl[0]' }, facts: [] },
  },
  {
    name: 'authorize: an ACL deny is a violation',
    given: connected,
    when: ev.authorize(T0 + 10, 'publish', 'secret/x', aclDeny),
    then: {
      decision: { outcome: 'deny', code: 'acl.rule', rule: 'acl[3]' },
      facts: [{ type: 'AuthorizationDenied', topic: 'secret/x' }, { type: 'ViolationRecorded', code: 'acl.rule' }],
    },
  },
  {
    name: 'authorize: no_match answers the policy s noMatch',
    given: connected,
    when: ev.authorize(T0 + 10, 'subscribe', 'x/#', noMatch, aPolicy({ noMatch: 'ignore' })),
    then: { decision: { outcome: 'ignore', code: 'acl.no_match' }, facts: [] },
  },
  {
    name: 'authorize: a new filter beyond maxSubscriptions',
    given: [...connected, ev.subscribed(T0 + 5, 'a/#')],
    when: ev.authorize(T0 + 10, 'subscribe', 'b/#', undefined, limited),
    then: { decision: { outcome: 'deny', code: 'limit.max_subscriptions' } },
  },
  {
    name: 'authorize: a filter already held does not count against maxSubscriptions',
    given: [...connected, ev.subscribed(T0 + 5, 'a/#')],
    when: ev.authorize(T0 + 10, 'subscribe', 'a/#', undefined, limited),
    then: { decision: { outcome: 'allow', code: 'acl.rule' } },
  },
  // publish
  {
    name: 'publish: maxPayload exceeded',
    given: connected,
    when: ev.publish(T0 + 10, 101, limited),
    then: { decision: { outcome: 'deny', code: 'limit.max_payload' }, facts: [{ type: 'PublishDenied', bytes: 101 }, { type: 'ViolationRecorded' }] },
  },
  {
    name: 'publish: a payload larger than the bytes bucket never conforms',
    given: connected,
    when: ev.publish(T0 + 10, 2000, aPolicy({ limits: { bytesRate: { count: 1000, periodMs: 1000 } } })),
    then: { decision: { outcome: 'deny', code: 'limit.bytes_rate' } },
  },
  // operator
  {
    name: 'admin ban refuses authentication',
    given: [ev.ban(T0, T0 + 60_000)],
    when: ev.authenticate(T0 + 1),
    then: { state: 'banned', decision: { outcome: 'deny', code: 'banned.override' } },
  },
  {
    name: 'admin unban lifts it',
    given: [ev.ban(T0, T0 + 60_000)],
    when: ev.unban(T0 + 1),
    then: { value: { standing: 'ok' }, facts: [{ type: 'BanLifted', by: 'admin' }] },
  },
  {
    name: 'a ban in the past is ignored',
    given: [ev.connect(T0 + 10)],
    when: ev.ban(T0 + 10, T0 + 5),
    then: { value: { standing: 'ok' }, facts: [{ type: 'StaleEventIgnored', why: 'already_expired' }] },
  },
  {
    name: 'a ban expires by event time',
    given: [ev.ban(T0, T0 + 60_000)],
    when: ev.authenticate(T0 + 60_000),
    then: { value: { standing: 'ok' }, decision: { outcome: 'allow', code: 'authn.policy' }, facts: [{ type: 'BanLifted', by: 'expiry' }] },
  },
  {
    name: 'admin quarantine denies publishes',
    given: [...connected, ev.quarantine(T0 + 10, T0 + 1000)],
    when: ev.publish(T0 + 11),
    then: { state: 'quarantined', decision: { outcome: 'deny', code: 'quarantined' }, facts: [{ type: 'PublishDenied', code: 'quarantined' }] },
  },
  {
    name: 'a ban over a quarantine, unbanned, leaves it quarantined',
    given: [ev.quarantine(T0, T0 + 1000), ev.ban(T0 + 1, T0 + 2000)],
    when: ev.unban(T0 + 2),
    then: { state: 'quarantined' },
  },
  {
    name: 'admin release without a quarantine is a no-op',
    given: [],
    when: ev.release(T0),
    then: { facts: [{ type: 'StaleEventIgnored', why: 'not_quarantined' }] },
  },
];

describe('client machine - transitions and decisions', () => {
  for (const c of cases) {
    it(`client machine - ${c.name}`, () => {
      const { snapshot } = run(c.given);
      const { snapshot: after, results } = run([c.when], snapshot);
      const r = results[0];
      expect(r).toBeDefined();
      if (!r) return;
      const t = c.then;
      if (t.state) expect(stateName(after)).toBe(t.state);
      if (t.value) expect(after.value).toMatchObject(t.value);
      if (t.facts) {
        expect(r.facts).toHaveLength(t.facts.length);
        t.facts.forEach((f, i) => expect(r.facts[i]).toMatchObject(f));
      }
      if (t.decision) {
        expect(r.decision?.outcome).toBe(t.decision.outcome);
        expect(r.decision?.reason.code).toBe(t.decision.code);
        expect(r.decision?.shadowed === true).toBe(t.decision.shadowed === true);
        if (t.decision.rule) expect(r.decision?.reason.rule).toBe(t.decision.rule);
        expect(r.decision?.reason.policy).toBe('test');
        expect(r.decision?.reason.detail.length).toBeGreaterThan(10);
      } else if (!['client.authenticate', 'client.authorize', 'message.publish'].includes(c.when.type)) {
        expect(r.decision).toBeUndefined();
      }
      t.check?.(after);
    });
  }

  it('client machine - every fact carries the event time', () => {
    const { results } = run([...connected, ev.ban(T0 + 10, T0 + 20), ev.publish(T0 + 30)]);
    for (const r of results) for (const f of r.facts) expect(typeof f.at).toBe('number');
  });
});
