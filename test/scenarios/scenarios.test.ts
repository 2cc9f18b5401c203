/**
 * Issue-level scenarios through the real gRPC edge, called the way EMQX calls
 * (EXHOOK.md §6 and the recorded traces), with EMQX's reference protos.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { stateName } from '../../machines/client/client.step.js';
import { hashPassword } from '../../src/policy/users.js';
import { META, clientinfo, conninfo, message, type Who } from '../support/emqx-shapes.js';
import { startHarness, type Harness } from '../support/in-process.js';

interface Valued {
  type: string;
  bool_result?: boolean;
  message?: { qos: number; topic: string; payload: Buffer; headers: Record<string, string> };
  value?: string;
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const connect = async (w: Who, password = '') => {
  if (!h) throw new Error('no harness');
  await h.client.call('OnClientConnect', { conninfo: conninfo(w), props: [], meta: META });
  return h.client.call<Valued>('OnClientAuthenticate', { clientinfo: clientinfo(w, password), result: false, meta: META });
};
const connected = async (w: Who) => {
  if (!h) throw new Error('no harness');
  await h.client.call('OnSessionCreated', { clientinfo: clientinfo(w), meta: META });
  await h.client.call('OnClientConnected', { clientinfo: clientinfo(w), meta: META });
  await h.client.call('OnClientConnack', { conninfo: conninfo(w), result_code: 'success', props: [], meta: META });
};
const publish = (w: Who, topic: string, payload: string | Buffer = 'x', qos = 1) =>
  h!.client.call<Valued>('OnMessagePublish', { message: message(w, topic, payload, qos), meta: META });
const authorize = (w: Who, type: 'PUBLISH' | 'SUBSCRIBE', topic: string) =>
  h!.client.call<Valued>('OnClientAuthorize', { clientinfo: clientinfo(w), type, topic, result: true, meta: META });
const state = (clientId: string): string => {
  const s = h!.running.registry.peek(clientId);
  return s ? stateName(s) : 'untracked';
};

describe('scenarios', () => {
  it('scenarios - connect → authenticate → session.created → connected → connack with users credentials', async () => {
    const hash = await hashPassword('s3cret');
    h = await startHarness({ policy: `default:\n  authenticate: users\nusers:\n  - { username: alice, password_hash: "${hash}" }\n` });
    const alice: Who = { clientid: 'c-alice', username: 'alice' };
    const ok = await connect(alice, 's3cret');
    expect(ok).toMatchObject({ type: 'CONTINUE', bool_result: true });
    await connected(alice);
    expect(state('c-alice')).toBe('connected');
    const bad = await connect({ clientid: 'c-mallory', username: 'alice' }, 'guess');
    expect(bad).toMatchObject({ type: 'STOP_AND_RETURN', bool_result: false });
    const unknown = await connect({ clientid: 'c-eve', username: 'eve' }, 's3cret');
    expect(unknown).toMatchObject({ type: 'STOP_AND_RETURN', bool_result: false });
    expect(h.logs.join('\n')).not.toContain('s3cret');
    expect(h.logs.join('\n')).not.toContain('guess');
  });

  it('scenarios - a publish flood gets exactly the burst through, the rest dropped whole with a reason; others unaffected', async () => {
    h = await startHarness({ policy: 'default:\n  limits: { messages_rate: "1/m", messages_burst: 5 }\n' });
    const flood: Who = { clientid: 'flooder', username: 'u1' };
    await connect(flood);
    await connected(flood);
    const answers: Valued[] = [];
    for (let i = 0; i < 9; i++) answers.push(await publish(flood, 'devices/flooder/t', Buffer.from([i, 0, 255]), 1));
    expect(answers.slice(0, 5).every((a) => a.type === 'IGNORE' && a.message === undefined)).toBe(true);
    for (const [i, a] of answers.slice(5).entries()) {
      expect(a.type).toBe('STOP_AND_RETURN');
      expect(a.message?.headers.allow_publish).toBe('false');
      expect(a.message?.topic).toBe('devices/flooder/t');
      expect(a.message?.qos).toBe(1);
      expect([...(a.message?.payload ?? [])]).toEqual([i + 5, 0, 255]);
    }
    expect((await publish({ clientid: 'bystander' }, 'devices/bystander/t')).type).toBe('IGNORE');
    const denied = h.logs.map((l) => JSON.parse(l) as { msg: string; clientId?: string; reason?: { code: string } });
    expect(denied.some((l) => l.msg === 'denied' && l.clientId === 'flooder' && l.reason?.code === 'limit.messages_rate')).toBe(true);
  });

  it('scenarios - more than max_count connects in the window ban at authenticate, authorize and publish until ban_time passes', async () => {
    h = await startHarness({
      policy: 'default:\n  authenticate: allow\n  flapping: { max_count: 3, window_time: "1m", ban_time: "1s" }\n',
    });
    const w: Who = { clientid: 'flappy' };
    const first = [await connect(w), await connect(w), await connect(w)];
    expect(first.every((a) => a.type === 'CONTINUE' && a.bool_result === true)).toBe(true);
    expect(await connect(w)).toMatchObject({ type: 'STOP_AND_RETURN', bool_result: false });
    expect(state('flappy')).toBe('banned');
    expect(await authorize(w, 'PUBLISH', 't/1')).toMatchObject({ type: 'STOP_AND_RETURN', bool_result: false });
    expect((await publish(w, 't/1')).message?.headers.allow_publish).toBe('false');
    await new Promise((r) => setTimeout(r, 1100));
    expect(await connect(w)).toMatchObject({ type: 'CONTINUE', bool_result: true });
  });

  it('scenarios - takeover interleaving (04b order): the old connection’s late events never undo the new one', async () => {
    h = await startHarness();
    const w: Who = { clientid: 'sensor-7', username: 'u' };
    await connect(w);
    await connected(w);
    // new connection (same identity: 5.3 has no peerport) takes the session over
    await connect(w);
    await h.client.call('OnSessionResumed', { clientinfo: clientinfo(w), meta: META });
    await h.client.call('OnClientDisconnected', { clientinfo: clientinfo(w), reason: 'takenover', meta: META });
    await h.client.call('OnSessionTakenover', { clientinfo: clientinfo(w), meta: META });
    await h.client.call('OnClientConnected', { clientinfo: clientinfo(w), meta: META });
    await h.client.call('OnClientConnack', { conninfo: conninfo(w), result_code: 'success', props: [], meta: META });
    expect(state('sensor-7')).toBe('connected');
    // a stale disconnect from a connection on another node
    const old = { ...w, node: 'emqx@10.0.0.2', peerhost: '10.9.9.9' };
    await h.client.call('OnClientDisconnected', { clientinfo: clientinfo(old), reason: 'tcp_closed', meta: META });
    await h.client.call('OnSessionTerminated', { clientinfo: clientinfo(old), reason: '{shutdown,tcp_closed}', meta: META });
    expect(state('sensor-7')).toBe('connected');
    // the real disconnect
    await h.client.call('OnClientDisconnected', { clientinfo: clientinfo(w), reason: 'normal', meta: META });
    expect(state('sensor-7')).toBe('disconnected');
  });

  it('scenarios - ACL with ${clientid} placeholders, first match wins', async () => {
    h = await startHarness({
      policy: [
        'default:',
        '  acl:',
        '    - { permission: allow, action: subscribe, topics: ["cmd/${clientid}/#", "eq broadcast/#"] }',
        '    - { permission: allow, action: publish, topics: ["devices/%c/#"] }',
        '    - { permission: deny, action: all, topics: ["#"] }',
        '  no_match: deny',
        '',
      ].join('\n'),
    });
    const w: Who = { clientid: 'c1' };
    expect(await authorize(w, 'SUBSCRIBE', 'cmd/c1/reboot')).toMatchObject({ type: 'CONTINUE', bool_result: true });
    expect(await authorize(w, 'SUBSCRIBE', 'cmd/c2/reboot')).toMatchObject({ type: 'STOP_AND_RETURN', bool_result: false });
    expect(await authorize(w, 'SUBSCRIBE', 'broadcast/#')).toMatchObject({ type: 'CONTINUE', bool_result: true });
    expect(await authorize(w, 'SUBSCRIBE', 'broadcast/x')).toMatchObject({ type: 'STOP_AND_RETURN', bool_result: false });
    expect(await authorize(w, 'PUBLISH', 'devices/c1/temp')).toMatchObject({ type: 'CONTINUE', bool_result: true });
    expect(await authorize(w, 'PUBLISH', 'devices/c2/temp')).toMatchObject({ type: 'STOP_AND_RETURN', bool_result: false });
  });

  it('scenarios - shadow mode answers as if allowed and records what would have been denied', async () => {
    h = await startHarness({ policy: 'mode: shadow\ndefault:\n  limits: { messages_rate: "1/m", messages_burst: 1 }\n' });
    const w: Who = { clientid: 'trial' };
    const answers = [await publish(w, 't'), await publish(w, 't'), await publish(w, 't')];
    expect(answers.map((a) => a.type)).toEqual(['IGNORE', 'IGNORE', 'IGNORE']);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.logs.some((l) => l.includes('would deny (shadow mode)') && l.includes('limit.messages_rate'))).toBe(true);
  });

  it('scenarios - an invalid policy edit is refused and the running policy stays in force; a valid one applies', async () => {
    h = await startHarness({
      policy: 'default:\n  limits: { messages_rate: "1/m", messages_burst: 2 }\n',
      config: { watchPolicy: false },
    });
    const w: Who = { clientid: 'steady' };
    h.writePolicy('default:\n  limits: { messages_rate: "lots", messages_burst: -1 }\n');
    const refused = await h.running.policies.reload();
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.errors.map((e) => e.path).join(' ')).toContain('messages_rate');
    const before = [await publish(w, 't'), await publish(w, 't'), await publish(w, 't')];
    expect(before.map((a) => a.type)).toEqual(['IGNORE', 'IGNORE', 'STOP_AND_RETURN']);
    h.writePolicy('default:\n  limits: { messages_rate: "1/m", messages_burst: 10 }\n');
    expect((await h.running.policies.reload()).ok).toBe(true);
    const fresh: Who = { clientid: 'fresh' };
    const after: Valued[] = [];
    for (let i = 0; i < 10; i++) after.push(await publish(fresh, 't'));
    expect(after.every((a) => a.type === 'IGNORE')).toBe(true);
  });

  it('scenarios - with no configuration nothing is refused: valued hooks defer to EMQX', async () => {
    h = await startHarness();
    const w: Who = { clientid: 'anon' };
    expect(await connect(w)).toEqual(expect.objectContaining({ type: 'IGNORE' }));
    expect((await connect(w)).bool_result).toBeUndefined();
    expect((await authorize(w, 'SUBSCRIBE', 'any/#')).type).toBe('IGNORE');
    expect((await publish(w, 'any/t')).type).toBe('IGNORE');
  });
});
