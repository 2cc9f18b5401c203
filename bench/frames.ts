/**
 * Pre-encoded gRPC request frames (5-byte gRPC prefix + protobuf bytes) shaped
 * the way EMQX fills them, so the load generator does no protobuf work while it
 * measures. v1/v2 frames copy the field shapes of the EMQX 5.3.2 traces
 * (TopicFilter.qos, SubOpts.share, no peerport); v3 frames use the 5.4+ shapes
 * (TopicFilter.subopts, peerport).
 *
 * Frame sets:
 * - `mix`: one EMQX-like client session per client id, calls in EMQX's order:
 *   connect → authenticate → session.created → connected → connack,
 *   authorize(SUBSCRIBE) → client.subscribe → session.subscribed,
 *   P × (authorize(PUBLISH) → message.publish → message.delivered → message.acked),
 *   disconnected → session.terminated. With the default P = 10 that is 50 calls
 *   a session, 80 % of them on the publish path.
 * - `publish`: one OnMessagePublish per client id.
 * - `authorize`: one OnClientAuthorize(PUBLISH) per client id.
 *
 * Topics follow the usual device pattern (and the ACL of
 * examples/policies/realistic.yaml): each client publishes QoS 1 telemetry to
 * `devices/<clientid>/telemetry` and subscribes to `cmd/<clientid>/#`; the
 * delivered/acked calls after each publish carry a QoS 1 command
 * `cmd/<clientid>/set` from a backend client to this device. So every call of
 * a session concerns one client (as EMQX's per-client ordering has it), and a
 * client's publishes reuse one message (same id and timestamp): no server in
 * the comparison keys anything on the message id.
 */
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { loadExhook, rpcName, serviceName, type BenchHook, type ExhookVersion, type LoadedExhook } from './exhook-proto.js';

export type FrameSetName = 'mix' | 'publish' | 'authorize';
export const FRAME_SET_NAMES: readonly FrameSetName[] = ['mix', 'publish', 'authorize'];

/** One unary call: its HTTP/2 `:path` and its DATA (gRPC-framed request). */
export interface Call {
  readonly rpc: string;
  readonly path: string;
  /** What grpc-erl puts in `grpc-message-type`, e.g. `emqx.exhook.v2.ClientConnectRequest`. */
  readonly messageType: string;
  readonly body: Buffer;
}

/** The calls one client makes in order (EMQX calls hooks of one client strictly one after another). */
export interface Session {
  readonly clientid: string;
  readonly calls: readonly Call[];
}

export interface FrameSet {
  readonly name: FrameSetName;
  readonly version: ExhookVersion;
  readonly sessions: readonly Session[];
  /** Calls per RPC over one pass through all sessions (the mix weights). */
  readonly rpcCounts: Readonly<Record<string, number>>;
  readonly calls: number;
  /** Encoded bytes held (distinct bodies, prefix included). */
  readonly bytes: number;
}

export interface FrameOptions {
  readonly version: ExhookVersion;
  /** Distinct client ids over all parts (default 10 000). */
  readonly clients: number;
  /** Publishes per session in the mix (default 10). */
  readonly publishesPerSession: number;
  /** Payload size of each publish (default 128). */
  readonly payloadBytes: number;
  /** Build only clients `i` with `i % count === index` (one part per load worker). */
  readonly part?: { readonly index: number; readonly count: number };
}

export const DEFAULT_FRAME_OPTIONS: FrameOptions = {
  version: 'v2',
  clients: 10_000,
  publishesPerSession: 10,
  payloadBytes: 128,
};

/** Prefix protobuf bytes with the gRPC message header (uncompressed, 4-byte big-endian length). */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** Encode `request` for `rpc` of the loaded proto and frame it. */
export function encodeCall(exhook: LoadedExhook, rpc: string, request: object): Call {
  const method = exhook.service[rpc];
  if (!method) throw new Error(`bench: ${serviceName(exhook.version)} has no ${rpc}`);
  const messageType = `emqx.exhook.${exhook.version}.${rpc.slice(2)}Request`;
  return { rpc, path: method.path, messageType, body: grpcFrame(method.requestSerialize(request)) };
}

