/**
 * Replays every request a real EMQX 5.3.2 sent (test/fixtures/emqx-traces,
 * 26 scenarios), in order, through a v2 client built from the reference
 * proto as 5.3 had it (emqx53-client.ts). Every request must be answered OK
 * and well-formed, and the decoded event must carry the trace's fields.
 * The dispatcher decides like the provider that recorded the traces did
 * (traces README: "How the test provider answered").
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_NAMES, type HookEvent } from '../../src/domain/hook-event.js';
import { Secret } from '../../src/domain/secret.js';
import type { EmqxClient } from '../support/emqx-client.js';
import { emqx53Client } from './emqx53-client.js';
import { allow, deny, RecordingDispatcher, startTestEdge, type TestEdge } from './harness.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- trace JSON, test only
interface TraceRecord {
  readonly file: string;
  readonly rpc: string;
  readonly request: Json;
}

const DIR = fileURLToPath(new URL('../fixtures/emqx-traces/', import.meta.url));
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.jsonl')).sort();
const RECORDS: TraceRecord[] = FILES.flatMap((file) =>
  readFileSync(DIR + file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const r = JSON.parse(l) as Json;
      return { file, rpc: r.rpc as string, request: r.request as Json };
    }),
);

/** The trace's JSON has bytes as base64; the gRPC client wants a Buffer. */
const withBytes = (req: Json): Json => (req.message ? { ...req, message: { ...req.message, payload: Buffer.from(req.message.payload, 'base64') } } : req);

const meta = (m: Json) => ({ node: m.node, version: m.version, sysdescr: m.sysdescr, clusterName: m.cluster_name });
const conn = (c: Json) => ({
  node: c.node, clientid: c.clientid, username: c.username, peerhost: c.peerhost, sockport: c.sockport,
  peerport: c.peerport ?? 0, protoName: c.proto_name, protoVer: c.proto_ver, keepalive: c.keepalive,
});
const client = (c: Json) => ({
  node: c.node, clientid: c.clientid, username: c.username, peerhost: c.peerhost, sockport: c.sockport,
  peerport: c.peerport ?? 0, protocol: c.protocol, mountpoint: c.mountpoint, isSuperuser: c.is_superuser,
  anonymous: c.anonymous, cn: c.cn, dn: c.dn,
});
const msg = (m: Json) => ({
  id: m.id, node: m.node, from: m.from, topic: m.topic, qos: m.qos,
  payload: Buffer.from(m.payload, 'base64'), timestamp: m.timestamp, headers: m.headers,
});

/** The event each recorded request must become (test oracle, written from EXHOOK.md §5, not from decode.ts). */
function expectedEvent(rpc: string, r: Json): Json {
  const base = { at: expect.any(Number), generation: 'v2', meta: meta(r.meta) };
  switch (rpc) {
    case 'OnClientConnect': return { ...base, type: 'client.connect', conn: conn(r.conninfo), props: r.props, userProps: [] };
    case 'OnClientConnack': return { ...base, type: 'client.connack', conn: conn(r.conninfo), resultCode: r.result_code, props: r.props, userProps: [] };
    case 'OnClientConnected': return { ...base, type: 'client.connected', client: client(r.clientinfo) };
    case 'OnClientDisconnected': return { ...base, type: 'client.disconnected', client: client(r.clientinfo), reason: r.reason };
    case 'OnClientAuthenticate': return { ...base, type: 'client.authenticate', client: client(r.clientinfo), password: expect.any(Secret), result: r.result };
    case 'OnClientAuthorize':
      return { ...base, type: 'client.authorize', client: client(r.clientinfo), action: r.type === 'SUBSCRIBE' ? 'subscribe' : 'publish', topic: r.topic, result: r.result };
    case 'OnClientSubscribe':
    case 'OnClientUnsubscribe':
      return {
        ...base, type: rpc === 'OnClientSubscribe' ? 'client.subscribe' : 'client.unsubscribe', client: client(r.clientinfo),
        filters: r.topic_filters.map((f: Json) => ({ topic: f.name, qos: f.qos })), props: r.props, userProps: [],
      };
    case 'OnSessionCreated': return { ...base, type: 'session.created', client: client(r.clientinfo) };
    case 'OnSessionResumed': return { ...base, type: 'session.resumed', client: client(r.clientinfo) };
    case 'OnSessionDiscarded': return { ...base, type: 'session.discarded', client: client(r.clientinfo) };
    case 'OnSessionTakenover': return { ...base, type: 'session.takenover', client: client(r.clientinfo) };
    case 'OnSessionTerminated': return { ...base, type: 'session.terminated', client: client(r.clientinfo), reason: r.reason };
    case 'OnSessionSubscribed': return { ...base, type: 'session.subscribed', client: client(r.clientinfo), topic: r.topic, subopts: r.subopts };
    case 'OnSessionUnsubscribed': return { ...base, type: 'session.unsubscribed', client: client(r.clientinfo), topic: r.topic };
    case 'OnMessagePublish': return { ...base, type: 'message.publish', message: msg(r.message) };
    case 'OnMessageDelivered': return { ...base, type: 'message.delivered', client: client(r.clientinfo), message: msg(r.message) };
    case 'OnMessageAcked': return { ...base, type: 'message.acked', client: client(r.clientinfo), message: msg(r.message) };
    case 'OnMessageDropped': return { ...base, type: 'message.dropped', message: msg(r.message), reason: r.reason };
    default: throw new Error(`no oracle for ${rpc}`);
  }
}

