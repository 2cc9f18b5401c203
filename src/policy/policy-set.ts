/**
 * PURE: the validated policy file in the form the hot path uses, and the
 * resolution of one client's policy.
 *
 * Every `policies[]` entry is merged over the default at load, so resolving
 * is a first-match scan of compiled matchers that returns a shared, frozen
 * `ResolvedPolicy` (the caller caches it per client and revision).
 */
import { createHash } from 'node:crypto';
import { compileAclRule } from '../domain/acl.js';
import type { Mode, ResolvedPolicy } from '../domain/policy.types.js';
import { matchesClient, type ClientMatch, type ClientWho } from '../domain/policy-match.js';
import { BUILTIN_POLICY } from './merge.js';
import type { PasswordHash } from './password-hash.js';

/** Username → stored hash (`users:`). */
export type UserTable = ReadonlyMap<string, PasswordHash>;

/** One `policies[]` entry: its compiled `match` and its policy, already merged over the default. */
export interface PolicyEntry {
  readonly name: string;
  readonly match: ClientMatch;
  readonly policy: ResolvedPolicy;
}

/** Which valued hooks some policy needs mounted (docs/POLICY.md, "What gets mounted"). */
export interface PolicyNeeds {
  /** Some policy's `authenticate` is not `ignore` (mounting it otherwise would refuse anonymous clients on EMQX ≤ 5.8). */
  readonly authenticate: boolean;
  /** Some policy has ACL rules, a `no_match` other than `ignore`, `max_subscriptions`, flapping or quarantine (bans hold at authorize). */
  readonly authorize: boolean;
  /** Some policy has a message/byte rate, `max_payload`, flapping or quarantine. */
  readonly publish: boolean;
}

export interface PolicySet {
  /** sha256 (hex) of the file's canonical content: same meaning, same revision, whatever the comments or key order. */
  readonly revision: string;
  readonly mode: Mode;
  readonly default: ResolvedPolicy;
  readonly entries: readonly PolicyEntry[];
  readonly users: UserTable;
  readonly needs: PolicyNeeds;
  /** The file's content as canonical JSON (its revision is this text's sha256): archived so replay can rebuild the set. */
  readonly source: string;
}

/** JSON with sorted keys, so equal content gives an equal revision. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function revisionOf(content: unknown): string {
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

export function needsOf(policies: readonly ResolvedPolicy[]): PolicyNeeds {
  const some = (f: (p: ResolvedPolicy) => boolean): boolean => policies.some(f);
  return Object.freeze({
    authenticate: some((p) => p.authenticate !== 'ignore'),
    authorize: some((p) => p.acl.length > 0 || p.noMatch !== 'ignore' || p.limits.maxSubscriptions !== undefined || !!p.flapping || !!p.quarantine),
    publish: some((p) => !!p.limits.messagesRate || !!p.limits.bytesRate || p.limits.maxPayload !== undefined || !!p.flapping || !!p.quarantine),
  });
}

/** Assemble a set: compiles every ACL rule once (evaluation reuses it) and computes `needs`. */
export function buildPolicySet(parts: {
  readonly revision: string;
  readonly mode: Mode;
  readonly default: ResolvedPolicy;
  readonly entries: readonly PolicyEntry[];
  readonly users: UserTable;
  readonly source: string;
}): PolicySet {
  const all = [parts.default, ...parts.entries.map((e) => e.policy)];
  for (const p of all) for (const rule of p.acl) compileAclRule(rule);
  return Object.freeze({ ...parts, entries: Object.freeze([...parts.entries]), needs: needsOf(all) });
}

/** No policy file: no limits, no ACL, no flapping, `authenticate: ignore`, `no_match: ignore`; nothing mounted. */
export const EMPTY_POLICY_SET: PolicySet = buildPolicySet({
  revision: revisionOf({}),
  mode: 'enforce',
  default: BUILTIN_POLICY,
  entries: [],
  users: new Map(),
  source: canonicalJson({}),
});

/** The policy of one client: the first entry whose `match` holds, else the default. */
export function resolvePolicy(set: PolicySet, who: ClientWho): ResolvedPolicy {
  for (const e of set.entries) if (matchesClient(e.match, who)) return e.policy;
  return set.default;
}
