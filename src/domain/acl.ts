/**
 * PURE: ACL rules with EMQX `acl.conf` semantics, compiled once, evaluated on
 * the hot path without building a regular expression (the only string built
 * is the verdict's detail).
 *
 * - First match wins; the verdict names the rule's index.
 * - A rule matches when its action covers the request (`all` covers both),
 *   its qos/retain conditions hold, and one of its topics matches.
 * - Topics are matched as EMQX's authz does (`emqx_topic:match/2` on level
 *   lists): a subscribe request is compared as if it were a topic name, so
 *   a rule `a/#` matches a subscribe to `a/+`, and a rule `a/+` matches a
 *   subscribe to `a/#` (EMQX does the same). `$` topics get no special
 *   treatment: a rule `#` matches `$SYS/x`, exactly as in EMQX.
 * - `eq <filter>` matches that exact string only; no placeholders inside.
 * - Placeholders `${clientid}`, `${username}` anywhere in a level, `%c` and
 *   `%u` (EMQX 4.x) as a whole level, `${$}` for a literal `$`. A topic whose
 *   placeholder value is empty does not match (EMQX 4.x behaviour; EMQX 5.x
 *   renders an absent username as the text "undefined"); nor does one whose
 *   value contains `+` or `#` (EMQX would let such a client id act as a
 *   wildcard). A value containing `/` spans several levels, as in EMQX.
 * - A subscribe to `$share/<group>/t` or `$queue/t` is checked as `t`.
 * - Conditions (EMQX 5.1+): `qos` (publish and subscribe) and `retain`
 *   (publish only). When the caller does not know a value a rule needs
 *   (the ExHook authorize request carries neither), that rule is skipped.
 *
 * Rules are immutable: a rule's compiled form is cached by object identity.
 */
import type { AclAction, AclRule, AclVerdict } from './policy.types.js';
import { aclTopicMatches, aclTopicSubject, compileAclTopic, type CompiledAclTopic } from './acl-topic.js';
import { realTopic } from './topic.js';

export { aclTopicProblem } from './acl-topic.js';

/** Who the placeholders stand for. */
export interface AclSubject {
  readonly clientid: string;
  readonly username: string;
}

/** What the caller knows about the message (publish) or requested subscription (subscribe). */
export interface AclKnown {
  readonly qos?: number;
  readonly retain?: boolean;
}

interface CompiledRule {
  readonly pub: boolean;
  readonly sub: boolean;
  /** Bit q set when QoS q is allowed; 0b111 = no condition. */
  readonly qosMask: number;
  readonly retain: boolean | undefined;
  readonly topics: readonly CompiledAclTopic[];
}

const ALL_QOS = 0b111;
const compiled = new WeakMap<AclRule, CompiledRule>();

/** Compile (once per rule object) and cache. Called at policy load; evaluation reuses it. */
export function compileAclRule(rule: AclRule): void {
  compiledOf(rule);
}

function compiledOf(rule: AclRule): CompiledRule {
  let c = compiled.get(rule);
  if (c === undefined) {
    let qosMask = ALL_QOS;
    if (rule.qos !== undefined) {
      qosMask = 0;
      for (const q of rule.qos) if (q === 0 || q === 1 || q === 2) qosMask |= 1 << q;
    }
    c = {
      pub: rule.action !== 'subscribe',
      sub: rule.action !== 'publish',
      qosMask,
      retain: rule.action === 'subscribe' ? undefined : rule.retain,
      topics: rule.topics.map(compileAclTopic),
    };
    compiled.set(rule, c);
  }
  return c;
}

/** True when any rule has a qos or retain condition (skipped where those are unknown). */
export function aclHasConditions(rules: readonly AclRule[]): boolean {
  return rules.some((r) => r.qos !== undefined || (r.retain !== undefined && r.action !== 'subscribe'));
}

function describe(
  verdict: 'allow' | 'deny',
  ruleAction: AclAction,
  source: string,
  action: string,
  checked: string,
  original: string,
): string {
  const via = checked === original ? '' : ` (requested as ${original})`;
  return `${verdict} ${ruleAction} "${source}" matched ${action} ${checked}${via}`;
}

/**
 * First-match evaluation of `rules` for one request. `topic` is the publish
 * topic or the requested subscribe filter as the client sent it. `known`
 * carries qos/retain when the caller has them; a rule whose condition needs
 * an unknown value is skipped (and counted in the no-match detail).
 */
export function evaluateAcl(
  rules: readonly AclRule[],
  who: AclSubject,
  action: 'publish' | 'subscribe',
  topic: string,
  known?: AclKnown,
): AclVerdict {
  const checked = action === 'subscribe' ? realTopic(topic).topic : topic;
  const levels = checked.split('/');
  const subject = aclTopicSubject(who.clientid, who.username);
  const qos = known?.qos;
  const retain = known?.retain;
  let skipped = 0;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as AclRule;
    const c = compiledOf(rule);
    if (action === 'publish' ? !c.pub : !c.sub) continue;
    const needsQos = c.qosMask !== ALL_QOS;
    const needsRetain = action === 'publish' && c.retain !== undefined;
    const unknown = (needsQos && qos === undefined) || (needsRetain && retain === undefined);
    if (!unknown) {
      if (needsQos && !(c.qosMask & (1 << (qos as number)))) continue;
      if (needsRetain && c.retain !== retain) continue;
    }
    for (const t of c.topics) {
      if (!aclTopicMatches(t, checked, levels, subject)) continue;
      if (unknown) {
        skipped++;
        break;
      }
      return { permission: rule.permission, rule: i, detail: describe(rule.permission, rule.action, t.source, action, checked, topic) };
    }
  }
  const via = checked === topic ? '' : ` (requested as ${topic})`;
  const skip = skipped > 0 ? `; ${skipped} rule(s) with qos/retain conditions skipped: those values are not known here` : '';
  return { permission: 'no_match', detail: `no ACL rule matched ${action} ${checked}${via}${skip}` };
}
