/**
 * Every RPC of every generation over real gRPC, with EMQX's side built from
 * the REFERENCE protos and requests shaped the way EMQX fills them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_NAMES, type HookEvent } from '../../src/domain/hook-event.js';
import { emqxClient, type EmqxClient, type GenerationName } from '../support/emqx-client.js';
import { clientinfo, conninfo, message, META } from '../support/emqx-shapes.js';
import { emqx53Client } from './emqx53-client.js';
import { allow, startTestEdge, type TestEdge } from './harness.js';

const ALICE = { clientid: 'c-alice', username: 'alice', peerhost: '10.0.0.7', sockport: 1883 };
const V1_RENAMES: Record<string, string> = { 'client.authorize': 'client.check_acl', 'session.takenover': 'session.takeovered' };

/** What EMQX sends for each RPC (v2/v3 names; v1 renames two), and what the event must carry. */
function cases(g: GenerationName): [rpc: string, request: object, expected: Partial<Record<string, unknown>>][] {
  const ci = clientinfo(ALICE);
  const conn = conninfo(ALICE);
  const msg = message(ALICE, 't/1', 'hello', 1);
  const authz = g === 'v1' ? 'OnClientCheckAcl' : 'OnClientAuthorize';
  const takeover = g === 'v1' ? 'OnSessionTakeovered' : 'OnSessionTakenover';
  const v1 = g === 'v1';
  const tf = v1 ? { name: 'a/#', qos: 1 } : { name: 'a/#', subopts: { qos: 1, rh: 0, rap: 0, nl: 0 } };
  const client = { clientid: 'c-alice', username: 'alice', peerhost: '10.0.0.7', sockport: 1883, protocol: 'mqtt' };
  return [
    ['OnClientConnect', { conninfo: conn, props: [{ name: 'Session-Expiry-Interval', value: '0' }], meta: META }, { type: 'client.connect', conn: expect.objectContaining({ clientid: 'c-alice', protoVer: '5', peerhost: '10.0.0.7' }) }],
    ['OnClientConnack', { conninfo: conn, result_code: 'success', props: [], meta: META }, { type: 'client.connack', resultCode: 'success' }],
    ['OnClientConnected', { clientinfo: ci, meta: META }, { type: 'client.connected', client: expect.objectContaining(client) }],
    ['OnClientDisconnected', { clientinfo: ci, reason: 'normal', meta: META }, { type: 'client.disconnected', reason: 'normal' }],
    ['OnClientSubscribe', { clientinfo: ci, props: [], topic_filters: [tf], meta: META }, { type: 'client.subscribe', filters: [{ topic: 'a/#', qos: 1 }] }],
    ['OnClientUnsubscribe', { clientinfo: ci, props: [], topic_filters: [], meta: META }, { type: 'client.unsubscribe', filters: [] }],
    ['OnSessionCreated', { clientinfo: ci, meta: META }, { type: 'session.created' }],
    ['OnSessionSubscribed', { clientinfo: ci, topic: 'a/#', subopts: { qos: 2, ...(v1 ? { share: 'g1' } : {}), rh: 1, rap: 1, nl: 1 }, meta: META }, { type: 'session.subscribed', topic: 'a/#', subopts: { qos: 2, share: v1 ? 'g1' : '', rh: 1, rap: 1, nl: 1 } }],
    ['OnSessionUnsubscribed', { clientinfo: ci, topic: 'a/#', meta: META }, { type: 'session.unsubscribed', topic: 'a/#' }],
    ['OnSessionResumed', { clientinfo: ci, meta: META }, { type: 'session.resumed' }],
    ['OnSessionDiscarded', { clientinfo: ci, meta: META }, { type: 'session.discarded' }],
    [takeover, { clientinfo: ci, meta: META }, { type: 'session.takenover' }],
    ['OnSessionTerminated', { clientinfo: ci, reason: '{shutdown,normal}', meta: META }, { type: 'session.terminated', reason: '{shutdown,normal}' }],
    ['OnMessageDelivered', { clientinfo: ci, message: msg, meta: META }, { type: 'message.delivered', message: expect.objectContaining({ id: msg.id, topic: 't/1', qos: 1 }) }],
    ['OnMessageAcked', { clientinfo: ci, message: msg, meta: META }, { type: 'message.acked' }],
    ['OnMessageDropped', { message: msg, reason: 'no_subscribers', meta: META }, { type: 'message.dropped', reason: 'no_subscribers' }],
    ['OnClientAuthenticate', { clientinfo: clientinfo(ALICE, 's3cret'), result: false, meta: META }, { type: 'client.authenticate', result: false }],
    [authz, { clientinfo: ci, type: 'SUBSCRIBE', topic: 'a/#', result: true, meta: META }, { type: 'client.authorize', action: 'subscribe', topic: 'a/#', result: true }],
    ['OnMessagePublish', { message: msg, meta: META }, { type: 'message.publish', message: expect.objectContaining({ from: 'c-alice', timestamp: msg.timestamp }) }],
  ];
}

