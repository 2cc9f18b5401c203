/**
 * PURE: the human side of decisions. Every `Explanation` the machine makes is
 * built here from (code, policy, rule, values), and its sentence is a function
 * of those alone, so a packed snapshot can drop the sentence and rebuild it.
 */
import type { Explanation, ReasonCode } from '../../src/domain/decision.js';

export type Values = Readonly<Record<string, number | string>>;

const NO_VALUES: Values = Object.freeze({});

/** Strings copied from events into explanations and facts are cut to this length. */
export const MAX_TEXT = 200;

/** `s` cut to `max` characters (an ellipsis marks the cut). */
export const clip = (s: string, max = MAX_TEXT): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

const str = (v: number | string | undefined): string => (v === undefined ? '?' : String(v));

const when = (v: Values): string => {
  const until = v.until;
  // Date throws beyond ±8.64e15 ms.
  const iso = typeof until === 'number' && Math.abs(until) <= 8.64e15 ? new Date(until).toISOString() : str(until);
  return `until ${iso} (${str(v.remainingMs)} ms left)`;
};

/** The sentence of an explanation. Never throws, whatever the values. */
export function describe(code: ReasonCode, policy: string, rule: string | undefined, v: Values): string {
  const p = `policy "${policy}"`;
  switch (code) {
    case 'limit.ok':
    case 'default': {
      const m = v.messagesLeft;
      const b = v.bytesLeft;
      if (m === undefined && b === undefined) return `No limit of ${p} applies.`;
      if (b === undefined) return `Publish within the limits of ${p}: ${m} messages left.`;
      if (m === undefined) return `Publish within the limits of ${p}: ${b} bytes left.`;
      return `Publish within the limits of ${p}: ${m} messages left, ${b} bytes left.`;
    }
    case 'authn.policy':
      return v.credentials === 'not_checked'
        ? `${p} checks users, but the credentials were not checked: ${str(v.answer)}.`
        : `${p} answers ${str(v.answer)} to every authentication.`;
    case 'authn.users.ok':
      return `The credentials match a user of ${p}.`;
    case 'authn.users.bad_password':
      return `Wrong password for a user of ${p}.`;
    case 'authn.users.unknown_user':
      return `The username is not a user of ${p}.`;
    case 'banned.flapping':
      return `Banned for flapping ${when(v)}.`;
    case 'banned.override':
      return `Banned by an operator ${when(v)}: ${str(v.note)}.`;
    case 'quarantined':
      return v.note ? `Quarantined by an operator ${when(v)}: ${str(v.note)}.` : `Quarantined for repeated violations ${when(v)}.`;
    case 'acl.rule':
      return `ACL rule ${str(rule)} of ${p} ${v.permission === 'allow' ? 'allows' : 'denies'} ${str(v.action)}: ${str(v.match)}.`;
    case 'acl.no_match':
      return `No ACL rule of ${p} matches ${str(v.action)} ${str(v.topic)}; no_match answers ${str(v.answer)}.`;
    case 'limit.max_subscriptions':
      return `Subscribing to ${str(v.topic)} would exceed max_subscriptions ${str(v.max)} of ${p} (${str(v.subscriptions)} held).`;
    case 'limit.max_payload':
      return `A payload of ${str(v.bytes)} bytes exceeds max_payload ${str(v.max)} of ${p}.`;
    case 'limit.messages_rate':
      return `messages_rate ${str(v.rate)} (burst ${str(v.burst)}) of ${p} exceeded; the next publish conforms in ${str(v.retryInMs)} ms.`;
    case 'limit.bytes_rate':
      return v.retryInMs === -1
        ? `A payload of ${str(v.bytes)} bytes is larger than the bytes_burst ${str(v.burst)} of ${p}: it never conforms.`
        : `bytes_rate ${str(v.rate)} (burst ${str(v.burst)}) of ${p} exceeded by ${str(v.bytes)} bytes; conforms in ${str(v.retryInMs)} ms.`;
    default:
      return `${code} (${p}).`;
  }
}

/** An explanation; `values` omitted when empty. */
export function explain(code: ReasonCode, policy: string, rule?: string, values: Values = NO_VALUES): Explanation {
  const detail = describe(code, policy, rule, values);
  let hasValues = false;
  if (values !== NO_VALUES) for (const _ in values) {
    hasValues = true;
    break;
  }
  if (rule === undefined) return hasValues ? { code, policy, detail, values } : { code, policy, detail };
  return hasValues ? { code, policy, rule, detail, values } : { code, policy, rule, detail };
}
