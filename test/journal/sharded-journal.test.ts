/**
 * The sharded NATS journal on a test-owned nats-server: clients routed to
 * their shard's subject and stream, the fence per shard, reads, stats,
 * layout discovery and the refusal of a shard count the streams disagree with.
 */
import { connect, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clientKey, shardOf } from '../../src/journal/client-key.js';
import { decodeEntries } from '../../src/journal/events.js';
import type { JournalPort } from '../../src/journal/journal.js';
import { ConflictError, JournalError } from '../../src/journal/journal-errors.js';
import { NatsJournal, shardStreamName, streamName } from '../../src/journal/nats-journal.js';
import { openNatsJournal, ShardedJournal, type ShardedOptions } from '../../src/journal/sharded-journal.js';
import { natsFixture } from '../support/nats-fixture.js';
import { NASTY_IDS, note, publish } from './records.js';

const nats = natsFixture();
let n = 0;

const newPrefix = (): string => `sh${process.pid}x${++n}`;

async function open(prefix: string, opts: Partial<ShardedOptions> = {}): Promise<NatsJournal | ShardedJournal> {
  const j = await openNatsJournal({ connection: nats.nc, prefix, machineVersion: 'client-2.1', ...opts });
  nats.track(j);
  return j;
}

async function openSharded(prefix: string, shards = 4, opts: Partial<ShardedOptions> = {}): Promise<ShardedJournal> {
  const j = await open(prefix, { shards, ...opts });
  expect(j).toBeInstanceOf(ShardedJournal);
  return j as ShardedJournal;
}

const ids = [...NASTY_IDS, ...Array.from({ length: 24 }, (_, i) => `dev-${i}`)];

