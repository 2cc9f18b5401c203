/**
 * The admin API over real HTTP, against hookwarden started in this process
 * (real gRPC edge, memory journal): the token rule, a client's state,
 * overrides taking effect at the next hook, unban, policy reload, EMQX nodes
 * and instances, and bad input refused with the field and the fix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/in-process.js';
import { adminConfig, allowed, api, hooks, published, type Json } from './support.js';

const POLICY = `default:
  authenticate: allow
  limits: { messages_rate: "100/s", max_payload: "1KB" }
  acl:
    - { permission: allow, action: all, topics: ["t/#"] }
  no_match: deny
  flapping: { max_count: 2, window_time: "1m", ban_time: "5m" }
  quarantine: true
policies:
  - name: sensors
    match: { clientid: "sensor-*" }
    limits: { messages_rate: "50/s" }
`;

let h: Harness;
let base: string;
let hook: ReturnType<typeof hooks>;
beforeAll(async () => {
  h = await startHarness({ policy: POLICY, config: adminConfig });
  base = `http://127.0.0.1:${h.running.httpPort}`;
  hook = hooks(h.client);
});
afterAll(async () => h?.close());

const get = async (id: string): Promise<Json> => {
  const r = await api(base, 'GET', `/v1/clients/${encodeURIComponent(id)}`);
  expect(r.status).toBe(200);
  return r.json;
};

describe('admin API', () => {
  it('admin API - admin routes need the bearer token; /healthz does not', async () => {
    const none = await api(base, 'GET', '/v1/instances', { token: null });
    expect(none.status).toBe(401);
    expect(none.json).toMatchObject({ error: 'unauthorized' });
    expect((await api(base, 'PUT', '/v1/clients/c1/override', { token: 'wrong', body: { ban: '1m' } })).status).toBe(401);
    expect((await api(base, 'POST', '/v1/policy/reload', { token: null })).status).toBe(401);
    expect((await api(base, 'GET', '/v1/instances')).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    // nothing was applied by the refused calls
    expect((await api(base, 'GET', '/v1/clients/c1')).status).toBe(404);
  });

  it("admin API - a client's state: standing, policy with its limits, counters, recent decisions with reasons", async () => {
    const w = { clientid: 'sensor-1/a b' }; // a client id that needs URL encoding
    await hook.connect(w);
    expect(published(await hook.publish(w))).toBe(true);
    expect(allowed(await hook.authorize(w, 'secret/x'))).toBe(false);
    const c = await get(w.clientid);
    expect(c).toMatchObject({
      clientId: 'sensor-1/a b',
      source: 'instance',
      state: 'connected',
      standing: { status: 'ok', ban: null, quarantine: null },
      override: null,
      policy: {
        name: 'sensors',
        mode: 'enforce',
        limits: { messages_rate: '50/s', messages_burst: 50, max_payload: '1KB' },
        noMatch: 'deny',
      },
      counters: { connects: 1, publishesAllowed: 1 },
      lastDecision: { outcome: 'deny', reason: { code: 'acl.no_match', policy: 'sensors' } },
      recentViolations: [{ code: 'acl.no_match' }],
    });
    expect(c.recent.map((e: Json) => e.hook)).toEqual([
      'client.connect',
      'session.created',
      'client.connected',
      'client.connack',
      'message.publish',
      'client.authorize',
    ]);
    expect(c.recent.at(-1).decision.reason.detail).toContain('No ACL rule');
    expect((await api(base, 'GET', '/v1/clients/never-seen')).json).toMatchObject({ error: 'not_found' });
  });

  it('admin API - an override of limits applies from the next publish and is visible; shadow merges into it', async () => {
    const w = { clientid: 'c-limits' };
    await hook.connect(w);
    const put = await api(base, 'PUT', '/v1/clients/c-limits/override', {
      body: { limits: { messages_rate: '1/m', messages_burst: 1 }, reason: 'abuse #12' },
    });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({
      applied: [{ command: 'admin.override', facts: ['OverrideSet'] }],
      override: { limits: { messages_rate: '1/m' }, reason: 'abuse #12' },
    });
    expect(published(await hook.publish(w))).toBe(true);
    expect(published(await hook.publish(w))).toBe(false);
    let c = await get('c-limits');
    expect(c.override).toMatchObject({ limits: { messages_rate: '1/m', messages_burst: 1 }, reason: 'abuse #12' });
    expect(c.policy).toMatchObject({ name: 'default+override', limits: { messages_rate: '1/m', messages_burst: 1, max_payload: '1KB' } });
    expect(c.lastDecision.reason).toMatchObject({ code: 'limit.messages_rate', policy: 'default+override' });
    expect(c.recent.find((e: Json) => e.hook === 'admin.override')).toMatchObject({ note: 'abuse #12', facts: ['OverrideSet'] });
    // shadow: the denial is answered as allowed (and still recorded); the limits stay
    await api(base, 'PUT', '/v1/clients/c-limits/override', { body: { shadow: true } });
    expect(published(await hook.publish(w))).toBe(true);
    c = await get('c-limits');
    expect(c.override).toMatchObject({ shadow: true, limits: { messages_rate: '1/m' } });
    expect(c.lastDecision).toMatchObject({ outcome: 'allow', shadowed: true, reason: { code: 'limit.messages_rate' } });
    // cleared: the policy's 100/s again
    const del = await api(base, 'DELETE', '/v1/clients/c-limits/override');
    expect(del.json).toMatchObject({ applied: [{ command: 'admin.clear_override' }], override: null });
    expect(published(await hook.publish(w))).toBe(true);
    expect((await get('c-limits')).policy.name).toBe('default');
  });

  it('admin API - a ban holds at the next hook; unban lifts it; a second unban has nothing to lift', async () => {
    const w = { clientid: 'c-ban' };
    await hook.connect(w);
    const put = await api(base, 'PUT', '/v1/clients/c-ban/override', { body: { ban: '10m', reason: 'spam' } });
    expect(put.json).toMatchObject({
      applied: [{ command: 'admin.ban', facts: ['ClientBanned'] }],
      standing: { status: 'banned', ban: { kind: 'override', note: 'spam' } },
    });
    const denied = await hook.authorize(w);
    expect(allowed(denied)).toBe(false);
    const c = await get('c-ban');
    expect(c).toMatchObject({ state: 'banned', lastDecision: { reason: { code: 'banned.override' } } });
    expect(c.standing.ban.remainingMs).toBeGreaterThan(9 * 60_000);
    const un = await api(base, 'POST', '/v1/clients/c-ban/unban', { body: { reason: 'ticket closed' } });
    expect(un.json).toMatchObject({ applied: [{ command: 'admin.unban', facts: ['BanLifted'] }], standing: { status: 'ok' } });
    expect(allowed(await hook.authorize(w))).toBe(true);
    expect((await get('c-ban')).recent.find((e: Json) => e.hook === 'admin.unban')).toMatchObject({ note: 'ticket closed' });
    expect((await api(base, 'POST', '/v1/clients/c-ban/unban')).json).toMatchObject({ applied: [], standing: { status: 'ok' } });
  });

  it("admin API - clearing the override lifts the operator's quarantine but not a flapping ban; unban lifts that", async () => {
    const w = { clientid: 'c-flap' };
    await hook.connect(w);
    await hook.connect(w);
    await hook.connect(w); // the 3rd connect in the window (max_count 2) bans for flapping
    await api(base, 'PUT', '/v1/clients/c-flap/override', { body: { quarantine: '5m', limits: { max_payload: '10B' } } });
    let c = await get('c-flap');
    expect(c.standing).toMatchObject({ status: 'banned', ban: { kind: 'flapping' }, quarantine: { kind: 'override' } });
    const del = await api(base, 'DELETE', '/v1/clients/c-flap/override');
    expect(del.json.applied.map((a: Json) => a.command)).toEqual(['admin.clear_override', 'admin.release']);
    c = await get('c-flap');
    expect(c.standing).toMatchObject({ status: 'banned', ban: { kind: 'flapping' }, quarantine: null });
    const un = await api(base, 'POST', '/v1/clients/c-flap/unban');
    expect(un.json.applied.map((a: Json) => a.command)).toEqual(['admin.unban']);
    expect(allowed(await hook.authorize(w))).toBe(true);
  });

  it('admin API - reload applies a valid policy file and refuses an invalid one, naming the field', async () => {
    const before = (await get('c-ban')).policy.revision as string;
    h.writePolicy(POLICY.replace('"100/s"', '"200/s"'));
    const ok = await api(base, 'POST', '/v1/policy/reload');
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ changed: true });
    expect(ok.json.revision).not.toBe(before);
    expect((await get('c-ban')).policy.limits.messages_rate).toBe('200/s');
    h.writePolicy(POLICY.replace('"100/s"', '"lots"'));
    const bad = await api(base, 'POST', '/v1/policy/reload');
    expect(bad.status).toBe(422);
    expect(bad.json.error).toBe('policy_invalid');
    expect(bad.json.problems[0]).toMatchObject({ field: 'default.limits.messages_rate' });
    expect(bad.json.problems[0].fix).toContain('10/s');
    expect((await get('c-ban')).policy.revision).toBe(ok.json.revision);
  });

  it('admin API - bad input is refused with 400, naming each field and its fix; nothing is applied', async () => {
    const put = (body: unknown) => api(base, 'PUT', '/v1/clients/c-bad/override', { body });
    const cases: [unknown, string, RegExp][] = [
      [{ limit: { messages_rate: '1/s' } }, 'limit', /did you mean "limits"/],
      [{ limits: { messages_rate: '10 per s' } }, 'limits.messages_rate', /10\/s/],
      [{ limits: { messages_rates: '1/s' } }, 'limits.messages_rates', /messages_rate/],
      [{ ban: 600 }, 'ban', /unit/],
      [{ ban: '10 minutes' }, 'ban', /"5m"/],
      [{ shadow: 'yes' }, 'shadow', /true/],
      [{ reason: 'only a reason' }, '', /at least one of/],
      [{ limits: {} }, 'limits', /at least one limit/],
      [{ limits: { bytes_burst: '1KB', max_payload: '2KB' } }, 'limits', /raise bytes_burst/],
      [['ban', '1m'], '', /JSON object/],
    ];
    for (const [body, field, fix] of cases) {
      const r = await put(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error).toBe('invalid_request');
      const p = r.json.problems.find((x: Json) => x.field === field);
      expect(p, `${JSON.stringify(body)}: ${JSON.stringify(r.json.problems)}`).toBeDefined();
      expect(p.fix).toMatch(fix);
    }
    const many = await put({ limits: { messages_rate: 'x' }, ban: 'y', extra: 1 });
    expect(many.json.problems.map((p: Json) => p.field).sort()).toEqual(['ban', 'extra', 'limits.messages_rate']);
    expect((await api(base, 'PUT', '/v1/clients/c-bad/override', { raw: '{"ban":' })).json).toMatchObject({ error: 'bad_json' });
    expect((await api(base, 'POST', '/v1/clients/c-bad/unban', { body: { reason: 5 } })).json.problems[0].field).toBe('reason');
    expect((await api(base, 'DELETE', '/v1/clients/c-bad/override', { body: { why: 'x' } })).json.problems[0]).toMatchObject({
      field: 'why',
    });
    expect((await api(base, 'GET', '/v1/clients/c-bad?last=lots')).json.problems[0].field).toBe('last');
    expect((await api(base, 'GET', '/v1/clients/c-bad')).status).toBe(404); // nothing was journaled
  });

  it('admin API - EMQX nodes that loaded us, and the instances (this one alone without NATS)', async () => {
    await hook.loaded();
    const nodes = await api(base, 'GET', '/v1/emqx/nodes');
    expect(nodes.json).toMatchObject({ nodes: [{ node: 'emqx@127.0.0.1', cluster: 'emqxcl', version: '5.8.0', loads: 1 }], link: null });
    expect(Date.parse(nodes.json.nodes[0].loadedAt)).toBeGreaterThan(0);
    const inst = await api(base, 'GET', '/v1/instances');
    expect(inst.json.instances).toHaveLength(1);
    expect(inst.json.instances[0]).toMatchObject({ self: true, journal: 'memory', emqxNodes: ['emqx@127.0.0.1'] });
    expect(inst.json.instances[0].clients).toBeGreaterThan(3);
  });
});
