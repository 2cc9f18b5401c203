/**
 * The EMQX link against a local HTTP server that answers as EMQX 5's REST API
 * does (`DELETE /api/v5/clients/{clientid}[/authorization/cache]`, basic auth
 * with an API key, 204 / 404 CLIENTID_NOT_FOUND / 401 BAD_API_KEY_OR_SECRET),
 * recording every call.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EmqxLink } from '../../src/admin/emqx-link.js';
import { Secret } from '../../src/domain/secret.js';
import { createLogger } from '../../src/observability/logger.js';
import { startHarness, type Harness } from '../support/in-process.js';
import { adminConfig, allowed, api, hooks } from './support.js';

interface Call {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
}

/** EMQX's REST API, as far as the link uses it. `mode` changes how it answers. */
class FakeEmqx {
  readonly calls: Call[] = [];
  readonly connected = new Set<string>();
  mode: 'ok' | 'hang' | 'error500' | 'flaky' = 'ok';
  #server!: Server;
  #held: ServerResponse[] = [];
  url = '';

  async start(): Promise<void> {
    this.#server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.calls.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    const reply = (status: number, body?: object): void => {
      res.writeHead(status, body ? { 'content-type': 'application/json' } : {});
      res.end(body ? JSON.stringify(body) : undefined);
    };
    if (this.mode === 'hang') return void this.#held.push(res);
    if (this.mode === 'error500' || (this.mode === 'flaky' && this.calls.length % 2 === 1))
      return reply(503, { code: 'SERVICE_UNAVAILABLE', message: 'busy' });
    if (req.headers.authorization !== `Basic ${Buffer.from('hw-key:hw-secret').toString('base64')}`)
      return reply(401, { code: 'BAD_API_KEY_OR_SECRET', message: 'Check api_key/api_secret' });
    const m = /^\/api\/v5\/clients\/([^/]+)(\/authorization\/cache)?$/.exec(req.url ?? '');
    if (req.method !== 'DELETE' || !m?.[1]) return reply(404, { code: 'NOT_FOUND', message: 'no route' });
    const id = decodeURIComponent(m[1]);
    if (!this.connected.has(id)) return reply(404, { code: 'CLIENTID_NOT_FOUND', message: 'Client ID not found' });
    if (!m[2]) this.connected.delete(id);
    reply(204);
  }

  release(): void {
    for (const res of this.#held.splice(0)) res.destroy();
  }

  async stop(): Promise<void> {
    this.release();
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

const emqx = new FakeEmqx();
const logs: string[] = [];
const log = createLogger('info', new Writable({ write: (c: Buffer, _e, cb) => (logs.push(c.toString()), cb()) }));
const linkTo = (o: Partial<ConstructorParameters<typeof EmqxLink>[0]> = {}): EmqxLink =>
  new EmqxLink({ url: emqx.url, key: 'hw-key', secret: new Secret('hw-secret'), log, timeoutMs: 300, backoffMs: 20, ...o });
const settle = async (link: EmqxLink, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (Date.now() < end && (link.stats().queued > 0 || link.stats().inFlight > 0)) await new Promise((r) => setTimeout(r, 10));
};

beforeAll(() => emqx.start());
afterAll(() => emqx.stop());
afterEach(() => {
  emqx.calls.length = 0;
  emqx.connected.clear();
  emqx.mode = 'ok';
  emqx.release();
});

describe('EMQX link', () => {
  it('EMQX link - a ban clears the authorization cache, then kicks, with basic auth and the client id URL-encoded', async () => {
    const link = linkTo({ url: `${emqx.url}/api/v5/` });
    emqx.connected.add('dev/1 ü#?');
    link.onFacts('dev/1 ü#?', [{ type: 'ClientBanned', at: 1, until: 2, reason: 'override', note: '', connects: 0 }]);
    link.onFacts('other', [{ type: 'Subscribed', at: 1, topic: 't', subscriptions: 1 }]); // not a ban: nothing
    await settle(link);
    const auth = `Basic ${Buffer.from('hw-key:hw-secret').toString('base64')}`;
    expect(emqx.calls).toEqual([
      { method: 'DELETE', url: '/api/v5/clients/dev%2F1%20%C3%BC%23%3F/authorization/cache', authorization: auth },
      { method: 'DELETE', url: '/api/v5/clients/dev%2F1%20%C3%BC%23%3F', authorization: auth },
    ]);
    expect(link.stats()).toMatchObject({ kicked: 1, cachesCleared: 1, failed: 0, notConnected: 0 });
    expect(emqx.connected.has('dev/1 ü#?')).toBe(false);
  });

  it('EMQX link - a client EMQX does not know is not kicked (404 on the cache)', async () => {
    const link = linkTo();
    link.kick('gone');
    await settle(link);
    expect(emqx.calls.map((c) => c.url)).toEqual(['/api/v5/clients/gone/authorization/cache']);
    expect(link.stats()).toMatchObject({ kicked: 0, notConnected: 1, failed: 0 });
  });

  it('EMQX link - 5xx is retried a bounded number of times; 401 is not retried and says to check the key', async () => {
    emqx.mode = 'error500';
    const link = linkTo({ attempts: 3 });
    emqx.connected.add('c1');
    link.kick('c1');
    await settle(link);
    // 3 attempts to clear the cache, then (the cache could not be cleared) 3 attempts to kick
    expect(emqx.calls.map((c) => c.url.endsWith('/cache'))).toEqual([true, true, true, false, false, false]);
    expect(link.stats()).toMatchObject({ failed: 2, retries: 4, kicked: 0 });
    emqx.calls.length = 0;
    emqx.mode = 'flaky'; // every other call fails: each request succeeds on its retry
    link.kick('c1');
    await settle(link);
    expect(emqx.calls).toHaveLength(4);
    expect(link.stats()).toMatchObject({ kicked: 1, cachesCleared: 1, failed: 2 });
    emqx.calls.length = 0;
    emqx.mode = 'ok';
    const wrong = new EmqxLink({ url: emqx.url, key: 'hw-key', secret: new Secret('nope'), log, backoffMs: 10 });
    wrong.kick('c2');
    await settle(wrong);
    expect(emqx.calls).toHaveLength(1);
    expect(wrong.stats()).toMatchObject({ failed: 1, retries: 0 });
    expect(logs.join('')).toContain('EMQX refused the API key');
    expect(logs.join('')).not.toContain('nope');
  });

  it('EMQX link - a hanging EMQX times out per request; the queue is bounded; close does not wait for it', async () => {
    emqx.mode = 'hang';
    const link = linkTo({ timeoutMs: 200, attempts: 2, concurrency: 1, maxQueue: 2 });
    for (const id of ['a', 'b', 'c', 'd']) link.kick(id);
    expect(link.stats()).toMatchObject({ inFlight: 1, queued: 2, dropped: 1 });
    link.kick('b'); // already queued: not twice
    expect(link.stats().queued).toBe(2);
    const t0 = Date.now();
    await settle(link);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(link.stats()).toMatchObject({ failed: 6, retries: 6, queued: 0 }); // 3 clients × (cache + kick), 2 attempts each
    link.kick('e');
    const c0 = Date.now();
    await link.close(100);
    expect(Date.now() - c0).toBeLessThan(1000);
  });

  describe('EMQX link - wired into hookwarden', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({
        policy:
          'default:\n  acl: [{ permission: deny, action: all, topics: ["#"] }]\n  flapping: { max_count: 1, window_time: "1m", ban_time: "1m" }\n  quarantine: { max_violations: 1, window_time: "1m", duration: "1m" }\n',
        config: { ...adminConfig, emqxApi: { url: emqx.url, key: 'hw-key', secret: new Secret('hw-secret') } },
      });
    });
    afterAll(() => h?.close());
    const waitCalls = async (n: number): Promise<void> => {
      const end = Date.now() + 5000;
      while (emqx.calls.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    };

    it("EMQX link - an operator's ban and the machine's own flapping ban and quarantine each kick the client", async () => {
      const base = `http://127.0.0.1:${h.running.httpPort}`;
      const hook = hooks(h.client);
      emqx.connected.add('op-banned');
      await api(base, 'PUT', '/v1/clients/op-banned/override', { body: { ban: '5m' } });
      await waitCalls(2);
      expect(emqx.calls.map((c) => c.url)).toEqual(['/api/v5/clients/op-banned/authorization/cache', '/api/v5/clients/op-banned']);
      emqx.calls.length = 0;
      emqx.connected.add('flapper');
      await hook.connect({ clientid: 'flapper' });
      await hook.connect({ clientid: 'flapper' }); // the 2nd connect in the window bans (max_count 1)
      await waitCalls(2);
      expect(emqx.calls.map((c) => c.url)).toEqual(['/api/v5/clients/flapper/authorization/cache', '/api/v5/clients/flapper']);
      emqx.calls.length = 0;
      emqx.connected.add('violator');
      await hook.connect({ clientid: 'violator' });
      await hook.authorize({ clientid: 'violator' });
      await hook.authorize({ clientid: 'violator' }); // the 2nd violation quarantines
      await waitCalls(2);
      expect(emqx.calls.map((c) => c.url)).toEqual(['/api/v5/clients/violator/authorization/cache', '/api/v5/clients/violator']);
      const nodes = await api(base, 'GET', '/v1/emqx/nodes');
      expect(nodes.json.link).toMatchObject({ kicked: 3, failed: 0, url: emqx.url });
      const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
      expect(metrics).toContain('hookwarden_emqx_link_requests_total{result="kicked"} 3');
    });

    it('EMQX link - while EMQX hangs, hook answers are not delayed', async () => {
      emqx.mode = 'hang';
      const hook = hooks(h.client);
      const w = { clientid: 'slowpoke' };
      await hook.connect(w);
      await hook.connect(w); // banned: a kick is now waiting on the hanging EMQX
      await waitCalls(1);
      const t0 = performance.now();
      const answer = await hook.authorize(w);
      expect(performance.now() - t0).toBeLessThan(250);
      expect(allowed(answer)).toBe(false);
    });
  });
});