describe('sharded journal', () => {
  it('sharded - one R1 file stream per shard, each client on <prefix>.journal.<shard>.<key> in its shard stream', async () => {
    const prefix = newPrefix();
    const j = await openSharded(prefix);
    const jsm = await nats.nc.jetstreamManager();
    for (let s = 0; s < 4; s++) {
      const info = await jsm.streams.info(shardStreamName(prefix, s));
      expect(info.config.subjects).toEqual([`${prefix}.journal.${s}.*`]);
      expect(info.config.num_replicas).toBe(1);
      expect(info.config.storage).toBe('file');
      expect(info.config.allow_direct).toBe(true);
    }
    await expect(jsm.streams.info(streamName(prefix, 'JOURNAL'))).rejects.toThrow(); // no unsharded stream
    for (const [i, id] of ids.entries()) await j.append(publish(id, 1000 + i));
    await j.flush();
    const perShard = [0, 0, 0, 0];
    for (const id of ids) {
      const s = shardOf(id, 4);
      perShard[s]!++;
      const subject = `${prefix}.journal.${s}.${clientKey(id)}`;
      const m = await jsm.streams.getMessage(shardStreamName(prefix, s), { last_by_subj: subject });
      expect(decodeEntries(new TextDecoder().decode(m.data), m.seq)?.at(-1)?.record.clientId).toBe(id);
    }
    for (let s = 0; s < 4; s++) {
      expect((await jsm.streams.info(shardStreamName(prefix, s))).state.messages).toBe(perShard[s]);
    }
    expect(perShard.filter((c) => c > 0).length).toBeGreaterThanOrEqual(3); // 33 ids do spread
    expect(j.stats()).toMatchObject({ kind: 'nats', appended: ids.length, stored: ids.length, pending: 0 });
    expect(j.activeShards()).toEqual([0, 1, 2, 3].filter((s) => (perShard[s] ?? 0) > 0));
    expect(j.activeShards()).toEqual([]); // nothing appended since the last look
    await j.append(publish('dev-0', 5000));
    expect(j.activeShards()).toEqual([shardOf('dev-0', 4)]);
  });

  it('sharded - load, recent and readAll: per-client order, snapshots, every record once', async () => {
    const prefix = newPrefix();
    const j = await openSharded(prefix);
    const clients = ids.slice(0, 12);
    let at = 0;
    for (let round = 0; round < 5; round++) {
      for (const id of clients) {
        j.append(note(id, ++at), { snapshot: `snap-${id}-${round}` });
        await j.append(publish(id, ++at), { snapshot: `snap-${id}-${round}` });
      }
    }
    await j.flush();
    for (const id of clients) {
      const loaded = await j.load(id);
      expect(loaded?.snapshot?.packed).toBe(`snap-${id}-4`);
      expect(loaded?.snapshot?.machineVersion).toBe('client-2.1');
      const recent = await j.recent(id, 3);
      expect(recent.map((e) => e.record.hook)).toEqual(['message.publish', 'client.connected', 'message.publish']);
      expect(recent.every((e) => e.record.clientId === id)).toBe(true);
    }
    expect(await j.load('nobody-here')).toBeUndefined();
    const seen = new Map<string, number[]>();
    let total = 0;
    for await (const e of j.readAll()) {
      total++;
      seen.set(e.record.clientId, [...(seen.get(e.record.clientId) ?? []), e.record.at]);
    }
    expect(total).toBe(clients.length * 10);
    for (const id of clients) {
      const ats = seen.get(id) ?? [];
      expect(ats).toHaveLength(10);
      expect(ats).toEqual([...ats].sort((a, b) => a - b)); // arrival order per client
    }
  });

  it('sharded - the fence holds per shard: of 20 concurrent writers exactly one wins, on every shard', async () => {
    const prefix = newPrefix();
    const writers = await Promise.all(Array.from({ length: 20 }, () => openSharded(prefix)));
    // one client per shard
    const perShard = new Map<number, string>();
    for (let i = 0; perShard.size < 4; i++) if (!perShard.has(shardOf(`race-${i}`, 4))) perShard.set(shardOf(`race-${i}`, 4), `race-${i}`);
    for (const [shard, id] of perShard) {
      await writers[0]?.append(publish(id, 1));
      await Promise.all(writers.map((w) => w.load(id)));
      const results = await Promise.allSettled(writers.map((w, k) => w.append(publish(id, 100 + k)) as Promise<unknown>));
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won, `shard ${shard}`).toHaveLength(1);
      for (const r of lost) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
      // a loser is fenced until it loads; then its append lands behind the winner's
      const loser = writers[results.findIndex((r) => r.status === 'rejected')] as ShardedJournal;
      await expect(loser.append(publish(id, 200))).rejects.toBeInstanceOf(ConflictError);
      await loser.load(id);
      await expect(loser.append(publish(id, 201))).resolves.toMatchObject({ duplicate: false });
      expect((await loser.recent(id, 10)).map((e) => e.record.at).filter((at) => at >= 100)).toHaveLength(2);
    }
    expect(writers.reduce((s, w) => s + w.stats().conflicts, 0)).toBe(4 * 19);
  }, 60_000);

  it('sharded - a retried append with the same id is deduplicated; tracked notifications resolve', async () => {
    const prefix = newPrefix();
    const j = await openSharded(prefix);
    const first = await j.append(publish('dup', 1), { id: 'fixed-id-1' });
    const again = await (await openSharded(prefix)).append(publish('dup', 1), { id: 'fixed-id-1' });
    expect(again).toEqual({ seq: first?.seq, duplicate: true });
    const tracked = j.append(note('dup', 2), { track: true });
    expect(tracked).toBeInstanceOf(Promise);
    await expect(tracked).resolves.toMatchObject({ duplicate: false });
  });

  it('sharded - tools find the layout; a shard count that disagrees with the streams is refused at start', async () => {
    const prefix = newPrefix();
    const j = await openSharded(prefix, 4);
    await j.append(publish('someone', 1));
    const found = await open(prefix); // no count: the streams say 4
    expect(found).toBeInstanceOf(ShardedJournal);
    expect((found as ShardedJournal).shards).toHaveLength(4);
    expect((await found.load('someone'))?.seq).toBe(1);
    for (const wrong of [1, 2, 8]) {
      const err = await open(prefix, { shards: wrong }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JournalError);
      expect((err as JournalError).code).toBe('EXH_JOURNAL_SETUP');
      expect((err as Error).message).toContain('nats.shards (--nats-shards N, HOOKWARDEN_NATS_SHARDS)');
      expect((err as Error).message).toContain('set it');
    }
    // and the other way round: an unsharded journal with records refuses shards
    const plain = newPrefix();
    const one = await open(plain, { shards: 1 });
    expect(one).toBeInstanceOf(NatsJournal);
    expect((one as NatsJournal).stream).toBe(streamName(plain, 'JOURNAL'));
    await one.append(publish('x', 1));
    const err = await open(plain, { shards: 4 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/is not sharded .* remove the setting/);
    expect(nats.nc.isClosed()).toBe(false); // a refused open leaves a given connection alone
  });
});
