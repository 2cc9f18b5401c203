import { connect, StorageType, type JetStreamManager, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MessageBridge, type BridgeTuning } from '../../src/bridge/bridge.js';
import { resolveBridgeOptions, type BridgeOptions } from '../../src/bridge/config.js';
import { BRIDGE_HEADERS } from '../../src/bridge/message-headers.js';
import { BridgeError, ensureBridgeStream } from '../../src/bridge/stream-setup.js';
import { messageSubjectFilter, subjectToTopic } from '../../src/bridge/subject.js';
import { NatsServer } from '../support/nats-server.js';
import { allow, deny, publishOf } from './events.js';
import { allBytes, bigPayload, unique, until } from './harness.js';

let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
const bridges: MessageBridge[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url });
  jsm = await nc.jetstreamManager();
});
afterEach(async () => {
  await Promise.all(bridges.splice(0).map((b) => b.close({ drainMs: 0 })));
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await nc?.close();
  await server?.cleanup();
});

async function openBridge(conn: NatsConnection, o: BridgeOptions, tuning?: BridgeTuning): Promise<MessageBridge> {
  const b = await MessageBridge.open(conn, resolveBridgeOptions(o), tuning ? { tuning } : {});
  bridges.push(b);
  return b;
}

/** Every message stored in `stream`, in order. */
async function stored(j: JetStreamManager, stream: string) {
  const info = await j.streams.info(stream);
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++)
    out.push(await j.streams.getMessage(stream, { seq }));
  return out;
}

