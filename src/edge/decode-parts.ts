/**
 * The shared pieces of request decoding: proto-loader shapes (wire.types.ts)
 * to the version-neutral domain parts (src/domain/hook-event.ts). Hot path:
 * one object per part, arrays and maps reused as they came off the wire.
 */
import type {
  ClientInfo,
  ConnInfo,
  MessageInfo,
  Meta,
  Property,
  SubOpts,
  TopicFilter,
} from '../domain/hook-event.js';
import type { Maybe, WireClientInfo, WireConnInfo, WireMessage, WireMeta, WireProperty, WireSubOpts, WireTopicFilter } from './wire.types.js';

/** What a missing `meta` (EMQX before 4.3.14 / 4.4.3) decodes to. */
export const EMPTY_META: Meta = Object.freeze({ node: '', version: '', sysdescr: '', clusterName: '' });
const NO_PROPS: readonly Property[] = Object.freeze([]);
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

export const metaOf = (m: Maybe<WireMeta>): Meta =>
  m ? { node: m.node, version: m.version, sysdescr: m.sysdescr, clusterName: m.cluster_name } : EMPTY_META;

export const connOf = (c: WireConnInfo): ConnInfo => ({
  node: c.node,
  clientid: c.clientid,
  username: c.username,
  peerhost: c.peerhost,
  sockport: c.sockport,
  peerport: c.peerport ?? 0,
  protoName: c.proto_name,
  protoVer: c.proto_ver,
  keepalive: c.keepalive,
});

/** ClientInfo without the password: only `client.authenticate` carries it, as a Secret. */
export const clientOf = (c: WireClientInfo): ClientInfo => ({
  node: c.node,
  clientid: c.clientid,
  username: c.username,
  peerhost: c.peerhost,
  sockport: c.sockport,
  peerport: c.peerport ?? 0,
  protocol: c.protocol,
  mountpoint: c.mountpoint,
  isSuperuser: c.is_superuser,
  anonymous: c.anonymous,
  cn: c.cn,
  dn: c.dn,
});

export const messageOf = (m: WireMessage): MessageInfo => ({
  id: m.id,
  node: m.node,
  from: m.from,
  topic: m.topic,
  qos: m.qos,
  payload: m.payload,
  timestamp: m.timestamp,
  headers: m.headers ?? NO_HEADERS,
});

/** Wire properties already have the domain shape ({name, value}); reuse the array. */
export const propsOf = (p: readonly WireProperty[] | undefined): readonly Property[] =>
  p && p.length > 0 ? p : NO_PROPS;

/**
 * A TopicFilter's QoS: from `subopts.qos` when the broker sent subopts
 * (5.4+, v3), else from field 2 (4.x, 5.0–5.3).
 */
export const filterOf = (f: WireTopicFilter): TopicFilter => ({
  topic: f.name,
  qos: f.subopts ? f.subopts.qos : (f.qos ?? 0),
});

export function filtersOf(list: readonly WireTopicFilter[] | undefined): readonly TopicFilter[] {
  if (!list || list.length === 0) return NO_FILTERS;
  const out = new Array<TopicFilter>(list.length);
  for (let i = 0; i < list.length; i++) out[i] = filterOf(list[i]!);
  return out;
}
const NO_FILTERS: readonly TopicFilter[] = Object.freeze([]);

const NO_SUBOPTS: SubOpts = Object.freeze({ qos: 0, share: '', rh: 0, rap: 0, nl: 0 });

/** `share` is field 2 (4.x, 5.0–5.3); 5.4+ puts `$share/<group>/` in the topic instead. */
export const suboptsOf = (s: Maybe<WireSubOpts>): SubOpts =>
  s ? { qos: s.qos, share: s.share ?? '', rh: s.rh, rap: s.rap, nl: s.nl } : NO_SUBOPTS;