/** The provider that recorded the traces: deny password "bad", topics deny/…, publishes to drop/…. */
const recorderPolicy = new RecordingDispatcher((e) => {
  if (e.type === 'client.authenticate') return e.password.reveal() === 'bad' ? deny() : allow();
  if (e.type === 'client.authorize') return e.topic.startsWith('deny/') ? deny() : allow();
  return e.message.topic.startsWith('drop/') ? deny() : allow();
});

let t: TestEdge;
let emqx: EmqxClient;
beforeAll(async () => {
  t = await startTestEdge({}, recorderPolicy);
  emqx = emqx53Client(t.address);
});
afterAll(async () => {
  emqx.close();
  await t.close();
});

describe('edge traces', () => {
  it('edge traces - the fixtures hold all 26 scenarios and every RPC kind EMQX 5.3.2 sent', () => {
    expect(FILES).toHaveLength(26);
    expect(new Set(RECORDS.map((r) => r.rpc)).size).toBe(21);
  });

  it('edge traces - every recorded request, replayed in order, is answered OK, well-formed and decoded to the trace fields', async () => {
    let checked = 0;
    for (const rec of RECORDS) {
      const where = `${rec.file} ${rec.rpc}`;
      const reply = await emqx.call<Json>(rec.rpc, withBytes(rec.request));
      const r = rec.request;
      if (rec.rpc === 'OnProviderLoaded') {
        expect(reply.hooks.map((h: Json) => h.name), where).toEqual([...HOOK_NAMES]);
        expect(t.dispatcher.loaded.at(-1)?.broker.uptime, where).toBe(r.broker.uptime);
        continue;
      }
      if (rec.rpc === 'OnProviderUnloaded') {
        expect(reply, where).toEqual({});
        continue;
      }
      const valued = rec.rpc === 'OnClientAuthenticate' || rec.rpc === 'OnClientAuthorize' || rec.rpc === 'OnMessagePublish';
      const event = (valued ? t.dispatcher.valued.at(-1) : t.dispatcher.notified.at(-1)) as HookEvent & Json;
      expect(event, where).toEqual(expectedEvent(rec.rpc, r));
      if (rec.rpc === 'OnClientAuthenticate') {
        expect(event.password.reveal(), where).toBe(r.clientinfo.password);
        const bad = r.clientinfo.password === 'bad';
        expect(reply, where).toEqual({ type: bad ? 'STOP_AND_RETURN' : 'CONTINUE', bool_result: !bad, value: 'bool_result' });
      } else if (rec.rpc === 'OnClientAuthorize') {
        const bad = (r.topic as string).startsWith('deny/');
        expect(reply, where).toEqual({ type: bad ? 'STOP_AND_RETURN' : 'CONTINUE', bool_result: !bad, value: 'bool_result' });
      } else if (rec.rpc === 'OnMessagePublish') {
        if ((r.message.topic as string).startsWith('drop/')) {
          expect(reply, where).toEqual({
            type: 'STOP_AND_RETURN', value: 'message',
            message: { ...msg(r.message), headers: { ...r.message.headers, allow_publish: 'false' } },
          });
        } else expect(reply, where).toEqual({ type: 'IGNORE' });
      } else expect(reply, where).toEqual({});
      checked++;
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('edge traces - scenario 15 payloads (256 binary bytes, empty, 200 000 bytes) arrive byte-exact', async () => {
    const records = RECORDS.filter((r) => r.file.startsWith('15-') && r.rpc === 'OnMessagePublish');
    const lengths: number[] = [];
    for (const rec of records) {
      const sent = Buffer.from(rec.request.message.payload, 'base64');
      await emqx.call(rec.rpc, withBytes(rec.request));
      const e = t.dispatcher.valued.at(-1)!;
      if (e.type !== 'message.publish') throw new Error(`expected a publish, got ${e.type}`);
      expect(Buffer.compare(Buffer.from(e.message.payload), sent), `payload of ${sent.length} bytes`).toBe(0);
      lengths.push(e.message.payload.length);
    }
    expect(lengths.sort((a, b) => a - b)).toEqual([0, 256, 200_000]);
    const binary = Buffer.from(records.map((r) => Buffer.from(r.request.message.payload, 'base64')).find((p) => p.length === 256)!);
    expect(binary).toEqual(Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  });
});
