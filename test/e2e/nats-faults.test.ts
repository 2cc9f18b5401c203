/**
 * NATS faults under load, with a real `hookwarden serve --nats` child and a
 * real nats-server: a frozen server (SIGSTOP … SIGCONT) and a restarted one.
 * EMQX must get an answer to every valued hook within hookwarden's internal
 * deadline (the configured fallback counts), and once NATS is back the
 * journal must hold each call at most once, in order, and keep appending.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isFallback } from '../../src/domain/decision.js';
import type { JournalEntry } from '../../src/journal/journal.js';
import { openJournal } from '../../src/journal/open-journal.js';
import { NatsServer } from '../support/nats-server.js';
import { startServe, type Hookwarden } from '../support/process.js';
import { Driver, connectSteps, pool, readJournal, recordKey, sleep, steps, stopChild, workDir, type Answer } from './e2e-support.js';

const DEADLINE_MS = 800;
/** Scheduling slack on a shared 2-core machine, on top of the deadline. */
const SLACK_MS = 400;
/** After NATS is back: time for hookwarden to reconnect and drain what it had queued. */
const SETTLE_MS = 1500;
const CLIENTS = 16;

const servers: NatsServer[] = [];
const started: Hookwarden[] = [];
const drivers: Driver[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) d.close();
  await Promise.all(started.splice(0).map(stopChild));
  await Promise.all(servers.splice(0).map((s) => s.cleanup()));
  for (const c of cleanups.splice(0)) c();
});

interface Rig {
  readonly nats: NatsServer;
  readonly hw: Hookwarden;
  readonly driver: Driver;
  readonly prefix: string;
  readonly ids: readonly string[];
}

async function rig(tag: string): Promise<Rig> {
  const nats = await NatsServer.start();
  servers.push(nats);
  const wd = workDir(tag);
  cleanups.push(wd.cleanup);
  const prefix = `hw${tag}${process.pid}`;
  const hw = await startServe([
    '--nats',
    nats.url,
    '--nats-prefix',
    prefix,
    '--deadline',
    `${DEADLINE_MS}ms`,
    '--policy',
    wd.policyFile,
    '--policy-watch',
    'false',
  ]);
  started.push(hw);
  const driver = new Driver(hw.port);
  drivers.push(driver);
  const ids = Array.from({ length: CLIENTS }, (_, i) => `${tag}-${i}`);
  // every client connected before the load
  await pool(
    ids.map((id) => () => driver.run({ clientid: id }, connectSteps())),
    8,
  );
  expect(driver.failures).toEqual([]);
  expect(driver.answers.filter((a) => a.outcome !== undefined).every((a) => a.outcome === 'allow')).toBe(true);
  return { nats, hw, driver, prefix, ids };
}

/**
 * Each client alternates an authorize of a fresh own topic (always allowed)
 * and a publish (allowed while tokens last, then denied), one call at a time,
 * 25 ms apart, until `fault` has run and `afterMs` more have passed.
 */
async function loadAround(r: Rig, fault: () => Promise<void>, afterMs: number): Promise<FaultWindow> {
  let stop = false;
  const base = 1000;
  const loops = r.ids.map(async (id) => {
    const w = { clientid: id };
    for (let n = 0; n < 2000 && !stop; n++) {
      const step = n % 2 === 0 ? steps.authorize(`devices/${id}/${n}`) : steps.publish(`devices/${id}/t`);
      await r.driver.call(w, step, base + n);
      await sleep(25);
    }
  });
  await sleep(600);
  const faultStart = Date.now();
  await fault();
  const faultEnd = Date.now();
  await sleep(afterMs);
  stop = true;
  await Promise.all(loops);
  return { faultStart, faultEnd };
}

const valuedAnswers = (d: Driver): Answer[] => d.answers.filter((a) => a.outcome !== undefined && a.key !== undefined);

