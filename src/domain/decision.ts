/**
 * What hookwarden answers to a valued hook, and why.
 *
 * `allow` and `deny` carry an explicit value to EMQX (bool_result, or for a
 * publish the dropped message); `ignore` defers to EMQX (IGNORE, no value).
 * Every decision carries an `Explanation`, kept with the client's state,
 * journaled and logged.
 */
export type Outcome = 'allow' | 'deny' | 'ignore';

/** Stable, documented reason codes (docs/POLICY.md). */
export type ReasonCode =
  | 'default' // no policy decided: the configured default answer
  | 'degraded' // the journal (NATS) cannot be reached and the degrade mode denies, or the outbox is full
  | 'authn.policy' // the policy's `authenticate` answer (allow/deny/ignore)
  | 'authn.users.ok'
  | 'authn.users.bad_password'
  | 'authn.users.unknown_user'
  | 'banned.flapping' // too many connects in the flapping window
  | 'banned.override' // an operator's ban
  | 'quarantined'
  | 'acl.rule' // an ACL rule matched (rule index in `rule`)
  | 'acl.no_match'
  | 'limit.max_subscriptions'
  | 'limit.max_payload'
  | 'limit.messages_rate'
  | 'limit.bytes_rate'
  | 'limit.ok' // a publish within every limit (tokens left in `values`)
  | 'publisher.not_a_client' // publish from rules/HTTP API: not charged
  | 'deadline.fallback' // our internal deadline passed: configured fallback
  | 'error.fallback'; // an internal error: configured fallback

/** Whether a decision is the edge's configured fallback (not the client machine's). */
export const isFallback = (d: { readonly reason: { readonly code: string } }): boolean =>
  d.reason.code === 'deadline.fallback' || d.reason.code === 'error.fallback';

export interface Explanation {
  readonly code: ReasonCode;
  /** Name of the policy that applied ("default" for the default policy). */
  readonly policy: string;
  /** Which rule or limit decided, e.g. "acl[2]" or "messages_rate". */
  readonly rule?: string;
  /** One human sentence. */
  readonly detail: string;
  /** The numbers that decided (tokens left, counts, sizes, windows). */
  readonly values?: Readonly<Record<string, number | string>>;
}

export interface Decision {
  readonly outcome: Outcome;
  readonly reason: Explanation;
  /**
   * True when the policy (or client) is in shadow mode and the real verdict was
   * `deny`: the answer sent is `allow`-equivalent (IGNORE for a publish), and
   * the would-be denial is recorded.
   */
  readonly shadowed?: boolean;
}

export const decision = (outcome: Outcome, reason: Explanation, shadowed?: boolean): Decision =>
  shadowed ? { outcome, reason, shadowed } : { outcome, reason };