const GENERATIONS: GenerationName[] = ['v1', 'v2', 'v3'];
let t: TestEdge;
const clients = new Map<GenerationName, EmqxClient>();

beforeAll(async () => {
  t = await startTestEdge({ mount: () => ({ hooks: [...HOOK_NAMES], messageTopics: ['t/#', ''] }) });
  for (const g of GENERATIONS) clients.set(g, emqxClient(g, t.address));
});
afterAll(async () => {
  for (const c of clients.values()) c.close();
  await t.close();
});

describe.each(GENERATIONS)('edge rpcs %s', (g) => {
  const call = <T>(rpc: string, req: object): Promise<T> => clients.get(g)!.call<T>(rpc, req);

  it(`edge rpcs - ${g} OnProviderLoaded answers every hook in ${g} spelling, topics only on message.*`, async () => {
    const uptime = g === 'v1' ? '2 hours, 3 minutes, 4 seconds' : '3891';
    const before = t.dispatcher.loaded.length;
    const reply = await call<{ hooks: { name: string; topics: string[] }[] }>('OnProviderLoaded', {
      broker: { version: g === 'v1' ? '4.4.19' : '5.8.0', sysdescr: 'EMQX', uptime, datetime: '2026-11-27 04:43:58' },
      meta: META,
    });
    const expected = HOOK_NAMES.map((h) => (g === 'v1' ? (V1_RENAMES[h] ?? h) : h));
    expect(reply.hooks.map((h) => h.name)).toEqual(expected);
    for (const h of reply.hooks) expect(h.topics).toEqual(h.name.startsWith('message.') ? ['t/#'] : []);
    const loaded = t.dispatcher.loaded.at(-1)!;
    expect(t.dispatcher.loaded.length).toBe(before + 1);
    expect(loaded).toMatchObject({ generation: g, broker: { uptime, sysdescr: 'EMQX' }, meta: { node: META.node, clusterName: 'emqxcl' } });
    // idempotent: a second load (EMQX reload) gets the same answer
    const again = await call<{ hooks: { name: string }[] }>('OnProviderLoaded', { broker: { uptime }, meta: META });
    expect(again.hooks.map((h) => h.name)).toEqual(expected);
  });

  it(`edge rpcs - ${g} OnProviderUnloaded answers EmptySuccess and reaches the dispatcher`, async () => {
    expect(await call('OnProviderUnloaded', { meta: META })).toEqual({});
    expect(t.dispatcher.unloaded.at(-1)).toMatchObject({ generation: g, meta: { node: META.node } });
  });

  it(`edge rpcs - ${g} every event RPC is answered and decoded into exactly one event`, async () => {
    t.dispatcher.decideWith = () => allow();
    for (const [rpc, request, expected] of cases(g)) {
      const valued = rpc === 'OnClientAuthenticate' || rpc === 'OnClientCheckAcl' || rpc === 'OnClientAuthorize' || rpc === 'OnMessagePublish';
      const notifiedBefore = t.dispatcher.notified.length;
      const count = t.dispatcher.valued.length + notifiedBefore;
      const reply = await call<Record<string, unknown>>(rpc, request);
      if (!valued) {
        expect(reply, rpc).toEqual({});
        await t.dispatcher.untilNotified(notifiedBefore + 1);
      } else if (rpc === 'OnMessagePublish') {
        expect(reply, rpc).toEqual({ type: 'IGNORE' });
      } else {
        expect(reply, rpc).toMatchObject({ type: 'CONTINUE', bool_result: true, value: 'bool_result' });
      }
      expect(t.dispatcher.valued.length + t.dispatcher.notified.length, rpc).toBe(count + 1);
      const event = (valued ? t.dispatcher.valued.at(-1) : t.dispatcher.notified.at(-1)) as HookEvent;
      expect(event, rpc).toMatchObject({ generation: g, meta: { node: META.node, version: META.version, clusterName: 'emqxcl' }, ...expected });
      expect(Math.abs(event.at - Date.now())).toBeLessThan(5000);
    }
  });

  it(`edge rpcs - ${g} authenticate carries the password only as a Secret`, async () => {
    await call('OnClientAuthenticate', { clientinfo: clientinfo(ALICE, 'pw-in-secret'), result: false, meta: META });
    const e = t.dispatcher.valued.at(-1)!;
    if (e.type !== 'client.authenticate') throw new Error('expected authenticate');
    expect(e.password.reveal()).toBe('pw-in-secret');
    expect(JSON.stringify(e)).not.toContain('pw-in-secret');
    expect(e.client).not.toHaveProperty('password');
  });
});

