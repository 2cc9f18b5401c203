/**
 * `replay` and `inspect` on a sharded NATS journal: they find the shard
 * streams themselves (no --nats-shards), replay every shard with zero
 * differences, and refuse a shard count that disagrees with the streams.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShardedJournal } from '../../src/journal/sharded-journal.js';
import { openStorage } from '../../src/main.js';
import { createLogger } from '../../src/observability/logger.js';
import { inspectClient } from '../../src/tools/inspect.js';
import { replayJournal } from '../../src/tools/replay.js';
import { META, clientinfo, conninfo, message, type Who } from '../support/emqx-shapes.js';
import { startHarness } from '../support/in-process.js';
import { NatsServer } from '../support/nats-server.js';
import { runCli } from '../support/process.js';

const POLICY = `
default:
  authenticate: allow
  limits: { messages_rate: "3/s", messages_burst: 2 }
  acl:
    - { permission: allow, action: all, topics: ["#"] }
`;

let server: NatsServer;
const prefix = `sht${process.pid}`;
const clients = Array.from({ length: 8 }, (_, i) => `tool-${i}`);

beforeAll(async () => {
  server = await NatsServer.start();
  const h = await startHarness({
    policy: POLICY,
    config: { nats: { servers: [server.url], prefix, shards: 4, feed: false, feedExclude: [] }, watchPolicy: false },
  });
  try {
    for (const id of clients) {
      const w: Who = { clientid: id, username: 'u' };
      await h.client.call('OnClientConnect', { conninfo: conninfo(w), props: [], meta: META });
      await h.client.call('OnClientAuthenticate', { clientinfo: clientinfo(w, 'pw'), result: false, meta: META });
      await h.client.call('OnClientConnected', { clientinfo: clientinfo(w), meta: META });
      for (let i = 0; i < 5; i++) await h.client.call('OnMessagePublish', { message: message(w, `t/${i}`, 'x'), meta: META });
    }
  } finally {
    await h.close();
  }
}, 30_000);
afterAll(async () => {
  await server?.cleanup();
});

describe('tools on a sharded journal', () => {
  it('sharded tools - replay and inspect discover the 4 shard streams and replay them with zero differences', async () => {
    const storage = await openStorage(
      { nats: { servers: [server.url], prefix, feed: false, feedExclude: [] }, fsyncIntervalMs: 1000 },
      createLogger('silent'),
    );
    try {
      expect(storage.journal).toBeInstanceOf(ShardedJournal);
      expect((storage.journal as ShardedJournal).shards).toHaveLength(4);
      const report = await replayJournal(storage.journal, storage.archive);
      expect(report.differenceCount).toBe(0);
      expect(report.clients).toBe(clients.length);
      expect(report.records).toBe(clients.length * 8);
      expect(report.replayed).toBe(report.records);
      const seen = await inspectClient(storage.journal, storage.archive, 'tool-3', 4);
      expect(seen.found).toBe(true);
      expect(seen.last).toHaveLength(4);
    } finally {
      await storage.journal.close();
      await storage.nc?.close();
    }
  });

  it('sharded tools - the CLI needs no --nats-shards, and refuses one that disagrees', async () => {
    const replay = await runCli(['replay', '--nats', server.url, '--nats-prefix', prefix]);
    expect(replay.stdout).toContain('differences: 0');
    expect(replay.code).toBe(0);
    const inspect = await runCli(['inspect', 'tool-5', '--nats', server.url, '--nats-prefix', prefix, '--json']);
    expect(inspect.code).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ found: true, clientId: 'tool-5' });
    const wrong = await runCli(['replay', '--nats', server.url, '--nats-prefix', prefix, '--nats-shards', '2']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/sharded into 4 streams .*nats\.shards \(--nats-shards N, HOOKWARDEN_NATS_SHARDS\) is 2/s);
  }, 60_000);
});
