/**
 * Aggregation and formatting of benchmark runs: per set and target, total
 * calls over total measured time, latency from the merged histograms, and the
 * candidate/floor ratios.
 */
import { Histogram, quantileUs, type HistogramData } from './histogram.js';
import type { PoolResult } from './load-pool.js';

/** One measured run against one server. */
export interface RunRecord {
  readonly set: string;
  readonly round: number;
  readonly target: string;
  readonly result: PoolResult;
  /** Server process CPU in the window, µs (all threads). */
  readonly serverCpuUs: number;
  /** Whole-machine busy share in the window, 0..1 (of all cores). */
  readonly machineBusy: number;
  /** Cores used by processes other than this server and the generator (other tests, builds…). */
  readonly otherCores: number;
}

export interface TargetSummary {
  readonly target: string;
  readonly rounds: number;
  readonly callsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly errors: number;
  /** Server CPU per call, µs. */
  readonly serverUsPerCall: number;
  /** Generator CPU per call, µs (all workers). */
  readonly generatorUsPerCall: number;
  /** Server cores busy (CPU time / wall time). */
  readonly serverCores: number;
  readonly generatorCores: number;
  readonly machineBusy: number;
  /** Mean cores used by unrelated processes during the runs: above ~0.2 the ratios are noisy. */
  readonly otherCores: number;
}

export interface SetSummary {
  readonly set: string;
  readonly floor: TargetSummary;
  readonly candidate: TargetSummary;
  /** candidate calls/s ÷ floor calls/s */
  readonly throughputRatio: number;
  /** candidate p99 ÷ floor p99 */
  readonly p99Ratio: number;
  /** Throughput ratio of each round (round r candidate ÷ round r floor). */
  readonly pairedThroughputRatios: readonly number[];
  /** floor server CPU per call ÷ candidate server CPU per call: the cost ratio, less sensitive to outside load. */
  readonly cpuRatio: number;
  /** Rounds in which neither run saw more than QUIET_CORES of other load, and their calls/s ratio. */
  readonly quiet: { readonly rounds: number; readonly throughputRatio: number };
}

/** Below this many cores of unrelated load a run counts as quiet. */
export const QUIET_CORES = 0.2;

const rateOf = (r: RunRecord): number => r.result.callsPerSec;

export function summarizeTarget(target: string, runs: readonly RunRecord[]): TargetSummary {
  const hist = new Histogram();
  let calls = 0;
  let seconds = 0;
  let serverUs = 0;
  let genUs = 0;
  let errors = 0;
  let busy = 0;
  let other = 0;
  for (const r of runs) {
    hist.merge(r.result.latency);
    const s = r.result.elapsedMs / 1000;
    // callsPerSec × window keeps the multi-worker rate exact while weighting rounds by time.
    calls += rateOf(r) * s;
    seconds += s;
    serverUs += r.serverCpuUs;
    genUs += r.result.cpuUserUs + r.result.cpuSystemUs;
    errors += r.result.errors;
    busy += r.machineBusy * s;
    other += r.otherCores * s;
  }
  const h: HistogramData = hist.data();
  return {
    target,
    rounds: runs.length,
    callsPerSec: seconds > 0 ? calls / seconds : 0,
    p50Ms: quantileUs(h, 0.5) / 1000,
    p99Ms: quantileUs(h, 0.99) / 1000,
    maxMs: h.maxUs / 1000,
    errors,
    serverUsPerCall: calls > 0 ? serverUs / calls : 0,
    generatorUsPerCall: calls > 0 ? genUs / calls : 0,
    serverCores: seconds > 0 ? serverUs / 1e6 / seconds : 0,
    generatorCores: seconds > 0 ? genUs / 1e6 / seconds : 0,
    machineBusy: seconds > 0 ? busy / seconds : 0,
    otherCores: seconds > 0 ? other / seconds : 0,
  };
}

