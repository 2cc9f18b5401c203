/**
 * The feed of a sharded journal: one projector per shard into the one feed
 * stream, positions kept in `<prefix>-feed-positions`, msgIDs
 * `<shard>:<seq>:<part>`, and projector leases per shard that spread over
 * the instances.
 */
import { AckPolicy, connect, StorageType, type JsMsg, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../../src/journal/client-key.js';
import { feedEventsOf } from '../../src/journal/events.js';
import { positionBucket, positionKey, type FeedOptions } from '../../src/journal/feed-projector.js';
import type { JournalRecord } from '../../src/journal/journal.js';
import { ShardedJournal, openNatsJournal } from '../../src/journal/sharded-journal.js';
import { natsFixture } from '../support/nats-fixture.js';
import { allow, deny, note, publish } from './records.js';

const nats = natsFixture();
let n = 0;

function names(): { prefix: string; feedStream: string } {
  n++;
  return { prefix: `shf${process.pid}x${n}`, feedStream: `SHF_${process.pid}_${n}` };
}

async function openJ(nm: ReturnType<typeof names>, feed: FeedOptions, shards = 4): Promise<ShardedJournal> {
  const j = await openNatsJournal({
    connection: nats.nc,
    prefix: nm.prefix,
    shards,
    feed: { stream: nm.feedStream, positionEveryMs: 100, ...feed },
  });
  expect(j).toBeInstanceOf(ShardedJournal);
  nats.track(j);
  return j as ShardedJournal;
}

const script = (c: string, t0 = 0): JournalRecord[] => [
  note(c, t0 + 1, 'client.connect', 'connecting'),
  { ...publish(c, t0 + 2, allow), hook: 'client.authenticate', detail: { username: 'u' } },
  note(c, t0 + 3, 'client.connected'),
  publish(c, t0 + 4, allow),
  publish(c, t0 + 5, deny),
  note(c, t0 + 6, 'client.disconnected', 'offline'),
];
const EVENTS_PER_SCRIPT = 6 + 3; // every hook + one decision per valued record

async function appendAll(j: ShardedJournal, recs: readonly JournalRecord[]): Promise<void> {
  for (const r of recs) await j.append(r);
  await j.flush();
}

/** Wait until every shard projector running in `j` has caught up with its shard stream. */
async function caughtUp(j: ShardedJournal): Promise<void> {
  const jsm = await nats.nc.jetstreamManager();
  for (const s of j.shards) {
    const last = (await jsm.streams.info(s.stream)).state.last_seq;
    if (last > 0) expect(await s.projector?.waitFor(last, 8000), `shard ${s.names.shard}`).toBe(true);
  }
}

async function drainFeed(feedStream: string, count: number, durable: string): Promise<JsMsg[]> {
  const jsm = await nats.nc.jetstreamManager();
  await jsm.consumers.add(feedStream, { durable_name: durable, ack_policy: AckPolicy.Explicit });
  const iter = await (await nats.nc.jetstream().consumers.get(feedStream, durable)).consume({ max_messages: 200 });
  const out: JsMsg[] = [];
  const timer = setTimeout(() => void iter.stop(), 5000);
  for await (const m of iter) {
    m.ack();
    out.push(m);
    if (out.length >= count) break;
  }
  clearTimeout(timer);
  iter.stop();
  return out;
}

const clients = Array.from({ length: 12 }, (_, i) => `cl.${i}`);

describe('sharded feed', () => {
  it('sharded feed - with 4 shards a subscriber sees every client’s events in journal order, marked with the shard', async () => {
    const nm = names();
    const j = await openJ(nm, { project: true });
    expect(j.projectingShards).toEqual([0, 1, 2, 3]);
    const recs = clients.flatMap((c) => script(c)).sort((a, b) => a.at - b.at); // interleaved clients
    await appendAll(j, recs);
    await caughtUp(j);
    const expected = new Map<string, string[]>();
    for await (const e of j.readAll()) {
      for (const fe of feedEventsOf(e)) expected.set(e.record.clientId, [...(expected.get(e.record.clientId) ?? []), fe.event.type]);
    }
    const total = clients.length * EVENTS_PER_SCRIPT;
    const msgs = await drainFeed(nm.feedStream, total, 'all');
    expect(msgs).toHaveLength(total);
    const got = new Map<string, string[]>();
    for (const m of msgs) {
      const ev = m.json<{ type: string; subject: string }>();
      const shard = shardOf(ev.subject, 4);
      expect(m.headers?.get('Hw-Shard')).toBe(String(shard));
      expect(m.headers?.get('Nats-Msg-Id')).toBe(`${shard}:${m.headers?.get('Hw-Journal-Seq')}:${m.headers?.get('Hw-Part')}`);
      expect(m.subject.split('.')).toHaveLength(5);
      got.set(ev.subject, [...(got.get(ev.subject) ?? []), ev.type]);
    }
    expect(got).toEqual(expected);
    expect(new Set(msgs.map((m) => m.headers?.get('Hw-Shard'))).size).toBeGreaterThan(1);
  });

  it('sharded feed - a restarted projector continues from its stored position without gaps or duplicates', async () => {
    const nm = names();
    const j1 = await openJ(nm, { project: true });
    await appendAll(
      j1,
      clients.flatMap((c) => script(c)),
    );
    await caughtUp(j1);
    await j1.close(); // graceful: every shard stores its position
    const kv = await nats.nc.jetstream().views.kv(positionBucket(nm.prefix), { history: 1, storage: StorageType.File });
    for (let s = 0; s < 4; s++) {
      const last = (await (await nats.nc.jetstreamManager()).streams.info(j1.shards[s]?.stream as string)).state.last_seq;
      expect((await kv.get(positionKey(s)))?.json<{ seq: number }>().seq).toBe(last);
    }

    const writer = await openJ(nm, { project: false }); // the journal moves on, nobody projects
    expect(writer.projectingShards).toEqual([]);
    for (const c of clients) await writer.load(c);
    await appendAll(
      writer,
      clients.flatMap((c) => script(c, 100)),
    );
    // shard 0's position falls back 3 messages, as after a crash between a publish and the position write
    const p0 = (await kv.get(positionKey(0)))?.json<{ seq: number }>().seq ?? 0;
    await kv.put(positionKey(0), new TextEncoder().encode(JSON.stringify({ seq: Math.max(0, p0 - 3) })));

    const j3 = await openJ(nm, { project: true });
    await caughtUp(j3);
    const total = 2 * clients.length * EVENTS_PER_SCRIPT;
    const msgs = await drainFeed(nm.feedStream, total, 'all');
    expect(msgs).toHaveLength(total);
    expect((await (await nats.nc.jetstreamManager()).streams.info(nm.feedStream)).state.messages).toBe(total); // the overlap was deduplicated
    const keys = msgs.map((m) => m.headers?.get('Nats-Msg-Id'));
    expect(new Set(keys).size).toBe(total);
    for (const c of clients) {
      const ats = msgs
        .map((m) => m.json<{ subject: string; data: { at: number } }>())
        .filter((e) => e.subject === c)
        .map((e) => e.data.at);
      expect(ats).toEqual([...ats].sort((a, b) => a - b));
      expect(new Set(ats).size).toBe(12); // 12 records, each with its events, none missing
    }
  });

  it('sharded feed - per-shard leases spread the projectors over two instances; one takes all when the other stops', async () => {
    const nm = names();
    const feed: FeedOptions = { project: 'lease', leaseTtlMs: 600 };
    const a = await openJ(nm, feed);
    expect(a.projectingShards).toEqual([0, 1, 2, 3]); // alone: all of them
    const b = await openJ(nm, feed);
    const until = Date.now() + 8000;
    while (Date.now() < until && !(a.projectingShards.length === 2 && b.projectingShards.length === 2)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(a.projectingShards).toHaveLength(2);
    expect(b.projectingShards).toHaveLength(2);
    expect([...a.projectingShards, ...b.projectingShards].sort()).toEqual([0, 1, 2, 3]);
    await a.close(); // releases its leases
    const until2 = Date.now() + 8000;
    while (Date.now() < until2 && b.projectingShards.length < 4) await new Promise((r) => setTimeout(r, 50));
    expect(b.projectingShards).toEqual([0, 1, 2, 3]);
    // and b projects what was written meanwhile, for every shard
    await appendAll(
      b,
      clients.flatMap((c) => script(c)),
    );
    await caughtUp(b);
  }, 30_000);
});
