/**
 * Requests shaped the way EMQX fills them (EXHOOK.md §5): every string set,
 * "" when unknown, proto_ver as a string, peerhost as text, 32-hex ids.
 */
export const META = { node: 'emqx@127.0.0.1', version: '5.8.0', sysdescr: 'EMQX', cluster_name: 'emqxcl' };

export interface Who {
  clientid: string;
  username?: string;
  peerhost?: string;
  node?: string;
  sockport?: number;
  peerport?: number;
}

export const conninfo = (w: Who) => ({
  node: w.node ?? META.node,
  clientid: w.clientid,
  username: w.username ?? '',
  peerhost: w.peerhost ?? '127.0.0.1',
  sockport: w.sockport ?? 1883,
  proto_name: 'MQTT',
  proto_ver: '5',
  keepalive: 60,
  ...(w.peerport ? { peerport: w.peerport } : {}),
});

export const clientinfo = (w: Who, password = '') => ({
  node: w.node ?? META.node,
  clientid: w.clientid,
  username: w.username ?? '',
  password,
  peerhost: w.peerhost ?? '127.0.0.1',
  sockport: w.sockport ?? 1883,
  protocol: 'mqtt',
  mountpoint: '',
  is_superuser: false,
  anonymous: true,
  cn: '',
  dn: '',
  ...(w.peerport ? { peerport: w.peerport } : {}),
});

let counter = 0;
export const messageId = (): string => (++counter).toString(16).toUpperCase().padStart(32, '0');

export const message = (w: Who, topic: string, payload: Buffer | string, qos = 0) => ({
  node: w.node ?? META.node,
  id: messageId(),
  qos,
  from: w.clientid,
  topic,
  payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
  timestamp: String(1_795_754_671_561 + counter),
  headers: { peerhost: w.peerhost ?? '127.0.0.1', protocol: 'mqtt', username: w.username ?? '' },
});

/** A `ValuedResponse` as the reference client decodes it. */
export interface ValuedReply {
  type: string;
  bool_result?: boolean;
  message?: { headers: Record<string, string> };
}

/** A policy limiting messages per client and allowing every topic (cluster and degrade tests). */
export const rateLimitedPolicy = (rate: string, burst: number): string =>
  `default:\n  limits: { messages_rate: "${rate}", messages_burst: ${burst} }\n  acl:\n    - { permission: allow, action: all, topics: ["#"] }\n`;