/** From the start of the fault until NATS has been back for SETTLE_MS. */
interface FaultWindow {
  readonly faultStart: number;
  readonly faultEnd: number;
}
const sentAt = (a: Answer): number => a.at - a.ms;
const overlapsFault = (a: Answer, w: FaultWindow): boolean => a.at >= w.faultStart && sentAt(a) <= w.faultEnd + SETTLE_MS;

/**
 * Whether an answer certainly carries hookwarden's decision rather than the
 * fallback (`ignore`). authorize: IGNORE is only ever the fallback here.
 * publish: IGNORE is both an allow and the fallback, so during the fault it
 * proves nothing; outside it, no fallback is legitimate and the journal
 * check below holds it to its record.
 */
const isDecision = (a: Answer, w: FaultWindow): boolean =>
  a.hook === 'client.authorize' ? a.outcome !== 'ignore' : a.outcome === 'deny' || !overlapsFault(a, w);

/**
 * The journal checks, once NATS is back (empty when all hold): CloudEvent ids
 * unique; each call journaled at most once; per client, records in call order;
 * every answer that carried a decision journaled with that outcome; every
 * call sent after the settle time journaled.
 */
function journalProblems(answers: readonly Answer[], all: readonly JournalEntry[], w: FaultWindow): string[] {
  const problems: string[] = [];
  if (new Set(all.map((e) => e.id)).size !== all.length) problems.push('duplicate CloudEvent ids');
  const byKey = new Map<string, JournalEntry[]>();
  // a fallback answer is journaled as its own record (docs/EVENTS.md §3): kept apart from the hook's record
  const notes = new Map<string, JournalEntry>();
  const isNote = (e: JournalEntry): boolean => e.record.decision !== undefined && isFallback(e.record.decision);
  for (const e of all) {
    const k = recordKey(e);
    if (k !== undefined && isNote(e)) notes.set(`${e.record.clientId}|${k}`, e);
    else if (k !== undefined) byKey.set(`${e.record.clientId}|${k}`, [...(byKey.get(`${e.record.clientId}|${k}`) ?? []), e]);
  }
  all = all.filter((e) => !isNote(e));
  for (const [k, es] of byKey) if (es.length > 1) problems.push(`call ${k} journaled ${es.length} times`);
  const indexOf = new Map(answers.map((a) => [`${a.clientId}|${a.key}`, a.index]));
  const lastIndex = new Map<string, number>();
  for (const e of all) {
    const k = recordKey(e);
    const i = k === undefined ? undefined : indexOf.get(`${e.record.clientId}|${k}`);
    if (i === undefined) continue;
    const prev = lastIndex.get(e.record.clientId) ?? -1;
    if (i <= prev) problems.push(`${e.record.clientId}: call #${i} journaled after call #${prev}`);
    lastIndex.set(e.record.clientId, i);
  }
  for (const a of answers) {
    const e = byKey.get(`${a.clientId}|${a.key}`)?.[0];
    const answeredNote = notes.get(`${a.clientId}|${a.key}`)?.record.decision?.outcome === a.outcome;
    if (isDecision(a, w) && e?.record.decision?.outcome !== a.outcome && !answeredNote)
      problems.push(
        `${a.clientId} #${a.index} ${a.hook}: answered ${a.outcome} in ${a.ms} ms, journal has ${e?.record.decision?.outcome ?? 'nothing'}`,
      );
    else if (!e && sentAt(a) > w.faultEnd + SETTLE_MS)
      problems.push(`${a.clientId} #${a.index} ${a.hook} sent after NATS was back is not journaled`);
  }
  return problems;
}

