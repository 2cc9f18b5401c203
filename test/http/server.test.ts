import { request } from 'node:http';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/domain/secret.js';
import { AdminAuth } from '../../src/http/auth.js';
import { HttpError, type HttpRoute } from '../../src/http/route.js';
import { startHttpServer, type HttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/observability/logger.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: { error?: string; message?: string; [k: string]: unknown };
}

/** One request over node:http (fetch would normalize paths and refuse some bodies). */
function call(
  port: number,
  method: string,
  path: string,
  opts: { body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json = {};
        try {
          json = JSON.parse(body) as object;
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

const echo = (method: HttpRoute['method'], path: string, open = false): HttpRoute => ({
  method,
  path,
  open,
  summary: `${method} ${path}`,
  handle: (req) => ({ status: 200, json: { params: req.params, body: req.body ?? null, query: req.query.get('q') } }),
});

const ROUTES: HttpRoute[] = [
  echo('GET', '/metrics', true),
  echo('GET', '/v1/clients/:clientId'),
  echo('PUT', '/v1/clients/:clientId/override'),
  echo('DELETE', '/v1/clients/:clientId/override'),
  echo('POST', '/v1/policy/reload'),
  { method: 'GET', path: '/v1/boom', summary: 'throws', handle: () => Promise.reject(new Error('kaput')) },
  {
    method: 'GET',
    path: '/v1/missing/:id',
    summary: 'HttpError',
    handle: (req) => {
      throw new HttpError(404, 'client_not_found', `no client ${req.params.id}`);
    },
  },
];

let server: HttpServer | undefined;
const logs: string[] = [];
const log = createLogger(
  'info',
  new Writable({
    write(chunk: Buffer, _e, cb) {
      logs.push(chunk.toString());
      cb();
    },
  }),
);

async function serve(opts: { token?: string; auth?: AdminAuth; maxBodyBytes?: number } = {}): Promise<number> {
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    routes: ROUTES,
    log,
    ...(opts.token ? { adminToken: new Secret(opts.token) } : {}),
    ...(opts.auth ? { auth: opts.auth } : {}),
    ...(opts.maxBodyBytes ? { maxBodyBytes: opts.maxBodyBytes } : {}),
  });
  return server.port;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
  logs.length = 0;
});

