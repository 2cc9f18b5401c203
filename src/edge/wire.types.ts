/**
 * The requests and replies of all three ExHook generations as grpc-js hands
 * them to us, decoded with `LOAD_OPTIONS` (proto.ts): snake_case names,
 * scalars always present (defaults), 64-bit integers as decimal strings,
 * enums by name, sub-messages `null` when absent. Fields that exist only in
 * some generations are optional. Only the edge sees these shapes.
 */

/** A sub-message: null (or, defensively, undefined) when the broker did not send it. */
export type Maybe<T> = T | null | undefined;

export interface WireMeta {
  readonly node: string;
  readonly version: string;
  readonly sysdescr: string;
  readonly cluster_name: string;
}

export interface WireBrokerInfo {
  readonly version: string;
  readonly sysdescr: string;
  /** v1: text ("2 hours, 3 minutes"); v2/v3: int64 ms as a decimal string. */
  readonly uptime: string;
  readonly datetime: string;
}

export interface WireConnInfo {
  readonly node: string;
  readonly clientid: string;
  readonly username: string;
  readonly peerhost: string;
  readonly sockport: number;
  readonly proto_name: string;
  readonly proto_ver: string;
  readonly keepalive: number;
  /** v2/v3 (5.4+). */
  readonly peerport?: number;
}

export interface WireClientInfo {
  readonly node: string;
  readonly clientid: string;
  readonly username: string;
  readonly password: string;
  readonly peerhost: string;
  readonly sockport: number;
  readonly protocol: string;
  readonly mountpoint: string;
  readonly is_superuser: boolean;
  readonly anonymous: boolean;
  readonly cn: string;
  readonly dn: string;
  /** v2/v3 (5.4+). */
  readonly peerport?: number;
}

export interface WireMessage {
  readonly node: string;
  readonly id: string;
  readonly qos: number;
  readonly from: string;
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly timestamp: string;
  /** 4.4+ and 5.x; an empty map from 4.3. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface WireProperty {
  readonly name: string;
  readonly value: string;
}

export interface WireSubOpts {
  readonly qos: number;
  /** Field 2: v1 and v2 from 5.0–5.3 (our v2 copy keeps it); absent in v3. */
  readonly share?: string;
  readonly rh: number;
  readonly rap: number;
  readonly nl: number;
}

export interface WireTopicFilter {
  readonly name: string;
  /** Field 2: v1 and v2 from 5.0–5.3 (our v2 copy keeps it); absent in v3. */
  readonly qos?: number;
  /** v2 from 5.4 on, v3. */
  readonly subopts?: Maybe<WireSubOpts>;
}

/** `type` of ClientAuthorizeRequest / v1 ClientCheckAclRequest; a number when the value is unknown. */
export type WireAuthorizeType = 'PUBLISH' | 'SUBSCRIBE' | number;

/**
 * Every request message, flattened: each RPC reads only the fields its
 * message has (the decoders document which). One shape keeps the handler
 * table simple; the per-RPC decoders stay exact about what they require.
 */
export interface WireRequest {
  readonly meta?: Maybe<WireMeta>;
  readonly broker?: Maybe<WireBrokerInfo>;
  readonly conninfo?: Maybe<WireConnInfo>;
  readonly clientinfo?: Maybe<WireClientInfo>;
  readonly message?: Maybe<WireMessage>;
  readonly props?: readonly WireProperty[];
  /** v3 only. */
  readonly user_props?: readonly WireProperty[];
  readonly result_code?: string;
  readonly reason?: string;
  readonly result?: boolean;
  readonly type?: WireAuthorizeType;
  readonly topic?: string;
  readonly topic_filters?: readonly WireTopicFilter[];
  readonly subopts?: Maybe<WireSubOpts>;
}

export type WireResponseType = 'CONTINUE' | 'IGNORE' | 'STOP_AND_RETURN';

/** ValuedResponse: `type` plus at most one of `bool_result` / `message` (the `value` oneof). */
export type WireValuedResponse =
  | { readonly type: WireResponseType; readonly bool_result: boolean }
  | { readonly type: WireResponseType; readonly message: WireMessage }
  | { readonly type: 'IGNORE' };

export interface WireHookSpec {
  readonly name: string;
  readonly topics: readonly string[];
}

export interface WireLoadedResponse {
  readonly hooks: readonly WireHookSpec[];
}
