/**
 * Health: the standard gRPC health service on the hook port (Check, Watch)
 * with a real grpc-js client, and /healthz + /readyz over HTTP, including
 * readiness following a test-owned nats-server going away and coming back.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterEach, describe, expect, it } from 'vitest';
import { healthProtoFile } from '../../src/edge/health-service.js';
import { NatsServer } from '../support/nats-server.js';
import { startHarness, type Harness } from '../support/in-process.js';
import { httpGet, sample } from './scrape.js';

type Status = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
interface HealthClient extends grpc.Client {
  Check(req: { service: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { status: Status }) => void): void;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: Status }>;
}

function healthClient(port: number): HealthClient {
  const def = protoLoader.loadSync(healthProtoFile(), { keepCase: true, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
  return new pkg.grpc.health.v1.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as HealthClient;
}

const check = (c: HealthClient, service: string): Promise<Status> =>
  new Promise((resolve, reject) =>
    c.Check({ service }, { deadline: Date.now() + 3000 }, (err, res) => (err ? reject(err) : resolve(res!.status))),
  );

/** A Watch stream and every status it received. */
function watch(
  c: HealthClient,
  service: string,
): { seen: Status[]; ended: Promise<void>; stream: grpc.ClientReadableStream<{ status: Status }> } {
  const seen: Status[] = [];
  const stream = c.Watch({ service });
  stream.on('data', (m: { status: Status }) => seen.push(m.status));
  const ended = new Promise<void>((resolve) => {
    stream.on('end', () => resolve());
    stream.on('error', () => resolve());
  });
  return { seen, ended, stream };
}

async function until(what: string, ok: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let h: Harness | undefined;
let nats: NatsServer | undefined;
const grpcClients: grpc.Client[] = [];
afterEach(async () => {
  for (const c of grpcClients.splice(0)) c.close();
  await h?.close();
  h = undefined;
  await nats?.cleanup();
  nats = undefined;
});

describe('gRPC health service', () => {
  it('answers Check for "" and every HookProvider, NOT_FOUND otherwise; Watch streams and ends on shutdown without holding it', async () => {
    h = await startHarness({ config: { shutdownGraceMs: 5000 } });
    const c = healthClient(h.running.port);
    grpcClients.push(c);
    for (const service of ['', 'emqx.exhook.v1.HookProvider', 'emqx.exhook.v2.HookProvider', 'emqx.exhook.v3.HookProvider'])
      expect(await check(c, service), service).toBe('SERVING');
    await expect(check(c, 'grpc.health.v1.Nope')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });

    const all = watch(c, '');
    const unknown = watch(c, 'nope');
    await until('the first Watch messages', () => all.seen.length > 0 && unknown.seen.length > 0);
    expect(all.seen).toEqual(['SERVING']);
    expect(unknown.seen).toEqual(['SERVICE_UNKNOWN']);

    const t0 = Date.now();
    await h.close();
    h = undefined;
    expect(Date.now() - t0).toBeLessThan(2500); // open Watch streams do not wait for the 5 s grace
    await all.ended;
    expect(all.seen).toEqual(['SERVING', 'NOT_SERVING']);
  });
});

describe('/healthz and /readyz', () => {
  it('memory journal: live with details, ready once started', async () => {
    h = await startHarness({ config: { httpPort: 0, httpHost: '127.0.0.1', instance: 'hw-test-1' } });
    const live = await httpGet(h.running.httpPort!, '/healthz');
    expect(live.status).toBe(200);
    expect(JSON.parse(live.body)).toMatchObject({
      status: 'ok',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      instance: 'hw-test-1',
      journal: 'memory',
      nats: null,
      degraded: false,
      policy: { revision: h.running.policies.current().revision },
      uptimeSeconds: expect.any(Number),
    });
    const ready = await httpGet(h.running.httpPort!, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ ready: true, reasons: [] });
  });

  it('NATS journal: /readyz turns 503 only after the grace period once nats-server stops, and 200 when it is back', async () => {
    nats = await NatsServer.start();
    const graceMs = 1500;
    h = await startHarness({
      config: {
        httpPort: 0,
        httpHost: '127.0.0.1',
        readyNatsGraceMs: graceMs,
        nats: { servers: [nats.url], prefix: `t${Math.random().toString(36).slice(2, 8)}`, feed: false, feedExclude: [] },
      },
    });
    const port = h.running.httpPort!;
    const status = async (): Promise<number> => (await httpGet(port, '/readyz')).status;
    expect(await status()).toBe(200);
    const c = healthClient(h.running.port);
    grpcClients.push(c);
    const w = watch(c, '');
    await until('Watch SERVING', () => w.seen.length > 0);

    const stoppedAt = Date.now();
    await nats.stop();
    await until(
      'the disconnect to be seen',
      async () => sample((await httpGet(port, '/metrics')).body, 'hookwarden_nats_connected', { connection: 'journal' }) === 0,
    );
    const during = await status();
    // answered before the grace could have run out (the disconnect came after stoppedAt): must still be ready
    if (Date.now() - stoppedAt < graceMs) expect(during).toBe(200);
    await until('/readyz 503', async () => (await status()) === 503);
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(graceMs - 50);
    const body = JSON.parse((await httpGet(port, '/readyz')).body) as {
      ready: boolean;
      reasons: string[];
      checks: { nats: { connected: boolean } };
    };
    expect(body.ready).toBe(false);
    expect(body.checks.nats.connected).toBe(false);
    expect(body.reasons.join(' ')).toMatch(/NATS journal connection has been down/);
    expect((await httpGet(port, '/healthz')).status).toBe(200); // alive all along
    await until('Watch NOT_SERVING', () => w.seen.includes('NOT_SERVING'));

    await nats.startAgain();
    await until('/readyz 200 again', async () => (await status()) === 200);
    const metrics = (await httpGet(port, '/metrics')).body;
    expect(sample(metrics, 'hookwarden_nats_connected', { connection: 'journal' })).toBe(1);
    expect(sample(metrics, 'hookwarden_nats_reconnects_total', { connection: 'journal' })).toBe(1);
    expect(sample(metrics, 'hookwarden_ready')).toBe(1);
    await until('Watch SERVING again', () => w.seen.length >= 3);
    expect(w.seen).toEqual(['SERVING', 'NOT_SERVING', 'SERVING']);
    w.stream.cancel();
  }, 40_000);
});
