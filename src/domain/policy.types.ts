/**
 * The validated, resolved shape of a policy as pure code consumes it.
 * The policy file (YAML/JSON, docs/POLICY.md) is parsed and validated in
 * src/policy/ into a `PolicySet`; `resolvePolicy` picks the `ResolvedPolicy`
 * of one client. All durations are milliseconds, all sizes bytes.
 */

/** `N/s`, `N/10s`, `N/m`, `N/h`, `NKB/s`…: `count` units per `periodMs`. */
export interface Rate {
  readonly count: number;
  readonly periodMs: number;
}

export interface Limits {
  readonly messagesRate?: Rate;
  /** Bucket capacity in messages; a new client starts with a full bucket. */
  readonly messagesBurst?: number;
  readonly bytesRate?: Rate;
  /** Bucket capacity in bytes. */
  readonly bytesBurst?: number;
  readonly maxPayload?: number;
  readonly maxSubscriptions?: number;
}

/** Connects per trailing window; more than `maxCount` bans for `banMs`. */
export interface Flapping {
  readonly maxCount: number;
  readonly windowMs: number;
  readonly banMs: number;
}

/** Violations per trailing window; more than `maxViolations`... see POLICY.md. */
export interface Quarantine {
  readonly maxViolations: number;
  readonly windowMs: number;
  readonly durationMs: number;
}

export type Mode = 'enforce' | 'shadow';
export type AuthenticateMode = 'allow' | 'deny' | 'users' | 'ignore';
export type AclAction = 'publish' | 'subscribe' | 'all';

export interface AclRule {
  readonly permission: 'allow' | 'deny';
  readonly action: AclAction;
  /** As written: MQTT filters, `eq <filter>`, placeholders `${clientid}` `${username}` `%c` `%u`. */
  readonly topics: readonly string[];
  /** 5.1+ conditions: the rule matches only these QoS levels (publish and subscribe). */
  readonly qos?: readonly number[];
  /** 5.1+ condition: the rule matches only publishes with this retain flag. */
  readonly retain?: boolean;
}

export interface ResolvedPolicy {
  /** "default", or the `name` of the matched `policies[]` entry. */
  readonly name: string;
  readonly mode: Mode;
  readonly authenticate: AuthenticateMode;
  readonly limits: Limits;
  readonly flapping?: Flapping;
  readonly quarantine?: Quarantine;
  readonly acl: readonly AclRule[];
  readonly noMatch: 'allow' | 'deny' | 'ignore';
}

/** Outcome of matching the ACL rules (stateless; the client machine combines it with bans, quarantine and limits). */
export interface AclVerdict {
  readonly permission: 'allow' | 'deny' | 'no_match';
  /** Index of the matching rule in `acl`, when one matched. */
  readonly rule?: number;
  /** e.g. `allow publish "devices/${clientid}/#" matched devices/c1/temp`. */
  readonly detail: string;
}

/** Outcome of checking `users` credentials (done off the event loop, before the machine steps). */
export type Credentials = 'ok' | 'bad_password' | 'unknown_user' | 'not_checked';
