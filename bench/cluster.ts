/**
 * `npm run bench:cluster` (`node dist/bench/cluster.js`): the cluster
 * benchmark. In one run, side by side, on the EMQX-like `mix` over many client
 * ids: the no-op floor, one hookwarden with `--nats`, and N hookwardens
 * (`--instance h1..hN`) sharing one NATS server and subject prefix, the N
 * loaded two ways: affinity (a client's calls over its hash-chosen
 * connection, so to one instance, as EMQX's pool does) and random (each call
 * over a random connection, an L7 balancer). Per configuration: calls/s,
 * p50/p99, server CPU per call summed over the instances, NATS CPU per call,
 * and conflicts and redone steps per 1,000 hooks (read from each instance's
 * /metrics). Method: docs/BENCHMARKS.md, "Cluster".
 */
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { NatsServer } from '../test/support/nats-server.js';
import { freePort, killAllServers, machineCpu, processCpuUs, startFloorChild, startHookwardenChild, type ServerChild } from './children.js';
import { CLUSTER_USAGE, clusterConfig, firstSessionOf, parseClusterArgs, sumSamples, type ClusterConfig } from './cluster-args.js';
import {
  formatClusterRunLine,
  formatClusterTable,
  NO_DELTAS,
  summarizeConfig,
  type ClusterRun,
  type ClusterSummary,
  type WriterDeltas,
} from './cluster-report.js';
import { repoRoot } from './exhook-proto.js';
import { killAllWorkers, LoadPool } from './load-pool.js';
import { providerLoaded } from './probe.js';

interface Instance {
  readonly name: string;
  readonly child: ServerChild;
  /** The HTTP port serving /metrics (hookwarden only). */
  readonly httpPort?: number;
}

const log = (s: string): void => {
  process.stdout.write(`${s}\n`);
};

const COUNTERS: Record<keyof WriterDeltas, string> = {
  hooks: 'hookwarden_hook_calls_total',
  conflicts: 'hookwarden_journal_conflicts_total',
  redone: 'hookwarden_journal_redone_total',
  recoveries: 'hookwarden_journal_recoveries_total',
  timeouts: 'hookwarden_journal_timeouts_total',
  fallbacks: 'hookwarden_fallbacks_total',
};

