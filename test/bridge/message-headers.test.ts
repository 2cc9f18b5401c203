import { describe, expect, it } from 'vitest';
import { BRIDGE_HEADERS, messageHeaders, outgoing, selectMessage } from '../../src/bridge/message-headers.js';
import { decision } from '../../src/domain/decision.js';
import { allow, deny, ignore, publishOf, shadowDeny } from './events.js';

const filters = ['sensors/#', 'alerts/+/critical'];

describe('bridge message headers', () => {
  it('bridge message headers - bridges what the answer let through and the filters select', () => {
    const e = publishOf('sensors/a/temp');
    expect(selectMessage(filters, e, allow)).toBe('bridge');
    expect(selectMessage(filters, e, ignore)).toBe('bridge');
    expect(selectMessage(filters, e, shadowDeny)).toBe('bridge'); // answered as allow: EMQX delivered it
    expect(selectMessage(filters, e, deny)).toBe('denied');
    expect(selectMessage(filters, publishOf('alerts/x/critical'), allow)).toBe('bridge');
    expect(selectMessage(filters, publishOf('alerts/x/info'), allow)).toBe('not_matched');
    expect(selectMessage(['#'], publishOf('$SYS/brokers'), allow)).toBe('not_matched'); // MQTT: # never matches $ topics
    const vetoed = publishOf('sensors/a', undefined, { headers: { allow_publish: 'false' } });
    expect(selectMessage(filters, vetoed, allow)).toBe('denied');
    const shadowAllow = decision('allow', { code: 'limit.ok', policy: 'p', detail: '' }, true);
    expect(selectMessage(filters, e, shadowAllow)).toBe('bridge');
  });

  it('bridge message headers - carries the message facts, only when known and carried unchanged', () => {
    const e = publishOf('sensors/a', undefined, { qos: 2, from: 'dev 1', timestamp: '1700000000123' });
    const h = messageHeaders(e.message);
    expect(h.get(BRIDGE_HEADERS.msgId)).toBe(e.message.id);
    expect(h.get(BRIDGE_HEADERS.topic)).toBe('sensors/a');
    expect(h.get(BRIDGE_HEADERS.qos)).toBe('2');
    expect(h.get(BRIDGE_HEADERS.from)).toBe('dev 1');
    expect(h.get(BRIDGE_HEADERS.timestamp)).toBe('1700000000123');
    expect(h.get(BRIDGE_HEADERS.node)).toBe('emqx@127.0.0.1');
    expect([h.get(BRIDGE_HEADERS.username), h.get(BRIDGE_HEADERS.peerhost), h.get(BRIDGE_HEADERS.protocol)]).toEqual([
      'bob',
      '127.0.0.1',
      'mqtt',
    ]);
    expect(h.has(BRIDGE_HEADERS.shadowDenied)).toBe(false);
    expect(messageHeaders(e.message, 'acl.rule').get(BRIDGE_HEADERS.shadowDenied)).toBe('acl.rule');

    const odd = publishOf(' lead/x', undefined, { from: 'a\nb', headers: {}, timestamp: '0', node: '' });
    const o = messageHeaders(odd.message);
    for (const k of [BRIDGE_HEADERS.topic, BRIDGE_HEADERS.from, BRIDGE_HEADERS.timestamp, BRIDGE_HEADERS.node, BRIDGE_HEADERS.username]) {
      expect(o.has(k), k).toBe(false);
    }
    expect(o.get(BRIDGE_HEADERS.qos)).toBe('1');
  });

  it('bridge message headers - a topic too long for a subject has no outgoing form', () => {
    expect(outgoing('hw', { message: publishOf('a/b').message })?.subject).toBe('hw.msg.a.b');
    expect(outgoing('hw', { message: publishOf('*'.repeat(2000)).message })).toBeUndefined();
  });
});
