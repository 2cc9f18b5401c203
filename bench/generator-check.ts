/**
 * Which load generator leaves the server the machine? Loads one floor server
 * with the single-hook `publish` set through each generator in turn and prints
 * CPU per call of generator and server:
 *
 *   node dist/bench/generator-check.js [--duration S] [--rounds N]
 *
 * - `raw`: bench/h2-raw.ts (the benchmark's default), 10 000 client ids;
 * - `node`: node:http2, 10 000 client ids;
 * - `h2load`: nghttp2's h2load (Debian `nghttp2-client`) with ONE pre-encoded
 *   body, the cheapest possible client but a single client id, and no mix.
 */
import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machineCpu, processCpuUs, startFloorChild, type ServerChild } from './children.js';
import { buildFrameSet } from './frames.js';
import { quantileUs } from './histogram.js';
import { runLoad } from './load.js';

interface Row {
  readonly generator: string;
  readonly callsPerSec: number;
  readonly p99Ms: number;
  readonly serverUsPerCall: number;
  readonly generatorUsPerCall: number;
  readonly machineBusy: number;
}

const CONCURRENCY = 64;
const CONNECTIONS = 8;

async function runH2load(floor: ServerChild, body: Buffer, path: string, warmupS: number, durationS: number): Promise<Row | undefined> {
  const dir = mkdtempSync(join(os.tmpdir(), 'hw-bench-'));
  const file = join(dir, 'body.bin');
  writeFileSync(file, body);
  try {
    const args = [
      '-D', String(durationS), `--warm-up-time=${warmupS}`, '-c', String(CONNECTIONS), '-m', String(CONCURRENCY / CONNECTIONS), '-t', '1',
      '-d', file, '-H', 'content-type: application/grpc', '-H', 'te: trailers', '-H', 'grpc-timeout: 5S',
      `http://127.0.0.1:${floor.port}${path}`,
    ];
    const child = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const failed = new Promise<undefined>((resolve) => child.once('error', () => resolve(undefined)));
    const pid = child.pid ?? -1;
    const sample = async (ms: number) => {
      await new Promise((r) => setTimeout(r, ms));
      return { gen: processCpuUs(pid), srv: processCpuUs(floor.pid), m: machineCpu() };
    };
    const measured = (async () => {
      const a = await sample(warmupS * 1000 + 300);
      const b = await sample(durationS * 1000 - 600);
      await new Promise((r) => child.once('exit', r));
      return { a, b };
    })();
    const r = await Promise.race([measured, failed]);
    if (!r) return undefined;
    const m = /finished in [\d.]+s, ([\d.]+) req\/s/.exec(out);
    const rate = Number(m?.[1] ?? 0);
    const secs = (durationS * 1000 - 600) / 1000;
    const calls = rate * secs;
    return {
      generator: 'h2load (1 body)',
      callsPerSec: rate,
      p99Ms: Number.NaN,
      serverUsPerCall: (r.b.srv - r.a.srv) / calls,
      generatorUsPerCall: (r.b.gen - r.a.gen) / calls,
      machineBusy: (r.b.m.busy - r.a.m.busy) / Math.max(1, r.b.m.total - r.a.m.total),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { duration: { type: 'string' }, warmup: { type: 'string' }, rounds: { type: 'string' } } });
  const durationS = Number(values.duration ?? 8);
  const warmupS = Number(values.warmup ?? 2);
  const rounds = Number(values.rounds ?? 2);
  const set = buildFrameSet('publish');
  const first = set.sessions[0]?.calls[0];
  if (!first) throw new Error('empty set');
  const floor = await startFloorChild();
  const rows: Row[] = [];
  try {
    for (let round = 0; round < rounds; round += 1) {
      for (const client of ['raw', 'node'] as const) {
        let s0 = 0;
        let s1 = 0;
        let m0 = machineCpu();
        let m1 = m0;
        const r = await runLoad(set, {
          host: '127.0.0.1', port: floor.port, concurrency: CONCURRENCY, connections: CONNECTIONS,
          warmupMs: warmupS * 1000, durationMs: durationS * 1000, client,
          onPhase: (p) => {
            if (p === 'measure') {
              s0 = processCpuUs(floor.pid);
              m0 = machineCpu();
            } else {
              s1 = processCpuUs(floor.pid);
              m1 = machineCpu();
            }
          },
        });
        rows.push({
          generator: `${client} (10k ids)`,
          callsPerSec: (r.calls * 1000) / r.elapsedMs,
          p99Ms: quantileUs(r.latency, 0.99) / 1000,
          serverUsPerCall: (s1 - s0) / r.calls,
          generatorUsPerCall: (r.cpuUserUs + r.cpuSystemUs) / r.calls,
          machineBusy: (m1.busy - m0.busy) / Math.max(1, m1.total - m0.total),
        });
        process.stdout.write(`${JSON.stringify(rows[rows.length - 1])}\n`);
      }
      const h = await runH2load(floor, first.body, first.path, warmupS, durationS);
      if (h) {
        rows.push(h);
        process.stdout.write(`${JSON.stringify(h)}\n`);
      } else if (round === 0) process.stdout.write('h2load not found (apt-get install nghttp2-client): skipped\n');
    }
  } finally {
    await floor.stop();
  }
  process.stdout.write('\n| generator | calls/s | p99 ms | server µs/call | generator µs/call | generator/server | machine busy |\n|---|---:|---:|---:|---:|---:|---:|\n');
  for (const r of rows) {
    process.stdout.write(
      `| ${r.generator} | ${Math.round(r.callsPerSec)} | ${Number.isNaN(r.p99Ms) ? '–' : r.p99Ms.toFixed(2)} | ${r.serverUsPerCall.toFixed(1)} | ` +
        `${r.generatorUsPerCall.toFixed(1)} | ${(r.generatorUsPerCall / r.serverUsPerCall).toFixed(2)} | ${Math.round(r.machineBusy * 100)}% |\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`generator-check: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
