/**
 * PURE: turn a version-neutral hook into the event the client machine steps
 * on, enriched with what the shell prepared (the resolved policy, the ACL
 * verdict, the credential check). Also: connection identity and who a hook
 * is about.
 */
import type { ClientEvent, ConnKey } from '../../machines/client/client.types.js';
import type { ClientInfo, ConnInfo, HookEvent, MessagePublish } from '../domain/hook-event.js';
import type { AclVerdict, Credentials, ResolvedPolicy } from '../domain/policy.types.js';

/** `${node}|${peerhost}|${peerport || sockport}` (peerport exists from EMQX 5.4). */
export const connKeyOf = (c: ClientInfo | ConnInfo): ConnKey => `${c.node}|${c.peerhost}|${c.peerport || c.sockport}`;

/**
 * Whether a publish comes from an MQTT client, so it is charged to one.
 * EMQX stamps `protocol`/`peerhost` headers on client publishes (4.4+, 5.x);
 * rule-engine and HTTP-API publishes lack them. v1 without any header is
 * EMQX 4.3, which has no headers at all: treated as a client.
 */
export function isFromClient(e: MessagePublish): boolean {
  const { from, headers } = e.message;
  if (from === '') return false;
  if (headers.protocol !== undefined || headers.peerhost !== undefined) return true;
  return e.generation === 'v1' && Object.keys(headers).length === 0;
}

export interface Prepared {
  readonly policy: ResolvedPolicy;
  readonly acl?: AclVerdict;
  readonly credentials?: Credentials;
}

/**
 * The machine event for a hook, or undefined for hooks the machine does not
 * track (client.subscribe / client.unsubscribe: the session hooks carry the
 * granted filters).
 */
export function toClientEvent(e: HookEvent, p: Prepared): ClientEvent | undefined {
  const at = e.at;
  switch (e.type) {
    case 'client.connect':
      return { type: e.type, at, conn: connKeyOf(e.conn), policy: p.policy };
    case 'client.connack':
      return { type: e.type, at, conn: connKeyOf(e.conn), success: e.resultCode === 'success' };
    case 'client.authenticate':
      return { type: e.type, at, conn: connKeyOf(e.client), policy: p.policy, credentials: p.credentials ?? 'not_checked' };
    case 'client.connected':
      return { type: e.type, at, conn: connKeyOf(e.client), policy: p.policy };
    case 'client.disconnected':
      return { type: e.type, at, conn: connKeyOf(e.client), reason: e.reason };
    case 'client.authorize':
      return {
        type: e.type,
        at,
        conn: connKeyOf(e.client),
        action: e.action,
        topic: e.topic,
        policy: p.policy,
        acl: p.acl ?? { permission: 'no_match', detail: 'no ACL evaluated' },
      };
    case 'session.created':
    case 'session.resumed':
    case 'session.discarded':
    case 'session.takenover':
      return { type: e.type, at, conn: connKeyOf(e.client) };
    case 'session.terminated':
      return { type: e.type, at, conn: connKeyOf(e.client), reason: e.reason };
    case 'session.subscribed':
    case 'session.unsubscribed':
      return { type: e.type, at, conn: connKeyOf(e.client), topic: e.topic };
    case 'message.publish':
      return { type: e.type, at, topic: e.message.topic, bytes: e.message.payload.length, qos: e.message.qos, policy: p.policy };
    case 'message.delivered':
    case 'message.acked':
    case 'message.dropped':
      return { type: e.type, at };
    case 'client.subscribe':
    case 'client.unsubscribe':
      return undefined;
  }
}