describe('HTTP server: routing', () => {
  it('captures URL-decoded :params and the query', async () => {
    const port = await serve();
    const r = await call(port, 'GET', '/v1/clients/dev%2F1%20%C3%A9?q=x%20y');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.json).toEqual({ params: { clientId: 'dev/1 é' }, body: null, query: 'x y' });
    const nested = await call(port, 'PUT', '/v1/clients/a%3Ab/override', {
      body: '{"ban":true}',
      headers: { 'content-type': 'application/json' },
    });
    expect(nested.json).toEqual({ params: { clientId: 'a:b' }, body: { ban: true }, query: null });
  });

  it('answers 404 for an unknown path, 405 with Allow for a known path with another method, 400 for bad percent-encoding', async () => {
    const port = await serve();
    const missing = await call(port, 'GET', '/v1/nothing');
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ error: 'not_found', message: expect.stringContaining('/v1/nothing') });
    const wrong = await call(port, 'POST', '/v1/clients/x/override');
    expect(wrong.status).toBe(405);
    expect(String(wrong.headers.allow).split(', ').sort()).toEqual(['DELETE', 'PUT']);
    expect(wrong.json.error).toBe('method_not_allowed');
    const empty = await call(port, 'GET', '/v1/clients/');
    expect(empty.status).toBe(404);
    const bad = await call(port, 'GET', '/v1/clients/%E0%A4%A');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('bad_path');
  });

  it('lists its routes (method and path) for the OpenAPI comparison', async () => {
    await serve();
    const listed = server?.routes().map((r) => `${r.method} ${r.path}`);
    expect(listed).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`));
    expect(server?.routes().find((r) => r.path === '/metrics')?.open).toBe(true);
  });

  it('refuses two routes with the same method and shape', async () => {
    await expect(
      startHttpServer({ host: '127.0.0.1', port: 0, log, routes: [echo('GET', '/a/:x'), echo('GET', '/a/:y')] }),
    ).rejects.toThrow(/two routes for GET \/a\/:y/);
  });
});

describe('HTTP server: bodies and errors', () => {
  it('parses JSON bodies and names the problem of a bad one', async () => {
    const port = await serve();
    const ok = await call(port, 'POST', '/v1/policy/reload', { body: '{"a":[1,2]}', headers: { 'content-type': 'application/json' } });
    expect(ok.json.body).toEqual({ a: [1, 2] });
    const bad = await call(port, 'POST', '/v1/policy/reload', { body: '{"a":', headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: 'bad_json', message: expect.stringMatching(/not valid JSON: .+/) });
    const form = await call(port, 'POST', '/v1/policy/reload', {
      body: 'a=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
  });

  it('answers 413 to a body over the limit, declared or streamed, and keeps serving', async () => {
    const port = await serve({ maxBodyBytes: 1024 });
    const big = Buffer.alloc(4096, 0x20);
    const declared = await call(port, 'PUT', '/v1/clients/x/override', {
      body: big,
      headers: { 'content-type': 'application/json', 'content-length': String(big.length) },
    });
    expect(declared.status).toBe(413);
    expect(declared.json.error).toBe('body_too_large');
    const streamed = await call(port, 'PUT', '/v1/clients/x/override', {
      body: big,
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    expect(streamed.status).toBe(413);
    const fits = await call(port, 'PUT', '/v1/clients/x/override', {
      body: `{"pad":"${'x'.repeat(900)}"}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(fits.status).toBe(200);
  });

  it('turns a handler failure into a logged 500 and an HttpError into its status', async () => {
    const port = await serve();
    const boom = await call(port, 'GET', '/v1/boom');
    expect(boom.status).toBe(500);
    expect(boom.json.error).toBe('internal');
    expect(boom.body).not.toContain('kaput');
    expect(logs.join('')).toContain('kaput');
    const missing = await call(port, 'GET', '/v1/missing/c1');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: 'client_not_found', message: 'no client c1' });
    expect((await call(port, 'GET', '/metrics')).status).toBe(200);
  });
});

describe('HTTP server: admin token', () => {
  it('on loopback without a token: admin routes are open', async () => {
    const port = await serve();
    expect((await call(port, 'POST', '/v1/policy/reload')).status).toBe(200);
  });

  it('with a token: admin routes need the exact bearer token, open routes never do', async () => {
    const port = await serve({ token: 's3cret-token' });
    const none = await call(port, 'GET', '/v1/clients/a');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await call(port, 'GET', '/v1/clients/a', { headers: { authorization: 'Bearer s3cret-tokeN' } })).status).toBe(401);
    expect((await call(port, 'GET', '/v1/clients/a', { headers: { authorization: 'Bearer s3cret-token-longer' } })).status).toBe(401);
    expect((await call(port, 'GET', '/v1/clients/a', { headers: { authorization: 'Basic s3cret-token' } })).status).toBe(401);
    expect((await call(port, 'GET', '/v1/clients/a', { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200);
    expect((await call(port, 'GET', '/metrics')).status).toBe(200);
    expect(logs.join('')).not.toContain('s3cret-token');
  });

  it('on a non-loopback address without a token: admin routes 403 telling to set --admin-token, open routes 200', async () => {
    const port = await serve({ auth: new AdminAuth('0.0.0.0', undefined) });
    const refused = await call(port, 'GET', '/v1/clients/a', { headers: { authorization: 'Bearer anything' } });
    expect(refused.status).toBe(403);
    expect(refused.json.message).toContain('--admin-token');
    expect((await call(port, 'GET', '/metrics')).status).toBe(200);
  });
});

describe('AdminAuth', () => {
  it('knows loopback addresses', async () => {
    const { isLoopback } = await import('../../src/http/auth.js');
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1']) expect(isLoopback(h), h).toBe(false);
    expect(new AdminAuth('0.0.0.0', undefined).mode).toBe('refused');
    expect(new AdminAuth('0.0.0.0', new Secret('t')).check('Bearer t')).toEqual({ ok: true });
  });
});
