/**
 * Shards spread over the servers of a NATS cluster (docs/CLUSTER.md §Shards):
 * on a 3-node cluster whose servers carry placement tags, `shardTags` puts
 * shard s on the server tagged `tags[s mod 3]`; every client is reachable
 * through any node. (Without tags nats-server 2.9.10 placed all six R1
 * streams on one server here: the placement picks by free resources, which
 * R1 streams without max_bytes do not change.)
 */
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardStreamName } from '../../src/journal/nats-journal.js';
import { openNatsJournal, ShardedJournal } from '../../src/journal/sharded-journal.js';
import { startCluster, type NatsCluster } from '../support/nats-server.js';
import { publish } from '../journal/records.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let cluster: NatsCluster;
let nc: NatsConnection;
const prefix = `shp${process.pid}`;

beforeAll(async () => {
  cluster = await startCluster(3, { serverTags: (i) => [`zone:${i}`] });
  nc = await connect({ servers: [...cluster.urls] });
}, 40_000);
afterAll(async () => {
  await nc?.close();
  await cluster?.cleanup();
});

/** A fresh cluster elects its JetStream meta leader after the servers are ready: retry the open. */
async function openWhenReady(): Promise<ShardedJournal> {
  const end = Date.now() + 20_000;
  for (;;) {
    try {
      return (await openNatsJournal({ connection: nc, prefix, shards: 6, shardTags: ['zone:0', 'zone:1', 'zone:2'] })) as ShardedJournal;
    } catch (err) {
      if (Date.now() > end) throw err;
      await sleep(300);
    }
  }
}

describe('sharded placement', () => {
  it('sharded placement - with shard tags, 6 shard streams land on the 3 servers in turn; clients load through any node', async () => {
    const j = await openWhenReady();
    try {
      expect(j).toBeInstanceOf(ShardedJournal);
      const jsm = await nc.jetstreamManager();
      for (let s = 0; s < 6; s++) {
        const info = await jsm.streams.info(shardStreamName(prefix, s));
        expect(info.config.num_replicas).toBe(1);
        expect(info.config.placement?.tags).toEqual([`zone:${s % 3}`]);
        expect(info.cluster?.leader, `shard ${s}`).toBe(cluster.servers[s % 3]?.name);
      }
      for (let i = 0; i < 30; i++) await j.append(publish(`spread-${i}`, i + 1));
      // another connection, through another node, loads the same clients
      const other = await connect({ servers: cluster.urls[2] as string });
      try {
        const reader = (await openNatsJournal({ connection: other, prefix })) as ShardedJournal;
        expect(reader.shards).toHaveLength(6);
        for (let i = 0; i < 30; i++) expect((await reader.load(`spread-${i}`))?.seq).toBeGreaterThan(0);
        await reader.close();
      } finally {
        await other.close();
      }
    } finally {
      await j.close();
    }
  }, 60_000);
});