/** Decode a framed request back (for tests and sanity checks). */
export function decodeCall(exhook: LoadedExhook, call: Call): unknown {
  const method = exhook.service[call.rpc];
  if (!method) throw new Error(`bench: no ${call.rpc}`);
  return method.requestDeserialize(call.body.subarray(5));
}

const META = { node: 'emqx@127.0.0.1', version: '5.3.2', sysdescr: 'EMQX', cluster_name: 'emqxcl' };

/** The request EMQX sends first on every (re)load. */
export function providerLoadedCall(exhook: LoadedExhook): Call {
  const uptime = exhook.version === 'v1' ? '1 minutes, 5 seconds' : '65000';
  return encodeCall(exhook, 'OnProviderLoaded', {
    broker: { version: '5.3.2', sysdescr: 'EMQX', uptime, datetime: '2026-11-27T04:43:58.125535763+00:00' },
    meta: META,
  });
}

const pad = (n: number): string => String(n).padStart(6, '0');

/** The identity of bench client `i` (usernames/passwords come from 10 tenants, so a policy can list them). */
export function benchClient(i: number): { clientid: string; username: string; password: string; peerhost: string; peerport: number; protoVer: string } {
  return {
    clientid: `dev-${pad(i)}`,
    username: `tenant-${i % 10}`,
    password: `secret-${i % 10}`,
    peerhost: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    peerport: 20_000 + (i % 40_000),
    protoVer: i % 5 === 0 ? '5' : '4',
  };
}

function clientFrames(exhook: LoadedExhook, i: number, opts: FrameOptions) {
  const c = benchClient(i);
  const v = exhook.version;
  const call = (hook: BenchHook, request: object): Call => encodeCall(exhook, rpcName(hook, v), { ...request, meta: META });
  const modern = v === 'v3';
  const peerport = modern ? { peerport: c.peerport } : {};
  const clientinfo = {
    node: META.node,
    clientid: c.clientid,
    username: c.username,
    password: '',
    peerhost: c.peerhost,
    sockport: 1883,
    ...peerport,
    protocol: 'mqtt',
    mountpoint: '',
    is_superuser: false,
    anonymous: true,
    cn: '',
    dn: '',
  };
  const conninfo = {
    node: META.node,
    clientid: c.clientid,
    username: c.username,
    peerhost: c.peerhost,
    sockport: 1883,
    ...peerport,
    proto_name: 'MQTT',
    proto_ver: c.protoVer,
    keepalive: 60,
  };
  const topic = `devices/${c.clientid}/telemetry`;
  const filter = `cmd/${c.clientid}/#`;
  const body = `{"clientid":"${c.clientid}","seq":${i},"temp":21.5,"hum":40.2,"bat":97}`;
  const payload = Buffer.from(body.padEnd(opts.payloadBytes, ' ').slice(0, opts.payloadBytes));
  const message = {
    node: META.node,
    id: `0006613AB7C5${((i * 2654435761) >>> 0).toString(16).toUpperCase().padStart(8, '0')}F44200000B94`,
    qos: 1,
    from: c.clientid,
    topic,
    payload,
    timestamp: String(1795754679403 + i),
    headers: { peerhost: c.peerhost, protocol: 'mqtt', username: c.username },
  };
  const command = {
    node: META.node,
    id: `0006613AB7C6${((i * 2654435761) >>> 0).toString(16).toUpperCase().padStart(8, '0')}F44200000B95`,
    qos: 1,
    from: `backend-${i % 4}`,
    topic: `cmd/${c.clientid}/set`,
    payload: Buffer.from(`{"interval":60,"seq":${i}}`),
    timestamp: String(1795754679503 + i),
    headers: { peerhost: '10.255.0.1', protocol: 'mqtt', username: 'backend' },
  };
  const connectProps = c.protoVer === '5' ? [{ name: 'Receive-Maximum', value: '20' }] : [];
  const authorize = (type: 'PUBLISH' | 'SUBSCRIBE', t: string): Call =>
    call('client.authorize', { clientinfo, type, topic: t, result: true });
  return {
    connect: call('client.connect', { conninfo, props: connectProps }),
    authenticate: call('client.authenticate', { clientinfo: { ...clientinfo, password: c.password }, result: false }),
    sessionCreated: call('session.created', { clientinfo }),
    connected: call('client.connected', { clientinfo }),
    connack: call('client.connack', { conninfo, result_code: 'success', props: [] }),
    authorizeSubscribe: authorize('SUBSCRIBE', filter),
    subscribe: call('client.subscribe', {
      clientinfo,
      props: [],
      // 5.0–5.3 send TopicFilter.qos (field 2); 5.4+ send subopts (field 3) instead.
      topic_filters: [modern ? { name: filter, subopts: { qos: 1, rh: 0, rap: 0, nl: 0 } } : { name: filter, qos: 1 }],
    }),
    sessionSubscribed: call('session.subscribed', {
      clientinfo,
      topic: filter,
      subopts: modern ? { qos: 1, rh: 0, rap: 0, nl: 0 } : { qos: 1, share: '', rh: 0, rap: 0, nl: 0 },
    }),
    authorizePublish: authorize('PUBLISH', topic),
    publish: call('message.publish', { message }),
    delivered: call('message.delivered', { clientinfo, message: command }),
    acked: call('message.acked', { clientinfo, message: command }),
    disconnected: call('client.disconnected', { clientinfo, reason: 'normal' }),
    terminated: call('session.terminated', { clientinfo, reason: '{shutdown,normal}' }),
  };
}

