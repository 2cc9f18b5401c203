/**
 * The per-client machine's vocabulary: the events it steps on (EMQX's hook
 * names, enriched by the shell), the facts it emits (PascalCase, past tense,
 * data only) and its context.
 */
import type { ResolvedPolicy, AclVerdict, Credentials, Rate } from '../../src/domain/policy.types.js';
import type { Decision, ReasonCode } from '../../src/domain/decision.js';

/** Connection identity built by the shell: `${node}|${peerhost}|${peerport || sockport}`. */
export type ConnKey = string;
type At = { readonly at: number };
type P = { readonly policy: ResolvedPolicy };
export type ClientEvent =
  | ({ type: 'client.connect'; conn: ConnKey } & At & P)
  | ({ type: 'client.authenticate'; conn: ConnKey; credentials: Credentials } & At & P)
  | ({ type: 'client.connected'; conn: ConnKey } & At & P)
  | ({ type: 'client.connack'; conn: ConnKey; success: boolean } & At)
  | ({ type: 'client.disconnected'; conn: ConnKey; reason: string } & At)
  | ({ type: 'session.created' | 'session.resumed' | 'session.discarded' | 'session.takenover'; conn: ConnKey } & At)
  | ({ type: 'session.terminated'; conn: ConnKey; reason: string } & At)
  | ({ type: 'session.subscribed' | 'session.unsubscribed'; conn: ConnKey; topic: string } & At)
  | ({ type: 'client.authorize'; conn: ConnKey; action: 'publish' | 'subscribe'; topic: string; acl: AclVerdict } & At & P)
  | ({ type: 'message.publish'; topic: string; bytes: number; qos: number } & At & P)
  | ({ type: 'message.delivered' | 'message.acked' | 'message.dropped' } & At)
  | ({ type: 'admin.ban'; untilAt: number; reason: string } & At)
  | ({ type: 'admin.unban' } & At)
  | ({ type: 'admin.quarantine'; untilAt: number; reason: string } & At)
  | ({ type: 'admin.release' } & At)
  /** Sets the operator's override (replacing any previous one): limits over the policy's, shadow or enforce. */
  | ({ type: 'admin.override'; limits?: LimitsOverride; shadow?: boolean; reason: string } & At)
  | ({ type: 'admin.clear_override' } & At);

/** The operator's commands (src/admin/): each is journaled as its own record. */
export type AdminEvent = Extract<ClientEvent, { type: `admin.${string}` }>;

/**
 * Limits an operator sets over the client's policy, merged as a policy entry
 * merges over the default (docs/POLICY.md): `null` removes a limit
 * ("infinity"); a rate without its burst gets the burst of its own rate.
 */
export interface LimitsOverride {
  readonly messagesRate?: Rate | null;
  readonly messagesBurst?: number | null;
  readonly bytesRate?: Rate | null;
  readonly bytesBurst?: number | null;
  readonly maxPayload?: number | null;
  readonly maxSubscriptions?: number | null;
}

/** An operator's override, kept in the context: applied over whatever policy each event carries. */
export interface ClientOverride {
  readonly limits?: LimitsOverride;
  /** true: answer as in shadow mode; false: enforce; absent: the policy's mode. */
  readonly shadow?: boolean;
  /** The operator's reason (clipped). */
  readonly note: string;
  /** Event time it was set at. */
  readonly since: number;
}

export type ClientEventType = ClientEvent['type'];

/**
 * Internal: sent by `step` (never by the shell) right before an event whose
 * time has reached the end of a ban or quarantine, so that expiry is decided
 * (and reported) before the event itself.
 */
export type ClockTick = { readonly type: 'clock.tick' } & At;

/** Everything the machine steps on. */
export type MachineEvent = ClientEvent | ClockTick;

/** Why an event did not change the client's presence or session. */
export type StaleWhy =
  | 'older_connection' // from a connection older than the current one
  | 'duplicate' // repeats what the machine already knows
  | 'not_banned' // admin.unban without an active ban
  | 'not_quarantined' // admin.release without an active quarantine
  | 'already_expired' // admin.ban / admin.quarantine with an `untilAt` in the past
  | 'no_override'; // admin.clear_override without an override

/** Reason codes that count as violations toward quarantine. */
export type ViolationCode = Extract<
  ReasonCode,
  'acl.rule' | 'acl.no_match' | 'limit.max_subscriptions' | 'limit.max_payload' | 'limit.messages_rate' | 'limit.bytes_rate'
>;

type Fact<T extends string, D> = { readonly type: T; readonly at: number } & { readonly [K in keyof D]: D[K] };

