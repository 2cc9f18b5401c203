/**
 * Admin commands are journaled like hooks: records `admin.*` with the
 * machine input, valid against the event schema, replayed exactly, and an
 * override set before a restart still holds after it (file journal).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClientEventType } from '../../machines/client/client.types.js';
import { ADMIN_COMMANDS } from '../../src/domain/admin-command.js';
import { feedEventsOf, FEED_KINDS, toCloudEvent } from '../../src/journal/events.js';
import type { JournalEntry } from '../../src/journal/journal.js';
import { openStorage } from '../../src/main.js';
import { createLogger } from '../../src/observability/logger.js';
import { replayJournal } from '../../src/tools/replay.js';
import { startHarness } from '../support/in-process.js';
import { loadSchemas, validate } from '../journal/json-schema-lite.js';
import { adminConfig, api, hooks, published, type Json } from './support.js';

const schemas = loadSchemas(fileURLToPath(new URL('../../schemas', import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'hw-admin-journal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const POLICY = 'default:\n  limits: { messages_rate: "100/s" }\n';

describe('admin journal', () => {
  it('admin journal - the command names are the machine admin events, one feed kind each', () => {
    const machineAdmin: readonly ClientEventType[] = ADMIN_COMMANDS; // type-checked: every command is a machine event
    expect(machineAdmin).toHaveLength(6);
    for (const k of [
      'admin.banned',
      'admin.unbanned',
      'admin.quarantined',
      'admin.released',
      'admin.override_set',
      'admin.override_cleared',
    ])
      expect(FEED_KINDS).toContain(k);
  });

  it('admin journal - an override survives a restart, its records validate and replay re-steps them exactly', async () => {
    const dataDir = join(dir, 'data');
    const config = { ...adminConfig, dataDir, fsyncIntervalMs: 0 };
    const w = { clientid: 'dev-7' };
    let h = await startHarness({ policy: POLICY, config });
    try {
      await hooks(h.client).connect(w);
      const base = `http://127.0.0.1:${h.running.httpPort}`;
      const put = await api(base, 'PUT', '/v1/clients/dev-7/override', {
        body: { limits: { messages_rate: '1/m', messages_burst: 2 }, quarantine: '1h', reason: 'noisy' },
      });
      expect(put.status).toBe(200);
      expect((await api(base, 'POST', '/v1/clients/dev-7/unban')).json.applied).toEqual([
        { command: 'admin.release', facts: ['QuarantineLifted'] },
      ]);
    } finally {
      await h.close();
    }
    // a new process on the same data directory loads the client with its override
    h = await startHarness({ policy: POLICY, config });
    try {
      const base = `http://127.0.0.1:${h.running.httpPort}`;
      const c = (await api(base, 'GET', '/v1/clients/dev-7')).json as Json;
      expect(c).toMatchObject({
        source: 'journal',
        state: 'connected',
        override: { limits: { messages_rate: '1/m', messages_burst: 2 }, reason: 'noisy' },
      });
      expect(c.recent.map((e: Json) => e.hook).slice(-3)).toEqual(['admin.override', 'admin.quarantine', 'admin.release']);
      const hook = hooks(h.client);
      const outcomes = [await hook.publish(w), await hook.publish(w), await hook.publish(w)].map(published);
      expect(outcomes).toEqual([true, true, false]); // the override's burst of 2, not the policy's 100
    } finally {
      await h.close();
    }
    const storage = await openStorage({ dataDir, fsyncIntervalMs: 0 }, createLogger('silent'));
    try {
      const entries: JournalEntry[] = [];
      for await (const e of storage.journal.readAll()) entries.push(e);
      const admin = entries.filter((e) => e.record.hook.startsWith('admin.'));
      expect(admin.map((e) => e.record.hook)).toEqual(['admin.override', 'admin.quarantine', 'admin.release']);
      for (const e of admin) {
        expect(e.record).toMatchObject({ clientId: 'dev-7', node: '' });
        expect(e.record.detail?.reason).toBe(e.record.hook === 'admin.release' ? undefined : 'noisy');
        expect(e.record.input).toMatchObject({ type: e.record.hook });
        const ev = toCloudEvent(e.record, e.id, e.source);
        expect(validate(schemas, 'urn:hookwarden:schema:event:v1', ev)).toEqual([]);
        expect(feedEventsOf(e).map((f) => f.kind)).toEqual([ev.type.replace(/^io\.hookwarden\.|\.v1$/g, '')]);
      }
      expect(toCloudEvent(admin[0]!.record, 'i', 's').type).toBe('io.hookwarden.admin.override_set.v1');
      const report = await replayJournal(storage.journal, storage.archive);
      expect(report.differences).toEqual([]);
      expect(report.replayed).toBe(entries.length);
    } finally {
      await storage.journal.close();
    }
  });
});
