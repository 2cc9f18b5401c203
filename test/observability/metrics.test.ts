/**
 * /metrics under real gRPC calls: counters move for the right hook and
 * generation, decisions by outcome and reason, fallbacks, durable journal
 * appends, and the scrape-time gauges (clients, EMQX nodes, policy).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/policy/users.js';
import { METRIC_NAMES } from '../../src/observability/metrics.js';
import { emqxClient, type EmqxClient, type GenerationName } from '../support/emqx-client.js';
import { META, clientinfo, conninfo } from '../support/emqx-shapes.js';
import { startHarness, type Harness } from '../support/in-process.js';
import { declaredMetrics, httpGet, sample } from './scrape.js';

const ACL_POLICY = [
  'default:',
  '  acl:',
  '    - { permission: allow, action: publish, topics: ["ok/#"] }',
  '    - { permission: deny, action: all, topics: ["#"] }',
  '  no_match: deny',
  '',
].join('\n');

let h: Harness | undefined;
const clients: EmqxClient[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await h?.close();
  h = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const client = (g: GenerationName): EmqxClient => {
  const c = emqxClient(g, `127.0.0.1:${h!.running.port}`);
  clients.push(c);
  return c;
};
const scrape = async (): Promise<string> => {
  const r = await httpGet(h!.running.httpPort!, '/metrics');
  expect(r.status).toBe(200);
  expect(r.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  return r.body;
};
const authorize = (c: EmqxClient, g: GenerationName, clientid: string, topic: string) =>
  c.call(g === 'v1' ? 'OnClientCheckAcl' : 'OnClientAuthorize', {
    clientinfo: clientinfo({ clientid }),
    type: 'PUBLISH',
    topic,
    result: true,
    meta: META,
  });

describe('/metrics', () => {
  it('counts calls and latency per hook and generation, and decisions per outcome and reason', async () => {
    h = await startHarness({ policy: ACL_POLICY, config: { httpPort: 0, httpHost: '127.0.0.1' } });
    const before = await scrape();
    expect(sample(before, 'hookwarden_hook_calls_total', { hook: 'client.authorize', generation: 'v2' })).toBe(0);

    const v1 = client('v1');
    const v2 = client('v2');
    const v3 = client('v3');
    await v2.call('OnProviderLoaded', { broker: { version: '5.8.0', sysdescr: 'EMQX', uptime: '1000', datetime: '' }, meta: META });
    for (let i = 0; i < 5; i++) await v2.call('OnClientConnect', { conninfo: conninfo({ clientid: `m-${i}` }), props: [], meta: META });
    for (let i = 0; i < 3; i++) await authorize(v2, 'v2', 'm-1', `ok/${i}`);
    for (let i = 0; i < 2; i++) await authorize(v2, 'v2', 'm-2', `no/${i}`);
    for (let i = 0; i < 4; i++) await authorize(v3, 'v3', 'm-3', 'ok/v3');
    await authorize(v1, 'v1', 'm-4', 'ok/v1');

    const after = await scrape();
    const calls = (hook: string, generation: string) => sample(after, 'hookwarden_hook_calls_total', { hook, generation });
    expect(calls('client.connect', 'v2')).toBe(5);
    expect(calls('client.authorize', 'v2')).toBe(5);
    expect(calls('client.authorize', 'v3')).toBe(4);
    expect(calls('client.authorize', 'v1')).toBe(1);
    expect(calls('client.connect', 'v3')).toBe(0);
    const duration = (name: string, labels: Record<string, string>) => sample(after, `hookwarden_hook_duration_seconds${name}`, labels);
    expect(duration('_count', { hook: 'client.authorize', generation: 'v2' })).toBe(5);
    expect(duration('_bucket', { hook: 'client.authorize', generation: 'v2', le: '+Inf' })).toBe(5);
    expect(duration('_sum', { hook: 'client.authorize', generation: 'v2' })).toBeGreaterThan(0);
    // the fastest bucket never counts more than the slowest
    expect(duration('_bucket', { hook: 'client.authorize', generation: 'v2', le: '5e-05' })).toBeLessThanOrEqual(5);

    expect(sample(after, 'hookwarden_decisions_total', { hook: 'client.authorize', outcome: 'allow', reason: 'acl.rule' })).toBe(8);
    expect(sample(after, 'hookwarden_decisions_total', { hook: 'client.authorize', outcome: 'deny', reason: 'acl.rule' })).toBe(2);
    expect(sample(after, 'hookwarden_fallbacks_total', { hook: 'client.authorize' })).toBe(0);

    expect(sample(after, 'hookwarden_clients', { tier: 'hot' })).toBe(5);
    expect(sample(after, 'hookwarden_emqx_nodes', { generation: 'v2' })).toBe(1);
    expect(sample(after, 'hookwarden_emqx_provider_loads_total')).toBe(1);
    expect(sample(after, 'hookwarden_journal_appended_total')).toBeGreaterThanOrEqual(15);
    expect(sample(after, 'hookwarden_journal_pending')).toBe(0);
    expect(sample(after, 'hookwarden_info', { journal: 'memory' })).toBe(1);
    expect(sample(after, 'hookwarden_ready')).toBe(1);
    expect(sample(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);

    const declared = declaredMetrics(after);
    for (const name of METRIC_NAMES) expect(declared.has(name), name).toBe(true);

    // a request EMQX could not have meant (no clientinfo): refused, counted as a call and as undecodable
    await expect(v2.call('OnClientAuthorize', { type: 'PUBLISH', topic: 'ok/1', result: true, meta: META })).rejects.toThrow(
      /INVALID_ARGUMENT|clientinfo/,
    );
    const last = await scrape();
    expect(sample(last, 'hookwarden_hook_undecodable_total', { hook: 'client.authorize', generation: 'v2' })).toBe(1);
    expect(sample(last, 'hookwarden_hook_calls_total', { hook: 'client.authorize', generation: 'v2' })).toBe(6);
    expect(sample(last, 'hookwarden_hook_duration_seconds_count', { hook: 'client.authorize', generation: 'v2' })).toBe(5);
  });

  it('follows the policy: revision label, applied reloads and refused files', async () => {
    h = await startHarness({ policy: ACL_POLICY, config: { httpPort: 0, httpHost: '127.0.0.1', watchPolicy: false } });
    const first = h.running.policies.current().revision;
    expect(sample(await scrape(), 'hookwarden_policy_info', { revision: first })).toBe(1);
    h.writePolicy(ACL_POLICY.replace('ok/#', 'fine/#'));
    expect((await h.running.policies.reload()).ok).toBe(true);
    h.writePolicy('default:\n  no_such_key: 1\n');
    expect((await h.running.policies.reload()).ok).toBe(false);
    const text = await scrape();
    const second = h.running.policies.current().revision;
    expect(second).not.toBe(first);
    expect(sample(text, 'hookwarden_policy_info', { revision: second })).toBe(1);
    expect(sample(text, 'hookwarden_policy_info', { revision: first })).toBe(0);
    expect(sample(text, 'hookwarden_policy_reloads_total')).toBe(1);
    expect(sample(text, 'hookwarden_policy_refused_total')).toBe(1);
  });

  it('counts deadline fallbacks', async () => {
    const hash = await hashPassword('pw');
    const policy = `default:\n  authenticate: users\nusers:\n  - { username: u, password_hash: "${hash}" }\n`;
    // a 1 ms deadline: the password check (scrypt on the libuv pool) cannot finish in time
    h = await startHarness({ policy, config: { httpPort: 0, httpHost: '127.0.0.1', deadlineMs: 1 } });
    const r = await client('v2').call('OnClientAuthenticate', {
      clientinfo: clientinfo({ clientid: 'slow', username: 'u' }, 'pw'),
      result: false,
      meta: META,
    });
    expect(r).toMatchObject({ type: 'IGNORE' });
    const text = await scrape();
    expect(sample(text, 'hookwarden_fallbacks_total', { hook: 'client.authenticate', cause: 'deadline' })).toBe(1);
    expect(
      sample(text, 'hookwarden_decisions_total', { hook: 'client.authenticate', outcome: 'ignore', reason: 'deadline.fallback' }),
    ).toBe(1);
  });

  it('times durable journal appends (file journal, fsync before every answer)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hw-metrics-'));
    dirs.push(dataDir);
    h = await startHarness({ policy: ACL_POLICY, config: { httpPort: 0, httpHost: '127.0.0.1', dataDir, fsyncIntervalMs: 0 } });
    const v2 = client('v2');
    for (let i = 0; i < 3; i++) await authorize(v2, 'v2', 'durable', 'ok/1');
    const text = await scrape();
    expect(sample(text, 'hookwarden_info', { journal: 'file' })).toBe(1);
    expect(sample(text, 'hookwarden_decisions_total', { hook: 'client.authorize', outcome: 'allow', reason: 'acl.rule' })).toBe(3);
    // each answer waited for its append, so each append was timed before the answer left
    expect(sample(text, 'hookwarden_journal_append_duration_seconds_count')).toBe(3);
    expect(sample(text, 'hookwarden_journal_append_duration_seconds_sum')).toBeGreaterThan(0);
    expect(sample(text, 'hookwarden_journal_stored_total')).toBeGreaterThanOrEqual(3);
  });
});
