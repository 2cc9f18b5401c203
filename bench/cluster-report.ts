/**
 * Summary and table of the cluster benchmark (bench/cluster.ts): per
 * configuration, calls/s, latency, CPU per call summed over its instances,
 * NATS CPU per call, and the single-writer figures per 1,000 hooks.
 */
import type { ClusterConfig } from './cluster-args.js';
import { perThousand } from './cluster-args.js';
import { formatRunLine, summarizeTarget, type RunRecord, type TargetSummary } from './report.js';

/** Server-side counters of a configuration's instances over one run (deltas, summed over instances). */
export interface WriterDeltas {
  /** Hook calls the instances received (`hookwarden_hook_calls_total`). */
  readonly hooks: number;
  readonly conflicts: number;
  readonly redone: number;
  readonly recoveries: number;
  readonly timeouts: number;
  readonly fallbacks: number;
}

export const NO_DELTAS: WriterDeltas = { hooks: 0, conflicts: 0, redone: 0, recoveries: 0, timeouts: 0, fallbacks: 0 };

export interface ClusterRun {
  readonly config: ClusterConfig;
  readonly instances: number;
  /** `serverCpuUs` is the sum over the configuration's instances. */
  readonly record: RunRecord;
  /** nats-server CPU in the window, µs (NaN when the server is not ours). */
  readonly natsCpuUs: number;
  readonly deltas: WriterDeltas;
}

export interface ClusterSummary {
  readonly config: ClusterConfig;
  readonly instances: number;
  readonly target: TargetSummary;
  readonly perRound: readonly number[];
  readonly natsUsPerCall: number;
  readonly natsCores: number;
  readonly deltas: WriterDeltas;
}

export function summarizeConfig(config: ClusterConfig, runs: readonly ClusterRun[]): ClusterSummary | undefined {
  const mine = runs.filter((r) => r.config.name === config.name);
  const first = mine[0];
  if (!first) return undefined;
  const target = summarizeTarget(
    config.label,
    mine.map((r) => r.record),
  );
  const seconds = mine.reduce((s, r) => s + r.record.result.elapsedMs / 1000, 0);
  const natsUs = mine.reduce((s, r) => s + r.natsCpuUs, 0);
  const calls = target.callsPerSec * seconds;
  const deltas: Record<keyof WriterDeltas, number> = { ...NO_DELTAS };
  for (const r of mine) for (const k of Object.keys(deltas) as (keyof WriterDeltas)[]) deltas[k] += r.deltas[k];
  return {
    config,
    instances: first.instances,
    target,
    perRound: mine.map((r) => r.record.result.callsPerSec),
    natsUsPerCall: calls > 0 ? natsUs / calls : Number.NaN,
    natsCores: seconds > 0 ? natsUs / 1e6 / seconds : Number.NaN,
    deltas,
  };
}

const f0 = (n: number): string => Math.round(n).toLocaleString('en-US');
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '–');
const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '–');

export function formatClusterRunLine(r: ClusterRun): string {
  const d = r.deltas;
  const secs = r.record.result.elapsedMs / 1000;
  const writer =
    r.config.servers === 'floor'
      ? ''
      : `  conflicts ${f2(perThousand(d.conflicts, d.hooks))}/1k redone ${f2(perThousand(d.redone, d.hooks))}/1k`;
  return `${formatRunLine(r.record)} nats ${f2(r.natsCpuUs / 1e6 / secs)}${writer}`;
}

/** Markdown table (also pasted into docs/BENCHMARKS.md §Cluster). */
export function formatClusterTable(sums: readonly ClusterSummary[]): string {
  const floor = sums.find((s) => s.config.servers === 'floor');
  const head =
    '| configuration | calls/s (per round) | ÷ floor | p50 ms | p99 ms | errors | server µs/call (Σ instances) | NATS µs/call | gen µs/call | ' +
    'cores: servers / NATS / gen / other | conflicts per 1k hooks | redone per 1k hooks | fallbacks per 1k hooks |\n' +
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const rows = sums.map((s) => {
    const t = s.target;
    const d = s.deltas;
    const hw = s.config.servers !== 'floor';
    const ratio = floor && floor !== s && floor.target.callsPerSec > 0 ? f2(t.callsPerSec / floor.target.callsPerSec) : '–';
    return (
      `| ${s.config.label} | ${f0(t.callsPerSec)} (${s.perRound.map(f0).join(', ')}) | ${ratio} | ${f2(t.p50Ms)} | ${f2(t.p99Ms)} | ${t.errors} | ` +
      `${f0(t.serverUsPerCall)} | ${hw ? f0(s.natsUsPerCall) : '–'} | ${f1(t.generatorUsPerCall)} | ` +
      `${f2(t.serverCores)} / ${f2(s.natsCores)} / ${f2(t.generatorCores)} / ${f2(t.otherCores)} | ` +
      `${hw ? f2(perThousand(d.conflicts, d.hooks)) : '–'} | ${hw ? f2(perThousand(d.redone, d.hooks)) : '–'} | ${hw ? f2(perThousand(d.fallbacks, d.hooks)) : '–'} |`
    );
  });
  return `${head}\n${rows.join('\n')}`;
}
