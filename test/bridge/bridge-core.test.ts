import { connect, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MessageBridge, type BridgeTuning } from '../../src/bridge/bridge.js';
import { resolveBridgeOptions, type BridgeOptions } from '../../src/bridge/config.js';
import { BRIDGE_HEADERS } from '../../src/bridge/message-headers.js';
import { messageSubjectFilter, subjectToTopic } from '../../src/bridge/subject.js';
import { createLogger } from '../../src/observability/logger.js';
import { NatsServer } from '../support/nats-server.js';
import { allow, deny, ignore, publishOf, shadowDeny } from './events.js';
import { allBytes, bigPayload, collect, unique, until } from './harness.js';

let server: NatsServer;
let nc: NatsConnection;
const bridges: MessageBridge[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  server = await NatsServer.start({ jetstream: false });
  nc = await connect({ servers: server.url });
});
afterEach(async () => {
  await Promise.all(bridges.splice(0).map((b) => b.close({ drainMs: 0 })));
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await nc?.close();
  await server?.cleanup();
});

async function openBridge(
  conn: NatsConnection,
  o: Partial<BridgeOptions> = {},
  tuning?: BridgeTuning,
): Promise<MessageBridge & { prefix: string }> {
  const { prefix } = unique();
  const b = await MessageBridge.open(conn, resolveBridgeOptions({ topics: ['#'], prefix, ...o }), tuning ? { tuning } : {});
  bridges.push(b);
  return Object.assign(b, { prefix: o.prefix ?? prefix });
}

