import { describe, expect, it } from 'vitest';
import { decodeEntries } from '../../src/journal/events.js';
import type { JournalRecord } from '../../src/journal/journal.js';
import { NatsJournal, type NatsJournalOptions } from '../../src/journal/nats-journal.js';
import { natsFixture } from '../support/nats-fixture.js';
import { deny, note, publish } from './records.js';

const nats = natsFixture();

function names(): { stream: string; prefix: string } {
  const tag = nats.tag();
  return { stream: `HWB_${tag}`, prefix: `hwb${tag}` };
}

async function openJ(opts: Partial<NatsJournalOptions> & { stream: string; prefix: string }): Promise<NatsJournal> {
  return nats.track(await NatsJournal.open({ connect: { servers: nats.url }, instance: 'batch', machineVersion: 'm1', ...opts }));
}

async function messages(stream: string): Promise<{ seq: number; data: string }[]> {
  const jsm = await nats.nc.jetstreamManager();
  const info = await jsm.streams.info(stream);
  const out: { seq: number; data: string }[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    out.push({ seq, data: new TextDecoder().decode(m.data) });
  }
  return out;
}

describe('nats journal batches', () => {
  it('batches - notifications held for the delay leave with the next valued record as one message, in order', async () => {
    const nm = names();
    const j = await openJ({ ...nm, notificationDelayMs: 5000 });
    const recs: JournalRecord[] = [note('c', 1, 'client.connect', 'connecting'), note('c', 2, 'session.created'), note('c', 3)];
    for (const r of recs) expect(j.append(r, { snapshot: `s${r.at}` })).toBeUndefined();
    expect(await messages(nm.stream)).toEqual([]); // held: nothing sent yet
    const ack = await j.append(publish('c', 4, deny), { snapshot: () => 'after-4' });
    const stored = await messages(nm.stream);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.seq).toBe(ack?.seq);
    const entries = decodeEntries(stored[0]?.data ?? '', ack?.seq);
    expect(entries?.map((e) => e.record)).toEqual([...recs, publish('c', 4, deny)]);
    expect(entries?.map((e) => e.snapshot?.packed)).toEqual([undefined, undefined, undefined, 'after-4']); // only the last is packed
    const loaded = await j.load('c');
    expect(loaded).toMatchObject({ seq: ack?.seq, snapshot: { packed: 'after-4', seq: ack?.seq }, after: [] });
    expect((await j.recent('c', 2)).map((e) => e.record.at)).toEqual([3, 4]);
    const all: number[] = [];
    for await (const e of j.readAll()) all.push(e.record.at);
    expect(all).toEqual([1, 2, 3, 4]);
  });

  it('batches - notifications alone are written within the delay; flush() sends them at once', async () => {
    const nm = names();
    const j = await openJ({ ...nm, notificationDelayMs: 30 });
    j.append(note('a', 1));
    j.append(note('b', 2));
    j.append(note('a', 3));
    await new Promise((r) => setTimeout(r, 400));
    expect((await messages(nm.stream)).map((m) => decodeEntries(m.data, m.seq)?.map((e) => e.record.at))).toEqual([[1, 3], [2]]);
    const slow = await openJ({ ...names(), notificationDelayMs: 60_000 });
    slow.append(note('z', 9));
    await slow.flush();
    expect(slow.stats()).toMatchObject({ stored: 1, pending: 0 });
  });

  it('batches - a batch over the size bound is split; order is kept across messages', async () => {
    const nm = names();
    const j = await openJ({ ...nm, notificationDelayMs: 5000 });
    const big = 'x'.repeat(40 * 1024);
    for (let i = 1; i <= 12; i++) j.append({ ...note('big', i), detail: { reason: big } });
    await j.append(publish('big', 13));
    const stored = await messages(nm.stream);
    expect(stored.length).toBeGreaterThan(1);
    expect(stored.every((m) => m.data.length <= 256 * 1024 + 64 * 1024)).toBe(true);
    expect(stored.flatMap((m) => decodeEntries(m.data, m.seq)?.map((e) => e.record.at) ?? [])).toEqual(
      Array.from({ length: 13 }, (_, i) => i + 1),
    );
  });
});

describe('nats journal batches and dedup', () => {
  it('batches - a record appended again under its id (outbox flush) never takes new records down with it as a duplicate', async () => {
    const nm = names();
    const j = await openJ({ ...nm, notificationDelayMs: 5000 });
    const first = await j.append(publish('d', 1), { id: 'rec-1' }); // stored once, e.g. before a crash
    const again = [
      j.append(publish('d', 1), { id: 'rec-1', durable: true, alone: true }),
      j.append(publish('d', 2), { id: 'rec-2', durable: true, alone: true }),
      j.append(publish('d', 3), { id: 'rec-3', durable: true, alone: true }),
    ];
    const acks = await Promise.all(again);
    expect(acks[0]).toMatchObject({ seq: first?.seq, duplicate: true });
    expect(acks.slice(1).every((a) => a?.duplicate === false)).toBe(true);
    const stored: string[] = [];
    for await (const e of j.readAll()) stored.push(e.id);
    expect(stored).toEqual(['rec-1', 'rec-2', 'rec-3']);
  });
});

describe('feed projector lease', () => {
  it('lease - one of several instances projects; another takes over when it stops', async () => {
    const nm = names();
    const feed = { stream: `HWBF_${nats.tag()}`, project: 'lease' as const, leaseTtlMs: 900 };
    const a = await openJ({ ...nm, feed, instance: 'a' });
    const b = await openJ({ ...nm, feed, instance: 'b' });
    const c = await openJ({ ...nm, feed, instance: 'c' });
    expect([a, b, c].filter((j) => j.projecting)).toHaveLength(1);
    const holder = [a, b, c].find((j) => j.projecting) as NatsJournal;
    await holder.close();
    const rest = [a, b, c].filter((j) => j !== holder);
    const deadline = Date.now() + 5000;
    while (rest.filter((j) => j.projecting).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(rest.filter((j) => j.projecting)).toHaveLength(1);
    const writer = rest[0] as NatsJournal;
    const last = (await writer.append(publish('p', 1)))?.seq ?? 0;
    const projector = rest.find((j) => j.projecting)?.projector;
    expect(await projector?.waitFor(last, 5000)).toBe(true);
  });
});
