import { describe, expect, it } from 'vitest';
import { evaluateAcl } from '../../src/domain/acl.js';
import { parsePolicyText } from '../../src/policy/parse.js';
import { EMPTY_POLICY_SET, resolvePolicy, type PolicySet } from '../../src/policy/policy-set.js';

const setOf = (text: string): PolicySet => {
  const r = parsePolicyText(text);
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return r.set;
};
const who = (clientid: string, username = '', peerhost = '') => ({ clientid, username, peerhost });

const FLEET = `
mode: enforce
default:
  authenticate: ignore
  limits: { messages_rate: "10/s", messages_burst: 20, bytes_rate: "64KB/s", bytes_burst: "256KB", max_payload: "128KB", max_subscriptions: 50 }
  flapping: { max_count: 15, window_time: "1m", ban_time: "5m" }
  quarantine: { max_violations: 10, window_time: "1m", duration: "10m" }
  acl:
    - { permission: allow, action: publish, topics: ["devices/\${clientid}/#"] }
    - { permission: deny, action: all, topics: ["#"] }
  no_match: deny
policies:
  - name: sensors
    match: { clientid: "sensor-*" }
    limits: { messages_rate: "1/s", messages_burst: 5 }
    flapping: { max_count: 5 }
  - name: slow
    match: { clientid: "slow-*" }
    limits: { messages_rate: "1/m" }
  - name: burst-only
    match: { clientid: "burst-*" }
    limits: { messages_burst: 50 }
  - name: unlimited
    match: { username: "ops-?" }
    mode: shadow
    authenticate: allow
    limits: { messages_rate: infinity, bytes_rate: infinity, max_payload: "1MB" }
    flapping: false
    acl: [ { permission: allow, action: all, topics: ["#"] } ]
    no_match: allow
  - name: lan-v4
    match: { clientid: "gw-*", peerhost: ["10.0.0.0/8", "192.168.0.0/16"] }
    limits: { max_subscriptions: 500 }
  - name: lan-v6
    match: { peerhost: "fd00::/8" }
    quarantine: { duration: "1h" }
`;

