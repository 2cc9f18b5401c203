/**
 * deploy/compose.yaml against the code and the other deploy files, and its
 * NATS cluster and hookwarden commands run for real on loopback (the
 * container names mapped to 127.0.0.1 and free ports).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, natsServerBinary } from '../support/nats-server.js';
import {
  CONFIG_ENV,
  HOOK_PORT,
  HTTP_PORT,
  HTTP_SERVER_PRESENT,
  NATS_VERSION,
  ROOT,
  compose,
  eventually,
  flags,
  httpStatus,
  isHookwarden,
  isNats,
  servicesWhere,
  spawnUntil,
  yaml,
  type ComposeService,
  type Proc,
} from './support.js';

const c = compose();
const nats = servicesWhere(c, isNats);
const hookwardens = servicesWhere(c, isHookwarden);
const emqx = c.services.emqx!;
const env = (s: ComposeService): Record<string, string> =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]));
const natsUrls = (s: ComposeService): URL[] => (env(s).HOOKWARDEN_NATS ?? '').split(',').map((u) => new URL(u));
const routes = (s: ComposeService): URL[] =>
  String(flags(s.command ?? []).get('--routes') ?? '')
    .split(',')
    .map((u) => new URL(u));

describe('compose: the stack', () => {
  it('is three NATS servers, three hookwarden instances and EMQX (Prometheus and Grafana optional)', () => {
    expect(nats.map(([n]) => n)).toEqual(['nats-1', 'nats-2', 'nats-3']);
    expect(hookwardens.map(([n]) => n)).toEqual(['hookwarden-1', 'hookwarden-2', 'hookwarden-3']);
    expect(emqx.image).toMatch(/^emqx\/emqx:5\.8\.\d+$/);
    const optional = servicesWhere(c, (_, s) => (s.profiles ?? []).length > 0).map(([n, s]) => [n, s.profiles]);
    expect(optional).toEqual([
      ['prometheus', ['observability']],
      ['grafana', ['observability']],
    ]);
  });

  it('pins every image to a version tag', () => {
    for (const [name, s] of Object.entries(c.services)) {
      const image = s.image ?? '';
      expect(image, name).toMatch(/:(v?\d+\.\d+\.\d+(-[\w.]+)?|local)$/);
    }
  });
});

describe('compose: NATS', () => {
  it(`runs the version in deploy/nats/VERSION (${NATS_VERSION}) on every node`, () => {
    for (const [, s] of nats) expect(s.image).toBe(`nats:${NATS_VERSION}-alpine`);
  });

  it('three JetStream nodes of one cluster, each named, on its own volume, routing to all three', () => {
    const names = nats.map(([n]) => n);
    for (const [name, s] of nats) {
      const f = flags(s.command ?? []);
      expect(f.get('--server_name')).toBe(name);
      expect(s.hostname).toBe(name);
      expect(f.get('--cluster_name')).toBe('hookwarden');
      expect(f.get('--jetstream')).toBe(true);
      const store = f.get('--store_dir');
      expect(s.volumes).toContain(`${name}:${store}`);
      expect(Object.keys(c.volumes ?? {})).toContain(name);
      const clusterPort = new URL(String(f.get('--cluster'))).port;
      expect(routes(s).map((u) => `${u.hostname}:${u.port}`)).toEqual(names.map((n) => `${n}:${clusterPort}`));
      expect(s.healthcheck?.test.join(' ')).toContain(`:${f.get('--http_port')}/healthz`);
    }
  });
});

describe('compose: hookwarden', () => {
  it('every instance reaches all three NATS nodes on their client port and has its own instance name', () => {
    for (const [name, s] of hookwardens) {
      expect(natsUrls(s).map((u) => `${u.protocol}//${u.hostname}:${u.port || 4222}`)).toEqual(nats.map(([n]) => `nats://${n}:4222`));
      expect(env(s).HOOKWARDEN_INSTANCE).toBe(name);
      expect(Object.keys(s.depends_on ?? {}).sort()).toEqual(nats.map(([n]) => n));
    }
    expect(new Set(hookwardens.map(([, s]) => env(s).HOOKWARDEN_INSTANCE)).size).toBe(3);
  });

  it('sets only variables hookwarden reads', () => {
    for (const [, s] of hookwardens) for (const k of Object.keys(env(s))) expect(CONFIG_ENV, k).toContain(k);
  });

  it('mounts the policy folder read-only where HOOKWARDEN_POLICY points', () => {
    for (const [, s] of hookwardens) {
      const policy = env(s).HOOKWARDEN_POLICY!;
      const dir = policy.slice(0, policy.lastIndexOf('/'));
      const mount = (s.volumes ?? []).find((v) => v.split(':')[1] === dir);
      expect(mount).toMatch(/:ro$/);
      expect(existsSync(join(ROOT, 'deploy', mount!.split(':')[0]!, policy.slice(dir.length + 1)))).toBe(true);
    }
  });

  it('publishes the HTTP port it configures, on loopback only', () => {
    for (const [, s] of hookwardens) {
      expect(env(s).HOOKWARDEN_HTTP_PORT).toBe(String(HTTP_PORT));
      expect(s.ports).toEqual([expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:\\d+:${HTTP_PORT}$`))]);
    }
  });

  it('shares one network name, the one EMQX calls', () => {
    for (const [, s] of hookwardens) expect(s.networks?.default?.aliases).toEqual(['hookwarden']);
    const url = new URL(env(emqx).EMQX_EXHOOK__SERVERS__1__URL!);
    expect(url.protocol).toBe('http:');
    expect(url.hostname).toBe('hookwarden');
    expect(Number(url.port)).toBe(HOOK_PORT);
    expect(Object.keys(emqx.depends_on ?? {})).toEqual(hookwardens.map(([n]) => n));
  });

  it('Prometheus scrapes every instance on the HTTP port; Grafana reads Prometheus', () => {
    const prom = yaml<{ scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[] }>(
      'deploy/prometheus/prometheus.yml',
    );
    const job = prom.scrape_configs.find((j) => j.job_name === 'hookwarden')!;
    expect(job.metrics_path).toBe('/metrics');
    expect(job.static_configs.flatMap((s) => s.targets)).toEqual(hookwardens.map(([n]) => `${n}:${HTTP_PORT}`));
    const grafana = yaml<{ datasources: { url: string }[] }>('deploy/grafana/datasources.yaml');
    expect(grafana.datasources[0]?.url).toBe('http://prometheus:9090');
    // the dashboard is provisioned from the folder the provider reads
    const provider = yaml<{ providers: { options: { path: string } }[] }>('deploy/grafana/dashboards.yaml').providers[0]!;
    const mounts = (c.services.grafana?.volumes ?? []).map((v) => v.split(':'));
    for (const [src] of mounts) expect(existsSync(join(ROOT, 'deploy', src!)), src).toBe(true);
    expect(mounts.find(([src]) => src === './grafana/hookwarden-dashboard.json')?.[1]).toMatch(
      new RegExp(`^${provider.options.path}/[\\w-]+\\.json$`),
    );
    expect(c.services.prometheus?.ports).toEqual(['127.0.0.1:9090:9090']);
  });
});

describe('compose: the NATS cluster and hookwarden, run on loopback', () => {
  const procs: Proc[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(
      procs
        .splice(0)
        .reverse()
        .map((p) => p.stop()),
    );
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("the nodes' own command lines form a three-node JetStream cluster; hookwarden starts on it", async () => {
    const ports = await Promise.all(nats.map(async () => ({ client: await freePort(), route: await freePort(), http: await freePort() })));
    const host = new Map(nats.map(([n], i) => [n, ports[i]!]));
    for (const [i, [name, s]] of nats.entries()) {
      const p = ports[i]!;
      const store = mkdtempSync(join(tmpdir(), `hw-compose-${name}-`));
      dirs.push(store);
      const args = (s.command ?? []).map((a) => {
        const [k, v = ''] = a.split(/=(.*)/s);
        if (k === '--store_dir') return `${k}=${store}`;
        if (k === '--http_port') return `${k}=${p.http}`;
        if (k === '--cluster') return `${k}=nats://127.0.0.1:${p.route}`;
        if (k === '--routes')
          return `${k}=${v.replace(/nats:\/\/([\w-]+):\d+/g, (_, h: string) => `nats://127.0.0.1:${host.get(h)!.route}`)}`;
        return a;
      });
      procs.push(await spawnUntil(natsServerBinary(), ['-a', '127.0.0.1', '-p', String(p.client), ...args], { ready: /Server is ready/ }));
    }
    // every node has routes to both others and reports JetStream healthy (the compose healthcheck)
    for (const p of ports) {
      await eventually(
        async () => {
          const r = await fetch(`http://127.0.0.1:${p.http}/routez`).then((x) => x.json() as Promise<{ num_routes: number }>);
          return r.num_routes >= 2 && (await httpStatus(p.http, '/healthz')) === 200;
        },
        30_000,
        'routes and JetStream health',
      );
    }
    const nc = await connect({ servers: ports.map((p) => `nats://127.0.0.1:${p.client}`) });
    expect(nc.info?.cluster).toBe('hookwarden');
    expect(nc.info?.jetstream).toBe(true);
    await nc.close();

    // hookwarden-1, with its compose environment (NATS URLs and policy path mapped)
    const [, s] = hookwardens[0]!;
    const httpPort = await freePort();
    const hwEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      ...env(s),
      HOOKWARDEN_NATS: natsUrls(s)
        .map((u) => `nats://127.0.0.1:${host.get(u.hostname)!.client}`)
        .join(','),
      HOOKWARDEN_POLICY: join(ROOT, 'deploy/policy/policy.yaml'),
      HOOKWARDEN_NATS_PREFIX: `t${Math.random().toString(36).slice(2, 10)}`,
      HOOKWARDEN_HOST: '127.0.0.1',
      HOOKWARDEN_PORT: '0',
      HOOKWARDEN_HTTP_PORT: String(httpPort),
      HOOKWARDEN_HTTP_HOST: '127.0.0.1',
    };
    const hw = await spawnUntil(process.execPath, ['bin/hookwarden.js', 'serve'], { env: hwEnv, ready: /"msg":"hookwarden listening"/ });
    procs.push(hw);
    expect(hw.output()).toMatch(/"msg":"NATS server"/);
    expect(hw.output()).toMatch(/"cluster":"hookwarden"/);
    if (HTTP_SERVER_PRESENT) {
      for (const path of ['/healthz', '/readyz', '/metrics']) {
        await eventually(async () => (await httpStatus(httpPort, path)) === 200, 15_000, `${path} 200`);
      }
    }
  });
});
