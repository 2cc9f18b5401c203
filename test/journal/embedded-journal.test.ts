import fc from 'fast-check';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedJournal, type EmbeddedJournalOptions } from '../../src/journal/embedded-journal.js';
import type { JournalEntry, JournalRecord } from '../../src/journal/journal.js';
import { JournalClosedError } from '../../src/journal/journal-errors.js';
import { deny, note, publish } from './records.js';

const dirs: string[] = [];
const open: EmbeddedJournal[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((j) => j.close().catch(() => undefined)));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'hw-journal-'));
  dirs.push(d);
  return d;
}

async function openJ(opts: EmbeddedJournalOptions = {}): Promise<EmbeddedJournal> {
  const j = await EmbeddedJournal.open({ instance: 'test', machineVersion: 'client-1.1', ...opts });
  open.push(j);
  return j;
}

async function closeJ(j: EmbeddedJournal): Promise<void> {
  await j.close();
  open.splice(open.indexOf(j), 1);
}

const segmentText = (dir: string): string =>
  readdirSync(dir)
    .filter((f) => f.startsWith('seg-'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('');

const records = (entries: readonly JournalEntry[]): JournalRecord[] => entries.map((e) => e.record);

async function until(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('embedded journal', () => {
  it('embedded journal - memory mode keeps each client in order and loads the newest snapshot', async () => {
    const j = await openJ();
    expect(j.kind).toBe('memory');
    expect(j.append(note('a', 1))).toBeUndefined();
    expect(j.append(publish('a', 2), { snapshot: 'S2' })).toBeUndefined(); // nothing to wait for in memory
    j.append(note('b', 3));
    j.append(publish('a', 4, deny));
    expect(records(await j.recent('a', 10))).toEqual([note('a', 1), publish('a', 2), publish('a', 4, deny)]);
    expect(records(await j.recent('a', 1))).toEqual([publish('a', 4, deny)]);
    const loaded = await j.load('a');
    expect(loaded).toMatchObject({
      clientId: 'a',
      seq: 4,
      snapshot: { seq: 2, packed: 'S2', machineVersion: 'client-1.1' },
      complete: true,
    });
    expect(records(loaded?.after ?? [])).toEqual([publish('a', 4, deny)]);
    expect(await j.load('nobody')).toBeUndefined();
    const all: number[] = [];
    for await (const e of j.readAll()) all.push(e.seq);
    expect(all).toEqual([1, 2, 3, 4]);
  });

  it('embedded journal - a durable append resolves after its group was written with one write(2)', async () => {
    const dir = tempDir();
    const j = await openJ({ dataDir: dir, fsyncIntervalMs: 60_000 });
    const before = j.stats().writes ?? 0;
    const pending = Array.from({ length: 50 }, (_, i) => j.append(publish(`c${i % 5}`, i)));
    expect(pending.every((p) => p instanceof Promise)).toBe(true);
    expect(segmentText(dir)).toBe(''); // nothing written inside the turn
    const acks = await Promise.all(pending);
    expect(acks.map((a) => a?.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect((j.stats().writes ?? 0) - before).toBe(1);
    expect(segmentText(dir).split('\n').filter(Boolean)).toHaveLength(50);
  });

  it('embedded journal - buffered notifications are written within the flush interval, in order with decisions', async () => {
    const dir = tempDir();
    const j = await openJ({ dataDir: dir, flushIntervalMs: 30 });
    j.append(note('a', 1));
    j.append(note('a', 2));
    expect(segmentText(dir)).toBe('');
    await until(() => segmentText(dir).split('\n').filter(Boolean).length === 2, 1000);
    j.append(note('a', 3));
    await j.append(publish('a', 4)); // the decision carries the buffered notification with it
    const lines = segmentText(dir).split('\n').filter(Boolean);
    expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([1, 2, 3, 4]);
  });

  it('embedded journal - state survives a restart: newest snapshot, records after it, positions continue', async () => {
    const dir = tempDir();
    const j1 = await openJ({ dataDir: dir });
    j1.append(note('a', 1));
    await j1.append(publish('a', 2), { snapshot: 'A2' });
    await j1.append(publish('b', 3), { snapshot: 'B3' });
    j1.append(note('a', 4));
    await j1.append(publish('a', 5, deny));
    await closeJ(j1);

    const j2 = await openJ({ dataDir: dir });
    const a = await j2.load('a');
    expect(a).toMatchObject({ seq: 5, snapshot: { seq: 2, packed: 'A2', machineVersion: 'client-1.1' }, complete: true });
    expect(records(a?.after ?? [])).toEqual([note('a', 4), publish('a', 5, deny)]);
    expect(await j2.load('b')).toMatchObject({ seq: 3, snapshot: { packed: 'B3' }, after: [] });
    expect([...j2.snapshots()].map((s) => [s.clientId, s.snapshot.packed]).sort()).toEqual([
      ['a', 'A2'],
      ['b', 'B3'],
    ]);
    const ack = await j2.append(publish('a', 6));
    expect(ack?.seq).toBe(6);
    expect(records(await j2.recent('a', 100))).toEqual([
      note('a', 1),
      publish('a', 2),
      note('a', 4),
      publish('a', 5, deny),
      publish('a', 6),
    ]);
  });

  it('embedded journal - without a checkpoint, recovery replays the segments', async () => {
    const dir = tempDir();
    const j1 = await openJ({ dataDir: dir });
    for (let i = 1; i <= 20; i++) await j1.append(publish(`c${i % 3}`, i), { snapshot: `S${i}` });
    await closeJ(j1);
    unlinkSync(join(dir, 'checkpoint.jsonl'));
    const j2 = await openJ({ dataDir: dir });
    expect(await j2.load('c2')).toMatchObject({ seq: 20, snapshot: { packed: 'S20' }, after: [] });
    expect(await j2.load('c1')).toMatchObject({ seq: 19, snapshot: { packed: 'S19' } });
    j2.append(note('c0', 21));
    await j2.flush();
    expect((await j2.recent('c0', 1))[0]?.seq).toBe(21);
  });

  it('embedded journal - a torn last line is cut at open; everything before it is kept', async () => {
    const dir = tempDir();
    const j1 = await openJ({ dataDir: dir });
    await j1.append(publish('a', 1));
    await j1.append(publish('a', 2));
    await closeJ(j1);
    unlinkSync(join(dir, 'checkpoint.jsonl')); // as after a crash: recovery reads the segment
    const seg = readdirSync(dir).find((f) => f.startsWith('seg-')) as string;
    appendFileSync(join(dir, seg), '{"v":1,"seq":3,"event":{"specversion":"1.0","id":"x');
    const j2 = await openJ({ dataDir: dir });
    expect(records(await j2.recent('a', 10))).toEqual([publish('a', 1), publish('a', 2)]);
    expect((await j2.append(publish('a', 3)))?.seq).toBe(3);
    const text = readFileSync(join(dir, seg), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { seq: number })
        .map((l) => l.seq),
    ).toEqual([1, 2, 3]);
  });

  it('embedded journal - segments rotate; retention by size keeps the newest and never drops state a checkpoint lacks', async () => {
    const dir = tempDir();
    const j = await openJ({ dataDir: dir, segmentMaxBytes: 4096, retainBytes: 16_384, checkpointIntervalMs: 3_600_000 });
    for (let i = 1; i <= 300; i++) await j.append(publish(`c${i % 10}`, i), { snapshot: `S${i}` });
    expect(j.stats().segments).toBeGreaterThanOrEqual(4); // rotated (and already trimmed after rotations)
    await j.maintain(); // retention is blocked until a checkpoint covers the old segments: it writes one
    const segs = readdirSync(dir).filter((f) => f.startsWith('seg-'));
    const total = segs.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(total).toBeLessThanOrEqual(16_384 + 4096 + 1024);
    expect(readdirSync(dir)).toContain('checkpoint.jsonl');
    const first: number[] = [];
    for await (const e of j.readAll()) first.push(e.seq);
    expect(first[0]).toBeGreaterThan(1);
    expect(first.at(-1)).toBe(300);
    await closeJ(j);
    // the state of every client survives although its early records are gone
    const j2 = await openJ({ dataDir: dir });
    for (let c = 0; c < 10; c++) {
      const last = 300 - ((300 - c) % 10);
      expect(await j2.load(`c${c}`)).toMatchObject({ seq: last, snapshot: { packed: `S${last}` } });
    }
  });

  it('embedded journal - retention by age deletes closed segments older than retainMs', async () => {
    const dir = tempDir();
    let now = 1_000_000;
    const j = await openJ({ dataDir: dir, segmentMaxBytes: 2048, retainMs: 60_000, now: () => now });
    for (let i = 1; i <= 40; i++) await j.append(publish('a', i));
    const segsBefore = j.stats().segments ?? 0;
    expect(segsBefore).toBeGreaterThan(3);
    now += 61_000;
    await j.append(publish('a', 41)); // the active segment is fresh
    await j.maintain();
    expect(j.stats().segments).toBe(1);
    expect((await j.recent('a', 100)).map((e) => e.seq)).toContain(41);
  });

  it('embedded journal - memory stays bounded with many clients (tails only for recent ones)', async () => {
    const j = await openJ({ maxClients: 5000, tailClients: 500, tailPerClient: 4, tailMaxBytes: 200_000 });
    for (let i = 0; i < 20_000; i++) {
      j.append(publish(`client-${i}`, i), { snapshot: `state-${i}` });
      j.append(note(`client-${i}`, i + 1));
      j.append(note(`client-${i}`, i + 2));
    }
    const s = j.stats();
    expect(s.indexedClients).toBe(5000);
    expect(s.tailClients).toBeLessThanOrEqual(500);
    expect(s.tailBytes).toBeLessThanOrEqual(200_000);
    expect(await j.load('client-19999')).toMatchObject({ snapshot: { packed: 'state-19999' }, complete: true });
    expect((await j.load('client-19999'))?.after).toHaveLength(2);
    expect(await j.load('client-0')).toBeUndefined(); // forgotten, like the registry forgets it
    const busy = 'client-19999';
    for (let i = 0; i < 100; i++) j.append(note(busy, i));
    expect((await j.recent(busy, 100)).length).toBe(4); // per-client tail bound
  });

  it('embedded journal - one process per data directory', async () => {
    const dir = tempDir();
    const j = await openJ({ dataDir: dir });
    await expect(EmbeddedJournal.open({ dataDir: dir })).rejects.toMatchObject({
      code: 'EXH_JOURNAL_SETUP',
      message: expect.stringMatching(/in use by process/),
    });
    await closeJ(j);
    await closeJ(await openJ({ dataDir: dir }));
  });

  it('embedded journal - appends after close are refused (durable: rejected, notification: reported)', async () => {
    const dir = tempDir();
    const dropped: string[] = [];
    const j = await openJ({ dataDir: dir, onError: (err, clientId) => dropped.push(`${err.code}:${clientId}`) });
    await closeJ(j);
    await expect(j.append(publish('a', 1)) as Promise<unknown>).rejects.toBeInstanceOf(JournalClosedError);
    expect(j.append(note('b', 2))).toBeUndefined();
    expect(dropped).toEqual(['EXH_JOURNAL_CLOSED:b']);
  });

  it('embedded journal - with fsyncIntervalMs 0 a durable append resolves only after fdatasync', async () => {
    const j = await openJ({ dataDir: tempDir(), fsyncIntervalMs: 0 });
    const before = j.stats().fsyncs ?? 0;
    await Promise.all([j.append(publish('a', 1)), j.append(publish('b', 2))]);
    expect((j.stats().fsyncs ?? 0) - before).toBe(1);
  });

  it('embedded journal - random appends read back per client in append order, before and after a restart', async () => {
    const op = fc.record({
      client: fc.constantFrom('a', 'b.c', 'ü', ''),
      durable: fc.boolean(),
      snapshot: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
      tick: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
        const dir = mkdtempSync(join(tmpdir(), 'hw-journal-p-'));
        try {
          const j = await EmbeddedJournal.open({ dataDir: dir, flushIntervalMs: 5 });
          const expected = new Map<string, JournalRecord[]>();
          const waits: Promise<unknown>[] = [];
          let at = 0;
          for (const o of ops) {
            const r = o.durable ? publish(o.client, ++at) : note(o.client, ++at);
            const p = j.append(r, { durable: o.durable, ...(o.snapshot !== undefined ? { snapshot: o.snapshot } : {}) });
            if (p) waits.push(p);
            expected.set(o.client, [...(expected.get(o.client) ?? []), r]);
            if (o.tick) await new Promise((res) => setImmediate(res));
          }
          await Promise.all(waits);
          for (const [c, rs] of expected) expect(records(await j.recent(c, 1000))).toEqual(rs);
          await j.close();
          const j2 = await EmbeddedJournal.open({ dataDir: dir });
          try {
            const seen = new Map<string, JournalRecord[]>();
            let lastSeq = 0;
            for await (const e of j2.readAll()) {
              expect(e.seq).toBeGreaterThan(lastSeq);
              lastSeq = e.seq;
              seen.set(e.record.clientId, [...(seen.get(e.record.clientId) ?? []), e.record]);
            }
            expect(seen).toEqual(expected);
          } finally {
            await j2.close();
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 25 },
    );
  });
});