describe('bridge jetstream', () => {
  it('bridge jetstream - creates a file stream and keeps bridged messages byte-exact', async () => {
    const { prefix, stream } = unique();
    const b = await openBridge(nc, { topics: ['#'], prefix, stream });
    const info = await jsm.streams.info(stream);
    expect(info.config).toMatchObject({ subjects: [messageSubjectFilter(prefix)], storage: StorageType.File });
    const events = [
      publishOf('bin/all', allBytes()),
      publishOf('a.b/c d/*/>/', new Uint8Array(0)),
      publishOf('big', bigPayload(200 * 1024)),
    ];
    for (const e of events) expect(b.offer(e, allow)).toBe('queued');
    expect(b.offer(publishOf('bin/denied'), deny)).toBe('denied');
    await until(() => b.stats().bridged === 3, '3 acks');
    const msgs = await stored(jsm, stream);
    expect(msgs.map((m) => subjectToTopic(prefix, m.subject))).toEqual(events.map((e) => e.message.topic));
    msgs.forEach((m, i) => {
      expect(Buffer.from(m.data).equals(Buffer.from(events[i]!.message.payload))).toBe(true);
      expect(m.header.get(BRIDGE_HEADERS.msgId)).toBe(events[i]!.message.id);
    });
    expect(b.stats()).toMatchObject({ mode: 'jetstream', bridged: 3, duplicates: 0, failed: 0, backlog: 0, inFlight: 0 });
  });

  it('bridge jetstream - a re-offered message with the same EMQX id is stored once', async () => {
    const { prefix, stream } = unique();
    const b = await openBridge(nc, { topics: ['#'], prefix, stream });
    const e = publishOf('dup/x', new Uint8Array([7]));
    b.offer(e, allow);
    await until(() => b.stats().bridged === 1, 'the first ack');
    b.offer(e, allow);
    b.offer(publishOf('dup/y'), allow);
    await until(() => b.stats().bridged + b.stats().duplicates === 3, 'the second and third acks');
    expect(b.stats()).toMatchObject({ bridged: 2, duplicates: 1 });
    expect((await jsm.streams.info(stream)).state.messages).toBe(2);
  });

  it('bridge jetstream - opening is idempotent and refuses a stream that does not capture the subjects', async () => {
    const { prefix, stream } = unique();
    expect((await ensureBridgeStream(nc, stream, messageSubjectFilter(prefix))).created).toBe(true);
    expect(await ensureBridgeStream(nc, stream, messageSubjectFilter(prefix))).toEqual({ created: false, notes: [] });
    const other = unique();
    await jsm.streams.add({ name: other.stream, subjects: [`${other.prefix}.elsewhere`], duplicate_window: 1_000_000_000 });
    const err = await ensureBridgeStream(nc, other.stream, messageSubjectFilter(other.prefix)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BridgeError);
    expect((err as BridgeError).code).toBe('EXH_BRIDGE_SETUP');
    expect((err as Error).message).toMatch(/does not capture .*fix: nats stream edit/);
    await jsm.streams.update(other.stream, { subjects: [messageSubjectFilter(other.prefix)] });
    const ok = await ensureBridgeStream(nc, other.stream, messageSubjectFilter(other.prefix));
    expect(ok.notes[0]).toMatch(/duplicate window is 1000 ms/);
    await jsm.streams.delete(stream);
    await jsm.streams.delete(other.stream);
  });

  it('bridge jetstream - messages held across a server restart are stored once each (at least once, deduplicated)', async () => {
    const own = await NatsServer.start();
    cleanups.push(() => own.cleanup());
    const conn = await connect({ servers: own.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    cleanups.push(() => conn.close());
    const { prefix, stream } = unique();
    const b = await openBridge(
      conn,
      { topics: ['#'], prefix, stream, maxBacklog: 20 },
      { ackTimeoutMs: 500, maxRetryDelayMs: 200, maxInFlight: 4 },
    );
    b.offer(publishOf('r/before'), allow);
    await until(() => b.stats().bridged === 1, 'the first ack');
    await own.stop();
    const during = Array.from({ length: 10 }, (_, i) => b.offer(publishOf(`r/${i}`), allow));
    expect(during.every((r) => r === 'queued')).toBe(true);
    await own.startAgain();
    await until(() => b.stats().backlog === 0, 'the backlog to drain after the restart', 20_000);
    const s = b.stats();
    expect(s.bridged + s.duplicates).toBe(11);
    expect(s).toMatchObject({ failed: 0, dropped: 0 });
    const conn2 = await connect({ servers: own.url });
    cleanups.push(() => conn2.close());
    const msgs = await stored(await conn2.jetstreamManager(), stream);
    const topics = msgs.map((m) => subjectToTopic(prefix, m.subject));
    expect(new Set(topics).size).toBe(11);
    expect(topics).toHaveLength(11);
  });

  it('bridge jetstream - publishes re-sent after an ack timeout are deduplicated by the EMQX id', async () => {
    const own = await NatsServer.start();
    cleanups.push(() => own.cleanup());
    const conn = await connect({ servers: own.url, pingInterval: 60_000 });
    cleanups.push(() => conn.close());
    const { prefix, stream } = unique();
    const b = await openBridge(conn, { topics: ['#'], prefix, stream }, { ackTimeoutMs: 300, maxRetryDelayMs: 200 });
    await own.pause();
    for (let i = 0; i < 5; i++) b.offer(publishOf(`t/${i}`), allow);
    await until(() => b.stats().retried >= 5, 'every publish to time out once');
    expect(b.stats()).toMatchObject({ backlog: 5, bridged: 0 });
    own.resume();
    await until(() => b.stats().backlog === 0, 'the acks after the thaw');
    const s = b.stats();
    expect(s.bridged + s.duplicates).toBe(5);
    expect(s.duplicates).toBeGreaterThan(0); // the first sends were stored; their re-sends were recognised
    const msgs = await stored(await conn.jetstreamManager(), stream);
    expect(msgs.map((m) => subjectToTopic(prefix, m.subject))).toEqual(['t/0', 't/1', 't/2', 't/3', 't/4']);
  });

  it('bridge jetstream - close gives up on what NATS did not take, counted as abandoned', async () => {
    const own = await NatsServer.start();
    cleanups.push(() => own.cleanup());
    const conn = await connect({ servers: own.url, pingInterval: 60_000 });
    cleanups.push(() => conn.close());
    const { prefix, stream } = unique();
    const b = await openBridge(conn, { topics: ['#'], prefix, stream }, { maxInFlight: 2 });
    await own.pause();
    for (let i = 0; i < 5; i++) expect(b.offer(publishOf(`c/${i}`), allow)).toBe('queued');
    await until(() => b.stats().inFlight === 2, 'two publishes in flight');
    const final = await b.close({ drainMs: 100 });
    expect(final).toMatchObject({ abandoned: 5, bridged: 0, backlog: 0, inFlight: 0 });
    expect(b.offer(publishOf('c/late'), allow)).toBe('closed');
    own.resume();
  });
});