describe('bridge core', () => {
  it('bridge core - delivers payloads byte-exact with the message facts as headers', async () => {
    const b = await openBridge(nc, { topics: ['sensors/#'] });
    const got = await collect(nc, messageSubjectFilter(b.prefix));
    const payloads = [allBytes(), new Uint8Array(0), bigPayload(200 * 1024)];
    const events = payloads.map((p, i) => publishOf(`sensors/${i}/raw`, p, { qos: i }));
    for (const e of events) expect(b.offer(e, allow)).toBe('queued');
    await until(() => got.msgs.length === 3, '3 bridged messages');
    got.msgs.forEach((m, i) => {
      const e = events[i]!;
      expect(m.subject).toBe(`${b.prefix}.msg.sensors.${i}.raw`);
      expect(Buffer.from(m.data).equals(Buffer.from(payloads[i]!))).toBe(true);
      expect(m.headers?.get(BRIDGE_HEADERS.msgId)).toBe(e.message.id);
      expect(m.headers?.get(BRIDGE_HEADERS.topic)).toBe(`sensors/${i}/raw`);
      expect(m.headers?.get(BRIDGE_HEADERS.qos)).toBe(String(i));
      expect(m.headers?.get(BRIDGE_HEADERS.from)).toBe('pub-1');
      expect(m.headers?.get(BRIDGE_HEADERS.timestamp)).toBe('1700000000000');
      expect(m.headers?.get(BRIDGE_HEADERS.node)).toBe('emqx@127.0.0.1');
      expect(m.headers?.get(BRIDGE_HEADERS.username)).toBe('bob');
      expect(m.headers?.get(BRIDGE_HEADERS.peerhost)).toBe('127.0.0.1');
      expect(m.headers?.get(BRIDGE_HEADERS.protocol)).toBe('mqtt');
    });
    expect(b.stats()).toMatchObject({ mode: 'core', bridged: 3, dropped: 0, failed: 0, backlog: 0, backlogBytes: 0 });
  });

  it('bridge core - topics with characters NATS forbids arrive on the escaped subject and decode back', async () => {
    const b = await openBridge(nc);
    const got = await collect(nc, messageSubjectFilter(b.prefix));
    const topics = ['a.b/c d/*/>/', '/lead', 'x//y', '100%/\ttab', 'ünï/😀'];
    for (const t of topics) expect(b.offer(publishOf(t), allow)).toBe('queued');
    await until(() => got.msgs.length === topics.length, 'every topic bridged');
    expect(got.msgs[0]?.subject).toBe(`${b.prefix}.msg.a%2Eb.c%20d.%2A.%3E.%`);
    expect(got.msgs.map((m) => subjectToTopic(b.prefix, m.subject))).toEqual(topics);
    expect(got.msgs.map((m) => m.headers?.has(BRIDGE_HEADERS.topic))).toEqual([true, true, true, true, true]);
  });

  it('bridge core - denied and non-matching messages never arrive', async () => {
    const b = await openBridge(nc, { topics: ['sensors/#', 'alerts/+/critical'] });
    const got = await collect(nc, messageSubjectFilter(b.prefix));
    expect(b.offer(publishOf('sensors/denied'), deny)).toBe('denied');
    expect(b.offer(publishOf('alerts/x/info'), allow)).toBe('not_matched');
    expect(b.offer(publishOf('other'), allow)).toBe('not_matched');
    expect(b.offer(publishOf('sensors/vetoed', undefined, { headers: { allow_publish: 'false' } }), allow)).toBe('denied');
    expect(b.offer(publishOf('sensors/ignored'), ignore)).toBe('queued');
    expect(b.offer(publishOf('sensors/shadow'), shadowDeny)).toBe('queued');
    expect(b.offer(publishOf('alerts/x/critical'), allow)).toBe('queued'); // sent last: once it is here, the rest would be too
    await until(() => got.msgs.some((m) => m.subject.endsWith('.critical')), 'the last message');
    expect(got.msgs.map((m) => subjectToTopic(b.prefix, m.subject))).toEqual(['sensors/ignored', 'sensors/shadow', 'alerts/x/critical']);
    expect(got.msgs[1]?.headers?.get(BRIDGE_HEADERS.shadowDenied)).toBe('acl.rule');
    expect(got.msgs[0]?.headers?.has(BRIDGE_HEADERS.shadowDenied)).toBe(false);
  });

  it('bridge core - the byte bound drops the newest, counted; too-long topics are counted as unroutable', async () => {
    const b = await openBridge(nc, { maxBacklog: 100, maxBacklogBytes: 1000 });
    const got = await collect(nc, messageSubjectFilter(b.prefix));
    const results = [300, 300, 300, 300, 2000, 100].map((size, i) => b.offer(publishOf(`t/${i}`, new Uint8Array(size)), allow));
    expect(results).toEqual(['queued', 'queued', 'queued', 'dropped', 'dropped', 'queued']);
    expect(b.stats()).toMatchObject({ backlog: 4, backlogBytes: 1000, dropped: 2 });
    expect(b.offer(publishOf('*'.repeat(1500)), allow)).toBe('dropped'); // the byte bound is full
    await until(() => b.stats().backlog === 0, 'the backlog to drain');
    expect(b.offer(publishOf('*'.repeat(1500)), allow)).toBe('queued');
    await until(() => b.stats().unroutable === 1, 'the long topic to be judged');
    expect(got.msgs.map((m) => subjectToTopic(b.prefix, m.subject))).toEqual(['t/0', 't/1', 't/2', 't/5']);
    expect(b.stats()).toMatchObject({ bridged: 4, dropped: 3, unroutable: 1, failed: 0 });
  });

  it('bridge core - overflow is logged at most once per 10 s, with the counters', async () => {
    const lines: string[] = [];
    const log = createLogger('warn', { write: (l: string) => void lines.push(l) });
    const { prefix } = unique();
    const b = await MessageBridge.open(nc, resolveBridgeOptions({ topics: ['#'], prefix, maxBacklog: 1 }), { log });
    bridges.push(b);
    expect([b.offer(publishOf('o/1'), allow), b.offer(publishOf('o/2'), allow), b.offer(publishOf('o/3'), allow)]).toEqual([
      'queued',
      'dropped',
      'dropped',
    ]);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'warn',
      kind: 'overflow',
      dropped: 1,
      backlog: 1,
      msg: 'bridge backlog full; new messages are dropped',
    });
  });

  it('bridge core - after close, offers are refused and nothing is left held', async () => {
    const b = await openBridge(nc);
    b.offer(publishOf('x'), allow);
    const final = await b.close();
    expect(final).toMatchObject({ bridged: 1, backlog: 0, abandoned: 0 });
    expect(b.offer(publishOf('x'), allow)).toBe('closed');
  });
});