function sessionCalls(name: FrameSetName, f: ReturnType<typeof clientFrames>, publishes: number): Call[] {
  switch (name) {
    case 'publish':
      return [f.publish];
    case 'authorize':
      return [f.authorizePublish];
    case 'mix': {
      const calls = [f.connect, f.authenticate, f.sessionCreated, f.connected, f.connack, f.authorizeSubscribe, f.subscribe, f.sessionSubscribed];
      for (let p = 0; p < publishes; p += 1) calls.push(f.authorizePublish, f.publish, f.delivered, f.acked);
      calls.push(f.disconnected, f.terminated);
      return calls;
    }
  }
}

/** Build (encode) a frame set; takes about a second for 10 000 mix sessions. */
export function buildFrameSet(name: FrameSetName, options: Partial<FrameOptions> = {}): FrameSet {
  const opts: FrameOptions = { ...DEFAULT_FRAME_OPTIONS, ...options };
  const exhook = loadExhook(opts.version);
  const part = opts.part ?? { index: 0, count: 1 };
  const sessions: Session[] = [];
  const rpcCounts: Record<string, number> = {};
  let calls = 0;
  let bytes = 0;
  for (let i = part.index; i < opts.clients; i += part.count) {
    const f = clientFrames(exhook, i, opts);
    const list = sessionCalls(name, f, opts.publishesPerSession);
    const distinct = new Set<Call>(list);
    for (const d of distinct) bytes += d.body.length;
    for (const c of list) rpcCounts[c.rpc] = (rpcCounts[c.rpc] ?? 0) + 1;
    calls += list.length;
    sessions.push({ clientid: benchClient(i).clientid, calls: list });
  }
  return { name, version: opts.version, sessions, rpcCounts, calls, bytes };
}

/**
 * `node dist/bench/frames.js SET OUT [v2]`: write the first call of SET's first
 * session as a raw body file (for `h2load -d OUT`), and print its :path.
 */
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [setArg, out, version] = process.argv.slice(2);
  const set = (setArg ?? '') as FrameSetName;
  if (!FRAME_SET_NAMES.includes(set) || !out) {
    process.stderr.write('usage: frames SET OUT [v1|v2|v3]   (SET: mix|publish|authorize)\n');
    process.exit(2);
  }
  const fs = buildFrameSet(set, { clients: 1, version: (version ?? 'v2') as ExhookVersion });
  const first = fs.sessions[0]?.calls[0];
  if (!first) throw new Error('empty frame set');
  writeFileSync(out, first.body);
  process.stdout.write(`${first.path}\n`);
}
