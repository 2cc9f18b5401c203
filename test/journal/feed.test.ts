import { fileURLToPath } from 'node:url';
import { AckPolicy, connect, type JsMsg, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { feedEventsOf } from '../../src/journal/events.js';
import type { JournalRecord } from '../../src/journal/journal.js';
import { NatsJournal, type NatsJournalOptions } from '../../src/journal/nats-journal.js';
import { natsFixture } from '../support/nats-fixture.js';
import { loadSchemas, validate } from './json-schema-lite.js';
import { allow, deny, note, publish } from './records.js';

const schemas = loadSchemas(fileURLToPath(new URL('../../schemas', import.meta.url)));
const nats = natsFixture();
let n = 0;

function names(): { stream: string; prefix: string; feedStream: string } {
  n++;
  const tag = `${process.pid}_${n}`;
  return { stream: `HWJ_${tag}`, prefix: `hwf${tag}`, feedStream: `HWF_${tag}` };
}

async function openJ(nm: ReturnType<typeof names>, feed: NonNullable<NatsJournalOptions['feed']>): Promise<NatsJournal> {
  const j = await NatsJournal.open({
    connect: { servers: nats.server.url },
    stream: nm.stream,
    prefix: nm.prefix,
    feed: { stream: nm.feedStream, ...feed },
  });
  nats.track(j);
  return j;
}

/** Everything a durable consumer on the feed receives, until `count` messages (bounded wait). */
async function drainFeed(feedStream: string, filter: string, count: number, durable = 'reader'): Promise<JsMsg[]> {
  const jsm = await nats.nc.jetstreamManager();
  await jsm.consumers.add(feedStream, { durable_name: durable, ack_policy: AckPolicy.Explicit, filter_subject: filter });
  const consumer = await nats.nc.jetstream().consumers.get(feedStream, durable);
  const out: JsMsg[] = [];
  const iter = await consumer.consume({ max_messages: 100 });
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

const script = (c: string): JournalRecord[] => [
  note(c, 1, 'client.connect', 'connecting'),
  { ...publish(c, 2, allow), hook: 'client.authenticate', detail: { username: 'u' } },
  note(c, 3, 'client.connected'),
  publish(c, 4, allow),
  publish(c, 5, deny),
  note(c, 6, 'session.subscribed'),
  note(c, 7, 'client.disconnected', 'offline'),
];

async function appendAll(j: NatsJournal, recs: readonly JournalRecord[]): Promise<number> {
  let last = 0;
  for (const r of recs) {
    const p = j.append(r);
    if (p) last = (await p).seq;
  }
  await j.flush();
  const info = await (await nats.nc.jetstreamManager()).streams.info(j.stream);
  return Math.max(last, info.state.last_seq);
}

describe('feed', () => {
  it('feed - a durable subscriber sees every event of each client in journal order, decisions included', async () => {
    const nm = names();
    const live: string[] = [];
    const sub = nats.nc.subscribe(`${nm.prefix}.events.client.>`, { callback: (_e, m) => live.push(m.subject) });
    const j = await openJ(nm, {});
    const recs = [...script('a.1'), ...script('b'), ...script('a.1')].sort((x, y) => x.at - y.at); // interleaved
    const last = await appendAll(j, recs);
    expect(await j.projector?.waitFor(last, 5000)).toBe(true);

    const expected = new Map<string, string[]>();
    const stored = [];
    for await (const e of j.readAll()) stored.push(e);
    for (const e of stored) {
      for (const fe of feedEventsOf(e))
        expected.set(e.record.clientId, [...(expected.get(e.record.clientId) ?? []), `${e.seq}:${fe.event.type}`]);
    }
    const total = [...expected.values()].reduce((s, l) => s + l.length, 0);
    expect(total).toBe(recs.length + 3 * 3); // one decision event per valued record
    const msgs = await drainFeed(nm.feedStream, `${nm.prefix}.events.>`, total);
    expect(msgs).toHaveLength(total);
    const got = new Map<string, string[]>();
    for (const m of msgs) {
      const ev = m.json<{ type: string; subject: string; data: { clientId: string } }>();
      expect(validate(schemas, 'urn:hookwarden:schema:event:v1', ev)).toEqual([]);
      expect(m.subject.split('.')).toHaveLength(5);
      expect(m.subject.split('.')[2]).toBe(ev.type.split('.')[2]); // category token
      expect(m.headers?.get('Content-Type')).toBe('application/cloudevents+json');
      got.set(ev.subject, [...(got.get(ev.subject) ?? []), `${m.headers?.get('Hw-Journal-Seq')}:${ev.type}`]);
    }
    expect(got).toEqual(expected);
    await nats.nc.flush();
    sub.unsubscribe();
    expect(live.length).toBe(3 * 4); // client.* hook events only: 4 per script run
    expect(live.every((s) => s.startsWith(`${nm.prefix}.events.client.`))).toBe(true);
  });

  it('feed - excluded kinds are left out; a restarted projector continues without gaps or duplicates', async () => {
    const nm = names();
    const exclude = ['message.publish_checked', 'decision.allowed'] as const;
    const j1 = await openJ(nm, { exclude });
    const first = await appendAll(j1, script('c'));
    expect(await j1.projector?.waitFor(first, 5000)).toBe(true);
    await j1.close(); // projector stops

    const writer = await openJ(nm, { project: false, exclude }); // journal moves on, nobody projects
    expect(writer.projector).toBeUndefined();
    await writer.load('c');
    const second = await appendAll(
      writer,
      [...script('c'), ...script('d')].map((r) => ({ ...r, at: r.at + 100 })),
    );

    const j3 = await openJ(nm, { exclude });
    expect(await j3.projector?.waitFor(second, 5000)).toBe(true);
    const expectedCount = 3 * (7 - 2 + 1); // per script: 7 hooks - 2 publish_checked + 1 denied decision
    const msgs = await drainFeed(nm.feedStream, `${nm.prefix}.events.>`, expectedCount, 'all');
    expect(msgs).toHaveLength(expectedCount);
    const jsm = await nats.nc.jetstreamManager();
    expect((await jsm.streams.info(nm.feedStream)).state.messages).toBe(expectedCount); // nothing more in the feed
    const keys = msgs.map((m) => m.headers?.get('Nats-Msg-Id'));
    expect(new Set(keys).size).toBe(keys.length);
    const types = msgs.map((m) => m.json<{ type: string }>().type);
    expect(types).not.toContain('io.hookwarden.message.publish_checked.v1');
    expect(types).not.toContain('io.hookwarden.decision.allowed.v1');
    expect(types.filter((t) => t === 'io.hookwarden.decision.denied.v1')).toHaveLength(3);
    const seqs = msgs.map((m) => Number(m.headers?.get('Hw-Journal-Seq')));
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  });
});
