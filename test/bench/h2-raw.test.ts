import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExhook } from '../../bench/exhook-proto.js';
import { buildFrameSet, encodeCall } from '../../bench/frames.js';
import { RawH2Connection, requestHead, type RequestHead } from '../../bench/h2-raw.js';

/** A v2 HookProvider: publish answers IGNORE after reading the payload size, authorize fails with INTERNAL. */
async function startTestServer(): Promise<{ port: number; payloads: number[]; close: () => void }> {
  const { service } = loadExhook('v2');
  const payloads: number[] = [];
  const server = new grpc.Server();
  server.addService(service as unknown as grpc.ServiceDefinition, {
    OnMessagePublish: (call: grpc.ServerUnaryCall<{ message?: { payload?: Buffer } }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      payloads.push(call.request.message?.payload?.length ?? -1);
      cb(null, { type: 'IGNORE' });
    },
    OnClientAuthorize: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.INTERNAL, details: 'injected error' }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, payloads, close: () => server.forceShutdown() };
}

function callAll(conn: RawH2Connection, calls: readonly { head: RequestHead; body: Buffer }[]): Promise<string[]> {
  return Promise.all(calls.map((c) => new Promise<string>((resolve) => conn.call(c.head, c.body, resolve))));
}

describe('h2 raw client', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let conn: RawH2Connection;
  const exhook = loadExhook('v2');
  beforeAll(async () => {
    srv = await startTestServer();
    conn = await RawH2Connection.connect('127.0.0.1', srv.port);
  });
  afterAll(async () => {
    await conn.close();
    srv.close();
  });

  it('h2 raw client - reads grpc-status from trailers, and from a trailers-only error reply', async () => {
    const publish = buildFrameSet('publish', { clients: 1 }).sessions[0]?.calls[0];
    const authorize = buildFrameSet('authorize', { clients: 1 }).sessions[0]?.calls[0];
    if (!publish || !authorize) throw new Error('no frames');
    const authority = `127.0.0.1:${srv.port}`;
    const statuses = await callAll(conn, [
      { head: requestHead(authority, publish.path, publish.messageType), body: publish.body },
      { head: requestHead(authority, authorize.path, authorize.messageType), body: authorize.body },
      { head: requestHead(authority, '/emqx.exhook.v2.HookProvider/OnNothing', 'x'), body: publish.body },
    ]);
    expect(statuses).toEqual(['0', String(grpc.status.INTERNAL), String(grpc.status.UNIMPLEMENTED)]);
  });

  it("h2 raw client - waits for the server's flow-control window and splits bodies above MAX_FRAME_SIZE", async () => {
    // 40 × ~50 KB is far above the 64 KB initial connection window, and each body needs 4 DATA frames.
    const big = encodeCall(exhook, 'OnMessagePublish', {
      message: { id: 'A', topic: 't/big', payload: Buffer.alloc(50_000, 7), qos: 1, from: 'c', node: 'n', timestamp: '1' },
    });
    const head = requestHead(`127.0.0.1:${srv.port}`, big.path, big.messageType);
    const before = srv.payloads.length;
    const statuses = await callAll(conn, Array.from({ length: 40 }, () => ({ head, body: big.body })));
    expect(statuses.every((s) => s === '0')).toBe(true);
    expect(srv.payloads.slice(before)).toEqual(Array.from({ length: 40 }, () => 50_000));
  });

  it('h2 raw client - fails open calls with "connection lost" when the server goes away', async () => {
    const other = await startTestServer();
    const c = await RawH2Connection.connect('127.0.0.1', other.port);
    other.close();
    const publish = buildFrameSet('publish', { clients: 1 }).sessions[0]?.calls[0];
    if (!publish) throw new Error('no frames');
    const status = await new Promise<string>((resolve) => c.call(requestHead('x', publish.path, publish.messageType), publish.body, resolve));
    expect(status).toBe('connection lost');
    expect(c.fatal).toBeDefined();
    await c.close();
  });
});
