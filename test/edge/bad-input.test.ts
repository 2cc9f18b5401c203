/**
 * Input EMQX should not send, or sends only in corner cases: the edge never
 * crashes, answers with the documented status (docs/EDGE.md) and keeps
 * answering afterwards.
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emqxClient, type EmqxClient, type GenerationName } from '../support/emqx-client.js';
import { clientinfo, conninfo, message, META } from '../support/emqx-shapes.js';
import { allow, startTestEdge, type TestEdge } from './harness.js';
import { encodeRequest, grpcFrame, grpcStatusOf, h2c, rawRequest, rawUnary } from './raw-wire.js';

const CAROL = { clientid: 'c-carol', username: 'carol' };
const MAX = 64 * 1024;
let t: TestEdge;
const clients = new Map<GenerationName, EmqxClient>();
const c = (g: GenerationName): EmqxClient => clients.get(g)!;

beforeAll(async () => {
  t = await startTestEdge({ maxMessageBytes: MAX });
  for (const g of ['v1', 'v2', 'v3'] as const) clients.set(g, emqxClient(g, t.address));
});
afterAll(async () => {
  for (const cl of clients.values()) cl.close();
  await t.close();
});

const statusOf = async (p: Promise<unknown>): Promise<ServiceError> => {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('the call succeeded but an error status was expected');
};
const stillAnswers = async (): Promise<void> => {
  expect(await c('v2').call('OnSessionCreated', { clientinfo: clientinfo(CAROL), meta: META })).toEqual({});
};

describe('edge bad input', () => {
  it.each([
    ['v1', 'OnClientAuthenticate', 'clientinfo'],
    ['v1', 'OnClientCheckAcl', 'clientinfo'],
    ['v1', 'OnMessagePublish', 'message'],
    ['v2', 'OnClientAuthenticate', 'clientinfo'],
    ['v2', 'OnClientAuthorize', 'clientinfo'],
    ['v2', 'OnMessagePublish', 'message'],
    ['v3', 'OnClientAuthorize', 'clientinfo'],
    ['v3', 'OnMessagePublish', 'message'],
  ] as const)('edge bad input - %s %s without %s is INVALID_ARGUMENT naming the field', async (g, rpc, field) => {
    const before = t.dispatcher.valued.length;
    const err = await statusOf(c(g).call(rpc, { meta: META, topic: 't' }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain(rpc);
    expect(err.details).toContain(`"${field}"`);
    expect(t.dispatcher.valued.length).toBe(before);
  });

  it.each([
    ['v2', 'OnClientConnect', 'conninfo'],
    ['v2', 'OnClientConnack', 'conninfo'],
    ['v1', 'OnClientConnected', 'clientinfo'],
    ['v3', 'OnSessionTerminated', 'clientinfo'],
    ['v1', 'OnSessionTakeovered', 'clientinfo'],
    ['v2', 'OnMessageDropped', 'message'],
  ] as const)('edge bad input - notification %s %s without %s is answered OK, dropped and logged at warn', async (g, rpc, field) => {
    const before = t.dispatcher.notified.length;
    expect(await c(g).call(rpc, { meta: META, reason: 'normal' })).toEqual({});
    expect(t.dispatcher.notified.length).toBe(before);
    const line = t.logLines().find((l) => l.rpc === rpc && l.field === field && l.generation === g);
    expect(line?.level).toBe(40);
  });

  it('edge bad input - a delivery with clientinfo but no message is dropped (needs both)', async () => {
    const before = t.dispatcher.notified.length;
    expect(await c('v2').call('OnMessageDelivered', { clientinfo: clientinfo(CAROL), meta: META })).toEqual({});
    expect(t.dispatcher.notified.length).toBe(before);
  });

  it('edge bad input - empty client ids are valid data (connect before assignment, authenticate)', async () => {
    const before = t.dispatcher.notified.length;
    await c('v2').call('OnClientConnect', { conninfo: conninfo({ clientid: '' }), props: [], meta: META });
    expect(t.dispatcher.notified.length).toBe(before + 1);
    expect(t.dispatcher.notified.at(-1)).toMatchObject({ type: 'client.connect', conn: { clientid: '', username: '' } });
    t.dispatcher.decideWith = () => allow();
    const reply = await c('v2').call('OnClientAuthenticate', { clientinfo: clientinfo({ clientid: '' }), result: false, meta: META });
    expect(reply).toMatchObject({ type: 'CONTINUE', bool_result: true });
    expect(t.dispatcher.valued.at(-1)).toMatchObject({ type: 'client.authenticate', client: { clientid: '' } });
  });

  it('edge bad input - an unknown authorize type (a future EMQX) is INVALID_ARGUMENT naming "type", known numbers decode', async () => {
    const req = (type: number) => encodeRequest('v2', 'OnClientAuthorize', { clientinfo: clientinfo(CAROL), type, topic: 't', result: true, meta: META });
    const unknown = req(7);
    expect(unknown.includes(Buffer.from([0x10, 0x07]))).toBe(true); // field 2 varint 7 really is on the wire
    const err = await statusOf(rawUnary(t.address, '/emqx.exhook.v2.HookProvider/OnClientAuthorize', unknown));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/type 7/);
    await rawUnary(t.address, '/emqx.exhook.v1.HookProvider/OnClientCheckAcl', encodeRequest('v1', 'OnClientCheckAcl', { clientinfo: clientinfo(CAROL), type: 1, topic: 't', result: true }));
    expect(t.dispatcher.valued.at(-1)).toMatchObject({ type: 'client.authorize', action: 'subscribe', generation: 'v1' });
  });

  it('edge bad input - a request above maxMessageBytes is RESOURCE_EXHAUSTED and the server stays up', async () => {
    const big = { message: message(CAROL, 't/big', Buffer.alloc(MAX + 1, 7)), meta: META };
    const err = await statusOf(c('v2').call('OnMessagePublish', big));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    const fits = { message: message(CAROL, 't/ok', Buffer.alloc(MAX - 1024, 7)), meta: META };
    expect(await c('v2').call('OnMessagePublish', fits)).toEqual({ type: 'IGNORE' });
    await stillAnswers();
  });

  it('edge bad input - garbage on a raw HTTP/2 stream gets the documented grpc-status, the server keeps answering', async () => {
    const session = h2c(t.address);
    try {
      const path = '/emqx.exhook.v2.HookProvider/OnClientAuthenticate';
      const cases: [string, Buffer, number, Record<string, string>?][] = [
        ['not protobuf', grpcFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), status.INTERNAL],
        ['frame shorter than its length prefix', grpcFrame(Buffer.from([1, 2, 3]), { declaredLength: 100 }), status.UNIMPLEMENTED],
        ['no frame at all', Buffer.from([0, 0]), status.UNIMPLEMENTED],
        ['two messages on a unary call', Buffer.concat([grpcFrame(Buffer.alloc(0)), grpcFrame(Buffer.alloc(0))]), status.UNIMPLEMENTED],
        ['bad gzip', grpcFrame(Buffer.from('not gzip'), { compressed: true }), status.INTERNAL, { 'grpc-encoding': 'gzip' }],
        ['length prefix of 4 GiB', grpcFrame(Buffer.from([1]), { declaredLength: 0xffffffff }), status.RESOURCE_EXHAUSTED],
      ];
      for (const [name, body, expected, headers] of cases) {
        const r = await rawRequest(session, path, body, headers);
        expect(grpcStatusOf(r), name).toBe(expected);
        expect(r.body.length, name).toBe(0);
      }
      // the same HTTP/2 connection still carries a well-formed call
      const ok = await rawRequest(session, '/emqx.exhook.v2.HookProvider/OnProviderUnloaded', grpcFrame(Buffer.alloc(0)));
      expect(grpcStatusOf(ok)).toBe(status.OK);
    } finally {
      session.close();
    }
    await stillAnswers();
  });

  it('edge bad input - a dispatcher that throws on notify or decide does not break the call', async () => {
    const d = t.dispatcher;
    const original = d.notify.bind(d);
    d.notify = () => {
      throw new Error('notify boom');
    };
    d.decideWith = () => {
      throw new Error('decide boom');
    };
    try {
      expect(await c('v2').call('OnSessionCreated', { clientinfo: clientinfo(CAROL), meta: META })).toEqual({});
      // fallback for authenticate is deny (harness FALLBACK)
      expect(await c('v2').call('OnClientAuthenticate', { clientinfo: clientinfo(CAROL, 'pw'), meta: META })).toMatchObject({ type: 'STOP_AND_RETURN', bool_result: false });
      d.decideWith = () => Promise.reject(new Error('async boom'));
      expect(await c('v2').call('OnMessagePublish', { message: message(CAROL, 't', 'x'), meta: META })).toEqual({ type: 'IGNORE' });
    } finally {
      d.notify = original;
      d.decideWith = () => allow();
    }
    const errors = t.logLines().filter((l) => l.level === 50).map((l) => l.msg);
    expect(errors).toEqual(expect.arrayContaining(['dispatcher.notify threw', 'deciding failed; answered the configured fallback']));
  });
});
