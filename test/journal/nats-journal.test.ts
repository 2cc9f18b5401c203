import { connect, nanos, StorageType, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JournalError } from '../../src/journal/journal-errors.js';
import { AppendTimeoutError, ConflictError } from '../../src/journal/journal-errors.js';
import type { JournalEntry, JournalRecord } from '../../src/journal/journal.js';
import { NatsJournal, type NatsJournalOptions } from '../../src/journal/nats-journal.js';
import { natsConnectionOptions } from '../../src/journal/nats-connect.js';
import { Secret } from '../../src/domain/secret.js';
import { NatsServer } from '../support/nats-server.js';
import { deny, NASTY_IDS, note, publish } from './records.js';

let server: NatsServer;
let shared: NatsConnection;
const journals: NatsJournal[] = [];
let n = 0;

beforeAll(async () => {
  server = await NatsServer.start();
  shared = await connect({ servers: server.url });
});
afterAll(async () => {
  await shared?.close();
  await server?.cleanup();
});
afterEach(async () => {
  await Promise.all(journals.splice(0).map((j) => j.close().catch(() => undefined)));
});

/** A journal on a fresh stream and prefix (unique per test). */
function names(): { stream: string; prefix: string } {
  n++;
  const tag = `${process.pid}_${n}`;
  return { stream: `HWTEST_${tag}`, prefix: `hwt${tag}` };
}

async function openJ(opts: Partial<NatsJournalOptions> & { stream: string; prefix: string }, url = server.url): Promise<NatsJournal> {
  const j = await NatsJournal.open({
    connect: { servers: url, pingIntervalMs: 1000 },
    instance: 'test',
    machineVersion: 'client-1.1',
    ...opts,
  });
  journals.push(j);
  return j;
}

const records = (entries: readonly JournalEntry[]): JournalRecord[] => entries.map((e) => e.record);

describe('nats journal', () => {
  it('nats journal - appends in order and loads a client in one read with its snapshot', async () => {
    const j = await openJ(names());
    for (const id of NASTY_IDS) {
      expect(j.append(note(id, 1))).toBeUndefined();
      const ack = await j.append(publish(id, 2), { snapshot: `snap-${id}` });
      expect(ack?.duplicate).toBe(false);
      await j.append(publish(id, 3, deny));
      const loaded = await j.load(id);
      expect(loaded?.seq).toBe((await j.recent(id, 1))[0]?.seq);
      expect(loaded?.snapshot).toMatchObject({ packed: `snap-${id}`, machineVersion: 'client-1.1', seq: ack?.seq });
      expect(records(loaded?.after ?? [])).toEqual([publish(id, 3, deny)]);
      expect(records(await j.recent(id, 10))).toEqual([note(id, 1), publish(id, 2), publish(id, 3, deny)]);
    }
    await j.append(publish('last', 9), { snapshot: 'L' });
    expect(await j.load('last')).toMatchObject({ snapshot: { packed: 'L' }, after: [], complete: true });
    expect(await j.load('never-seen')).toBeUndefined();
    const all: JournalEntry[] = [];
    for await (const e of j.readAll()) all.push(e);
    expect(all).toHaveLength(NASTY_IDS.length * 3 + 1);
    expect(all.map((e) => e.seq)).toEqual([...all.map((e) => e.seq)].sort((a, b) => a - b));
    expect(j.stats()).toMatchObject({ pending: 0, conflicts: 0, stored: all.length });
  });

  it('nats journal - 20 concurrent writers expecting the same position: exactly one wins', async () => {
    const nm = names();
    const writers = await Promise.all(Array.from({ length: 20 }, (_, i) => openJ({ ...nm, connection: shared, instance: `w${i}` })));
    await writers[0]?.append(publish('contended', 1));
    const loaded = await Promise.all(writers.map((w) => w.load('contended')));
    expect(new Set(loaded.map((l) => l?.seq)).size).toBe(1);
    const results = await Promise.allSettled(writers.map((w, i) => w.append(publish('contended', 100 + i)) as Promise<unknown>));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(19);
    for (const r of rejected) {
      expect(r.reason).toBeInstanceOf(ConflictError);
      expect(r.reason).toMatchObject({ code: 'EXH_JOURNAL_CONFLICT', clientId: 'contended', expectedSeq: loaded[0]?.seq });
    }
    expect(await writers[0]?.recent('contended', 100)).toHaveLength(2);
    // a loser reloads and succeeds
    const loser = writers[results.findIndex((r) => r.status === 'rejected')] as NatsJournal;
    await expect(loser.append(publish('contended', 999)) as Promise<unknown>).rejects.toBeInstanceOf(ConflictError); // still fenced
    await loser.load('contended');
    await expect(loser.append(publish('contended', 1000))).resolves.toMatchObject({ duplicate: false });
    expect(writers.reduce((s, w) => s + w.stats().conflicts, 0)).toBe(19);
  });

  it('nats journal - a stale writer is fenced: conflicts reach notifications via onError and clear on load()', async () => {
    const nm = names();
    const errors: { code: string; clientId: string; records: number }[] = [];
    const j1 = await openJ({
      ...nm,
      onError: (err: JournalError, clientId, dropped) => errors.push({ code: err.code, clientId, records: dropped.length }),
    });
    const j2 = await openJ(nm);
    await j1.append(publish('x', 1));
    await j2.load('x');
    await j2.append(publish('x', 2)); // j2 moves the client on
    j1.append(note('x', 3));
    j1.append(note('x', 4));
    await j1.flush();
    expect(errors).toEqual([{ code: 'EXH_JOURNAL_CONFLICT', clientId: 'x', records: 2 }]);
    await expect(j1.append(publish('x', 5)) as Promise<unknown>).rejects.toThrow(/fenced/);
    expect(records(await j1.recent('x', 10))).toEqual([publish('x', 1), publish('x', 2)]);
    const reloaded = await j1.load('x');
    expect(records(reloaded?.after ?? [])).toEqual([publish('x', 1), publish('x', 2)]); // no snapshot: the retained history
    await expect(j1.append(publish('x', 6))).resolves.toBeDefined();
    // a client this instance never loaded is appended as new: history means conflict
    await j2.append(publish('fresh', 1));
    await expect(j1.append(publish('fresh', 2)) as Promise<unknown>).rejects.toBeInstanceOf(ConflictError);
  });

  it('nats journal - setup is idempotent and names what is wrong with an existing stream', async () => {
    const nm = names();
    await openJ(nm);
    await openJ(nm); // again: same stream, checked, accepted
    const jsm = await shared.jetstreamManager();
    const bad = names();
    await jsm.streams.add({
      name: bad.stream,
      subjects: [`${bad.prefix}.journal.*`],
      storage: StorageType.Memory,
      duplicate_window: nanos(1000),
    });
    const err = (await openJ(bad).catch((e: unknown) => e)) as JournalError;
    expect(err.code).toBe('EXH_JOURNAL_SETUP');
    expect(err.message).toMatch(/storage is memory/);
    expect(err.message).toMatch(/direct get is off/);
    expect(err.message).toMatch(/duplicate window is 1000 ms/);
    const overlap = (await openJ({ stream: `${nm.stream}_B`, prefix: nm.prefix }).catch((e: unknown) => e)) as JournalError;
    expect(overlap.message).toMatch(/overlaps another stream/);
  });

  it('nats journal - clear errors without JetStream or without a server', async () => {
    const plain = await NatsServer.start({ jetstream: false });
    try {
      await expect(openJ(names(), plain.url)).rejects.toMatchObject({
        code: 'EXH_JOURNAL_SETUP',
        message: expect.stringMatching(/JetStream is not available/),
      });
    } finally {
      await plain.cleanup();
    }
    await expect(openJ(names(), 'nats://127.0.0.1:1')).rejects.toMatchObject({
      message: expect.stringMatching(/cannot connect to NATS at nats:\/\/127.0.0.1:1/),
    });
  });
});

