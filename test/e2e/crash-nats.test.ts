/**
 * kill -9 of a real `hookwarden serve --nats` mid-load: no answered decision
 * is lost (each was acknowledged by JetStream before the answer) and the
 * restarted process continues every client from the journal stream.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openJournal } from '../../src/journal/open-journal.js';
import { NatsServer } from '../support/nats-server.js';
import type { Hookwarden } from '../support/process.js';
import { runCrashScenario } from './crash-scenario.js';
import { stopChild, workDir, type Driver } from './e2e-support.js';

let nats: NatsServer | undefined;
const started: Hookwarden[] = [];
const drivers: Driver[] = [];
const cleanups: (() => void)[] = [];
beforeAll(async () => {
  nats = await NatsServer.start();
});
afterAll(async () => {
  await nats?.cleanup();
});
afterEach(async () => {
  for (const d of drivers.splice(0)) d.close();
  await Promise.all(started.splice(0).map(stopChild));
  for (const c of cleanups.splice(0)) c();
});

describe('crash (NATS journal)', () => {
  it('crash nats - every decision answered before kill -9 is in the stream in order, and the restart continues each client from it', async () => {
    const wd = workDir('nats');
    cleanups.push(wd.cleanup);
    const url = (nats as NatsServer).url;
    const prefix = `hwcrash${process.pid}`;
    const figures = await runCrashScenario({
      args: ['--nats', url, '--nats-prefix', prefix, '--policy', wd.policyFile, '--policy-watch', 'false'],
      openJournal: () => openJournal({ nats: { connect: { servers: url }, prefix } }),
      tag: 'nats',
      started,
      drivers,
    });
    expect(figures.journaledBeforeRestart).toBeGreaterThan(0);
    console.info(`crash nats: ${JSON.stringify(figures)}`);
  }, 40_000);
});
