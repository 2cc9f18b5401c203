/**
 * Membership against a test-owned nats-server: instances announce
 * themselves in `<prefix>-instances`, see each other, vanish at once on a
 * graceful stop and after their TTL on kill -9, and `hookwarden cluster`
 * lists them. Short heartbeats (200 ms, TTL 1.5 s) keep it quick.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MACHINE_VERSION } from '../../machines/client/client.step.js';
import { listInstances } from '../../src/cluster/cluster-cli.js';
import { instanceKey, type InstanceInfo } from '../../src/cluster/instance-info.js';
import { openInstanceBucket } from '../../src/cluster/instance-store.js';
import { Membership } from '../../src/cluster/membership.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { startHarness, type Harness } from '../support/in-process.js';
import { NatsServer } from '../support/nats-server.js';
import { ROOT, runCli, startServe, type Hookwarden } from '../support/process.js';
import { META, clientinfo } from '../support/emqx-shapes.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const HEARTBEAT_MS = 200;
const TTL_MS = 1500;

let server: NatsServer;
let reader: NatsConnection;
const harnesses: Harness[] = [];
const children: Hookwarden[] = [];
let n = 0;
const prefix = (): string => `hwm${process.pid}x${++n}${Math.random().toString(36).slice(2, 6)}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = await NatsServer.start();
  reader = await connect({ servers: server.url });
});
afterAll(async () => {
  await Promise.all(harnesses.map((h) => h.close().catch(() => undefined)));
  await Promise.all(children.map((c) => c.stop('SIGKILL')));
  await reader?.close();
  await server?.cleanup();
});

/** Poll `read` until `ok` holds (bounded); returns the last value read. */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) return v;
    await sleep(50);
  }
}

const names = (list: readonly InstanceInfo[]): string[] => list.map((i) => i.name);

async function inProcess(p: string, instance: string): Promise<Harness> {
  const h = await startHarness({
    config: {
      instance,
      nats: { servers: [server.url], prefix: p, feed: false, feedExclude: [] },
      clusterHeartbeatMs: HEARTBEAT_MS,
      clusterTtlMs: TTL_MS,
      logLevel: 'warn',
    },
  });
  harnesses.push(h);
  return h;
}

