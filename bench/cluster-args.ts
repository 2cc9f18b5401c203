/**
 * PURE parts of the cluster benchmark (bench/cluster.ts): its command line,
 * the four configurations it compares, and reading counters from a
 * Prometheus text exposition. No I/O.
 */
import { parseArgs } from 'node:util';
import type { ExhookVersion } from './exhook-proto.js';
import type { Routing } from './routing.js';

export type ConfigName = 'floor' | 'one' | 'affinity' | 'random';
export const CONFIG_NAMES: readonly ConfigName[] = ['floor', 'one', 'affinity', 'random'];

/** How one configuration is served and routed. */
export interface ClusterConfig {
  readonly name: ConfigName;
  /** Label in the tables. */
  readonly label: string;
  /** Which servers: the floor, the single instance, or the N instances sharing a prefix. */
  readonly servers: 'floor' | 'one' | 'many';
  readonly routing: Routing;
}

export function clusterConfig(name: ConfigName, instances: number): ClusterConfig {
  switch (name) {
    case 'floor':
      return { name, label: 'floor (no-op)', servers: 'floor', routing: 'affinity' };
    case 'one':
      return { name, label: '1 instance', servers: 'one', routing: 'affinity' };
    case 'affinity':
      return { name, label: `${instances} instances, affinity`, servers: 'many', routing: 'affinity' };
    case 'random':
      return { name, label: `${instances} instances, random`, servers: 'many', routing: 'random' };
  }
}

export interface ClusterArgs {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly settleMs: number;
  readonly rounds: number;
  readonly concurrency: number;
  readonly connections: number;
  readonly instances: number;
  readonly configs: readonly ConfigName[];
  readonly clients: number;
  readonly publishes: number;
  readonly version: ExhookVersion;
  /** An existing NATS server (else the benchmark starts its own). */
  readonly nats?: string;
  readonly hookwardenArgs: readonly string[];
  readonly json?: string;
  readonly help: boolean;
}

export const CLUSTER_USAGE = `usage: npm run bench:cluster -- [options]      (or: node dist/bench/cluster.js [options])
  --duration S          measured seconds per run (5)
  --warmup S            unmeasured load per configuration before its first round (3)
  --settle S            unmeasured seconds at the start of every run (1)
  --rounds N            runs per configuration, alternating (3)
  --concurrency N       calls in flight (64)
  --connections N       HTTP/2 connections, spread round robin over the instances (9)
  --instances N         instances of the shared configuration (3)
  --only LIST           floor,one,affinity,random (all)
  --clients N           distinct client ids (10000); random runs use the upper half, the others the lower
  --publishes N         publishes per session in the mix (10)
  --proto v1|v2|v3      ExHook version of the frames (v2)
  --nats URL            use this NATS server (default: start a private nats-server with JetStream)
  --hookwarden-arg ARG  extra argument for every hookwarden serve (repeatable)
  --json FILE           also write every run and the summary as JSON
`;

/** Parse the cluster benchmark's arguments; throws with a message naming the flag. */
export function parseClusterArgs(argv: readonly string[]): ClusterArgs {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      settle: { type: 'string' },
      rounds: { type: 'string' },
      concurrency: { type: 'string' },
      connections: { type: 'string' },
      instances: { type: 'string' },
      only: { type: 'string', multiple: true },
      clients: { type: 'string' },
      publishes: { type: 'string' },
      proto: { type: 'string' },
      nats: { type: 'string' },
      'hookwarden-arg': { type: 'string', multiple: true },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const num = (v: string | undefined, def: number, name: string, min: number, max: number): number => {
    if (v === undefined) return def;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max)
      throw new Error(`--${name} must be a number in ${min}..${max}, not "${v}"`);
    return n;
  };
  const only = (values.only ?? [])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  for (const c of only)
    if (!CONFIG_NAMES.includes(c as ConfigName)) throw new Error(`--only: unknown configuration "${c}" (${CONFIG_NAMES.join(', ')})`);
  const version = values.proto ?? 'v2';
  if (version !== 'v1' && version !== 'v2' && version !== 'v3') throw new Error('--proto must be v1, v2 or v3');
  if (values.nats !== undefined && !/^nats:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(values.nats)) {
    throw new Error(`--nats must be a loopback nats://HOST:PORT URL, not "${values.nats}"`);
  }
  const clients = Math.floor(num(values.clients, 10_000, 'clients', 2, 1_000_000));
  const concurrency = Math.floor(num(values.concurrency, 64, 'concurrency', 1, 10_000));
  // random runs take the upper half of the client ids: each half must hold every slot's session
  if (concurrency > Math.floor(clients / 2)) throw new Error(`--concurrency ${concurrency} needs --clients of at least ${2 * concurrency}`);
  const chosen = new Set(only);
  return {
    durationMs: num(values.duration, 5, 'duration', 1, 600) * 1000,
    warmupMs: num(values.warmup, 3, 'warmup', 0, 120) * 1000,
    settleMs: num(values.settle, 1, 'settle', 0, 60) * 1000,
    rounds: Math.floor(num(values.rounds, 3, 'rounds', 1, 50)),
    concurrency,
    connections: Math.floor(num(values.connections, 9, 'connections', 1, 256)),
    instances: Math.floor(num(values.instances, 3, 'instances', 2, 8)),
    configs: chosen.size > 0 ? CONFIG_NAMES.filter((c) => chosen.has(c)) : [...CONFIG_NAMES],
    clients,
    publishes: Math.floor(num(values.publishes, 10, 'publishes', 0, 1000)),
    version,
    ...(values.nats !== undefined ? { nats: values.nats } : {}),
    hookwardenArgs: values['hookwarden-arg'] ?? [],
    ...(values.json !== undefined ? { json: values.json } : {}),
    help: values.help === true,
  };
}

/** First session of a configuration's runs: random routing uses other client ids than the rest. */
export const firstSessionOf = (config: ClusterConfig, clients: number): number =>
  config.routing === 'random' ? Math.floor(clients / 2) : 0;

/** Sum of every sample of `name` (all label sets) in a Prometheus text exposition; 0 when absent. */
export function sumSamples(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue; // another metric that shares the prefix
    const value = Number(rest.slice(rest.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

/** `n` per 1,000 of `hooks` (0 when there were no hooks). */
export const perThousand = (n: number, hooks: number): number => (hooks > 0 ? (1000 * n) / hooks : 0);