async function scrape(i: Instance): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${i.httpPort}/metrics`);
  if (!res.ok) throw new Error(`${i.name}: /metrics answered ${res.status}`);
  return res.text();
}

/** The writer counters summed over `instances`, once their journals have nothing pending (5 s at most). */
async function counters(instances: readonly Instance[]): Promise<WriterDeltas> {
  const withHttp = instances.filter((i) => i.httpPort !== undefined);
  if (withHttp.length === 0) return NO_DELTAS;
  let texts: string[] = [];
  for (let tries = 0; tries < 50; tries += 1) {
    texts = await Promise.all(withHttp.map(scrape));
    if (texts.every((t) => sumSamples(t, 'hookwarden_journal_pending') === 0)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const out = { ...NO_DELTAS } as Record<keyof WriterDeltas, number>;
  for (const [k, name] of Object.entries(COUNTERS) as [keyof WriterDeltas, string][])
    out[k] = texts.reduce((s, t) => s + sumSamples(t, name), 0);
  return out;
}

const minus = (a: WriterDeltas, b: WriterDeltas): WriterDeltas => {
  const out = { ...NO_DELTAS } as Record<keyof WriterDeltas, number>;
  for (const k of Object.keys(out) as (keyof WriterDeltas)[]) out[k] = a[k] - b[k];
  return out;
};

async function main(): Promise<number> {
  let args;
  try {
    args = parseClusterArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench cluster: ${(err as Error).message}\n${CLUSTER_USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(CLUSTER_USAGE);
    return 0;
  }
  if (!existsSync(join(repoRoot(), 'dist', 'src', 'cli.js'))) throw new Error('dist/src/cli.js is missing: build first (npm run build)');
  const configs = args.configs.map((n) => clusterConfig(n, args.instances));
  const needs = new Set(configs.map((c) => c.servers));
  const all: Instance[] = [];
  let nats: NatsServer | undefined;
  let pool: LoadPool | undefined;
  const killAll = (): void => {
    killAllWorkers();
    killAllServers();
  };
  process.once('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`\n${sig}: stopping children`);
      killAll();
      process.exit(130);
    });
  }
  try {
    let natsUrl = args.nats;
    if (natsUrl === undefined && (needs.has('one') || needs.has('many'))) {
      nats = await NatsServer.start();
      natsUrl = nats.url;
    }
    const tag = `hwb${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const hookwarden = async (name: string, prefix: string): Promise<Instance> => {
      const httpPort = await freePort();
      const child = await startHookwardenChild([
        ...['--nats', natsUrl ?? '', '--nats-prefix', prefix, '--instance', name],
        ...['--http-port', String(httpPort), '--http-host', '127.0.0.1'],
        // the mix sends delivered/acked, which EMQX sends only when mounted: mount them
        ...['--message-events', 'message.delivered,message.acked'],
        ...args.hookwardenArgs,
      ]);
      const i = { name, child, httpPort };
      all.push(i);
      return i;
    };
    const groups: Record<ClusterConfig['servers'], Instance[]> = { floor: [], one: [], many: [] };
    if (needs.has('floor')) {
      groups.floor.push({ name: 'floor', child: await startFloorChild('floor') });
      all.push(...groups.floor);
    }
    if (needs.has('one')) groups.one.push(await hookwarden('h0', `${tag}one`));
    for (let i = 1; needs.has('many') && i <= args.instances; i += 1) groups.many.push(await hookwarden(`h${i}`, `${tag}many`));
    for (const i of all) {
      const hooks = await providerLoaded(i.child.port, args.version);
      log(`${i.name} (pid ${i.child.pid}, port ${i.child.port}${i.httpPort ? `, http ${i.httpPort}` : ''}) mounts ${hooks.length} hooks`);
    }
    log(
      `NATS: ${nats ? `private nats-server (pid ${nats.pid}) at ${natsUrl}` : (natsUrl ?? 'none')}; prefixes ${tag}one (1 instance), ${tag}many (${args.instances} instances)`,
    );

    const frames = { version: args.version, clients: args.clients, publishesPerSession: args.publishes, payloadBytes: 128 };
    const load = await LoadPool.start(1, frames, ['mix']);
    pool = load;
    const info = load.sets['mix'];
    log(
      `load: raw HTTP/2 client, 1 worker, ${args.connections} connections (round robin over a configuration's instances), ${args.concurrency} in flight`,
    );
    log(`set mix: ${info?.sessions} client ids (random runs take the upper half), ${info?.calls} calls per pass`);
    log(`machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}, node ${process.version}`);
    log(
      `runs: ${args.warmupMs / 1000} s warm-up per configuration, then ${args.rounds} rounds of (${args.settleMs / 1000} s settle + ${args.durationMs / 1000} s measured), alternating ${args.configs.join(', ')}`,
    );

    const run = async (config: ClusterConfig, warmupMs: number, durationMs: number, onPhase?: (p: 'measure' | 'end') => void) => {
      const instances = groups[config.servers];
      const targets = instances.map((i) => ({ host: '127.0.0.1', port: i.child.port }));
      const first = targets[0];
      if (!first) throw new Error(`no servers for ${config.name}`);
      const r = await load.run(
        {
          ...first,
          targets,
          routing: config.routing,
          firstSession: firstSessionOf(config, args.clients),
          set: 'mix',
          concurrency: args.concurrency,
          connections: args.connections,
          warmupMs,
          durationMs,
          client: 'raw',
        },
        onPhase,
      );
      if (r.fatal) throw new Error(`${config.label}: ${r.fatal}\n${instances.map((i) => i.child.tail()).join('\n')}`);
      return r;
    };
    for (const config of configs) if (args.warmupMs > 0) await run(config, args.warmupMs, 100);

    const runs: ClusterRun[] = [];
    const minePids = [...all.map((i) => i.child.pid), ...(nats?.pid !== undefined ? [nats.pid] : [])];
    const cpuOf = (pids: readonly number[]): number => pids.reduce((s, p) => s + processCpuUs(p), 0);
    for (let round = 1; round <= args.rounds; round += 1) {
      for (const config of configs) {
        const instances = groups[config.servers];
        const pids = instances.map((i) => i.child.pid);
        const before = await counters(instances);
        let s0 = { srv: 0, nats: 0, mine: 0, m: machineCpu() };
        let d = { srv: 0, nats: 0, mine: 0, busy: 0 };
        const result = await run(config, args.settleMs, args.durationMs, (phase) => {
          const now = { srv: cpuOf(pids), nats: nats?.pid ? processCpuUs(nats.pid) : Number.NaN, mine: cpuOf(minePids), m: machineCpu() };
          if (phase === 'measure') s0 = now;
          else
            d = {
              srv: now.srv - s0.srv,
              nats: now.nats - s0.nats,
              mine: now.mine - s0.mine,
              busy: (now.m.busy - s0.m.busy) / Math.max(1, now.m.total - s0.m.total),
            };
        });
        const deltas = minus(await counters(instances), before);
        const secs = result.elapsedMs / 1000;
        const own = (d.mine + result.cpuUserUs + result.cpuSystemUs) / 1e6 / secs;
        const record = {
          set: 'mix',
          round,
          target: config.name,
          result,
          serverCpuUs: d.srv,
          machineBusy: d.busy,
          otherCores: Math.max(0, d.busy * os.cpus().length - own),
        };
        const r: ClusterRun = { config, instances: instances.length, record, natsCpuUs: d.nats, deltas };
        runs.push(r);
        log(formatClusterRunLine(r));
        if (result.errors > 0) log(`    errors: ${JSON.stringify(result.errorKinds)}`);
      }
    }
    const sums = configs.map((c) => summarizeConfig(c, runs)).filter((s): s is ClusterSummary => s !== undefined);
    log('');
    log(formatClusterTable(sums));
    log('');
    log(
      'server µs/call: CPU of the configuration’s instances, summed, per completed call; per 1k hooks: counters of its instances’ /metrics per 1,000 hook calls they received.',
    );
    for (const s of sums)
      if (s.config.servers !== 'floor')
        log(
          `${s.config.label}: ${s.deltas.hooks} hooks, ${s.deltas.conflicts} conflicts, ${s.deltas.redone} redone, ${s.deltas.recoveries} recoveries, ${s.deltas.timeouts} timeouts, ${s.deltas.fallbacks} fallbacks`,
        );
    if (args.json !== undefined) {
      const strip = runs.map((r) => ({
        ...r,
        record: { ...r.record, result: { ...r.record.result, latency: undefined, perWorker: undefined } },
      }));
      writeFileSync(args.json, JSON.stringify({ args, runs: strip, summary: sums }, null, 2));
      log(`wrote ${args.json}`);
    }
    return 0;
  } finally {
    await pool?.close();
    await Promise.all(all.map((i) => i.child.stop()));
    await nats?.cleanup();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench cluster: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