describe('edge rpcs generation specifics', () => {
  it('edge rpcs - v3 user_props arrive separately from props', async () => {
    const before = t.dispatcher.notified.length;
    await clients.get('v3')!.call('OnClientConnect', {
      conninfo: conninfo({ ...ALICE, peerport: 51000 }),
      props: [{ name: 'Session-Expiry-Interval', value: '30' }],
      user_props: [{ name: 'ck', value: 'cv' }, { name: 'ck', value: 'cv2' }],
      meta: META,
    });
    await t.dispatcher.untilNotified(before + 1);
    const e = t.dispatcher.notified.at(-1)!;
    expect(e).toMatchObject({
      type: 'client.connect',
      generation: 'v3',
      conn: { peerport: 51000 },
      props: [{ name: 'Session-Expiry-Interval', value: '30' }],
      userProps: [{ name: 'ck', value: 'cv' }, { name: 'ck', value: 'cv2' }],
    });
  });

  it('edge rpcs - v1 and v2 have no user_props and no peerport before 5.4: empty and 0', async () => {
    const before = t.dispatcher.notified.length;
    await clients.get('v1')!.call('OnClientConnect', { conninfo: conninfo(ALICE), props: [], meta: META });
    await t.dispatcher.untilNotified(before + 1);
    expect(t.dispatcher.notified.at(-1)).toMatchObject({ generation: 'v1', userProps: [], props: [], conn: { peerport: 0 } });
  });

  it('edge rpcs - v1 4.3 requests without meta and without headers decode with "" and {}', async () => {
    const msg = { ...message(ALICE, 't/1', 'x'), headers: undefined };
    const before = t.dispatcher.notified.length;
    await clients.get('v1')!.call('OnMessageDropped', { message: msg, reason: 'no_subscribers' });
    await t.dispatcher.untilNotified(before + 1);
    expect(t.dispatcher.notified.at(-1)).toMatchObject({
      type: 'message.dropped',
      meta: { node: '', version: '', sysdescr: '', clusterName: '' },
      message: { headers: {} },
    });
  });

  it('edge rpcs - v2 from EMQX 5.0–5.3: TopicFilter qos from field 2 and SubOpts.share are read', async () => {
    const c53 = emqx53Client(t.address);
    try {
      const before = t.dispatcher.notified.length;
      await c53.call('OnClientSubscribe', { clientinfo: clientinfo(ALICE), props: [], topic_filters: [{ name: 'x/#', qos: 2 }, { name: 'y', qos: 1 }], meta: META });
      await c53.call('OnSessionSubscribed', { clientinfo: clientinfo(ALICE), topic: 'x/#', subopts: { qos: 2, share: 'g1', rh: 0, rap: 0, nl: 0 }, meta: META });
      await t.dispatcher.untilNotified(before + 2);
      expect(t.dispatcher.notified.slice(-2)).toMatchObject([
        { type: 'client.subscribe', generation: 'v2', filters: [{ topic: 'x/#', qos: 2 }, { topic: 'y', qos: 1 }] },
        { type: 'session.subscribed', generation: 'v2', topic: 'x/#', subopts: { qos: 2, share: 'g1' } },
      ]);
    } finally {
      c53.close();
    }
  });

  it('edge rpcs - a v2/v3 int64 uptime beyond 2^53 arrives as the exact decimal string', async () => {
    await clients.get('v3')!.call('OnProviderLoaded', { broker: { version: '5.9.0', sysdescr: 'EMQX', uptime: '9007199254740993', datetime: '' }, meta: META });
    expect(t.dispatcher.loaded.at(-1)).toMatchObject({ generation: 'v3', broker: { uptime: '9007199254740993' } });
  });

  it('edge rpcs - an unknown RPC path is UNIMPLEMENTED and the server keeps answering', async () => {
    const c = clients.get('v2')!;
    await expect(c.call('OnNoSuchHook', {})).rejects.toThrow();
    expect(await c.call('OnSessionCreated', { clientinfo: clientinfo(ALICE), meta: META })).toEqual({});
  });
});
