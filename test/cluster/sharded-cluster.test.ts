/**
 * Two hookwarden instances (in process, each its own gRPC port and NATS
 * connection) on a journal split into 4 shards on a test-owned nats-server.
 * Clients' hooks go to a random instance each time: the rate bound and a ban
 * still hold across the instances, each client's records sit in its shard's
 * stream without fork or duplicate, and membership reports the shards each
 * instance wrote to.
 */
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../../src/journal/client-key.js';
import { shardStreamName } from '../../src/journal/nats-journal.js';
import { ShardedJournal } from '../../src/journal/sharded-journal.js';
import type { Who } from '../support/emqx-shapes.js';
import { startHarness, type Harness } from '../support/in-process.js';
import { NatsServer } from '../support/nats-server.js';
import { authorizeVia, pickOf, publishVia, recordsInStream } from '../support/cluster-calls.js';

const POLICY = `
default:
  limits: { messages_rate: "5/s", messages_burst: 5 }
  acl:
    - { permission: allow, action: all, topics: ["#"] }
`;

let server: NatsServer;
let nc: NatsConnection;
const prefix = `ssw${process.pid}`;
const instances: Harness[] = [];

beforeAll(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url });
  for (const name of ['a', 'b']) {
    instances.push(
      await startHarness({
        policy: POLICY,
        config: {
          instance: name,
          nats: { servers: [server.url], prefix, shards: 4, feed: false, feedExclude: [] },
          deadlineMs: 1500,
          clusterHeartbeatMs: 200,
        },
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
const journalOf = (clientId: string) => recordsInStream(nc, shardStreamName(prefix, shardOf(clientId, 4)), clientId);

describe('single writer per client over a sharded journal', () => {
  it('sharded cluster - random routing over 2 instances: the rate bound holds per client and the journal has one record per answer', async () => {
    expect(instances.every((h) => h.running.journal instanceof ShardedJournal)).toBe(true);
    // two clients on different shards, hooks interleaved
    const roamers = ['roamer-0'];
    for (let i = 1; roamers.length < 2; i++) if (shardOf(`roamer-${i}`, 4) !== shardOf('roamer-0', 4)) roamers.push(`roamer-${i}`);
    const t0 = Date.now();
    const allowed = new Map<string, number>();
    const n = 40;
    for (let i = 0; i < n; i++) {
      for (const id of roamers) {
        const a = await publish(pick(), { clientid: id, username: 'u' }, i);
        if (a.type === 'IGNORE' || a.message?.headers.allow_publish !== 'false') allowed.set(id, (allowed.get(id) ?? 0) + 1);
      }
    }
    const elapsedS = (Date.now() - t0) / 1000;
    for (const id of roamers) {
      expect(allowed.get(id) ?? 0).toBeLessThanOrEqual(5 + Math.ceil(5 * elapsedS) + 1); // GCRA bound over the cluster
      expect(allowed.get(id) ?? 0).toBeGreaterThanOrEqual(5);
      const records = (await journalOf(id)).filter((r) => r.hook === 'message.publish');
      expect(records).toHaveLength(n); // no fork, no duplicate
      expect(new Set(records.map((r) => r.id)).size).toBe(n);
      expect(records.map((r) => r.at)).toEqual([...records.map((r) => r.at)].sort((x, y) => x - y));
    }
    const redone = instances.reduce((s, h) => s + h.running.service.writerCounters.redone, 0);
    expect(redone).toBeGreaterThan(0); // the instances really did step on each other
  }, 60_000);

  it('sharded cluster - a ban set on one instance holds on the other at the next decision', async () => {
    const w: Who = { clientid: 'banned-one', username: 'u' };
    const [a, b] = instances as [Harness, Harness];
    expect((await authorize(b, w)).bool_result).toBe(true);
    await a.running.service.command(w.clientid, (_s, at) => ({ type: 'admin.ban', at, untilAt: at + 60_000, reason: 'test' }));
    expect((await authorize(b, w)).bool_result).toBe(false);
    expect((await publish(b, w, 1)).message?.headers.allow_publish).toBe('false');
    expect((await journalOf(w.clientid)).map((r) => r.hook)).toContain('admin.ban');
  }, 30_000);

  it('sharded cluster - membership reports the shards an instance appended for in the last interval', async () => {
    const [a] = instances as [Harness, Harness];
    const id = 'member-check';
    const until = Date.now() + 5000;
    let shards: readonly number[] = [];
    while (Date.now() < until) {
      await authorize(a, { clientid: id, username: 'u' });
      await new Promise((r) => setTimeout(r, 100));
      shards = a.running.membership?.self?.shards ?? [];
      if (shards.includes(shardOf(id, 4))) break;
    }
    expect(shards).toContain(shardOf(id, 4));
    const listed = await a.running.membership?.list();
    expect(listed?.find((i) => i.name === 'a')?.shards).toEqual(expect.arrayContaining([shardOf(id, 4)]));
    // idle: the next heartbeats report nothing
    await new Promise((r) => setTimeout(r, 700));
    expect(a.running.membership?.self?.shards).toEqual([]);
  }, 30_000);
});