describe('policy set', () => {
  const set = setOf(FLEET);

  it('policy set - without a file: no limits, no ACL, no flapping, ignore everything, mount nothing', () => {
    const p = resolvePolicy(EMPTY_POLICY_SET, who('any', 'u', '1.2.3.4'));
    expect(p).toEqual({ name: 'default', mode: 'enforce', authenticate: 'ignore', limits: {}, acl: [], noMatch: 'ignore' });
    expect(EMPTY_POLICY_SET.needs).toEqual({ authenticate: false, authorize: false, publish: false });
    expect(EMPTY_POLICY_SET.revision).toBe(setOf('{}').revision);
  });

  it('policy set - the default applies when no entry matches', () => {
    const p = resolvePolicy(set, who('thing-1'));
    expect(p.name).toBe('default');
    expect(p.limits).toEqual({
      messagesRate: { count: 10, periodMs: 1000 },
      messagesBurst: 20,
      bytesRate: { count: 65_536, periodMs: 1000 },
      bytesBurst: 262_144,
      maxPayload: 131_072,
      maxSubscriptions: 50,
    });
    expect(p.flapping).toEqual({ maxCount: 15, windowMs: 60_000, banMs: 300_000 });
    expect(p.quarantine).toEqual({ maxViolations: 10, windowMs: 60_000, durationMs: 600_000 });
  });

  it('policy set - an entry overrides the default key by key, limits limit by limit', () => {
    const p = resolvePolicy(set, who('sensor-7'));
    expect(p.name).toBe('sensors');
    expect(p.limits).toEqual({
      messagesRate: { count: 1, periodMs: 1000 },
      messagesBurst: 5,
      bytesRate: { count: 65_536, periodMs: 1000 },
      bytesBurst: 262_144,
      maxPayload: 131_072,
      maxSubscriptions: 50,
    });
    expect(p.flapping).toEqual({ maxCount: 5, windowMs: 60_000, banMs: 300_000 });
    expect(p.acl).toBe(set.default.acl);
    expect(p.noMatch).toBe('deny');
    expect(p.mode).toBe('enforce');
  });

  it('policy set - a rate set without a burst gets the rate\'s count as burst, not the inherited burst', () => {
    expect(resolvePolicy(set, who('slow-1')).limits).toMatchObject({ messagesRate: { count: 1, periodMs: 60_000 }, messagesBurst: 1 });
  });

  it('policy set - a burst set alone keeps the inherited rate', () => {
    expect(resolvePolicy(set, who('burst-1')).limits).toMatchObject({ messagesRate: { count: 10, periodMs: 1000 }, messagesBurst: 50 });
  });

  it('policy set - infinity removes a limit and its burst; false removes flapping; acl replaces as a whole; mode per policy', () => {
    const p = resolvePolicy(set, who('x', 'ops-1'));
    expect(p.name).toBe('unlimited');
    expect(p.limits).toEqual({ maxPayload: 1_048_576, maxSubscriptions: 50 });
    expect(p.flapping).toBeUndefined();
    expect(p.quarantine).toEqual(set.default.quarantine);
    expect(p.acl).toEqual([{ permission: 'allow', action: 'all', topics: ['#'] }]);
    expect(p.mode).toBe('shadow');
    expect(p.authenticate).toBe('allow');
    expect(p.noMatch).toBe('allow');
  });

  it('policy set - globs: * and ? on client id and username', () => {
    expect(resolvePolicy(set, who('sensor-')).name).toBe('sensors');
    expect(resolvePolicy(set, who('Sensor-1')).name).toBe('default');
    expect(resolvePolicy(set, who('x', 'ops-12')).name).toBe('default');
    expect(resolvePolicy(set, who('x', 'ops-')).name).toBe('default');
  });

  it('policy set - every match key must hold; peerhost CIDR, IPv4 and IPv6', () => {
    expect(resolvePolicy(set, who('gw-1', '', '10.2.3.4')).name).toBe('lan-v4');
    expect(resolvePolicy(set, who('gw-1', '', '192.168.7.7')).name).toBe('lan-v4');
    expect(resolvePolicy(set, who('gw-1', '', '::ffff:10.2.3.4')).name).toBe('lan-v4');
    expect(resolvePolicy(set, who('gw-1', '', '8.8.8.8')).name).toBe('default');
    expect(resolvePolicy(set, who('gw-1', '', '')).name).toBe('default');
    expect(resolvePolicy(set, who('other', '', '10.2.3.4')).name).toBe('default');
    const v6 = resolvePolicy(set, who('any', '', 'fd12:3456::1'));
    expect(v6.name).toBe('lan-v6');
    expect(v6.quarantine).toEqual({ maxViolations: 10, windowMs: 60_000, durationMs: 3_600_000 });
    expect(resolvePolicy(set, who('any', '', '2001:db8::1')).name).toBe('default');
  });

  it('policy set - first match wins', () => {
    const s = setOf(`
policies:
  - { name: first, match: { clientid: "a-*" }, limits: { max_payload: 1 } }
  - { name: second, match: { clientid: "a-1" }, limits: { max_payload: 2 } }
`);
    expect(resolvePolicy(s, who('a-1')).name).toBe('first');
  });

  it('policy set - resolution returns the same frozen object for clients of one policy', () => {
    const a = resolvePolicy(set, who('sensor-1'));
    expect(resolvePolicy(set, who('sensor-2'))).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.limits)).toBe(true);
    expect(Object.isFrozen(a.acl)).toBe(true);
  });

  it('policy set - the resolved ACL evaluates with the client\'s identity', () => {
    const p = resolvePolicy(set, who('sensor-9'));
    expect(evaluateAcl(p.acl, { clientid: 'sensor-9', username: '' }, 'publish', 'devices/sensor-9/t')).toMatchObject({ permission: 'allow', rule: 0 });
    expect(evaluateAcl(p.acl, { clientid: 'sensor-9', username: '' }, 'publish', 'devices/sensor-8/t')).toMatchObject({ permission: 'deny', rule: 1 });
  });

  it('policy set - top-level mode is the default for every policy that does not set its own', () => {
    const s = setOf('mode: shadow\npolicies: [ { name: a, match: { clientid: "a" } }, { name: b, match: { clientid: "b" }, mode: enforce } ]');
    expect(s.mode).toBe('shadow');
    expect(s.default.mode).toBe('shadow');
    expect(resolvePolicy(s, who('a')).mode).toBe('shadow');
    expect(resolvePolicy(s, who('b')).mode).toBe('enforce');
  });

  it('policy set - users are parsed into the table', () => {
    const s = setOf('users: [ { username: alice, password_hash: "scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=" } ]');
    expect(s.users.get('alice')).toMatchObject({ scheme: 'scrypt', N: 16_384, r: 8, p: 1 });
    expect(s.users.has('bob')).toBe(false);
  });
});
