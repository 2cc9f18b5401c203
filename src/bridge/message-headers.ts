/**
 * The NATS headers of a bridged message, and which messages are bridged.
 *
 * Headers are set only when known (EMQX fills unset strings with "") and
 * only when NATS can carry the value unchanged: nats.js rejects CR/LF in a
 * header value and trims surrounding whitespace, so a value with either is
 * left out. The subject always carries the exact topic (see subject.ts).
 * No ExHook generation carries MQTT's retain flag (the v1, v2 and v3
 * `Message` has none), so there is no retain header.
 */
import { headers, type MsgHdrs } from 'nats';
import type { Decision } from '../domain/decision.js';
import type { MessageInfo, MessagePublish } from '../domain/hook-event.js';
import { topicMatches } from '../domain/topic.js';
import { answeredOutcome } from '../edge/encode.js';
import { subjectFits, topicToSubject } from './subject.js';

/** Header names (docs/BRIDGE.md §Headers). */
export const BRIDGE_HEADERS = {
  /** The EMQX message id: JetStream deduplicates a re-offered message by it. */
  msgId: 'Nats-Msg-Id',
  topic: 'Hookwarden-Mqtt-Topic',
  qos: 'Hookwarden-Qos',
  from: 'Hookwarden-From',
  timestamp: 'Hookwarden-Timestamp',
  node: 'Hookwarden-Node',
  username: 'Hookwarden-Username',
  peerhost: 'Hookwarden-Peerhost',
  protocol: 'Hookwarden-Protocol',
  /** Present when a policy in shadow mode would have denied the message (value: the reason code). */
  shadowDenied: 'Hookwarden-Shadow-Denied',
} as const;

/** Whether a NATS header carries `v` unchanged (and it is known). */
export const headerSafe = (v: string): boolean => v !== '' && !/[\r\n]/.test(v) && v.trim() === v;

/** The headers of one bridged message. `shadowDenied` is the reason code of a shadowed deny. */
export function messageHeaders(m: MessageInfo, shadowDenied?: string): MsgHdrs {
  const h = headers();
  const put = (k: string, v: string | undefined): void => {
    if (v !== undefined && headerSafe(v)) h.set(k, v);
  };
  put(BRIDGE_HEADERS.msgId, m.id);
  put(BRIDGE_HEADERS.topic, m.topic);
  put(BRIDGE_HEADERS.qos, String(m.qos));
  put(BRIDGE_HEADERS.from, m.from);
  put(BRIDGE_HEADERS.timestamp, m.timestamp === '0' ? '' : m.timestamp);
  put(BRIDGE_HEADERS.node, m.node);
  put(BRIDGE_HEADERS.username, m.headers.username);
  put(BRIDGE_HEADERS.peerhost, m.headers.peerhost);
  put(BRIDGE_HEADERS.protocol, m.headers.protocol);
  put(BRIDGE_HEADERS.shadowDenied, shadowDenied);
  return h;
}

/** Why a message is (not) bridged. */
export type Selection = 'bridge' | 'denied' | 'not_matched';

/**
 * PURE: bridge a publish only when the answer EMQX got let it through
 * (allow, ignore, or a shadowed deny, which is answered as allow) and no
 * earlier hook in EMQX's chain already vetoed it (`allow_publish: "false"`),
 * and its topic matches one of `filters`.
 */
export function selectMessage(filters: readonly string[], event: MessagePublish, d: Decision): Selection {
  if (answeredOutcome(d) === 'deny' || event.message.headers.allow_publish === 'false') return 'denied';
  const topic = event.message.topic;
  for (const f of filters) if (topicMatches(f, topic)) return 'bridge';
  return 'not_matched';
}

/** One message waiting in the bridge's backlog. */
export interface BridgeItem {
  readonly message: MessageInfo;
  /** The reason code when a shadowed deny let the message through. */
  readonly shadowDenied?: string;
}

/** What goes to NATS for `item`, or undefined when its subject is too long to publish. */
export function outgoing(prefix: string, item: BridgeItem): { readonly subject: string; readonly headers: MsgHdrs } | undefined {
  const subject = topicToSubject(prefix, item.message.topic);
  if (!subjectFits(subject)) return undefined;
  return { subject, headers: messageHeaders(item.message, item.shadowDenied) };
}
