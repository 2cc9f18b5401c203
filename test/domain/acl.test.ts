/**
 * The EMQX ACL compatibility table: each row is a rule list, who asks, the
 * request, what is known, and the verdict EMQX's file authorizer
 * (emqx_authz_rule:matches/4 over emqx_topic:match/2 on level lists) gives,
 * or, where hookwarden deliberately differs, the "deviation" it documents
 * (docs/POLICY.md, "EMQX compatibility").
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aclHasConditions, aclTopicProblem, evaluateAcl, type AclKnown } from '../../src/domain/acl.js';
import type { AclRule } from '../../src/domain/policy.types.js';

const rule = (permission: 'allow' | 'deny', action: AclRule['action'], topics: string[], extra: Partial<AclRule> = {}): AclRule => ({
  permission,
  action,
  topics,
  ...extra,
});

interface Row {
  readonly name: string;
  readonly rules: AclRule[];
  readonly who?: { clientid?: string; username?: string };
  readonly action: 'publish' | 'subscribe';
  readonly topic: string;
  readonly known?: AclKnown;
  /** Expected permission, and the matching rule's index when one matched. */
  readonly expect: 'no_match' | ['allow' | 'deny', number];
  readonly note?: 'emqx' | 'deviation';
}

const table: Row[] = [
  // placeholders
  { name: '${clientid} expands', rules: [rule('allow', 'publish', ['devices/${clientid}/#'])], action: 'publish', topic: 'devices/c1/temp', expect: ['allow', 0] },
  { name: '${clientid} of another client', rules: [rule('allow', 'publish', ['devices/${clientid}/#'])], action: 'publish', topic: 'devices/c2/temp', expect: 'no_match' },
  { name: '${username} anywhere in a level (5.0.16+)', rules: [rule('allow', 'publish', ['t/foo${username}boo'])], who: { username: 'test' }, action: 'publish', topic: 't/footestboo', expect: ['allow', 0] },
  { name: 'a literal "${username}" topic does not match the template', rules: [rule('allow', 'publish', ['t/foo${username}boo'])], who: { username: 'test' }, action: 'publish', topic: 't/foo${username}boo', expect: 'no_match' },
  { name: '4.x %c as a whole level', rules: [rule('allow', 'publish', ['%c/#'])], action: 'publish', topic: 'c1/x', expect: ['allow', 0] },
  { name: '4.x %u as a whole level', rules: [rule('allow', 'subscribe', ['users/%u'])], who: { username: 'u1' }, action: 'subscribe', topic: 'users/u1', expect: ['allow', 0] },
  { name: '4.x %c inside a level is literal text', rules: [rule('allow', 'publish', ['t/a%c'])], action: 'publish', topic: 't/ac1', expect: 'no_match' },
  { name: '4.x %c inside a level matches itself', rules: [rule('allow', 'publish', ['t/a%c'])], action: 'publish', topic: 't/a%c', expect: ['allow', 0] },
  { name: 'empty username: the ${username} topic never matches (4.x; 5.x renders "undefined")', rules: [rule('allow', 'publish', ['t/${username}'])], who: { username: '' }, action: 'publish', topic: 't/', expect: 'no_match', note: 'deviation' },
  { name: 'empty username does not match the text "undefined" either', rules: [rule('allow', 'publish', ['t/${username}'])], who: { username: '' }, action: 'publish', topic: 't/undefined', expect: 'no_match', note: 'deviation' },
  { name: 'empty %u never matches', rules: [rule('allow', 'all', ['%u/#']), rule('deny', 'all', ['#'])], who: { username: '' }, action: 'subscribe', topic: '/#', expect: ['deny', 1] },
  { name: 'a client id with / spans levels (render, then split)', rules: [rule('allow', 'publish', ['devices/${clientid}/#'])], who: { clientid: 'site/7' }, action: 'publish', topic: 'devices/site/7/t', expect: ['allow', 0] },
  { name: 'a client id "+" is not a wildcard', rules: [rule('allow', 'publish', ['devices/${clientid}/#'])], who: { clientid: '+' }, action: 'publish', topic: 'devices/other/t', expect: 'no_match', note: 'deviation' },
  { name: 'a client id "#" cannot subscribe to everyone\'s tree', rules: [rule('allow', 'subscribe', ['devices/${clientid}/#'])], who: { clientid: '#' }, action: 'subscribe', topic: 'devices/#', expect: 'no_match', note: 'deviation' },
  { name: '${$} is a literal $', rules: [rule('allow', 'subscribe', ['${$}SYS/brokers/#'])], action: 'subscribe', topic: '$SYS/brokers/n1', expect: ['allow', 0] },
  // eq
  { name: 'eq matches the literal filter', rules: [rule('allow', 'subscribe', ['eq broadcast/#'])], action: 'subscribe', topic: 'broadcast/#', expect: ['allow', 0] },
  { name: 'eq does not match a topic its filter would', rules: [rule('allow', 'subscribe', ['eq broadcast/#'])], action: 'subscribe', topic: 'broadcast/x', expect: 'no_match' },
  { name: 'eq does not match a narrower filter', rules: [rule('allow', 'subscribe', ['eq broadcast/#'])], action: 'subscribe', topic: 'broadcast/+', expect: 'no_match' },
  { name: 'eq expands no placeholder', rules: [rule('allow', 'subscribe', ['eq t/${clientid}'])], action: 'subscribe', topic: 't/c1', expect: 'no_match' },
  { name: 'eq of a placeholder text matches that text', rules: [rule('allow', 'subscribe', ['eq t/${clientid}'])], action: 'subscribe', topic: 't/${clientid}', expect: ['allow', 0] },
  { name: '{deny, all, subscribe, [{eq, "#"}]}: subscribing to # exactly', rules: [rule('deny', 'subscribe', ['eq #']), rule('allow', 'all', ['#'])], action: 'subscribe', topic: '#', expect: ['deny', 0] },
  { name: '{eq, "#"} leaves other filters to the next rule', rules: [rule('deny', 'subscribe', ['eq #']), rule('allow', 'all', ['#'])], action: 'subscribe', topic: 'a/#', expect: ['allow', 1] },
  // wildcards: a subscribe filter compared as a name
  { name: 'rule a/# covers subscribe a/+', rules: [rule('allow', 'subscribe', ['a/#'])], action: 'subscribe', topic: 'a/+', expect: ['allow', 0] },
  { name: 'rule a/+ covers subscribe a/# (EMQX compares words)', rules: [rule('allow', 'subscribe', ['a/+'])], action: 'subscribe', topic: 'a/#', expect: ['allow', 0], note: 'emqx' },
  { name: 'rule a/+ does not cover a/b/c', rules: [rule('allow', 'subscribe', ['a/+'])], action: 'subscribe', topic: 'a/b/c', expect: 'no_match' },
  { name: 'rule a/b does not cover subscribe a/+', rules: [rule('allow', 'subscribe', ['a/b'])], action: 'subscribe', topic: 'a/+', expect: 'no_match' },
  { name: 'rule a/# matches the parent a', rules: [rule('allow', 'all', ['a/#'])], action: 'publish', topic: 'a', expect: ['allow', 0] },
  { name: '+ matches an empty level', rules: [rule('allow', 'publish', ['a/+/c'])], action: 'publish', topic: 'a//c', expect: ['allow', 0] },
  // shared subscriptions
  { name: '$share/<g>/t is checked as t', rules: [rule('allow', 'subscribe', ['cmd/#'])], action: 'subscribe', topic: '$share/g1/cmd/x', expect: ['allow', 0] },
  { name: '$queue/t is checked as t', rules: [rule('allow', 'subscribe', ['cmd/#'])], action: 'subscribe', topic: '$queue/cmd/x', expect: ['allow', 0] },
  { name: 'a $share-shaped publish topic is not stripped', rules: [rule('allow', 'publish', ['cmd/#'])], action: 'publish', topic: '$share/g1/cmd/x', expect: 'no_match' },
  // $ topics: EMQX authz matches words, where the MQTT $ rule does not apply
  { name: 'deny # catches $SYS', rules: [rule('deny', 'all', ['#'])], action: 'subscribe', topic: '$SYS/brokers', expect: ['deny', 0], note: 'emqx' },
  { name: 'allow +/brokers matches $SYS/brokers', rules: [rule('allow', 'subscribe', ['+/brokers'])], action: 'subscribe', topic: '$SYS/brokers', expect: ['allow', 0], note: 'emqx' },
  // actions and order
  { name: 'a publish rule does not match a subscribe', rules: [rule('allow', 'publish', ['#'])], action: 'subscribe', topic: 'a', expect: 'no_match' },
  { name: 'a subscribe rule does not match a publish', rules: [rule('allow', 'subscribe', ['#'])], action: 'publish', topic: 'a', expect: 'no_match' },
  { name: 'first match wins (deny first)', rules: [rule('deny', 'publish', ['a/b']), rule('allow', 'publish', ['a/#'])], action: 'publish', topic: 'a/b', expect: ['deny', 0] },
  { name: 'first match wins (falls through)', rules: [rule('deny', 'publish', ['a/b']), rule('allow', 'publish', ['a/#'])], action: 'publish', topic: 'a/c', expect: ['allow', 1] },
  { name: 'any of a rule\'s topics', rules: [rule('allow', 'subscribe', ['x/#', 'cmd/${clientid}/#'])], action: 'subscribe', topic: 'cmd/c1/reboot', expect: ['allow', 0] },
  // qos / retain conditions (EMQX 5.1+), known
  { name: 'publish qos condition holds', rules: [rule('deny', 'publish', ['t/#'], { qos: [2] }), rule('allow', 'publish', ['t/#'])], action: 'publish', topic: 't/x', known: { qos: 2, retain: false }, expect: ['deny', 0] },
  { name: 'publish qos condition fails', rules: [rule('deny', 'publish', ['t/#'], { qos: [2] }), rule('allow', 'publish', ['t/#'])], action: 'publish', topic: 't/x', known: { qos: 1, retain: false }, expect: ['allow', 1] },
  { name: 'retain condition holds', rules: [rule('deny', 'publish', ['t/#'], { retain: true }), rule('allow', 'publish', ['t/#'])], action: 'publish', topic: 't/x', known: { qos: 0, retain: true }, expect: ['deny', 0] },
  { name: 'retain condition fails', rules: [rule('deny', 'publish', ['t/#'], { retain: true }), rule('allow', 'publish', ['t/#'])], action: 'publish', topic: 't/x', known: { qos: 0, retain: false }, expect: ['allow', 1] },
  { name: '{all, [{qos,2},{retain,true}]}: subscribe qos 2 matches (retain is not a subscribe condition)', rules: [rule('allow', 'all', ['topic/test'], { qos: [2], retain: true })], action: 'subscribe', topic: 'topic/test', known: { qos: 2 }, expect: ['allow', 0], note: 'emqx' },
  { name: '{all, [{qos,2},{retain,true}]}: subscribe qos 0 does not', rules: [rule('allow', 'all', ['topic/test'], { qos: [2], retain: true })], action: 'subscribe', topic: 'topic/test', known: { qos: 0 }, expect: 'no_match', note: 'emqx' },
  { name: '{all, [{qos,2},{retain,true}]}: publish qos 1 retained does not', rules: [rule('allow', 'all', ['topic/test'], { qos: [2], retain: true })], action: 'publish', topic: 'topic/test', known: { qos: 1, retain: true }, expect: 'no_match', note: 'emqx' },
  { name: '{all, [{qos,2},{retain,true}]}: publish qos 2 retained does', rules: [rule('allow', 'all', ['topic/test'], { qos: [2], retain: true })], action: 'publish', topic: 'topic/test', known: { qos: 2, retain: true }, expect: ['allow', 0], note: 'emqx' },
  { name: 'qos [0,1,2] is no condition at all', rules: [rule('allow', 'publish', ['t/#'], { qos: [0, 1, 2] })], action: 'publish', topic: 't/x', expect: ['allow', 0] },
  // ... unknown (the authorize request carries neither): the rule is skipped
  { name: 'unknown qos: a qos-conditioned rule is skipped', rules: [rule('deny', 'publish', ['t/#'], { qos: [2] }), rule('allow', 'publish', ['t/#'])], action: 'publish', topic: 't/x', expect: ['allow', 1] },
  { name: 'unknown retain: a retain-conditioned rule is skipped', rules: [rule('deny', 'publish', ['t/#'], { retain: false }), rule('allow', 'publish', ['t/#'])], action: 'publish', topic: 't/x', known: { qos: 1 }, expect: ['allow', 1] },
  { name: 'qos known, retain not: a qos-only rule applies', rules: [rule('deny', 'publish', ['t/#'], { qos: [1] }), rule('allow', 'publish', ['t/#'])], action: 'publish', topic: 't/x', known: { qos: 1 }, expect: ['deny', 0] },
  { name: 'a retain condition does not stop a subscribe check with qos known', rules: [rule('allow', 'all', ['t/#'], { retain: true })], action: 'subscribe', topic: 't/x', expect: ['allow', 0] },
];

