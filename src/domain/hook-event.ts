/**
 * The version-neutral domain model of one EMQX hook call.
 *
 * The edge decodes every request of every generation (emqx.exhook.v1, v2, v3)
 * into exactly one `HookEvent`; nothing past the edge knows which proto it
 * came from except through `generation`. v1 `client.check_acl` is
 * `client.authorize` here and v1 `session.takeovered` is `session.takenover`.
 * Unset strings are "" and unset numbers 0, exactly as EMQX fills them.
 */
import type { Secret } from './secret.js';

/** v1 = EMQX 4.x, v2 = 5.0–5.8, v3 = 5.9+. */
export type Generation = 'v1' | 'v2' | 'v3';

/** `RequestMeta`: which EMQX node sent the call. Absent before 4.3.14 / 4.4.3 (all ""). */
export interface Meta {
  readonly node: string;
  readonly version: string;
  readonly sysdescr: string;
  readonly clusterName: string;
}

/** `ConnInfo` (connect, connack). `peerport` is 0 before 5.4. */
export interface ConnInfo {
  readonly node: string;
  readonly clientid: string;
  readonly username: string;
  readonly peerhost: string;
  readonly sockport: number;
  readonly peerport: number;
  readonly protoName: string;
  readonly protoVer: string;
  readonly keepalive: number;
}

/** `ClientInfo` without the password (see `client.authenticate`). `peerport` is 0 before 5.4. */
export interface ClientInfo {
  readonly node: string;
  readonly clientid: string;
  readonly username: string;
  readonly peerhost: string;
  readonly sockport: number;
  readonly peerport: number;
  readonly protocol: string;
  readonly mountpoint: string;
  readonly isSuperuser: boolean;
  readonly anonymous: boolean;
  readonly cn: string;
  readonly dn: string;
}