/** Poll the journal until `journalProblems` is empty or `timeoutMs` passed; the last problems. */
async function settledJournal(
  r: Rig,
  w: FaultWindow,
  timeoutMs = 8000,
): Promise<{ problems: string[]; records: number; landedAfterFallback: number }> {
  const journal = await openJournal({ nats: { connect: { servers: r.nats.url }, prefix: r.prefix } });
  try {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const { all } = await readJournal(journal);
      const problems = journalProblems(valuedAnswers(r.driver), all, w);
      if (problems.length === 0 || Date.now() > end) {
        const keys = new Set(all.map((e) => `${e.record.clientId}|${recordKey(e)}`));
        const fallbacks = valuedAnswers(r.driver).filter((a) => a.hook === 'client.authorize' && a.outcome === 'ignore');
        return { problems, records: all.length, landedAfterFallback: fallbacks.filter((a) => keys.has(`${a.clientId}|${a.key}`)).length };
      }
      await sleep(300);
    }
  } finally {
    await journal.close();
  }
}

/** Figures of a run: answers, slowest, fallbacks (certain ones and as hookwarden logged them). */
function figuresOf(r: Rig, w: FaultWindow) {
  const valued = valuedAnswers(r.driver);
  const logged = r.hw.lines.filter((l) => l.includes('answered the configured fallback')).length;
  return {
    calls: valued.length,
    maxMs: Math.max(...valued.map((a) => a.ms)),
    duringFault: valued.filter((a) => overlapsFault(a, w)).length,
    authorizeFallbacks: valued.filter((a) => a.hook === 'client.authorize' && a.outcome === 'ignore').length,
    fallbacksLogged: logged,
    authorizeFallbacksAfterSettle: valued.filter(
      (a) => a.hook === 'client.authorize' && a.outcome === 'ignore' && sentAt(a) > w.faultEnd + SETTLE_MS,
    ).length,
    faultMs: w.faultEnd - w.faultStart,
  };
}

describe('NATS faults', () => {
  it('nats faults - a frozen nats-server (SIGSTOP…SIGCONT): every valued hook answered within the deadline, then the journal catches up without duplicates', async () => {
    const r = await rig('stop');
    const w = await loadAround(
      r,
      async () => {
        await r.nats.pause();
        await sleep(2500);
        r.nats.resume();
      },
      SETTLE_MS + 1500,
    );
    const figures = figuresOf(r, w);
    console.info(`nats faults SIGSTOP: ${JSON.stringify(figures)}`);
    expect(r.driver.failures).toEqual([]);
    expect(figures.maxMs, 'slowest valued answer, ms').toBeLessThanOrEqual(DEADLINE_MS + SLACK_MS);
    // the pause was felt: hooks got the fallback, or the instance switched to its degrade rule (local)
    const degradedLogged = r.hw.lines.some((l) => l.includes('degraded, deciding locally'));
    expect(figures.authorizeFallbacks + (degradedLogged ? 1 : 0), 'the pause was felt').toBeGreaterThan(0);
    expect(figures.authorizeFallbacksAfterSettle, 'fallback answers once NATS is back').toBe(0);
    const j = await settledJournal(r, w);
    console.info(`journal: ${JSON.stringify(j)}`);
    expect(j.problems).toEqual([]);
    expect(j.records).toBeGreaterThan(0);
  }, 40_000);

  it('nats faults - a restarted nats-server (same port and store): hooks answered within the deadline throughout, appends resume', async () => {
    const r = await rig('restart');
    const w = await loadAround(r, () => r.nats.restart(), SETTLE_MS + 1500);
    const figures = figuresOf(r, w);
    console.info(`nats faults restart: ${JSON.stringify(figures)}`);
    expect(r.driver.failures).toEqual([]);
    expect(figures.maxMs, 'slowest valued answer, ms').toBeLessThanOrEqual(DEADLINE_MS + SLACK_MS);
    expect(figures.authorizeFallbacksAfterSettle, 'fallback answers once NATS is back').toBe(0);
    const j = await settledJournal(r, w);
    console.info(`journal: ${JSON.stringify(j)}`);
    expect(j.problems).toEqual([]);
    expect(j.records).toBeGreaterThan(0);
  }, 40_000);
});
