/**
 * kill -9 of a real `hookwarden serve --data-dir` mid-load: no answered
 * decision is lost and the restarted process continues every client from
 * the journaled state (docs/EVENTS.md §3, file adapter).
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openJournal } from '../../src/journal/open-journal.js';
import type { Hookwarden } from '../support/process.js';
import { runCrashScenario } from './crash-scenario.js';
import { stopChild, workDir, type Driver } from './e2e-support.js';

const started: Hookwarden[] = [];
const drivers: Driver[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) d.close();
  await Promise.all(started.splice(0).map(stopChild));
  for (const c of cleanups.splice(0)) c();
});

describe('crash (embedded journal)', () => {
  it('crash embedded - every decision answered before kill -9 is journaled in order, and the restart continues each client from it', async () => {
    const wd = workDir('emb');
    cleanups.push(wd.cleanup);
    const dataDir = join(wd.dir, 'data');
    const figures = await runCrashScenario({
      args: ['--data-dir', dataDir, '--policy', wd.policyFile, '--policy-watch', 'false'],
      openJournal: () => openJournal({ dataDir }),
      tag: 'emb',
      started,
      drivers,
    });
    expect(figures.journaledBeforeRestart).toBeGreaterThan(0);
    console.info(`crash embedded: ${JSON.stringify(figures)}`);
  }, 40_000);
});
