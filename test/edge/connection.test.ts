/**
 * Connection life: EMQX keeps its HTTP/2 connections idle for long periods,
 * sending only PINGs (gun: every 60 s); they must stay open. On shutdown,
 * in-flight calls finish, new connections are refused and close() is bounded.
 */
import { status } from '@grpc/grpc-js';
import { connect as tcpConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/domain/decision.js';
import { emqxClient } from '../support/emqx-client.js';
import { clientinfo, META } from '../support/emqx-shapes.js';
import { deny, sleep, startTestEdge } from './harness.js';
import { grpcFrame, grpcStatusOf, h2c, rawRequest } from './raw-wire.js';

const authn = { clientinfo: clientinfo({ clientid: 'c-erin' }, 'pw'), result: false, meta: META };

const refused = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });

async function until(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond() && Date.now() < end) await sleep(5);
  if (!cond()) throw new Error('condition not reached in time');
}

describe('edge connection', () => {
  it('edge connection - an idle HTTP/2 connection that only PINGs (every 200 ms for 3 s) stays open and then carries a call', async () => {
    const t = await startTestEdge();
    const session = h2c(t.address);
    const trouble: string[] = [];
    session.on('goaway', (code) => trouble.push(`goaway ${code}`));
    session.on('close', () => trouble.push('close'));
    session.on('error', (e) => trouble.push(`error ${e.message}`));
    try {
      await new Promise<void>((r, j) => (session.connecting ? session.once('connect', () => r()) : r(), session.once('error', j)));
      let acked = 0;
      for (let i = 0; i < 15; i++) {
        await new Promise<void>((resolve, reject) => {
          const sent = session.ping((err) => (err ? reject(err) : (acked++, resolve())));
          if (!sent) reject(new Error('ping not sent'));
        });
        await sleep(200);
      }
      expect(acked).toBe(15);
      expect(trouble).toEqual([]);
      const r = await rawRequest(session, '/emqx.exhook.v2.HookProvider/OnProviderUnloaded', grpcFrame(Buffer.alloc(0)));
      expect(grpcStatusOf(r)).toBe(status.OK);
      expect(trouble).toEqual([]);
    } finally {
      session.close();
      await t.close();
    }
  });

  it('edge connection - close lets an in-flight call finish, then refuses new connections, within the bound', async () => {
    const t = await startTestEdge({ deadlines: { valuedMs: 5000, fallback: { 'client.authenticate': 'allow', 'client.authorize': 'allow', 'message.publish': 'allow' } } });
    t.dispatcher.decideWith = () => new Promise<Decision>((r) => setTimeout(() => r(deny()), 300));
    const c = emqxClient('v2', t.address);
    try {
      const inFlight = c.call('OnClientAuthenticate', authn);
      await until(() => t.dispatcher.valued.length === 1);
      const started = Date.now();
      const closing = t.close(3000);
      expect(t.close(3000)).toBe(closing); // idempotent
      expect(await inFlight).toEqual({ type: 'STOP_AND_RETURN', bool_result: false, value: 'bool_result' });
      await closing;
      expect(Date.now() - started).toBeLessThan(3000);
      expect(await refused(t.edge.port)).toBe(true);
      const late = emqxClient('v2', t.address);
      await expect(late.call('OnClientAuthenticate', authn, 1000)).rejects.toMatchObject({ code: status.UNAVAILABLE });
      late.close();
    } finally {
      c.close();
    }
  });

  it('edge connection - close force-closes a call that outlives the grace period', async () => {
    const t = await startTestEdge({ deadlines: { valuedMs: 10_000, fallback: { 'client.authenticate': 'allow', 'client.authorize': 'allow', 'message.publish': 'allow' } } });
    t.dispatcher.decideWith = () => new Promise<Decision>(() => undefined);
    const c = emqxClient('v2', t.address);
    try {
      const inFlight = c.call('OnClientAuthenticate', authn, 20_000).then(
        () => 'answered',
        (err: { code: number }) => err.code,
      );
      await until(() => t.dispatcher.valued.length === 1);
      const started = Date.now();
      await t.close(200);
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(190);
      expect(took).toBeLessThan(1500);
      expect([status.CANCELLED, status.UNAVAILABLE, status.INTERNAL]).toContain(await inFlight);
      expect(t.logLines().some((l) => l.msg === 'calls still in flight after the grace period; closing them')).toBe(true);
    } finally {
      c.close();
    }
  });
});
