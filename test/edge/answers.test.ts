/**
 * What goes back to EMQX for each decision, checked on the decoded reply AND
 * on the raw wire bytes (bool_result=false must be present as field 3 = 0;
 * IGNORE must carry no value).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decision } from '../../src/domain/decision.js';
import { emqxClient, type EmqxClient, type GenerationName } from '../support/emqx-client.js';
import { clientinfo, message, META } from '../support/emqx-shapes.js';
import { allow, deny, ignore, startTestEdge, type Decide, type TestEdge } from './harness.js';
import { decodeReply, encodeRequest, rawUnary } from './raw-wire.js';

const BOB = { clientid: 'c-bob', username: 'bob', peerhost: '10.1.2.3' };
let t: TestEdge;
let stopT: TestEdge;
const clients = new Map<string, EmqxClient>();
const client = (g: GenerationName, edge = t): EmqxClient => {
  const key = `${g}@${edge.address}`;
  if (!clients.has(key)) clients.set(key, emqxClient(g, edge.address));
  return clients.get(key)!;
};
const decideAll = (d: Decide): void => {
  t.dispatcher.decideWith = d;
};

beforeAll(async () => {
  t = await startTestEdge();
  stopT = await startTestEdge({ allowType: 'STOP_AND_RETURN' });
});
afterAll(async () => {
  for (const c of clients.values()) c.close();
  await Promise.all([t.close(), stopT.close()]);
});

const authn = { clientinfo: clientinfo(BOB, 'pw'), result: false, meta: META };

describe('edge answers', () => {
  it('edge answers - authenticate deny is STOP_AND_RETURN with bool_result=false written on the wire (field 3 = 0)', async () => {
    decideAll(() => deny());
    const bytes = await rawUnary(t.address, '/emqx.exhook.v2.HookProvider/OnClientAuthenticate', encodeRequest('v2', 'OnClientAuthenticate', authn));
    // type=STOP_AND_RETURN (field 1 varint 2), bool_result=false (field 3 varint 0)
    expect([...bytes]).toEqual([0x08, 0x02, 0x18, 0x00]);
    expect(decodeReply('v2', 'OnClientAuthenticate', bytes)).toEqual({ type: 'STOP_AND_RETURN', bool_result: false, value: 'bool_result' });
  });

  it('edge answers - authorize allow is CONTINUE true by default and STOP_AND_RETURN true with allowType STOP_AND_RETURN', async () => {
    decideAll(() => allow());
    stopT.dispatcher.decideWith = () => allow();
    const req = { clientinfo: clientinfo(BOB), type: 'PUBLISH', topic: 't/1', result: true, meta: META };
    expect(await client('v2').call('OnClientAuthorize', req)).toEqual({ type: 'CONTINUE', bool_result: true, value: 'bool_result' });
    expect(await client('v1', stopT).call('OnClientCheckAcl', req)).toEqual({ type: 'STOP_AND_RETURN', bool_result: true, value: 'bool_result' });
    const bytes = await rawUnary(t.address, '/emqx.exhook.v3.HookProvider/OnClientAuthorize', encodeRequest('v3', 'OnClientAuthorize', req));
    expect([...bytes]).toEqual([0x08, 0x00, 0x18, 0x01]);
  });

  it('edge answers - ignore is IGNORE with no value at all on the wire', async () => {
    decideAll(() => ignore());
    for (const rpc of ['OnClientAuthenticate', 'OnClientAuthorize'] as const) {
      const req = rpc === 'OnClientAuthenticate' ? authn : { clientinfo: clientinfo(BOB), type: 'SUBSCRIBE', topic: 'a', result: true, meta: META };
      const bytes = await rawUnary(t.address, `/emqx.exhook.v2.HookProvider/${rpc}`, encodeRequest('v2', rpc, req));
      expect([...bytes], rpc).toEqual([0x08, 0x01]);
    }
  });

  it.each(['allow', 'ignore'] as const)('edge answers - publish %s is IGNORE with no message (EMQX publishes its own record)', async (outcome) => {
    decideAll(() => (outcome === 'allow' ? allow() : ignore()));
    const req = { message: message(BOB, 't/1', 'hi', 1), meta: META };
    expect(await client('v2').call('OnMessagePublish', req)).toEqual({ type: 'IGNORE' });
    const bytes = await rawUnary(t.address, '/emqx.exhook.v2.HookProvider/OnMessagePublish', encodeRequest('v2', 'OnMessagePublish', req));
    expect([...bytes]).toEqual([0x08, 0x01]);
  });

  it.each(['v1', 'v2', 'v3'] as const)('edge answers - %s publish deny echoes the whole message with allow_publish="false"', async (g) => {
    decideAll(() => deny());
    const payload = Buffer.from([0, 1, 2, 254, 255]);
    const m = message(BOB, 'sensor/9', payload, 2);
    const reply = await client(g).call<Record<string, unknown>>('OnMessagePublish', { message: m, meta: META });
    expect(reply).toEqual({
      type: 'STOP_AND_RETURN',
      value: 'message',
      message: { ...m, headers: { peerhost: '10.1.2.3', protocol: 'mqtt', username: 'bob', allow_publish: 'false' } },
    });
  });

  it('edge answers - a shadowed deny is answered like an allow', async () => {
    decideAll(() => decision('deny', { code: 'acl.rule', policy: 'p', detail: 'would deny' }, true));
    expect(await client('v2').call('OnClientAuthenticate', authn)).toEqual({ type: 'CONTINUE', bool_result: true, value: 'bool_result' });
    expect(await client('v2').call('OnMessagePublish', { message: message(BOB, 't', 'x'), meta: META })).toEqual({ type: 'IGNORE' });
  });

  it('edge answers - an asynchronous decision is answered the same way as a synchronous one', async () => {
    decideAll(() => new Promise((r) => setTimeout(() => r(deny()), 20)));
    expect(await client('v2').call('OnClientAuthenticate', authn)).toEqual({ type: 'STOP_AND_RETURN', bool_result: false, value: 'bool_result' });
  });
});
