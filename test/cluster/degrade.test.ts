/**
 * Degrade rules: while NATS cannot be reached, valued hooks are answered at
 * once from this instance's state (mode local) or denied (mode deny), every
 * answer is kept in the local outbox, and once NATS is back the outbox is
 * flushed into the journal: every answered decision there, once, in order.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../src/core/outbox.js';
import { openJournal } from '../../src/journal/open-journal.js';
import type { JournalEntry } from '../../src/journal/journal.js';
import { META, clientinfo, message, rateLimitedPolicy, type ValuedReply as Valued, type Who } from '../support/emqx-shapes.js';
import { startHarness, type Harness } from '../support/in-process.js';
import { NatsServer } from '../support/nats-server.js';
import { emqxClient, type EmqxClient } from '../support/emqx-client.js';
import { startServe } from '../support/process.js';
import { sleep, until } from '../e2e/e2e-support.js';

const POLICY = rateLimitedPolicy('2/s', 3);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rig(degrade: Partial<Record<'client.authenticate' | 'client.authorize' | 'message.publish', 'local' | 'deny'>> = {}) {
  const nats = await NatsServer.start();
  cleanups.push(() => nats.cleanup());
  const outboxDir = mkdtempSync(join(tmpdir(), 'hw-outbox-'));
  cleanups.push(() => rmSync(outboxDir, { recursive: true, force: true }));
  const prefix = `dg${process.pid}${Math.floor(Math.random() * 1e6)}`;
  const h = await startHarness({
    policy: POLICY,
    config: {
      instance: 'dg',
      deadlineMs: 400,
      nats: { servers: [nats.url], prefix, feed: false, feedExclude: [] },
      outboxDir,
      degrade: { 'client.authenticate': 'local', 'client.authorize': 'local', 'message.publish': 'local', ...degrade },
    },
  });
  cleanups.push(() => h.close());
  return { nats, h, prefix };
}

const publish = (h: Harness, w: Who, i: number) =>
  h.client.call<Valued>('OnMessagePublish', { message: message(w, `t/${i}`, `m${i}`, 1), meta: META });
const authorize = (h: Harness, w: Who, topic: string) =>
  h.client.call<Valued>('OnClientAuthorize', { clientinfo: clientinfo(w), type: 'PUBLISH', topic, result: true, meta: META });
const denied = (a: Valued) => a.message?.headers.allow_publish === 'false';

async function journalOf(url: string, prefix: string, clientId: string): Promise<JournalEntry[]> {
  const j = await openJournal({ nats: { connect: { servers: url }, prefix } });
  try {
    const out: JournalEntry[] = [];
    for await (const e of j.readAll()) if (e.record.clientId === clientId) out.push(e);
    return out;
  } finally {
    await j.close();
  }
}

describe('degrade rules', () => {
  it('degrade local - answers keep coming while NATS is frozen, limits hold locally, and the outbox lands in the journal once', async () => {
    const { nats, h, prefix } = await rig();
    const w: Who = { clientid: 'dev-1' };
    expect((await authorize(h, w, 'a/0')).bool_result).toBe(true); // known to the journal before the outage
    await nats.pause();
    const answers: { topic: string; ms: number; allowed: boolean }[] = [];
    for (let i = 1; i <= 8; i++) {
      const t0 = Date.now();
      const a = await authorize(h, w, `a/${i}`);
      answers.push({ topic: `a/${i}`, ms: Date.now() - t0, allowed: a.bool_result === true });
    }
    const pubs: boolean[] = [];
    for (let i = 0; i < 6; i++) pubs.push(!denied(await publish(h, w, i)));
    expect(h.running.service.degrade.degraded).toBe(true);
    expect(answers.every((a) => a.ms < 1000)).toBe(true); // within the deadline, fallback or not
    expect(answers.slice(-5).every((a) => a.ms < 100)).toBe(true); // once degraded: at once
    expect(pubs.filter(Boolean).length).toBe(3); // the burst, enforced locally
    const outboxed = h.running.service.degrade.outbox;
    expect(outboxed).toBeGreaterThanOrEqual(11);

    nats.resume();
    expect(await until(() => !h.running.service.degrade.degraded && h.running.service.degrade.outbox === 0, 10_000)).toBe(true);
    expect((await authorize(h, w, 'after')).bool_result).toBe(true);
    const records = await journalOf(nats.url, prefix, 'dev-1');
    const topics = records.filter((e) => e.record.hook === 'client.authorize').map((e) => e.record.detail?.topic);
    expect(topics).toEqual(['a/0', ...answers.map((a) => a.topic), 'after']); // each once, in order
    const published = records.filter((e) => e.record.hook === 'message.publish').map((e) => e.record.decision?.outcome);
    expect(published).toEqual(['allow', 'allow', 'allow', 'deny', 'deny', 'deny']);
    expect(new Set(records.map((e) => e.id)).size).toBe(records.length);
    const text = (await h.running.metrics.scrape()).text;
    const kept = Number(/hookwarden_outbox_records_total\{event="kept"\} (\d+)/.exec(text)?.[1]);
    const flushed = Number(/hookwarden_outbox_records_total\{event="flushed"\} (\d+)/.exec(text)?.[1]);
    expect(kept).toBeGreaterThanOrEqual(outboxed);
    expect(flushed).toBe(kept);
    expect(text).toMatch(/hookwarden_outbox_depth 0/);
  }, 40_000);

  it('degrade deny - a hook whose mode is deny fails closed while NATS is away, and the denial is journaled', async () => {
    const { nats, h, prefix } = await rig({ 'message.publish': 'deny' });
    const w: Who = { clientid: 'dev-2' };
    expect(denied(await publish(h, w, 0))).toBe(false);
    await nats.pause();
    await publish(h, w, 1); // waits for the deadline: this one finds out
    const a = await publish(h, w, 2);
    expect(denied(a)).toBe(true);
    expect((await authorize(h, w, 'x')).bool_result).toBe(true); // authorize stays local
    nats.resume();
    expect(await until(() => h.running.service.degrade.outbox === 0, 10_000)).toBe(true);
    const records = await journalOf(nats.url, prefix, 'dev-2');
    const last = records.filter((e) => e.record.hook === 'message.publish').at(-1);
    expect(last?.record.decision).toMatchObject({ outcome: 'deny', reason: { code: 'degraded' } });
    expect((await h.running.metrics.scrape()).text).toMatch(/hookwarden_degraded_denials_total [1-9]/);
  }, 40_000);
});

describe('degrade across a crash', () => {
  it("degrade restart - an outbox left by an instance killed during the outage is flushed by the next one, before the client's new records", async () => {
    const nats = await NatsServer.start();
    cleanups.push(() => nats.cleanup());
    const outboxDir = mkdtempSync(join(tmpdir(), 'hw-outbox-'));
    cleanups.push(() => rmSync(outboxDir, { recursive: true, force: true }));
    const policyDir = mkdtempSync(join(tmpdir(), 'hw-pol-'));
    cleanups.push(() => rmSync(policyDir, { recursive: true, force: true }));
    writeFileSync(join(policyDir, 'p.yaml'), POLICY);
    const prefix = `dgr${process.pid}`;
    const args = [
      '--policy',
      join(policyDir, 'p.yaml'),
      '--nats',
      nats.url,
      '--nats-prefix',
      prefix,
      '--feed',
      'false',
      '--outbox-dir',
      outboxDir,
      '--deadline',
      '400ms',
    ];
    const w: Who = { clientid: 'crashy' };
    const first = await startServe(args);
    cleanups.push(async () => void (await first.stop('SIGKILL')));
    const c1 = emqxClient('v2', `127.0.0.1:${first.port}`);
    cleanups.push(() => c1.close());
    const auth = (c: EmqxClient, topic: string) =>
      c.call<Valued>('OnClientAuthorize', { clientinfo: clientinfo(w), type: 'PUBLISH', topic, result: true, meta: META });
    await auth(c1, 'b/0');
    await nats.pause();
    for (let i = 1; i <= 5; i++) await auth(c1, `b/${i}`);
    await sleep(400); // the outbox is fdatasync'd every 200 ms
    first.child.kill('SIGKILL');
    nats.resume();
    const second = await startServe(args);
    cleanups.push(async () => void (await second.stop()));
    const c2 = emqxClient('v2', `127.0.0.1:${second.port}`);
    cleanups.push(() => c2.close());
    for (let i = 6; i <= 8; i++) expect((await auth(c2, `b/${i}`)).bool_result).toBe(true);
    await sleep(1200); // a flush round or two
    const topics = (await journalOf(nats.url, prefix, 'crashy'))
      .filter((e) => e.record.hook === 'client.authorize')
      .map((e) => e.record.detail?.topic);
    expect(topics).toEqual(['b/0', 'b/1', 'b/2', 'b/3', 'b/4', 'b/5', 'b/6', 'b/7', 'b/8']);
  }, 40_000);
});

describe('outbox', () => {
  it('outbox - survives a reopen, drops a torn last line, refuses past its bound', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hw-ob-'));
    try {
      const o = new Outbox({ dir, maxBytes: 100 });
      expect(o.append('{"a":1}')).toBe(true);
      expect(o.append('{"b":2}')).toBe(true);
      expect(o.append('x'.repeat(200))).toBe(false);
      o.close();
      writeFileSync(join(dir, 'outbox.jsonl'), '{"a":1}\n{"b":2}\n{"c":', { flag: 'w' });
      const again = new Outbox({ dir });
      expect(again.read()).toEqual(['{"a":1}', '{"b":2}']);
      expect(again.size).toBe(2);
      again.replace(['{"b":2}']);
      expect(again.read()).toEqual(['{"b":2}']);
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