/** What happened to a client, as data: emitted by the machine, appended to the journal. */
export type ClientFact =
  | Fact<'ClientConnecting', { conn: ConnKey }>
  | Fact<'ClientConnected', { conn: ConnKey }>
  /** The client's presence ended (its current connection closed). */
  | Fact<'ClientDisconnected', { conn: ConnKey; reason: string }>
  /** A CONNACK with a failure code: the attempt on `conn` is over. */
  | Fact<'ConnectionRefused', { conn: ConnKey }>
  /** An older connection closed (takenover, discarded, or closed while a newer one connects); presence continues. */
  | Fact<'OlderConnectionClosed', { conn: ConnKey; reason: string }>
  | Fact<'StaleEventIgnored', { event: MachineEvent['type']; conn: ConnKey; why: StaleWhy }>
  | Fact<'SessionCreated' | 'SessionResumed', { conn: ConnKey }>
  /** `current: false`: the old connection's session ended after the new one's session already began. */
  | Fact<'SessionDiscarded' | 'SessionTakenOver', { conn: ConnKey; current: boolean }>
  | Fact<'SessionTerminated', { conn: ConnKey; reason: string }>
  | Fact<'Subscribed' | 'Unsubscribed', { topic: string; subscriptions: number }>
  /** `connects`: connects counted in the flapping window (0 for an operator's ban). */
  | Fact<'ClientBanned', { until: number; reason: 'flapping' | 'override'; note: string; connects: number }>
  | Fact<'BanLifted', { by: 'expiry' | 'admin'; until: number }>
  | Fact<'ClientQuarantined', { until: number; reason: 'violations' | 'override'; note: string; violations: number }>
  | Fact<'QuarantineLifted', { by: 'expiry' | 'admin'; until: number }>
  /** An operator's override was set (`limits`/`shadow` present when the override has them). */
  | Fact<'OverrideSet', { note: string; limits?: LimitsOverride; shadow?: boolean }>
  /** `note`: the reason of the override that was cleared. */
  | Fact<'OverrideCleared', { by: 'admin'; note: string }>
  /** `count`: violations now in the window; quarantine when it exceeds `max` (all 0 when the policy has no quarantine). */
  | Fact<'ViolationRecorded', { code: ViolationCode; count: number; max: number; windowMs: number }>
  | Fact<'AuthenticationRefused', { conn: ConnKey; code: ReasonCode; shadowed: boolean }>
  | Fact<'AuthorizationDenied', { action: 'publish' | 'subscribe'; topic: string; code: ReasonCode; shadowed: boolean }>
  | Fact<'PublishDenied', { topic: string; bytes: number; code: ReasonCode; shadowed: boolean }>;

export type ClientFactType = ClientFact['type'];

/** Plain counters (no facts for the high-volume events, only these). */
export interface Counters {
  readonly connects: number;
  readonly publishesAllowed: number;
  readonly publishesDenied: number;
  readonly bytesAllowed: number;
  readonly delivered: number;
  readonly acked: number;
  readonly dropped: number;
}

export interface RecentViolation {
  readonly at: number;
  readonly code: ViolationCode;
}

/** What kind of ban is active: none, the flapping detector's, or an operator's. */
export type BanKind = '' | 'flapping' | 'override';

/**
 * The client's context: small on purpose (1M idle clients are kept packed).
 * All times are epoch ms taken from events; the machine's clock is `lastAt`
 * and never goes back (`now = max(event.at, lastAt)`).
 */
export interface ClientContext {
  /** Newest event time seen. */
  readonly lastAt: number;
  /** The newest connection (set by `client.connect`, or by any later hook for an unseen client). */
  readonly conn: ConnKey;
  /** The connection through which the client is present ("" when none); the old one while a new one connects. */
  readonly live: ConnKey;
  /** The session was created/resumed after the newest `client.connect` (it belongs to the newest connection). */
  readonly fresh: boolean;
  /** GCRA theoretical arrival times (0 = full bucket) for messages and bytes. */
  readonly msgTat: number;
  readonly byteTat: number;
  /** Connect times in the flapping window, oldest first (bounded). */
  readonly connects: readonly number[];
  /** Violation times in the quarantine window, oldest first (bounded). */
  readonly violations: readonly number[];
  /** End of the active ban (0: none). */
  readonly bannedUntil: number;
  readonly banKind: BanKind;
  /** The operator's reason of an `override` ban. */
  readonly banNote: string;
  /** End of the active quarantine (0: none). */
  readonly quarantinedUntil: number;
  /** The operator's reason of an operator quarantine ("" for one earned by violations). */
  readonly quarantineNote: string;
  /** Distinct subscribed filters of the current session (bounded). */
  readonly subscriptions: readonly string[];
  readonly counters: Counters;
  /** The last decision made (valued hooks only). */
  readonly last: Decision | undefined;
  /** The newest violations, newest last (at most `RECENT_VIOLATIONS`). */
  readonly recent: readonly RecentViolation[];
  /** The operator's override of limits and mode (null: none). */
  readonly override: ClientOverride | null;
}