describe('membership', () => {
  it('membership - two instances see each other with their figures; `hookwarden cluster` prints both', async () => {
    const p = prefix();
    const a = await inProcess(p, 'alpha');
    const b = await startServe([
      ...['--nats', server.url, '--nats-prefix', p, '--instance', 'beta', '--feed', 'false'],
      ...['--cluster-heartbeat', `${HEARTBEAT_MS}ms`, '--cluster-ttl', `${TTL_MS}ms`],
      ...['--http-port', '0', '--http-host', '127.0.0.1'],
    ]);
    children.push(b);
    const membership = a.running.membership;
    if (!membership) throw new Error('start() with NATS exposes membership');

    // load on alpha while we wait: an EMQX node loads it, a client connects and is authorized
    await a.client.call('OnProviderLoaded', {
      broker: { version: '5.8.0', sysdescr: 'EMQX', uptime: '1000', datetime: '' },
      meta: META,
    });
    let driving = true;
    const driver = (async () => {
      for (let i = 0; driving; i++) {
        const ci = clientinfo({ clientid: `c${i % 5}` });
        await a.client.call('OnClientConnected', { clientinfo: ci, meta: META });
        await a.client.call('OnClientAuthorize', { clientinfo: ci, type: 'PUBLISH', topic: 't/1', result: true, meta: META });
        await sleep(10);
      }
    })();
    const seen = await until(
      () => membership.list(),
      (l) => names(l).join() === 'alpha,beta' && (l[0]?.load.valuedPerSec ?? 0) > 0 && (l[0]?.load.clients ?? 0) >= 5,
    );
    driving = false;
    await driver;

    expect(names(seen)).toEqual(['alpha', 'beta']);
    const [alpha, beta] = seen as [InstanceInfo, InstanceInfo];
    expect(alpha).toMatchObject({ hookPort: a.running.port, version: VERSION, machineVersion: MACHINE_VERSION, schemaVersion: 1 });
    expect(alpha.emqxNodes).toEqual([META.node]);
    expect(alpha.load.hooksPerSec).toBeGreaterThan(alpha.load.valuedPerSec);
    expect(alpha.load.clients).toBe(5);
    expect(alpha.shards).toEqual([]);
    expect(alpha.runId).toBe(membership.runId);
    expect(beta).toMatchObject({ hookPort: b.port, pid: b.child.pid, heartbeatMs: HEARTBEAT_MS, ttlMs: TTL_MS, emqxNodes: [] });
    expect(beta.runId).not.toBe(alpha.runId);
    expect(alpha.httpPort).toBeUndefined();
    expect(beta.httpPort).toBeGreaterThan(0);
    expect(beta.httpPort).not.toBe(b.port);
    expect(Date.now() - beta.lastSeen).toBeLessThan(TTL_MS);

    const table = await runCli(['cluster', '--nats', server.url, '--nats-prefix', p]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+VERSION\s+MACHINE/);
    expect(table.stdout).toMatch(new RegExp(`\\nalpha\\s+${VERSION.replace(/\./g, '\\.')}\\s+${MACHINE_VERSION}\\s`));
    expect(table.stdout).toMatch(/\nbeta\s/);
    expect(table.stdout).toContain(META.node);
    expect(table.stdout).toContain(`2 instances under prefix "${p}"`);
    const json = await runCli(['cluster', '--nats', server.url, '--nats-prefix', p, '--json']);
    expect(json.code).toBe(0);
    const listed = JSON.parse(json.stdout) as InstanceInfo[];
    expect(listed.map((i) => [i.name, i.runId])).toEqual([
      ['alpha', alpha.runId],
      ['beta', beta.runId],
    ]);
    expect(await b.stop()).toBe(0);
    await a.close();
  });

  it('membership - a graceful stop removes the entry at once; kill -9 leaves it until its TTL', async () => {
    const p = prefix();
    const a = await inProcess(p, 'alpha');
    const b = await startServe([
      ...['--nats', server.url, '--nats-prefix', p, '--instance', 'beta', '--feed', 'false'],
      ...['--cluster-heartbeat', `${HEARTBEAT_MS}ms`, '--cluster-ttl', `${TTL_MS}ms`],
    ]);
    children.push(b);
    expect(
      names(
        await until(
          () => listInstances(reader, p),
          (l) => l.length === 2,
        ),
      ),
    ).toEqual(['alpha', 'beta']);

    // kill -9: no goodbye; the entry stays until it is older than its TTL
    b.child.kill('SIGKILL');
    await new Promise((r) => b.child.once('exit', r));
    const killedAt = Date.now();
    expect(names(await listInstances(reader, p))).toEqual(['alpha', 'beta']);
    const after = await until(
      () => listInstances(reader, p),
      (l) => !names(l).includes('beta'),
      TTL_MS + 3000,
    );
    expect(names(after)).toEqual(['alpha']);
    const gone = Date.now() - killedAt;
    expect(gone).toBeLessThan(TTL_MS + 1500);

    // graceful: gone as soon as stop() resolves, long before the TTL
    await a.running.stop();
    expect(await listInstances(reader, p)).toEqual([]);
    const none = await runCli(['cluster', '--nats', server.url, '--nats-prefix', p]);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain(`no hookwarden instances are announced under prefix "${p}"`);
  });

  it('membership - list() drops entries whose last heartbeat is older than their TTL and skips junk', async () => {
    const p = prefix();
    // a bucket whose own TTL is long, as created by instances configured with a longer TTL
    const kv = await openInstanceBucket(reader, p, 60_000, 2000);
    const now = Date.now();
    const entry = (name: string, lastSeen: number, ttlMs?: number): string =>
      JSON.stringify({ name, runId: name, lastSeen, hookPort: 1, ...(ttlMs ? { ttlMs } : {}) });
    await kv.put(instanceKey('fresh', 'r1'), entry('fresh', now - 500, 5000));
    await kv.put(instanceKey('stale', 'r2'), entry('stale', now - 6000, 5000));
    await kv.put(instanceKey('default-ttl', 'r3'), entry('default-ttl', now - 9000));
    await kv.put(instanceKey('default-old', 'r4'), entry('default-old', now - 11_000));
    await kv.put('junk.r5', 'not an instance');
    expect(names(await listInstances(reader, p))).toEqual(['default-ttl', 'fresh']);
    expect(await listInstances(reader, `${p}nobucket`)).toEqual([]);
  });

  it('membership - heartbeats resume after the NATS server restarts', async () => {
    const p = prefix();
    const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    try {
      const m = await Membership.start({
        nc,
        prefix: p,
        name: 'phoenix',
        hookPort: 1,
        heartbeatMs: HEARTBEAT_MS,
        ttlMs: TTL_MS,
        log: createLogger('silent'),
        sources: {
          hooks: () => ({ hooks: 0, valued: 0 }),
          clients: () => 0,
          journal: () => ({ pending: 0, conflicts: 0 }),
          emqxNodes: () => [],
          shards: () => [3, 1],
        },
      });
      expect((await m.list()).map((i) => [i.name, i.shards])).toEqual([['phoenix', [1, 3]]]);
      await server.restart();
      const restartedAt = Date.now();
      const back = await until(
        () => listInstances(reader, p).catch(() => [] as InstanceInfo[]),
        (l) => (l[0]?.lastSeen ?? 0) > restartedAt,
        10_000,
      );
      expect(names(back)).toEqual(['phoenix']);
      await m.stop();
      expect(await m.list()).toEqual([]);
    } finally {
      await nc.close();
    }
  });

  it('membership - cluster.heartbeat and cluster.ttl are configurable; a TTL under two heartbeats is refused', async () => {
    expect(loadConfig({}, {})).toMatchObject({ clusterHeartbeatMs: 2000, clusterTtlMs: 10_000 });
    expect(loadConfig({ 'cluster-heartbeat': '5s' }, {})).toMatchObject({ clusterHeartbeatMs: 5000, clusterTtlMs: 15_000 });
    expect(loadConfig({}, { HOOKWARDEN_CLUSTER_HEARTBEAT: '500ms', HOOKWARDEN_CLUSTER_TTL: '3s' })).toMatchObject({
      clusterHeartbeatMs: 500,
      clusterTtlMs: 3000,
    });
    expect(() => loadConfig({ 'cluster-heartbeat': '2s', 'cluster-ttl': '3s' }, {})).toThrow(/cluster\.ttl: .*shorter than two heartbeats/);
    expect(() => loadConfig({ 'cluster-heartbeat': 'often' }, {})).toThrow(/--cluster-heartbeat/);
    const usage = await runCli(['cluster']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--nats URL');
    const down = await runCli(['cluster', '--nats', 'nats://127.0.0.1:1']);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot connect to NATS');
  });
});
