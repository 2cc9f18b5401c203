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
});