describe('acl', () => {
  it.each(table.map((r) => [r.name, r] as const))('acl - %s', (_name, row) => {
    const who = { clientid: row.who?.clientid ?? 'c1', username: row.who?.username ?? 'u1' };
    const v = evaluateAcl(row.rules, who, row.action, row.topic, row.known);
    if (row.expect === 'no_match') {
      expect(v.permission).toBe('no_match');
      expect(v.rule).toBeUndefined();
    } else {
      expect(v.permission).toBe(row.expect[0]);
      expect(v.rule).toBe(row.expect[1]);
    }
  });

  it('acl - the verdict explains which rule matched what', () => {
    const rules = [rule('allow', 'publish', ['devices/${clientid}/#'])];
    expect(evaluateAcl(rules, { clientid: 'c1', username: '' }, 'publish', 'devices/c1/temp').detail).toBe(
      'allow publish "devices/${clientid}/#" matched publish devices/c1/temp',
    );
    const shared = evaluateAcl([rule('allow', 'subscribe', ['cmd/#'])], { clientid: 'c1', username: '' }, 'subscribe', '$share/g/cmd/x');
    expect(shared.detail).toBe('allow subscribe "cmd/#" matched subscribe cmd/x (requested as $share/g/cmd/x)');
    const none = evaluateAcl([rule('deny', 'publish', ['t/#'], { qos: [2] })], { clientid: 'c1', username: '' }, 'publish', 't/x');
    expect(none.permission).toBe('no_match');
    expect(none.detail).toMatch(/no ACL rule matched publish t\/x; 1 rule\(s\) with qos\/retain conditions skipped/);
  });

  it('acl - an empty rule list never matches', () => {
    expect(evaluateAcl([], { clientid: 'c', username: 'u' }, 'publish', 'a').permission).toBe('no_match');
  });

  it('acl - evaluation does not depend on having seen the rule before (compiled once, reused)', () => {
    const rules = [rule('deny', 'publish', ['a/${clientid}']), rule('allow', 'all', ['#'])];
    for (let i = 0; i < 3; i++) {
      expect(evaluateAcl(rules, { clientid: 'x', username: '' }, 'publish', 'a/x').permission).toBe('deny');
      expect(evaluateAcl(rules, { clientid: 'y', username: '' }, 'publish', 'a/x').permission).toBe('allow');
    }
  });

  it('acl - a rule ${clientid}/# allows exactly the client\'s own tree (property)', () => {
    const id = fc.stringMatching(/^[a-zA-Z0-9_.-]{1,12}$/);
    const tail = fc.array(fc.stringMatching(/^[a-z0-9]{0,5}$/), { maxLength: 3 });
    const rules = [rule('allow', 'publish', ['devices/${clientid}/#']), rule('deny', 'all', ['#'])];
    fc.assert(
      fc.property(id, id, tail, (me, other, rest) => {
        const topic = ['devices', other, ...rest].join('/');
        const v = evaluateAcl(rules, { clientid: me, username: '' }, 'publish', topic);
        expect(v.permission).toBe(me === other ? 'allow' : 'deny');
      }),
      { numRuns: 300 },
    );
  });

  it('acl - topic problems are named with a fix', () => {
    expect(aclTopicProblem('devices/${clientid}/#')).toBeUndefined();
    expect(aclTopicProblem('eq a/#')).toBeUndefined();
    expect(aclTopicProblem('${$}SYS/#')).toBeUndefined();
    expect(aclTopicProblem('t/${clientId}')?.fix).toMatch(/did you mean \$\{clientid\}/);
    expect(aclTopicProblem('t/${peerhost}')?.message).toMatch(/unknown placeholder/);
    expect(aclTopicProblem('t/${clientid')?.message).toMatch(/never closes/);
    expect(aclTopicProblem('t/${clientid}+')?.message).toMatch(/whole level/);
    expect(aclTopicProblem('a/#/b')?.message).toMatch(/last level/);
    expect(aclTopicProblem('$share/g/a')?.fix).toMatch(/without the \$share/);
    expect(aclTopicProblem('eq $queue/a')?.fix).toMatch(/without the \$share/);
    expect(aclTopicProblem('eq ')?.message).toMatch(/empty/);
  });

  it('acl - aclHasConditions sees qos and publish retain conditions only', () => {
    expect(aclHasConditions([rule('allow', 'all', ['#'])])).toBe(false);
    expect(aclHasConditions([rule('allow', 'publish', ['#'], { qos: [1] })])).toBe(true);
    expect(aclHasConditions([rule('allow', 'publish', ['#'], { retain: true })])).toBe(true);
    expect(aclHasConditions([rule('allow', 'subscribe', ['#'], { retain: true })])).toBe(false);
  });
});
