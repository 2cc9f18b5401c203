/**
 * Deadlines and fallbacks of valued calls: a decision that never comes is
 * answered with the configured fallback before the internal deadline (plus
 * slack), a shorter caller deadline (grpc-timeout) wins, and a synchronous
 * decision is answered without arming any timer.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Decision } from '../../src/domain/decision.js';
import { SAFETY_MARGIN_MS } from '../../src/edge/valued-call.js';
import { emqxClient, type EmqxClient } from '../support/emqx-client.js';
import { clientinfo, message, META } from '../support/emqx-shapes.js';
import { allow, deny, startTestEdge, type TestEdge } from './harness.js';

const DAVE = { clientid: 'c-dave', username: 'dave' };
const VALUED_MS = 200;
/** Generous: the machine is shared; this bounds "never hangs", it does not measure speed. */
const SLACK_MS = 1500;
const never = (): Promise<Decision> => new Promise<Decision>(() => undefined);
const authn = { clientinfo: clientinfo(DAVE, 'pw'), result: false, meta: META };

let t: TestEdge;
let slowT: TestEdge;
let c: EmqxClient;
let slowC: EmqxClient;
beforeAll(async () => {
  t = await startTestEdge({ deadlines: { valuedMs: VALUED_MS, fallback: { 'client.authenticate': 'deny', 'client.authorize': 'allow', 'message.publish': 'deny' } } });
  slowT = await startTestEdge({ deadlines: { valuedMs: 4321, fallback: { 'client.authenticate': 'ignore', 'client.authorize': 'deny', 'message.publish': 'allow' } } });
  c = emqxClient('v2', t.address);
  slowC = emqxClient('v2', slowT.address);
});
afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(async () => {
  c.close();
  slowC.close();
  await Promise.all([t.close(), slowT.close()]);
});

describe('edge deadlines', () => {
  it('edge deadlines - a decision that never resolves gets the fallback at the internal deadline', async () => {
    t.dispatcher.decideWith = never;
    const started = Date.now();
    const reply = await c.call('OnClientAuthenticate', authn, 10_000);
    const took = Date.now() - started;
    expect(reply).toEqual({ type: 'STOP_AND_RETURN', bool_result: false, value: 'bool_result' });
    expect(took).toBeGreaterThanOrEqual(VALUED_MS - 20);
    expect(took).toBeLessThan(VALUED_MS + SLACK_MS);
    const e = t.dispatcher.valued.at(-1)!;
    expect(t.dispatcher.deadlines.at(-1)).toBe(e.at + VALUED_MS);
    expect(t.logLines().some((l) => l.msg === 'no decision before the deadline; answered the configured fallback' && l.clientid === 'c-dave')).toBe(true);
  });

  it('edge deadlines - the fallback is per hook (authorize allow, publish deny echoes the message)', async () => {
    t.dispatcher.decideWith = never;
    const authz = await c.call('OnClientAuthorize', { clientinfo: clientinfo(DAVE), type: 'PUBLISH', topic: 't', result: true, meta: META });
    expect(authz).toEqual({ type: 'CONTINUE', bool_result: true, value: 'bool_result' });
    const m = message(DAVE, 't/x', 'p', 1);
    const pub = await c.call<{ type: string; message: { headers: Record<string, string>; topic: string } }>('OnMessagePublish', { message: m, meta: META });
    expect(pub.type).toBe('STOP_AND_RETURN');
    expect(pub.message).toMatchObject({ topic: 't/x', qos: 1, headers: { allow_publish: 'false' } });
  });

  it('edge deadlines - a caller deadline shorter than the internal one is honoured (answered OK, before it)', async () => {
    slowT.dispatcher.decideWith = never;
    const callerMs = 400;
    const started = Date.now();
    const reply = await slowC.call('OnClientAuthenticate', authn, callerMs);
    const took = Date.now() - started;
    expect(reply).toEqual({ type: 'IGNORE' }); // slowT's authenticate fallback
    expect(took).toBeLessThan(callerMs);
    const e = slowT.dispatcher.valued.at(-1)!;
    const given = slowT.dispatcher.deadlines.at(-1)!;
    expect(given).toBeLessThan(e.at + 4321);
    expect(given).toBeLessThanOrEqual(started + callerMs - SAFETY_MARGIN_MS + 20);
  });

  it('edge deadlines - a decision arriving after the fallback is ignored; the call was answered once', async () => {
    let resolveLate: (d: Decision) => void = () => undefined;
    t.dispatcher.decideWith = () => new Promise<Decision>((r) => (resolveLate = r));
    expect(await c.call('OnClientAuthenticate', authn, 5000)).toMatchObject({ type: 'STOP_AND_RETURN', bool_result: false });
    resolveLate(allow());
    t.dispatcher.decideWith = () => allow();
    expect(await c.call('OnClientAuthenticate', authn, 5000)).toMatchObject({ type: 'CONTINUE', bool_result: true });
  });

  it('edge deadlines - a synchronous decision arms no deadline timer; an asynchronous one arms exactly one', async () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const deadlineTimers = (): number => spy.mock.calls.filter(([, ms]) => typeof ms === 'number' && ms > 4000 && ms <= 4321).length;
    slowT.dispatcher.decideWith = () => deny();
    await slowC.call('OnClientAuthenticate', authn, 30_000);
    expect(deadlineTimers()).toBe(0);
    slowT.dispatcher.decideWith = () => Promise.resolve(deny());
    await slowC.call('OnClientAuthenticate', authn, 30_000);
    expect(deadlineTimers()).toBe(1);
  });
});
