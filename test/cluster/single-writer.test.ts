/**
 * Three hookwarden instances (in process, each its own gRPC port and NATS
 * connection) share one journal on a test-owned nats-server. One client's
 * hooks go to a random instance each time (an L7 balancer, or takeovers):
 * the rate bound holds over the whole cluster, a ban set on one instance
 * holds on the others, and the client's journal never forks.
 */
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamName } from '../../src/journal/nats-journal.js';
import { rateLimitedPolicy, type Who } from '../support/emqx-shapes.js';
import { startHarness, type Harness } from '../support/in-process.js';
import { NatsServer } from '../support/nats-server.js';
import { authorizeVia, pickOf, publishVia, recordsInStream } from '../support/cluster-calls.js';

const POLICY = rateLimitedPolicy('5/s', 5);

let server: NatsServer;
let nc: NatsConnection;
const prefix = `sw${process.pid}`;
const instances: Harness[] = [];

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url });
  for (const name of ['a', 'b', 'c']) {
    instances.push(
      await startHarness({
        policy: POLICY,
        config: { instance: name, nats: { servers: [server.url], prefix, feed: false, feedExclude: [] }, deadlineMs: 1500 },
      }),
    );
  }
}, 30_000);
afterAll(async () => {
  await Promise.all(instances.map((h) => h.close()));
  await nc?.close();
  await server?.cleanup();
});

const pick = (): Harness => pickOf(instances);
const publish = publishVia;
const authorize = authorizeVia;
const journalOf = (clientId: string) => recordsInStream(nc, streamName(prefix, 'JOURNAL'), clientId);

describe('single writer per client across instances', () => {
  it('cluster - random routing: the rate bound holds over the cluster and the journal has one record per answer, in order', async () => {
    const w: Who = { clientid: 'roamer', username: 'u' };
    const t0 = Date.now();
    let allowed = 0;
    const n = 60;
    for (let i = 0; i < n; i++) {
      const a = await publish(pick(), w, i);
      if (a.type === 'IGNORE' || a.message?.headers.allow_publish !== 'false') allowed++;
    }
    const elapsedS = (Date.now() - t0) / 1000;
    // GCRA: at most burst + rate * elapsed over any window (one extra for the boundary)
    expect(allowed).toBeLessThanOrEqual(5 + Math.ceil(5 * elapsedS) + 1);
    expect(allowed).toBeGreaterThanOrEqual(5);
    const records = (await journalOf('roamer')).filter((r) => r.hook === 'message.publish');
    expect(records).toHaveLength(n); // one stored record per answered hook: no fork, no duplicate
    expect(new Set(records.map((r) => r.id)).size).toBe(n);
    expect(records.map((r) => r.at)).toEqual([...records.map((r) => r.at)].sort((x, y) => x - y));
    const redone = instances.reduce((s, h) => s + h.running.service.writerCounters.redone, 0);
    expect(redone).toBeGreaterThan(0); // the instances really did step on each other
  }, 60_000);

  it('cluster - a ban set on one instance holds on the others at the next decision', async () => {
    const w: Who = { clientid: 'banned-one', username: 'u' };
    const [a, b, c] = instances as [Harness, Harness, Harness];
    expect((await authorize(b, w)).bool_result).toBe(true);
    expect((await authorize(c, w)).bool_result).toBe(true);
    await a.running.service.command(w.clientid, (_s, at) => ({ type: 'admin.ban', at, untilAt: at + 60_000, reason: 'test' }));
    expect((await authorize(b, w)).bool_result).toBe(false);
    expect((await authorize(c, w)).bool_result).toBe(false);
    expect((await publish(b, w, 1)).message?.headers.allow_publish).toBe('false');
  }, 30_000);
});