describe('nats journal connection', () => {
  it('nats journal - connection options: seeds, user/password, token, credential files, TLS, and production defaults', () => {
    const o = natsConnectionOptions({
      servers: 'nats://a:4222, nats://b:4222',
      user: 'hw',
      pass: new Secret('pw'),
      tls: { caFile: 'ca.pem', certFile: 'c.pem', keyFile: 'k.pem' },
    });
    expect(o).toMatchObject({
      servers: ['nats://a:4222', 'nats://b:4222'],
      user: 'hw',
      pass: 'pw',
      maxReconnectAttempts: -1,
      pingInterval: 2000,
      maxPingOut: 2,
    });
    expect(o.tls).toEqual({ caFile: 'ca.pem', certFile: 'c.pem', keyFile: 'k.pem' });
    expect(natsConnectionOptions({ servers: ['nats://a'], token: 't0k' }).token).toBe('t0k');
    expect(() => natsConnectionOptions({ servers: 'nats://a', credsFile: '/nonexistent/hw.creds' })).toThrow(
      /cannot read the NATS credentials file \/nonexistent\/hw.creds/,
    );
    expect(() => natsConnectionOptions({ servers: 'nats://a', nkeySeedFile: '/nonexistent/seed' })).toThrow(/nkey seed file/);
  });

  it('nats journal - authenticates with user/password or token; a wrong password is a clear setup error without the password', async () => {
    const userSrv = await NatsServer.start({ config: 'authorization { user: hw, password: s3cret }\n' });
    const tokenSrv = await NatsServer.start({ config: 'authorization { token: t0ken }\n' });
    try {
      const j = await NatsJournal.open({ connect: { servers: userSrv.url, user: 'hw', pass: 's3cret' }, ...names() });
      journals.push(j);
      await expect(j.append(publish('auth', 1))).resolves.toBeDefined();
      const t = await NatsJournal.open({ connect: { servers: tokenSrv.url, token: new Secret('t0ken') }, ...names() });
      journals.push(t);
      await expect(t.append(publish('auth', 1))).resolves.toBeDefined();
      const err = (await NatsJournal.open({ connect: { servers: userSrv.url, user: 'hw', pass: 'wrong-pw' }, ...names() }).catch(
        (e: unknown) => e,
      )) as JournalError;
      expect(err.code).toBe('EXH_JOURNAL_SETUP');
      expect(err.message).toMatch(/cannot connect to NATS at .*(authorization|Authorization)/);
      expect(err.message).not.toContain('wrong-pw');
    } finally {
      await userSrv.cleanup();
      await tokenSrv.cleanup();
    }
  });
});