describe('bridge core under faults', () => {
  it('bridge core - the backlog bound holds while NATS is frozen, and offer never waits', async () => {
    const own = await NatsServer.start({ jetstream: false });
    cleanups.push(() => own.cleanup());
    const conn = await connect({ servers: own.url, pingInterval: 60_000 }); // no ping timeout during the freeze
    cleanups.push(() => conn.close());
    const b = await openBridge(conn, { maxBacklog: 50 }, { batch: 10 });
    const got = await collect(conn, messageSubjectFilter(b.prefix));
    await own.pause();
    const out0 = conn.stats().outMsgs;
    const first = Array.from({ length: 10 }, (_, i) => publishOf(`f/${i}`));
    for (const e of first) expect(b.offer(e, allow)).toBe('queued');
    await until(() => b.stats().inFlight === 10, 'the first batch to be handed to nats.js');
    const results = Array.from({ length: 200 }, (_, i) => b.offer(publishOf(`g/${i}`), allow));
    for (const r of results) expect(typeof r).toBe('string'); // a plain value, not a promise: nothing waited
    expect(results.filter((r) => r === 'queued')).toHaveLength(40);
    expect(results.slice(40).every((r) => r === 'dropped')).toBe(true);
    await new Promise((r) => setTimeout(r, 200)); // give a misbehaving pump the chance to push more into nats.js
    expect(b.stats()).toMatchObject({ backlog: 50, inFlight: 10, dropped: 160, bridged: 0 });
    expect(conn.stats().outMsgs - out0).toBe(10); // only one batch left our bound; nats.js buffers no more
    own.resume();
    await until(() => b.stats().bridged === 50, 'the backlog to drain after the thaw');
    await until(() => got.msgs.length === 50, 'all 50 to arrive');
    const topics = got.msgs.map((m) => subjectToTopic(b.prefix, m.subject));
    expect(topics).toEqual([...first.map((e) => e.message.topic), ...Array.from({ length: 40 }, (_, i) => `g/${i}`)]);
    expect(b.stats()).toMatchObject({ backlog: 0, dropped: 160, failed: 0 });
  });

  it('bridge core - holds messages while disconnected and sends them after the reconnect', async () => {
    const own = await NatsServer.start({ jetstream: false });
    cleanups.push(() => own.cleanup());
    const conn = await connect({ servers: own.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    cleanups.push(() => conn.close());
    const b = await openBridge(conn, { maxBacklog: 5 });
    const got = await collect(conn, messageSubjectFilter(b.prefix)); // same connection: re-subscribed before anything is re-sent
    await own.stop();
    await until(() => !b.stats().connected, 'the bridge to see the disconnect');
    const results = Array.from({ length: 8 }, (_, i) => b.offer(publishOf(`d/${i}`), allow));
    expect(results).toEqual(['queued', 'queued', 'queued', 'queued', 'queued', 'dropped', 'dropped', 'dropped']);
    await own.startAgain();
    await until(() => got.msgs.length === 5, 'the held messages after the reconnect', 15_000);
    expect(got.msgs.map((m) => subjectToTopic(b.prefix, m.subject))).toEqual(['d/0', 'd/1', 'd/2', 'd/3', 'd/4']);
    expect(b.stats()).toMatchObject({ bridged: 5, dropped: 3, failed: 0, backlog: 0, connected: true });
  });
});
