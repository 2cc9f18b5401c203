/**
 * Replay equals live: a randomized EMQX-like run through the real edge with
 * the file journal, then `replay` re-steps every stored input and compares
 * snapshots, state names and decisions; `inspect` shows one client.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { openStorage } from '../../src/main.js';
import { inspectClient, formatInspect } from '../../src/tools/inspect.js';
import { replayJournal } from '../../src/tools/replay.js';
import { META, clientinfo, conninfo, message, type Who } from '../support/emqx-shapes.js';
import { startHarness } from '../support/in-process.js';
import { runCli } from '../support/process.js';

const POLICY = [
  'default:',
  '  authenticate: allow',
  '  limits: { messages_rate: "2/s", messages_burst: 3, max_payload: "1KB", max_subscriptions: 3 }',
  '  flapping: { max_count: 4, window_time: "1m", ban_time: "2s" }',
  '  quarantine: { max_violations: 6, window_time: "1m", duration: "1s" }',
  '  acl:',
  '    - { permission: allow, action: all, topics: ["dev/${clientid}/#"] }',
  '    - { permission: deny, action: all, topics: ["#"] }',
  'policies:',
  '  - { name: shadowed, match: { clientid: "s-*" }, mode: shadow }',
  '',
].join('\n');

type Step = { kind: 'connect' | 'connected' | 'publish' | 'big' | 'authorize' | 'forbidden' | 'subscribe' | 'disconnect'; client: number };
const steps = fc.array(
  fc.record({
    kind: fc.constantFrom('connect', 'connected', 'publish', 'publish', 'publish', 'big', 'authorize', 'forbidden', 'subscribe', 'disconnect'),
    client: fc.nat({ max: 7 }),
  }) as fc.Arbitrary<Step>,
  { minLength: 300, maxLength: 300 },
);

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('replay', () => {
  it('replay - a long randomized run replays with zero differences; inspect shows the client', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hw-replay-'));
    dirs.push(dataDir);
    const h = await startHarness({ policy: POLICY, config: { dataDir, watchPolicy: false } });
    const [run] = fc.sample(steps, { numRuns: 1, seed: 42 });
    const who = (i: number): Who => ({ clientid: i % 2 === 0 ? `c-${i}` : `s-${i}`, username: `u${i}` });
    let n = 0;
    for (const s of run ?? []) {
      const w = who(s.client);
      const c = h.client;
      switch (s.kind) {
        case 'connect':
          await c.call('OnClientConnect', { conninfo: conninfo(w), props: [], meta: META });
          await c.call('OnClientAuthenticate', { clientinfo: clientinfo(w, 'pw'), result: false, meta: META });
          break;
        case 'connected':
          await c.call('OnSessionCreated', { clientinfo: clientinfo(w), meta: META });
          await c.call('OnClientConnected', { clientinfo: clientinfo(w), meta: META });
          break;
        case 'publish':
          await c.call('OnMessagePublish', { message: message(w, `dev/${w.clientid}/t`, 'hello'), meta: META });
          break;
        case 'big':
          await c.call('OnMessagePublish', { message: message(w, `dev/${w.clientid}/t`, Buffer.alloc(2048)), meta: META });
          break;
        case 'authorize':
          await c.call('OnClientAuthorize', { clientinfo: clientinfo(w), type: 'PUBLISH', topic: `dev/${w.clientid}/x`, result: true, meta: META });
          break;
        case 'forbidden':
          await c.call('OnClientAuthorize', { clientinfo: clientinfo(w), type: 'SUBSCRIBE', topic: 'other/#', result: true, meta: META });
          break;
        case 'subscribe':
          await c.call('OnSessionSubscribed', {
            clientinfo: clientinfo(w),
            topic: `dev/${w.clientid}/${n++ % 5}`,
            subopts: { qos: 1, share: '', rh: 0, rap: 0, nl: 0 },
            meta: META,
          });
          break;
        case 'disconnect':
          await c.call('OnClientDisconnected', { clientinfo: clientinfo(w), reason: 'normal', meta: META });
          break;
      }
    }
    await h.close();

    const storage = await openStorage({ dataDir, fsyncIntervalMs: 1000 }, createLogger('silent'));
    try {
      const report = await replayJournal(storage.journal, storage.archive);
      expect(report.differences).toEqual([]);
      expect(report.differenceCount).toBe(0);
      expect(report.truncated).toBe(0);
      expect(report.adopted).toBe(0);
      expect(report.replayed).toBe(report.records);
      expect(report.records).toBeGreaterThan(300);
      expect(report.clients).toBe(8);
      const seen = await inspectClient(storage.journal, storage.archive, 'c-0', 5);
      expect(seen.found).toBe(true);
      expect(seen.state).toMatch(/^(idle|connecting|connected|disconnected|banned|quarantined)$/);
      expect(seen.last.length).toBe(5);
      expect(seen.policy?.name).toBe('default');
      const text = formatInspect(seen);
      expect(text).toContain('client: "c-0"');
      expect(text).toContain('messages_rate 2/s burst 3');
      expect((await inspectClient(storage.journal, storage.archive, 'nobody', 5)).found).toBe(false);
    } finally {
      await storage.journal.close();
    }
    const cli = await runCli(['replay', '--data-dir', dataDir]);
    expect(cli.stdout).toContain('differences: 0');
    expect(cli.code).toBe(0);
    const insp = await runCli(['inspect', 's-1', '--data-dir', dataDir, '--last', '3']);
    expect(insp.code).toBe(0);
    expect(insp.stdout).toContain('client: "s-1"');
  }, 90_000);

  it('replay - a tampered snapshot is reported as a difference', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hw-replay-'));
    dirs.push(dataDir);
    const h = await startHarness({ policy: POLICY, config: { dataDir, watchPolicy: false } });
    const w: Who = { clientid: 'c-x' };
    for (let i = 0; i < 5; i++) await h.client.call('OnMessagePublish', { message: message(w, 'dev/c-x/t', 'x'), meta: META });
    await h.close();
    const storage = await openStorage({ dataDir, fsyncIntervalMs: 1000 }, createLogger('silent'));
    const real = storage.journal;
    // A reader that changes one stored decision: replay must notice.
    const tampered = {
      ...real,
      kind: real.kind,
      readAll: async function* () {
        let i = 0;
        for await (const e of real.readAll()) {
          if (i++ === 3 && e.record.decision) {
            yield { ...e, record: { ...e.record, decision: { ...e.record.decision, outcome: 'allow' as const, reason: { ...e.record.decision.reason, code: 'limit.ok' as const } } } };
          } else yield e;
        }
      },
    };
    try {
      const report = await replayJournal(tampered, storage.archive);
      expect(report.differenceCount).toBe(1);
      expect(report.differences[0]?.what).toBe('decision');
    } finally {
      await real.close();
    }
  }, 30_000);
});