describe('nats journal faults', () => {
  let faulty: NatsServer;
  beforeAll(async () => {
    faulty = await NatsServer.start();
  });
  afterAll(async () => {
    await faulty?.cleanup();
  });

  it('nats journal - a retried append after a lost ack is stored once (SIGSTOP, then SIGCONT within the deadline)', async () => {
    const j = await openJ({ ...names(), apiTimeoutMs: 200 }, faulty.url);
    await j.append(publish('p', 1));
    await faulty.pause();
    const pending = j.append(publish('p', 2), { deadline: Date.now() + 5000 }) as Promise<{ seq: number; duplicate: boolean }>;
    await new Promise((r) => setTimeout(r, 900)); // several attempts time out meanwhile
    faulty.resume();
    const ack = await pending;
    const stored = await j.recent('p', 10);
    expect(records(stored)).toEqual([publish('p', 1), publish('p', 2)]);
    expect(stored[1]?.seq).toBe(ack.seq);
    expect(j.stats().timeouts).toBe(0);
  });

  it('nats journal - appends resume after SIGSTOP/SIGCONT; deadlines bound each append; nothing is duplicated', async () => {
    const j = await openJ({ ...names(), apiTimeoutMs: 150 }, faulty.url);
    const acked: number[] = [];
    const failures: string[] = [];
    let paused = false;
    let resumed = false;
    let ackedAfterResume = 0;
    const stopAt = Date.now() + 200;
    for (let i = 1; ackedAfterResume < 10 && i < 1000; i++) {
      if (!paused && Date.now() > stopAt) {
        await faulty.pause();
        paused = true;
        setTimeout(() => {
          faulty.resume();
          resumed = true;
        }, 1200);
      }
      await new Promise((r) => setTimeout(r, 10));
      const started = Date.now();
      try {
        await j.append(publish('s', i), { deadline: Date.now() + 400 });
        acked.push(i);
        if (resumed) ackedAfterResume++;
      } catch (err) {
        expect(Date.now() - started).toBeLessThan(1000); // the deadline bounds the wait
        failures.push((err as Error).name);
        // the caller's rule: after a timeout or conflict, reload before appending again
        for (;;) {
          try {
            await j.load('s');
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      }
    }
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((f) => f === 'AppendTimeoutError' || f === 'ConflictError')).toBe(true);
    const stored = await j.recent('s', 1000);
    const ats = stored.map((e) => e.record.at);
    expect(new Set(ats).size).toBe(ats.length); // no record twice
    for (const a of acked) expect(ats).toContain(a); // every acknowledged record is there
    expect([...ats].sort((x, y) => x - y)).toEqual(ats); // in order
  });

  it('nats journal - survives nats-server restarts (graceful and kill -9) on the same store', async () => {
    const j = await openJ({ ...names(), apiTimeoutMs: 300 }, faulty.url);
    for (let i = 1; i <= 5; i++) await j.append(publish('r', i), { snapshot: `R${i}` });
    const restarting = faulty.restart();
    const during = j.append(publish('r', 6), { deadline: Date.now() + 8000, snapshot: 'R6' });
    await restarting;
    await expect(during).resolves.toBeDefined();
    await faulty.restart({ crash: true });
    await expect(j.append(publish('r', 7), { deadline: Date.now() + 8000, snapshot: 'R7' })).resolves.toBeDefined();
    expect(records(await j.recent('r', 100)).map((r) => r.at)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await j.load('r')).toMatchObject({ snapshot: { packed: 'R7' }, after: [] });
  });

  it('nats journal - a durable append queued behind a stuck notification still rejects at its own deadline', async () => {
    const j = await openJ({ ...names(), apiTimeoutMs: 200 }, faulty.url);
    await j.append(publish('q', 1));
    await faulty.pause();
    try {
      j.append(note('q', 2)); // retried for up to 30 s
      const started = Date.now();
      await expect(j.append(publish('q', 3), { deadline: Date.now() + 500 }) as Promise<unknown>).rejects.toBeInstanceOf(
        AppendTimeoutError,
      );
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      faulty.resume();
    }
    await j.load('q');
    await expect(j.append(publish('q', 4))).resolves.toBeDefined();
  });
});
