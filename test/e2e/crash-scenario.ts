/**
 * The kill -9 scenario shared by the embedded and NATS crash tests: load,
 * SIGKILL mid-load, check the journal against every answer received,
 * restart on the same storage, check that the state continues.
 */
import { expect } from 'vitest';
import { stateName, unpackSnapshot } from '../../machines/client/client.step.js';
import type { JournalEntry, JournalPort } from '../../src/journal/journal.js';
import { startServe, type Hookwarden } from '../support/process.js';
import {
  BURST,
  Driver,
  allowedPublishes,
  crashProblems,
  expectedState,
  loadAndKill,
  pool,
  readJournal,
  restartAndTime,
  scriptOf,
  snapshotState,
  steps,
  type Answer,
  type Step,
} from './e2e-support.js';

export interface CrashFigures {
  readonly answeredBeforeKill: number;
  readonly failedAtKill: number;
  readonly journaledBeforeRestart: number;
  readonly listeningMs: number;
  readonly firstAnswerMs: number;
}

export interface CrashScenario {
  /** `serve` arguments selecting the storage (and the policy). */
  readonly args: readonly string[];
  /** Open the journal the process wrote, directly (the test is then its only user for embedded). */
  readonly openJournal: () => Promise<JournalPort>;
  readonly tag: string;
  /** Children started here, for the caller's cleanup. */
  readonly started: Hookwarden[];
  readonly drivers: Driver[];
}

const CLIENTS = 50;

