/**
 * `npm run bench`: the edge benchmark. Starts the no-op grpc-js floor and
 * hookwarden as child processes, loads both with the same pre-encoded
 * EMQX-like frames, alternating floor, hookwarden, floor, hookwarden… per
 * frame set, and prints calls/s, latency and the hookwarden/floor ratios.
 * Method: docs/BENCHMARKS.md, "Edge benchmark".
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import os from 'node:os';
import { killAllServers, machineCpu, processCpuUs, startFloorChild, startHookwardenChild, type ServerChild } from './children.js';
import { repoRoot, type ExhookVersion } from './exhook-proto.js';
import { FRAME_SET_NAMES, type FrameSetName } from './frames.js';
import { killAllWorkers, LoadPool } from './load-pool.js';
import { providerLoaded } from './probe.js';
import type { ClientKind } from './transports.js';
import { formatRunLine, formatTable, summarizeSet, type RunRecord, type SetSummary } from './report.js';

const USAGE = `usage: npm run bench -- [options]
  --duration S          measured seconds per run (10)
  --warmup S            unmeasured load on each server before a set's first round (3)
  --settle S            unmeasured seconds at the start of every run, on its fresh connections (1)
  --concurrency N       calls in flight (64)
  --connections N       HTTP/2 connections, like EMQX's pool_size (8)
  --workers N           load generator processes (1)
  --client raw|node     generator HTTP/2 client: raw frames (default) or node:http2
  --rounds N            runs per server and set, alternating (3)
  --only LIST           mix,publish,authorize (all)
  --policy FILE         passed to hookwarden serve --policy
  --hookwarden-arg ARG  extra argument for hookwarden serve (repeatable)
  --against floor       compare the floor with a second floor (no hookwarden)
  --clients N           distinct client ids (10000)
  --publishes N         publishes per session in the mix (10)
  --proto v1|v2|v3      ExHook version of the frames (v2)
  --json FILE           also write every run and the summary as JSON
  --min-ratio R         verdict threshold for calls/s ratio (0.8)
  --max-p99-ratio R     verdict threshold for p99 ratio (2)
`;

interface Args {
  durationMs: number;
  warmupMs: number;
  settleMs: number;
  concurrency: number;
  connections: number;
  workers: number;
  client: ClientKind;
  rounds: number;
  sets: FrameSetName[];
  policy?: string;
  hookwardenArgs: string[];
  againstFloor: boolean;
  clients: number;
  publishes: number;
  version: ExhookVersion;
  json?: string;
  minRatio: number;
  maxP99Ratio: number;
}

function parse(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      settle: { type: 'string' },
      concurrency: { type: 'string' },
      connections: { type: 'string' },
      workers: { type: 'string' },
      client: { type: 'string' },
      rounds: { type: 'string' },
      only: { type: 'string', multiple: true },
      policy: { type: 'string' },
      'hookwarden-arg': { type: 'string', multiple: true },
      against: { type: 'string' },
      clients: { type: 'string' },
      publishes: { type: 'string' },
      proto: { type: 'string' },
      json: { type: 'string' },
      'min-ratio': { type: 'string' },
      'max-p99-ratio': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const num = (v: string | undefined, def: number, name: string, min: number, max: number): number => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number in ${min}..${max}, not "${v}"`);
    return n;
  };
  const sets = (values.only ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  for (const s of sets) if (!FRAME_SET_NAMES.includes(s as FrameSetName)) throw new Error(`--only: unknown set "${s}" (mix, publish, authorize)`);
  const version = values.proto ?? 'v2';
  if (version !== 'v1' && version !== 'v2' && version !== 'v3') throw new Error('--proto must be v1, v2 or v3');
  const client = values.client ?? 'raw';
  if (client !== 'raw' && client !== 'node') throw new Error('--client must be raw or node');
  if (values.against !== undefined && values.against !== 'floor') throw new Error('--against takes only "floor"');
  return {
    durationMs: num(values.duration, 10, 'duration', 1, 600) * 1000,
    warmupMs: num(values.warmup, 3, 'warmup', 0, 120) * 1000,
    settleMs: num(values.settle, 1, 'settle', 0, 60) * 1000,
    concurrency: Math.floor(num(values.concurrency, 64, 'concurrency', 1, 10_000)),
    connections: Math.floor(num(values.connections, 8, 'connections', 1, 256)),
    workers: Math.floor(num(values.workers, 1, 'workers', 1, 8)),
    client,
    rounds: Math.floor(num(values.rounds, 3, 'rounds', 1, 50)),
    sets: sets.length > 0 ? (sets as FrameSetName[]) : [...FRAME_SET_NAMES],
    ...(values.policy !== undefined ? { policy: resolve(values.policy) } : {}),
    hookwardenArgs: values['hookwarden-arg'] ?? [],
    againstFloor: values.against === 'floor',
    clients: Math.floor(num(values.clients, 10_000, 'clients', 1, 1_000_000)),
    publishes: Math.floor(num(values.publishes, 10, 'publishes', 0, 1000)),
    version,
    ...(values.json !== undefined ? { json: values.json } : {}),
    minRatio: num(values['min-ratio'], 0.8, 'min-ratio', 0, 10),
    maxP99Ratio: num(values['max-p99-ratio'], 2, 'max-p99-ratio', 0, 100),
  };
}

/** Which hookwarden was measured: git commit, uncommitted files, build time of dist/src/cli.js. */
function buildInfo(): string {
  const root = repoRoot();
  const git = (args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const head = git(['rev-parse', '--short', 'HEAD']) || 'no git';
  const dirty = git(['status', '--porcelain']).split('\n').filter(Boolean).length;
  const cli = join(root, 'dist', 'src', 'cli.js');
  const built = existsSync(cli) ? statSync(cli).mtime.toISOString() : 'not built';
  return `git ${head}${dirty > 0 ? ` + ${dirty} uncommitted files` : ''}, dist/src/cli.js built ${built}`;
}

const log = (s: string): void => {
  process.stdout.write(`${s}\n`);
};

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  const servers: ServerChild[] = [];
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
    const cliBuilt = existsSync(join(repoRoot(), 'dist', 'src', 'cli.js'));
    const useFloorB = args.againstFloor || !cliBuilt;
    if (!args.againstFloor && !cliBuilt) log('note: dist/src/cli.js is missing (hookwarden not built): comparing the floor with a second floor');

    const floor = await startFloorChild('floor');
    servers.push(floor);
    const hwArgs = [
      ...(args.policy !== undefined ? ['--policy', args.policy] : []),
      // The mix sends delivered/acked, which EMQX sends only when mounted: mount them.
      '--message-events',
      'message.delivered,message.acked',
      ...args.hookwardenArgs,
    ];
    const cand = useFloorB ? await startFloorChild('floor-b') : await startHookwardenChild(hwArgs);
    servers.push(cand);

    for (const s of servers) {
      const hooks = await providerLoaded(s.port, args.version);
      log(`${s.name} (pid ${s.pid}, port ${s.port}) mounts ${hooks.length} hooks: ${hooks.join(', ')}`);
    }

    const frames = { version: args.version, clients: args.clients, publishesPerSession: args.publishes, payloadBytes: 128 };
    const t0 = Date.now();
    pool = await LoadPool.start(args.workers, frames, args.sets);
    log(`load: ${args.client} HTTP/2 client, ${args.workers} worker(s), ${args.connections} connections, ${args.concurrency} in flight; frames encoded in ${Date.now() - t0} ms`);
    for (const name of args.sets) {
      const info = pool.sets[name];
      if (!info) continue;
      const weights = Object.entries(info.rpcCounts)
        .map(([rpc, n]) => `${rpc} ${((100 * n) / info.calls).toFixed(1)}%`)
        .join(', ');
      log(`set ${name}: ${info.sessions} client ids, ${info.calls} calls per pass, ${(info.bytes / 1e6).toFixed(1)} MB encoded; ${weights}`);
    }
    log(`machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}, node ${process.version}`);
    const build = buildInfo();
    if (!useFloorB) log(`hookwarden: ${build}`);
    log(
      `runs: per set, ${args.warmupMs / 1000} s warm-up on each server, then ${args.rounds} rounds of ` +
        `(${args.settleMs / 1000} s settle + ${args.durationMs / 1000} s measured) per server, alternating`,
    );

    const records: RunRecord[] = [];
    const base = { host: '127.0.0.1', concurrency: args.concurrency, connections: args.connections, client: args.client } as const;
    for (const set of args.sets) {
      if (args.warmupMs > 0) {
        for (const target of [floor, cand]) {
          const w = await pool.run({ ...base, port: target.port, set, warmupMs: args.warmupMs, durationMs: 100 });
          if (w.fatal) throw new Error(`warm-up of ${set} against ${target.name}: ${w.fatal}\n${target.tail()}`);
        }
      }
      for (let round = 1; round <= args.rounds; round += 1) {
        for (const target of [floor, cand]) {
          let cpu0 = 0;
          let m0 = machineCpu();
          let cpuUs = 0;
          let busy = 0;
          let busyCores = 0;
          const result = await pool.run(
            { ...base, port: target.port, set, warmupMs: args.settleMs, durationMs: args.durationMs },
            (phase) => {
              if (phase === 'measure') {
                cpu0 = processCpuUs(target.pid);
                m0 = machineCpu();
              } else {
                cpuUs = processCpuUs(target.pid) - cpu0;
                const m1 = machineCpu();
                busy = (m1.busy - m0.busy) / Math.max(1, m1.total - m0.total);
                busyCores = busy * os.cpus().length;
              }
            },
          );
          if (result.fatal) throw new Error(`${set} round ${round} against ${target.name}: ${result.fatal}\n${target.tail()}`);
          const secs = result.elapsedMs / 1000;
          const own = (cpuUs + result.cpuUserUs + result.cpuSystemUs) / 1e6 / secs;
          const rec: RunRecord = { set, round, target: target.name, result, serverCpuUs: cpuUs, machineBusy: busy, otherCores: Math.max(0, busyCores - own) };
          records.push(rec);
          log(formatRunLine(rec));
          if (result.errors > 0) log(`    errors: ${JSON.stringify(result.errorKinds)}`);
        }
      }
    }

    const sums: SetSummary[] = args.sets.map((s) => summarizeSet(s, floor.name, cand.name, records));
    log('');
    log(formatTable(sums, args.minRatio, args.maxP99Ratio));
    log('');
    log('ratio = candidate ÷ floor (calls/s: total calls over total measured time of all rounds; p99: merged latency histograms);');
    log('CPU ratio = floor server µs/call ÷ candidate server µs/call.');
    const other = Math.max(...sums.flatMap((x) => [x.floor.otherCores, x.candidate.otherCores]));
    if (other > 0.2) log(`warning: other processes used up to ${other.toFixed(2)} cores during the runs; the ratios are noisy: see the quiet-rounds column, add --rounds, or use a quiet machine`);
    for (const s of servers) log(`${s.name} wrote ${s.outputBytes()} bytes of logs`);
    if (args.json !== undefined) {
      const strip = records.map((r) => ({ ...r, result: { ...r.result, latency: undefined, perWorker: undefined } }));
      writeFileSync(args.json, JSON.stringify({ args, build, machine: { cores: os.cpus().length, model: os.cpus()[0]?.model, node: process.version }, sets: pool.sets, runs: strip, summary: sums }, null, 2));
      log(`wrote ${args.json}`);
    }
    return 0;
  } finally {
    await pool?.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
