/** Builders for bridge tests: a message.publish event and the decisions the hook path answers. */
import { decision, type Decision } from '../../src/domain/decision.js';
import type { MessageInfo, MessagePublish } from '../../src/domain/hook-event.js';

let n = 0;

/** A unique 32-hex-digit EMQX-style message id. */
export const messageId = (): string =>
  `${process.pid.toString(16).toUpperCase().padStart(8, '0')}${(++n).toString(16).toUpperCase().padStart(24, '0')}`;

export function publishOf(topic: string, payload: Uint8Array = new Uint8Array([1, 2, 3]), over: Partial<MessageInfo> = {}): MessagePublish {
  return {
    type: 'message.publish',
    at: 1_700_000_000_000,
    generation: 'v2',
    meta: { node: 'emqx@127.0.0.1', version: '5.3.2', sysdescr: 'EMQX', clusterName: 'emqxcl' },
    message: {
      id: messageId(),
      node: 'emqx@127.0.0.1',
      from: 'pub-1',
      topic,
      qos: 1,
      payload,
      timestamp: '1700000000000',
      headers: { username: 'bob', peerhost: '127.0.0.1', protocol: 'mqtt' },
      ...over,
    },
  };
}

export const allow: Decision = decision('allow', { code: 'limit.ok', policy: 'default', detail: 'within limits' });
export const ignore: Decision = decision('ignore', { code: 'default', policy: 'default', detail: 'no policy' });
export const deny: Decision = decision('deny', { code: 'limit.messages_rate', policy: 'p', detail: 'too fast' });
export const shadowDeny: Decision = decision('deny', { code: 'acl.rule', policy: 'p', rule: 'acl[0]', detail: 'shadow' }, true);
