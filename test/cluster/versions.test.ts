/**
 * Rolling upgrades: an instance that meets a client written by a newer
 * version (a snapshot of a machine version it cannot restore, or an entry
 * of a newer schema) never folds over it: it writes nothing for that
 * client and answers its valued hooks with the configured fallback.
 */
import { connect, headers, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientKey } from '../../src/journal/client-key.js';
import { NatsJournal, streamName } from '../../src/journal/nats-journal.js';
import { META, clientinfo, type Who } from '../support/emqx-shapes.js';
import { startHarness, type Harness } from '../support/in-process.js';
import { NatsServer } from '../support/nats-server.js';
import { Forwarding, decodeHookEvent, encodeHookEvent } from '../../src/cluster/forwarding.js';
import { decision } from '../../src/domain/decision.js';
import type { HookEvent } from '../../src/domain/hook-event.js';
import { createLogger } from '../../src/observability/logger.js';

let server: NatsServer;
let nc: NatsConnection;
let h: Harness;
const prefix = `ver${process.pid}`;

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url });
  // a "newer" instance wrote two clients first
  const newer = await NatsJournal.open({ connection: nc, prefix, machineVersion: 'client-99.0', instance: 'newer' });
  await newer.append(
    {
      clientId: 'new-machine',
      at: Date.now(),
      hook: 'client.authorize',
      node: 'n',
      state: 'connected',
      facts: [],
      decision: { outcome: 'deny', reason: { code: 'default', policy: '-', detail: 'x' } },
    },
    { snapshot: 'FUTURE-FORMAT' },
  );
  await newer.close();
  const h2 = headers();
  h2.set('Nats-Expected-Last-Subject-Sequence', '0');
  await nc.jetstream().publish(`${prefix}.journal.${clientKey('new-schema')}`, JSON.stringify({ v: 2, changes: [] }), { headers: h2 });
  h = await startHarness({
    policy: 'default:\n  acl:\n    - { permission: deny, action: all, topics: ["#"] }\n',
    config: {
      instance: 'old',
      nats: { servers: [server.url], prefix, feed: false, feedExclude: [] },
      fallback: { 'client.authenticate': 'ignore', 'client.authorize': 'ignore', 'message.publish': 'ignore' },
    },
  });
}, 30_000);
afterAll(async () => {
  await h?.close();
  await nc?.close();
  await server?.cleanup();
});

const authorize = (w: Who) =>
  h.client.call<{ type: string; bool_result?: boolean }>('OnClientAuthorize', {
    clientinfo: clientinfo(w),
    type: 'PUBLISH',
    topic: 't',
    result: true,
    meta: META,
  });

async function messagesOf(clientId: string): Promise<number> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(streamName(prefix, 'JOURNAL'), { subjects_filter: `${prefix}.journal.${clientKey(clientId)}` });
  return info.state.subjects?.[`${prefix}.journal.${clientKey(clientId)}`] ?? 0;
}

describe('rolling upgrades', () => {
  it('versions - a client of a newer machine or schema gets the fallback and nothing is written over it', async () => {
    for (const id of ['new-machine', 'new-schema']) {
      const before = await messagesOf(id);
      const a = await authorize({ clientid: id });
      expect(a.type).toBe('IGNORE'); // the fallback, not this version's deny
      expect(await messagesOf(id)).toBe(before);
    }
    const own = await authorize({ clientid: 'own-client' }); // everyone else is served as usual
    expect(own.bool_result).toBe(false);
    expect(await messagesOf('own-client')).toBe(1);
    expect(h.logs.some((l) => l.includes('written by a newer hookwarden'))).toBe(true);
  }, 30_000);

  it("versions - with an instance of the newer version up, the client's hooks are forwarded to it and its decision is answered", async () => {
    const seen: HookEvent[] = [];
    const newer = new Forwarding(nc, prefix, createLogger('silent'));
    newer.serve('client-99.0', {
      decide: (event) => {
        seen.push(event);
        return decision('deny', { code: 'acl.rule', policy: 'newer', detail: 'decided by the newer version' });
      },
      notify: (event) => void seen.push(event),
    });
    try {
      const before = await messagesOf('new-machine');
      const a = await authorize({ clientid: 'new-machine' });
      expect(a).toMatchObject({ type: 'STOP_AND_RETURN', bool_result: false }); // the newer instance's deny, not the fallback
      expect(seen.map((e) => e.type)).toEqual(['client.authorize']);
      // a notification is handed over too (not awaited: EMQX already has its answer)
      await h.client.call('OnClientConnected', { clientinfo: clientinfo({ clientid: 'new-machine' }), meta: META });
      const until = Date.now() + 2000;
      while (seen.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(seen.map((e) => e.type)).toEqual(['client.authorize', 'client.connected']);
      expect(await messagesOf('new-machine')).toBe(before); // still nothing written here
    } finally {
      newer.close();
    }
    const t0 = Date.now();
    expect((await authorize({ clientid: 'new-machine' })).type).toBe('IGNORE'); // nobody of that version: fallback, fast
    expect(Date.now() - t0).toBeLessThan(900);
  }, 30_000);

  it('versions - hook events cross the wire intact, byte payloads included', () => {
    const ev = { type: 'message.publish', at: 5, generation: 'v2', message: { payload: new Uint8Array([0, 255, 7]), topic: 't' } };
    const back = decodeHookEvent(encodeHookEvent(ev as unknown as HookEvent)) as unknown as typeof ev;
    expect([...back.message.payload]).toEqual([0, 255, 7]);
    expect(back).toMatchObject({ type: 'message.publish', at: 5, message: { topic: 't' } });
  });
});
