/**
 * docs/openapi.yaml against the server: its paths and methods are exactly the
 * routes the HTTP server registers, admin routes need the bearer token and
 * open ones do not, and live replies of every admin route match their
 * documented schemas (which refuse undocumented fields).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validate } from '../journal/json-schema-lite.js';
import { startHarness, type Harness } from '../support/in-process.js';
import { adminConfig, api, hooks, type Json, type Reply } from './support.js';

const doc = parse(readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8')) as Json;
const METHODS = ['get', 'put', 'post', 'delete'];

/** `METHOD /path/:param` of every documented operation. */
const documented = (): string[] =>
  Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
  );

/** Problems of `value` against `#/components/schemas/<name>`. */
const problemsOf = (name: string, value: unknown): string[] =>
  validate(
    new Map<string, Json>([
      ['openapi', doc],
      ['root', { $ref: `openapi#/components/schemas/${name}` }],
    ]),
    'root',
    value,
  );

const expectSchema = (r: Reply, name: string): void => expect(problemsOf(name, r.json), `${name}: ${JSON.stringify(r.json)}`).toEqual([]);

let h: Harness;
let base: string;
beforeAll(async () => {
  h = await startHarness({ policy: 'default:\n  limits: { messages_rate: "10/s" }\n  flapping: true\n', config: adminConfig });
  base = `http://127.0.0.1:${h.running.httpPort}`;
});
afterAll(() => h?.close());

describe('OpenAPI', () => {
  it('OpenAPI - documents exactly the routes the HTTP server registers, with their summaries', () => {
    const routes = h.running.http?.routes() ?? [];
    expect(routes.length).toBeGreaterThan(7);
    expect(documented().sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    for (const r of routes.filter((x) => x.path.startsWith('/v1/'))) {
      const op = doc.paths[r.path.replace(/:(\w+)/g, '{$1}')][r.method.toLowerCase()];
      expect(op.summary, `${r.method} ${r.path}`).toBe(r.summary);
    }
  });

  it('OpenAPI - admin routes need bearerAuth, open routes none', () => {
    expect(doc.openapi).toMatch(/^3\.[01]\./);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    for (const r of h.running.http?.routes() ?? []) {
      const op = doc.paths[r.path.replace(/:(\w+)/g, '{$1}')][r.method.toLowerCase()];
      if (r.open) expect(op.security, r.path).toEqual([]);
      else {
        expect(op.security, r.path).toBeUndefined(); // the document-wide bearerAuth
        expect(op.responses['401'], r.path).toBeDefined();
      }
    }
  });

  it('OpenAPI - every admin reply matches its documented schema', async () => {
    const hook = hooks(h.client);
    await hook.loaded();
    await hook.connect({ clientid: 'doc-1' });
    await hook.publish({ clientid: 'doc-1' });
    await hook.connect({ clientid: 'doc-1' }); // a second connect: counted toward flapping
    const put = await api(base, 'PUT', '/v1/clients/doc-1/override', {
      body: { limits: { messages_rate: '1/s', max_payload: 'infinity' }, shadow: false, quarantine: '1m', reason: 'docs' },
    });
    expect(put.status).toBe(200);
    expectSchema(put, 'CommandOutcome');
    expectSchema(await api(base, 'PUT', '/v1/clients/doc-1/override', { body: { ban: '1m' } }), 'CommandOutcome');
    const view = await api(base, 'GET', '/v1/clients/doc-1');
    expect(view.json.standing.status).toBe('banned');
    expectSchema(view, 'ClientView');
    expectSchema(await api(base, 'POST', '/v1/clients/doc-1/unban', { body: { reason: 'done' } }), 'CommandOutcome');
    expectSchema(await api(base, 'DELETE', '/v1/clients/doc-1/override'), 'CommandOutcome');
    expectSchema(await api(base, 'GET', '/v1/clients/doc-1?last=0'), 'ClientView');
    expectSchema(await api(base, 'POST', '/v1/policy/reload'), 'ReloadResult');
    const nodes = await api(base, 'GET', '/v1/emqx/nodes');
    expect(nodes.json.nodes).toHaveLength(1);
    expectSchema(nodes, 'NodesReply');
    expectSchema(await api(base, 'GET', '/v1/instances'), 'InstancesReply');
    for (const r of [
      await api(base, 'PUT', '/v1/clients/doc-1/override', { body: { limits: { messages_rate: 'x' } } }),
      await api(base, 'GET', '/v1/clients/nobody'),
      await api(base, 'GET', '/v1/instances', { token: null }),
    ]) {
      expect(r.status).toBeGreaterThanOrEqual(400);
      expectSchema(r, 'Error');
    }
    // the schemas are not vacuous
    expect(problemsOf('ClientView', { ...view.json, surprise: 1 })).toContain('/: unexpected property surprise');
    expect(problemsOf('CommandOutcome', { ...put.json, applied: [{ command: 'admin.frob', facts: [] }] })).not.toEqual([]);
  });

  it('OpenAPI - the documented request schema refuses what the server refuses', async () => {
    const bodies: unknown[] = [{ limits: { messages_rate: '1/s' }, extra: 1 }, { limits: { max_subs: 1 } }, { shadow: 'yes' }];
    for (const body of bodies) {
      expect(problemsOf('OverrideRequest', body), JSON.stringify(body)).not.toEqual([]);
      expect((await api(base, 'PUT', '/v1/clients/doc-2/override', { body })).status).toBe(400);
    }
    const good = { limits: { messages_rate: '1/s', messages_burst: 3, max_payload: '16KB' }, ban: '10m', shadow: true, reason: 'ok' };
    expect(problemsOf('OverrideRequest', good)).toEqual([]);
    expect((await api(base, 'PUT', '/v1/clients/doc-2/override', { body: good })).status).toBe(200);
  });
});