/** `Message`. `timestamp` is epoch ms (uint64 on the wire, kept as a decimal string). */
export interface MessageInfo {
  readonly id: string;
  readonly node: string;
  readonly from: string;
  readonly topic: string;
  readonly qos: number;
  readonly payload: Uint8Array;
  readonly timestamp: string;
  /** `username`, `protocol`, `peerhost`, `allow_publish`; v1 on 4.3: always empty. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface Property {
  readonly name: string;
  readonly value: string;
}

/** A subscription filter as EMQX reports it; `qos` is from field 2 (4.x, 5.0–5.3) or `subopts.qos` (5.4+). */
export interface TopicFilter {
  readonly topic: string;
  readonly qos: number;
}

export interface SubOpts {
  readonly qos: number;
  /** Shared-subscription group (4.x, 5.0–5.3); "" otherwise (5.4+ puts `$share/g/` in the topic). */
  readonly share: string;
  readonly rh: number;
  readonly rap: number;
  readonly nl: number;
}

interface Base {
  /** Epoch ms, stamped once by the edge when the call arrived. The only clock pure code sees. */
  readonly at: number;
  readonly generation: Generation;
  readonly meta: Meta;
}

export type ClientConnect = Base & {
  readonly type: 'client.connect';
  readonly conn: ConnInfo;
  readonly props: readonly Property[];
  readonly userProps: readonly Property[];
};
export type ClientConnack = Base & {
  readonly type: 'client.connack';
  readonly conn: ConnInfo;
  readonly resultCode: string;
  readonly props: readonly Property[];
  readonly userProps: readonly Property[];
};
export type ClientConnected = Base & { readonly type: 'client.connected'; readonly client: ClientInfo };
export type ClientDisconnected = Base & {
  readonly type: 'client.disconnected';
  readonly client: ClientInfo;
  readonly reason: string;
};
export type ClientAuthenticate = Base & {
  readonly type: 'client.authenticate';
  readonly client: ClientInfo;
  readonly password: Secret;
  /** The running value of EMQX's fold (false for anonymous clients on 5.x). */
  readonly result: boolean;
};
export type ClientAuthorize = Base & {
  readonly type: 'client.authorize';
  readonly client: ClientInfo;
  readonly action: 'publish' | 'subscribe';
  readonly topic: string;
  readonly result: boolean;
};
export type ClientSubscribe = Base & {
  readonly type: 'client.subscribe' | 'client.unsubscribe';
  readonly client: ClientInfo;
  readonly filters: readonly TopicFilter[];
  readonly props: readonly Property[];
  readonly userProps: readonly Property[];
};
export type SessionEvent = Base & {
  readonly type: 'session.created' | 'session.resumed' | 'session.discarded' | 'session.takenover';
  readonly client: ClientInfo;
};
export type SessionTerminated = Base & {
  readonly type: 'session.terminated';
  readonly client: ClientInfo;
  readonly reason: string;
};
export type SessionSubscribed = Base & {
  readonly type: 'session.subscribed';
  readonly client: ClientInfo;
  readonly topic: string;
  readonly subopts: SubOpts;
};
export type SessionUnsubscribed = Base & {
  readonly type: 'session.unsubscribed';
  readonly client: ClientInfo;
  readonly topic: string;
};
export type MessagePublish = Base & { readonly type: 'message.publish'; readonly message: MessageInfo };
export type MessageDelivery = Base & {
  readonly type: 'message.delivered' | 'message.acked';
  readonly client: ClientInfo;
  readonly message: MessageInfo;
};
export type MessageDropped = Base & {
  readonly type: 'message.dropped';
  readonly message: MessageInfo;
  readonly reason: string;
};

export type HookEvent =
  | ClientConnect
  | ClientConnack
  | ClientConnected
  | ClientDisconnected
  | ClientAuthenticate
  | ClientAuthorize
  | ClientSubscribe
  | SessionEvent
  | SessionTerminated
  | SessionSubscribed
  | SessionUnsubscribed
  | MessagePublish
  | MessageDelivery
  | MessageDropped;

export type HookName = HookEvent['type'];

/** The hooks whose answer EMQX folds into a decision. */
export type ValuedEvent = ClientAuthenticate | ClientAuthorize | MessagePublish;
export type NotificationEvent = Exclude<HookEvent, ValuedEvent>;

export const VALUED_HOOKS = ['client.authenticate', 'client.authorize', 'message.publish'] as const;

const VALUED_SET: ReadonlySet<string> = new Set(VALUED_HOOKS);
/** Whether a hook name is one of the valued hooks (a Set lookup: used on the hot path). */
export const isValuedHook = (hook: string): boolean => VALUED_SET.has(hook);
/** Whether a hook event is a valued one. */
export const isValuedEvent = (event: HookEvent): event is ValuedEvent => VALUED_SET.has(event.type);

/** Every hook name in our (v2/v3) spelling, in EMQX's order. */
export const HOOK_NAMES = [
  'client.connect',
  'client.connack',
  'client.connected',
  'client.disconnected',
  'client.authenticate',
  'client.authorize',
  'client.subscribe',
  'client.unsubscribe',
  'session.created',
  'session.subscribed',
  'session.unsubscribed',
  'session.resumed',
  'session.discarded',
  'session.takenover',
  'session.terminated',
  'message.publish',
  'message.delivered',
  'message.acked',
  'message.dropped',
] as const satisfies readonly HookName[];

export const isValued = (e: HookEvent): e is ValuedEvent =>
  e.type === 'client.authenticate' || e.type === 'client.authorize' || e.type === 'message.publish';

/**
 * The client id a hook belongs to, the key of all per-client state, with the
 * same precedence as EMQX's own dispatch key: clientinfo, else conninfo, else
 * message.from. "" when the broker has not assigned one yet (`client.connect`
 * of a client that sent an empty id).
 */
export function clientIdOf(e: HookEvent): string {
  switch (e.type) {
    case 'client.connect':
    case 'client.connack':
      return e.conn.clientid;
    case 'message.publish':
    case 'message.dropped':
      return e.message.from;
    default:
      return e.client.clientid;
  }
}
