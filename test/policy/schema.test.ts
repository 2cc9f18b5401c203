import { describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../src/policy/parse.js';
import { validatePolicy, type PolicyError } from '../../src/policy/schema.js';

const errorsOf = (text: string): readonly PolicyError[] => {
  const r = parsePolicyText(text);
  if (r.ok) throw new Error('expected errors, the policy was accepted');
  return r.errors;
};
const setOf = (text: string) => {
  const r = parsePolicyText(text);
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return r.set;
};

/** Each row: a policy with one mistake → the key path named, the message and the fix. */
const oneMistake: [string, string, RegExp, RegExp][] = [
  ['mode: enforced', 'mode', /"enforced" is not one of enforce, shadow/, /did you mean "enforce"/],
  ['default: { authenticate: user }', 'default.authenticate', /not one of allow, deny, users, ignore/, /did you mean "users"/],
  ['default: { no_match: refuse }', 'default.no_match', /not one of allow, deny, ignore/, /use one of: allow, deny, ignore/],
  ['default: { limits: { messages_rate: "10 per s" } }', 'default.limits.messages_rate', /"10 per s" is not a rate/, /use N\/s, N\/10s, N\/m or N\/h, e.g. "10\/s"/],
  ['default: { limits: { messages_rate: "64KB/s" } }', 'default.limits.messages_rate', /counts messages, not bytes/, /N\/s/],
  ['default: { limits: { bytes_rate: "fast" } }', 'default.limits.bytes_rate', /not a rate/, /"64KB\/s"/],
  ['default: { limits: { messages_rate: "10/s", messages_burst: 0 } }', 'default.limits.messages_burst', /at least 1/, /e\.g\. 20/],
  ['default: { limits: { max_payload: "12XB" } }', 'default.limits.max_payload', /not a size/, /KB, MB or GB \(1024-based\)/],
  ['default: { limits: { max_payload: } }', 'default.limits.max_payload', /has no value/, /"infinity" to remove/],
  ['default: { limits: { max_subscriptions: -1 } }', 'default.limits.max_subscriptions', /at least 0/, /whole number/],
  ['default: { limits: { messages_burst: 5 } }', 'default.limits.messages_burst', /no messages_rate/, /add messages_rate/],
  ['default: { limits: { bytes_rate: "1KB/s", max_payload: "2KB" } }', 'default.limits', /smaller than max_payload/, /raise bytes_burst/],
  ['default: { flapping: { max_count: 15, window_time: 60 } }', 'default.flapping.window_time', /60 has no unit/, /"30s"/],
  ['default: { flapping: on }', 'default.flapping', /mapping, true or false/, /max_count/],
  ['default: { quarantine: { duration: "forever" } }', 'default.quarantine.duration', /not a duration/, /"5m"/],
  ['default: { acl: { permission: allow } }', 'default.acl', /must be a list/, /acl: \[/],
  ['default: { acl: [ { action: publish, topics: ["#"] } ] }', 'default.acl[0].permission', /permission is missing/, /allow or permission: deny/],
  ['default: { acl: [ { permission: allow, action: pubsub, topics: ["#"] } ] }', 'default.acl[0].action', /4\.x "pubsub" is "all"/, /publish, subscribe, all/],
  ['default: { acl: [ { permission: allow } ] }', 'default.acl[0].topics', /topics is missing/, /topics: \["#"\]/],
  ['default: { acl: [ { permission: allow, topics: [] } ] }', 'default.acl[0].topics', /non-empty list/, /eq broadcast/],
  ['default: { acl: [ { permission: allow, topic: "a", topics: ["b"] } ] }', 'default.acl[0].topic', /both topic and topics/, /keep one/],
  ['default: { acl: [ { permission: allow, topics: ["a/#/b"] } ] }', 'default.acl[0].topics[0]', /# must be the last level/, /valid MQTT topic filter/],
  ['default: { acl: [ { permission: allow, topics: ["t/${clientId}"] } ] }', 'default.acl[0].topics[0]', /unknown placeholder "\$\{clientId\}"/, /did you mean \$\{clientid\}/],
  ['default: { acl: [ { permission: allow, topics: ["$share/g/t"] } ] }', 'default.acl[0].topics[0]', /can never match/, /real topic/],
  ['default: { acl: [ { permission: allow, topics: ["#"], qos: 3 } ] }', 'default.acl[0].qos', /not a QoS level/, /qos: \[1, 2\]/],
  ['default: { acl: [ { permission: allow, action: subscribe, topics: ["#"], retain: true } ] }', 'default.acl[0].retain', /condition on publishes/, /remove retain/],
  ['default: { acl: [ { permission: allow, topics: ["#"], retain: maybe } ] }', 'default.acl[0].retain', /not true, false or all/, /retain: true/],
  ['default: { authenticate: users }', 'default.authenticate', /no users are listed/, /add users:/],
  ['users: { alice: x }', 'users', /must be a list/, /username: alice/],
  ['users: [ { username: alice } ]', 'users[0].password_hash', /missing/, /hookwarden hash-password/],
  ['users: [ { username: alice, password_hash: "md5$abc" } ]', 'users[0].password_hash', /unknown hash scheme "md5"/, /hash-password/],
  ['users: [ { username: alice, password_hash: "scrypt$1000$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==" } ]', 'users[0].password_hash', /power of two/, /hash-password/],
  ['policies: { a: 1 }', 'policies', /must be a list/, /name: sensors/],
  ['policies: [ { match: { clientid: "a*" } } ]', 'policies[0].name', /name is missing/, /give every entry a name/],
  ['policies: [ { name: default, match: { clientid: "a*" } } ]', 'policies[0].name', /reserved/, /another name/],
  ['policies: [ { name: a } ]', 'policies[0].match', /match is missing/, /clientid: "\*" matches every client/],
  ['policies: [ { name: a, match: {} } ]', 'policies[0].match', /no condition/, /clientid: "sensor-\*"/],
  ['policies: [ { name: a, match: { clientid: "" } } ]', 'policies[0].match.clientid', /non-empty string or list/, /\* any characters/],
  ['policies: [ { name: a, match: { peerhost: "10.0.0.0/33" } } ]', 'policies[0].match.peerhost', /prefix length outside 0\.\.32/, /CIDR block/],
  ['policies: [ { name: a, match: { peerhost: ["10.0.0.0/8", "nope"] } } ]', 'policies[0].match.peerhost[1]', /not an IP address/, /CIDR block/],
  ['policies: [ { name: a, match: { clientid: "a*" }, mode: loud } ]', 'policies[0].mode', /not one of enforce, shadow/, /enforce, shadow/],
];

describe('policy schema', () => {
  it.each(oneMistake)('policy schema - %s → %s', (text, path, message, fix) => {
    const errors = errorsOf(text);
    expect(errors.map((e) => e.path)).toContain(path);
    const e = errors.find((x) => x.path === path) as PolicyError;
    expect(e.message).toMatch(message);
    expect(e.fix).toMatch(fix);
    expect(e.line).toBe(1);
  });

  it('policy schema - unknown keys are refused with a did-you-mean suggestion at every level', () => {
    const errors = errorsOf(`
policys: []
default:
  limit: {}
  limits: { messages_rate: "1/s", messagesBurst: 3 }
  acl:
    - { permision: allow, topics: ["#"] }
policies:
  - { name: a, match: { client_id: "a*" }, no-match: deny }
users:
  - { username: u, password: secret }
`);
    const by = Object.fromEntries(errors.map((e) => [e.path, e]));
    expect(by['policys']?.fix).toMatch(/did you mean "policies"/);
    expect(by['default.limit']?.fix).toMatch(/did you mean "limits"/);
    expect(by['default.limits.messagesBurst']?.fix).toMatch(/did you mean "messages_burst"/);
    expect(by['default.acl[0].permision']?.fix).toMatch(/did you mean "permission"/);
    expect(by['policies[0].match.client_id']?.fix).toMatch(/did you mean "clientid"/);
    expect(by['policies[0].no-match']?.fix).toMatch(/did you mean "no_match"/);
    expect(by['users[0].password']?.fix).toMatch(/never put a plaintext password/);
    expect(JSON.stringify(errors)).not.toContain('secret');
    for (const e of errors.filter((x) => x.message.startsWith('unknown key'))) expect(e.message).toMatch(/^unknown key "/);
  });

  it('policy schema - keys in the wrong place say where they belong', () => {
    const errors = errorsOf('acl: []\ndefault: { mode: shadow, match: { clientid: x } }\npolicies: [ { name: a, match: { clientid: "a" }, default: {} } ]');
    const by = Object.fromEntries(errors.map((e) => [e.path, e.fix]));
    expect(by['acl']).toMatch(/under default:/);
    expect(by['default.mode']).toMatch(/top level/);
    expect(by['default.match']).toMatch(/policies\[\] entries/);
    expect(by['policies[0].default']).toMatch(/top-level key/);
  });

  it('policy schema - every error is reported at once, in file order, with its line', () => {
    const text = [
      'mode: loud', //                                                      1
      'default:', //                                                        2
      '  limits:', //                                                       3
      '    messages_rate: "10 per s"', //                                   4
      '    max_payload: "huge"', //                                         5
      '  acl:', //                                                          6
      '    - { permission: maybe, topics: ["#"] }', //                      7
      'policies:', //                                                       8
      '  - name: sensors', //                                               9
      '    match: { clientid: "sensor-*", peerhost: "300.0.0.1" }', //      10
      '    limits:', //                                                     11
      '      messages_rate: "1/s"', //                                      12
      '      messages_burst: lots', //                                      13
      '  - name: sensors', //                                               14
      '    match: { clientid: "*" }', //                                    15
    ].join('\n');
    const errors = errorsOf(text);
    expect(errors.map((e) => [e.line, e.path])).toEqual([
      [1, 'mode'],
      [4, 'default.limits.messages_rate'],
      [5, 'default.limits.max_payload'],
      [7, 'default.acl[0].permission'],
      [10, 'policies[0].match.peerhost'],
      [13, 'policies[0].limits.messages_burst'],
      [14, 'policies[1].name'],
    ]);
    for (const e of errors) {
      expect(e.message.length).toBeGreaterThan(5);
      expect(e.fix.length).toBeGreaterThan(5);
    }
  });

  it('policy schema - a value that fails to parse is reported once, without echoes in dependent checks', () => {
    const errors = errorsOf('default:\n  limits: { messages_burst: 20, messages_rate: "10 per s" }\npolicies:\n  - { name: a, match: { clientid: a }, limits: { messages_burst: 5 } }');
    expect(errors.map((e) => e.path)).toEqual(['default.limits.messages_rate']);
  });

  it('policy schema - a policy entry after a catch-all can never apply', () => {
    const errors = errorsOf('policies:\n  - { name: all, match: { clientid: "*" } }\n  - { name: late, match: { clientid: "a*" } }');
    expect(errors).toEqual([
      { path: 'policies[1].match', line: 3, message: expect.stringMatching(/can never apply: policies\[0\] matches every client/), fix: expect.stringMatching(/move it above/) },
    ]);
    // peerhost narrows: not a catch-all
    expect(() => setOf('policies:\n  - { name: lan, match: { clientid: "*", peerhost: "10.0.0.0/8" } }\n  - { name: b, match: { clientid: "b*" } }')).not.toThrow();
  });

  it('policy schema - a YAML syntax error is reported with its line', () => {
    const errors = errorsOf('default:\n  limits: { messages_rate: "1/s"\nusers: []\n');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]?.message).toMatch(/^YAML: /);
    expect(errors[0]?.line).toBeGreaterThanOrEqual(2);
    expect(errors[0]?.fix).toMatch(/YAML syntax/);
    const dup = errorsOf('mode: enforce\nmode: shadow\n');
    expect(dup[0]).toMatchObject({ line: 2, message: expect.stringMatching(/unique/) });
  });

  it('policy schema - an empty file or a non-mapping is refused, {} is the empty policy', () => {
    expect(errorsOf('')[0]?.message).toMatch(/empty/);
    expect(errorsOf('# only a comment\n')[0]?.fix).toMatch(/write \{\}/);
    expect(errorsOf('- a\n- b\n')[0]?.message).toMatch(/must be a mapping/);
    const set = setOf('{}');
    expect(set.default).toMatchObject({ authenticate: 'ignore', noMatch: 'ignore', limits: {}, acl: [] });
    expect(set.needs).toEqual({ authenticate: false, authorize: false, publish: false });
  });

  it('policy schema - JSON is accepted', () => {
    const set = setOf(JSON.stringify({ default: { limits: { messages_rate: '5/s' }, acl: [{ permission: 'deny', action: 'all', topics: ['#'] }] } }));
    expect(set.default.limits.messagesRate).toEqual({ count: 5, periodMs: 1000 });
  });

  it('policy schema - no environment expansion: ${...} is only ever an ACL placeholder', () => {
    process.env.HOOKWARDEN_TEST_SECRET_VAR = 'expanded';
    try {
      const errors = errorsOf('default: { acl: [ { permission: allow, topics: ["a/${HOOKWARDEN_TEST_SECRET_VAR}"] } ] }');
      expect(errors[0]?.message).toMatch(/unknown placeholder "\$\{HOOKWARDEN_TEST_SECRET_VAR\}"/);
      const set = setOf('default: { acl: [ { permission: allow, topics: ["$HOME/${clientid}"] } ] }');
      expect(set.default.acl[0]?.topics).toEqual(['$HOME/${clientid}']);
    } finally {
      delete process.env.HOOKWARDEN_TEST_SECRET_VAR;
    }
  });

  it('policy schema - the revision is the hash of the content, not of its spelling', () => {
    const a = setOf('# comment\ndefault:\n  limits: { messages_rate: "1/s" }\n  no_match: deny\n');
    const b = setOf('{"default": {"no_match": "deny", "limits": {"messages_rate": "1/s"}}}');
    const c = setOf('default:\n  limits: { messages_rate: "2/s" }\n  no_match: deny\n');
    expect(a.revision).toMatch(/^[0-9a-f]{64}$/);
    expect(b.revision).toBe(a.revision);
    expect(c.revision).not.toBe(a.revision);
  });

  it('policy schema - validatePolicy works on plain data without a locator (no lines)', () => {
    const r = validatePolicy({ default: { limits: { messages_rate: 'x' } } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toEqual([{ path: 'default.limits.messages_rate', message: '"x" is not a rate', fix: expect.any(String) }]);
  });

  it('policy schema - ACL rules: action defaults to all, topic and { eq } forms are normalized', () => {
    const set = setOf('default: { acl: [ { permission: allow, topic: "a/#" }, { permission: deny, topics: [{ eq: "#" }, "b"], qos: [2, 1, 1], retain: all } ] }');
    expect(set.default.acl).toEqual([
      { permission: 'allow', action: 'all', topics: ['a/#'] },
      { permission: 'deny', action: 'all', topics: ['eq #', 'b'], qos: [1, 2] },
    ]);
    expect(Object.isFrozen(set.default.acl[0])).toBe(true);
  });

  it('policy schema - needs: which valued hooks the policies need', () => {
    const needs = (t: string) => setOf(t).needs;
    expect(needs('default: { authenticate: ignore }')).toEqual({ authenticate: false, authorize: false, publish: false });
    expect(needs('default: { authenticate: deny }').authenticate).toBe(true);
    expect(needs('policies: [ { name: a, match: { clientid: x }, authenticate: allow } ]').authenticate).toBe(true);
    expect(needs('default: { acl: [ { permission: deny, topics: ["#"] } ] }')).toEqual({ authenticate: false, authorize: true, publish: false });
    expect(needs('default: { no_match: deny }').authorize).toBe(true);
    expect(needs('default: { limits: { max_subscriptions: 5 } }')).toEqual({ authenticate: false, authorize: true, publish: false });
    expect(needs('default: { limits: { max_payload: 1024 } }')).toEqual({ authenticate: false, authorize: false, publish: true });
    expect(needs('default: { limits: { bytes_rate: "1KB/s" } }').publish).toBe(true);
    expect(needs('default: { flapping: true }')).toEqual({ authenticate: false, authorize: true, publish: true });
    expect(needs('default: { quarantine: {} }')).toEqual({ authenticate: false, authorize: true, publish: true });
    expect(needs('policies: [ { name: a, match: { clientid: x }, limits: { messages_rate: "1/s" } } ]').publish).toBe(true);
  });
});