export function summarizeSet(set: string, floorName: string, candidateName: string, runs: readonly RunRecord[]): SetSummary {
  const mine = runs.filter((r) => r.set === set);
  const fl = mine.filter((r) => r.target === floorName);
  const ca = mine.filter((r) => r.target === candidateName);
  const floor = summarizeTarget(floorName, fl);
  const candidate = summarizeTarget(candidateName, ca);
  const paired: number[] = [];
  let quietRounds = 0;
  let quietC = 0;
  let quietF = 0;
  for (const c of ca) {
    const f = fl.find((r) => r.round === c.round);
    if (f && rateOf(f) > 0) paired.push(rateOf(c) / rateOf(f));
    if (f && f.otherCores < QUIET_CORES && c.otherCores < QUIET_CORES) {
      quietRounds += 1;
      quietC += rateOf(c);
      quietF += rateOf(f);
    }
  }
  return {
    set,
    floor,
    candidate,
    throughputRatio: floor.callsPerSec > 0 ? candidate.callsPerSec / floor.callsPerSec : 0,
    p99Ratio: floor.p99Ms > 0 ? candidate.p99Ms / floor.p99Ms : 0,
    pairedThroughputRatios: paired,
    cpuRatio: candidate.serverUsPerCall > 0 ? floor.serverUsPerCall / candidate.serverUsPerCall : 0,
    quiet: { rounds: quietRounds, throughputRatio: quietF > 0 ? quietC / quietF : 0 },
  };
}

const f0 = (n: number): string => Math.round(n).toLocaleString('en-US');
const f2 = (n: number): string => n.toFixed(2);
const pad = (s: string, w: number): string => (s.length >= w ? s : ' '.repeat(w - s.length) + s);

export function formatRunLine(r: RunRecord): string {
  const res = r.result;
  const secs = res.elapsedMs / 1000;
  const gen = (res.cpuUserUs + res.cpuSystemUs) / 1e6 / secs;
  const srv = r.serverCpuUs / 1e6 / secs;
  return (
    `  ${r.set.padEnd(9)} round ${r.round} ${r.target.padEnd(10)} ${pad(f0(res.callsPerSec), 8)} calls/s` +
    `  p50 ${pad(f2(quantileUs(res.latency, 0.5) / 1000), 6)} ms  p99 ${pad(f2(quantileUs(res.latency, 0.99) / 1000), 6)} ms` +
    `  errors ${res.errors}  cores: server ${f2(srv)} gen ${f2(gen)} other ${f2(r.otherCores)}`
  );
}

/** Markdown table of the summaries (also used in docs/BENCHMARKS.md). */
export function formatTable(sums: readonly SetSummary[], minRatio: number, maxP99Ratio: number): string {
  const head =
    '| set | server | calls/s | p50 ms | p99 ms | errors | server µs/call | gen µs/call | cores server / gen / other | calls/s ratio (per round) | quiet rounds: n, ratio | p99 ratio | CPU ratio | verdict |\n' +
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|';
  const rows: string[] = [];
  for (const s of sums) {
    const ok = s.throughputRatio >= minRatio && s.p99Ratio <= maxP99Ratio && s.candidate.errors === 0 && s.floor.errors === 0;
    const paired = s.pairedThroughputRatios.length > 0 ? ` (${s.pairedThroughputRatios.map(f2).join(', ')})` : '';
    for (const [t, tail] of [
      [s.floor, '– | – | – | – | –'],
      [
        s.candidate,
        `${f2(s.throughputRatio)}${paired} | ${s.quiet.rounds}${s.quiet.rounds > 0 ? `, ${f2(s.quiet.throughputRatio)}` : ''} | ` +
          `${f2(s.p99Ratio)} | ${f2(s.cpuRatio)} | ${ok ? 'PASS' : 'FAIL'} (≥ ${minRatio}, ≤ ${maxP99Ratio}x)`,
      ],
    ] as const) {
      rows.push(
        `| ${s.set} | ${t.target} | ${f0(t.callsPerSec)} | ${f2(t.p50Ms)} | ${f2(t.p99Ms)} | ${t.errors} | ` +
          `${f2(t.serverUsPerCall)} | ${f2(t.generatorUsPerCall)} | ${f2(t.serverCores)} / ${f2(t.generatorCores)} / ${f2(t.otherCores)} | ${tail} |`,
      );
    }
  }
  return `${head}\n${rows.join('\n')}`;
}