export async function runCrashScenario(sc: CrashScenario): Promise<CrashFigures> {
  const ids = Array.from({ length: CLIENTS }, (_, i) => `${sc.tag}-${i}`);
  const scripts = new Map<string, Step[]>(ids.map((id, i) => [id, scriptOf(id, i)]));
  const totalValued = [...scripts.values()].flat().filter((s) => s.valued).length;

  // 1. load, SIGKILL once 60 % of the valued calls are answered (25 clients at a time: calls in flight)
  const first = await startServe(sc.args);
  sc.started.push(first);
  const driver = new Driver(first.port);
  sc.drivers.push(driver);
  await loadAndKill({ hw: first, driver, ids, scripts, concurrency: 25, killAfter: Math.floor(totalValued * 0.6) });
  driver.close();
  expect(first.child.signalCode).toBe('SIGKILL');
  expect(driver.failures.length, 'calls in flight at the kill').toBeGreaterThan(0);
  const answeredBefore = driver.answers.filter((a) => a.outcome !== undefined);
  expect(answeredBefore.length).toBeGreaterThanOrEqual(Math.floor(totalValued * 0.6));

  // 2. (a) every answered decision is journaled, per client in order; (b) load() restores the newest state
  const before = await withJournal(sc, async (journal) => {
    const { all, byClient } = await readJournal(journal);
    expect(new Set(all.map((e) => e.id)).size, 'CloudEvent ids unique').toBe(all.length);
    const problems = ids.flatMap((id) =>
      crashProblems(
        id,
        scripts.get(id) ?? [],
        driver.answers.filter((a) => a.clientId === id),
        byClient.get(id) ?? [],
      ),
    );
    expect(problems).toEqual([]);
    for (const id of ids) {
      const recs = byClient.get(id) ?? [];
      const loaded = await journal.load(id);
      const last = recs.at(-1);
      if (!last) {
        expect(loaded, `${id} has no records`).toBeUndefined();
        continue;
      }
      const want = expectedState(scripts.get(id) ?? [], recs.length);
      expect(last.record.state, `${id} newest record state`).toBe(want);
      expect(snapshotState(last), `${id} newest snapshot`).toBe(want);
      expect(loaded?.seq, `${id} loaded position`).toBe(last.seq);
      expect(loaded?.snapshot?.packed, `${id} loaded snapshot`).toBe(last.snapshot?.packed);
      if (loaded?.snapshot) expect(stateName(unpackSnapshot(loaded.snapshot.packed))).toBe(want);
    }
    return { all, byClient };
  });
  // the kill really was mid-load: some clients had finished, some were cut short
  const counts = ids.map((id) => before.byClient.get(id)?.length ?? 0);
  expect(counts.some((n, i) => n === scripts.get(ids[i] as string)?.length)).toBe(true);
  expect(counts.some((n, i) => n > 0 && n < (scripts.get(ids[i] as string)?.length ?? 0))).toBe(true);
  // some client had used up its burst and been refused before the kill, some had tokens left
  expect(answeredBefore.some((a) => a.hook === 'message.publish' && a.outcome === 'deny')).toBe(true);
  const used = ids.map((id) => allowedPublishes(before.byClient.get(id) ?? []));
  expect(used.some((n) => n > 0 && n < BURST)).toBe(true);

  // 3. restart on the same storage; time to the first answer
  const probe = { clientid: `${sc.tag}-probe` };
  const second = await restartAndTime(sc.args, (d) => d.call(probe, steps.authorize(`devices/${probe.clientid}/x`), 0));
  sc.started.push(second.hw);
  sc.drivers.push(second.driver);
  expect(second.driver.answers[0]?.outcome, 'first answer after the restart').toBe('allow');

  // 4. behaviour continues from the journal: each client gets exactly the tokens it has left
  const after = new Map<string, Answer[]>();
  await pool(
    ids.map((id) => async () => {
      const w = { clientid: id, username: `u-${id}` };
      const base = 100;
      const script = [
        steps.authorize(`devices/${id}/t`),
        steps.authorize(`forbidden/${id}`),
        ...Array.from({ length: BURST + 1 }, () => steps.publish(`devices/${id}/t`)),
      ];
      await second.driver.run(w, script, base);
      after.set(
        id,
        second.driver.answers.filter((a) => a.clientId === id && a.index >= base).sort((x, y) => x.index - y.index),
      );
    }),
    10,
  );
  expect(second.driver.failures).toEqual([]);
  for (const id of ids) {
    const used = allowedPublishes(before.byClient.get(id) ?? []);
    const left = Math.max(0, BURST - used);
    const got = (after.get(id) ?? []).map((a) => `${a.hook}:${a.outcome}`);
    const want = [
      'client.authorize:allow',
      'client.authorize:deny',
      ...Array.from({ length: BURST + 1 }, (_, k) => `message.publish:${k < left ? 'allow' : 'deny'}`),
    ];
    expect(got, `${id}: used ${used} tokens before the crash`).toEqual(want);
  }
  second.driver.close();
  expect(await second.hw.stop()).toBe(0);

  // 5. the records written after the restart continue each client: same state, later positions
  await withJournal(sc, async (journal) => {
    const { byClient } = await readJournal(journal);
    for (const id of ids) {
      const old = before.byClient.get(id) ?? [];
      const all = byClient.get(id) ?? [];
      expect(
        all.slice(0, old.length).map((e) => e.id),
        `${id} history unchanged`,
      ).toEqual(old.map((e) => e.id));
      const fresh: JournalEntry[] = all.slice(old.length);
      expect(fresh.map((e) => `${e.record.hook}:${e.record.decision?.outcome}`)).toEqual(
        (after.get(id) ?? []).map((a) => `${a.hook}:${a.outcome}`),
      );
      const want = expectedState(scriptsOrEmpty(scripts, id), old.length);
      expect(
        fresh.map((e) => e.record.state),
        `${id}: state after the restart continues the journaled state`,
      ).toEqual(fresh.map(() => want));
      const lastOld = old.at(-1)?.seq ?? 0;
      expect(fresh.every((e) => e.seq > lastOld)).toBe(true);
    }
  });

  return {
    answeredBeforeKill: answeredBefore.length,
    failedAtKill: driver.failures.length,
    journaledBeforeRestart: before.all.length,
    listeningMs: second.listeningMs,
    firstAnswerMs: second.firstAnswerMs,
  };
}

const scriptsOrEmpty = (scripts: ReadonlyMap<string, Step[]>, id: string): Step[] => scripts.get(id) ?? [];

async function withJournal<T>(sc: CrashScenario, fn: (j: JournalPort) => Promise<T>): Promise<T> {
  const journal = await sc.openJournal();
  try {
    return await fn(journal);
  } finally {
    await journal.close();
  }
}
