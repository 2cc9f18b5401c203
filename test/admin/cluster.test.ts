/**
 * Cluster-wide effect of the admin API: two `hookwarden serve` processes
 * share a NATS JetStream journal (a nats-server owned by this test). An
 * override and a ban set through instance A's admin API hold at the very
 * next decision instance B makes for that client, although B holds its own
 * cached copy of the client (B's stale append is fenced; B loads the client
 * again and decides on the journal's state).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emqxClient, type EmqxClient } from '../support/emqx-client.js';
import { NatsServer } from '../support/nats-server.js';
import { startServe, type Hookwarden } from '../support/process.js';
import { allowed, api, hooks, published, TOKEN, type Json } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'hw-admin-cluster-'));
const policy = join(dir, 'policy.yaml');
writeFileSync(policy, 'default:\n  authenticate: allow\n  limits: { max_payload: "1KB" }\n  no_match: allow\n');

let nats: NatsServer;
const procs: Hookwarden[] = [];
const clients: EmqxClient[] = [];

/** The HTTP port a `serve` child logged. */
function httpPort(p: Hookwarden): number {
  for (const line of p.lines) {
    try {
      const rec = JSON.parse(line) as { msg?: string; port?: number };
      if (rec.msg === 'HTTP server listening' && typeof rec.port === 'number') return rec.port;
    } catch {
      /* not JSON */
    }
  }
  throw new Error(`no HTTP port in the log:\n${p.lines.join('\n')}`);
}

async function instance(name: string, prefix: string): Promise<{ base: string; hook: ReturnType<typeof hooks> }> {
  const p = await startServe([
    ...['--nats', nats.url, '--nats-prefix', prefix, '--instance', name, '--policy', policy],
    ...['--http-port', '0', '--http-host', '127.0.0.1', '--admin-token', TOKEN, '--log-level', 'info'],
  ]);
  procs.push(p);
  const client = emqxClient('v2', `127.0.0.1:${p.port}`);
  clients.push(client);
  return { base: `http://127.0.0.1:${httpPort(p)}`, hook: hooks(client) };
}

beforeAll(async () => {
  nats = await NatsServer.start();
}, 30_000);
afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(procs.map((p) => p.stop()));
  await nats?.cleanup();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('admin API across instances', () => {
  it('admin cluster - an override and a ban set on instance A hold at the next decision on instance B', async () => {
    const prefix = `t${Math.random().toString(36).slice(2, 8)}`;
    const a = await instance('a', prefix);
    const b = await instance('b', prefix);
    const w = { clientid: 'shared-client' };
    const payload = 'x'.repeat(20);

    // B knows the client (and keeps it in memory): a 20-byte publish is within the policy's 1KB
    await b.hook.connect(w);
    expect(published(await b.hook.publish(w, 't/1', payload))).toBe(true);

    // A sets an override it has never seen the client for: it loads the client from the journal first
    const put = await api(a.base, 'PUT', '/v1/clients/shared-client/override', {
      body: { limits: { max_payload: '10B' }, reason: 'cluster test' },
    });
    expect(put.status).toBe(200);
    expect(put.json.applied).toEqual([{ command: 'admin.override', facts: ['OverrideSet'] }]);
    const onA = (await api(a.base, 'GET', '/v1/clients/shared-client')).json as Json;
    expect(onA).toMatchObject({
      source: 'journal',
      state: 'connected',
      override: { limits: { max_payload: '10B' } },
      counters: { publishesAllowed: 1 },
    });

    // reading the client on B (from the journal) must not re-arm B's fence over its stale copy
    expect((await api(b.base, 'GET', '/v1/clients/shared-client')).json).toMatchObject({
      source: 'journal',
      override: { limits: { max_payload: '10B' } },
    });

    // B's very next decision follows the override (B's append on its stale copy was fenced: a conflict, then a redo)
    const conflicts = async (): Promise<number> => {
      const text = await (await fetch(`${b.base}/metrics`)).text();
      return Number(/^hookwarden_journal_conflicts_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? NaN);
    };
    expect(await conflicts()).toBe(0);
    expect(published(await b.hook.publish(w, 't/1', payload))).toBe(false);
    expect(await conflicts()).toBeGreaterThanOrEqual(1);
    const onB = (await api(b.base, 'GET', '/v1/clients/shared-client')).json as Json;
    expect(onB.override).toMatchObject({ limits: { max_payload: '10B' }, reason: 'cluster test' });
    expect(onB.lastDecision).toMatchObject({ outcome: 'deny', reason: { code: 'limit.max_payload', policy: 'default+override' } });

    // a ban through A: B refuses the next authorize; unban through B: A's view follows
    await api(a.base, 'PUT', '/v1/clients/shared-client/override', { body: { ban: '10m', reason: 'cluster ban' } });
    expect(allowed(await b.hook.authorize(w))).toBe(false);
    expect((await api(b.base, 'GET', '/v1/clients/shared-client')).json).toMatchObject({
      state: 'banned',
      standing: { ban: { kind: 'override', note: 'cluster ban' } },
    });
    const un = await api(b.base, 'POST', '/v1/clients/shared-client/unban');
    expect(un.json.applied).toEqual([{ command: 'admin.unban', facts: ['BanLifted'] }]);
    expect((await api(a.base, 'GET', '/v1/clients/shared-client')).json.standing.status).toBe('ok');
    expect(allowed(await b.hook.authorize(w))).toBe(true);

    // both instances are listed by either
    const instances = (await api(a.base, 'GET', '/v1/instances')).json.instances as Json[];
    expect(instances.map((i) => i.name).sort()).toEqual(['a', 'b']);
  }, 90_000);
});
