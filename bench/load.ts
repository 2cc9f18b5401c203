/**
 * The load generator core: keeps `concurrency` unary gRPC calls in flight over
 * `connections` HTTP/2 connections, sending pre-encoded frames (no protobuf
 * work, no grpc-js client), for a warm-up and then a measured window. Each
 * in-flight slot behaves like one EMQX client process: it walks one client
 * session's calls strictly one after another, then takes the next session;
 * a session's calls all use one connection, chosen by hashing the client id
 * (as grpc-erl's hash pool does). Loopback only.
 *
 * With `targets` (the cluster benchmark) the connections are spread over
 * several servers, round robin, and `routing: 'random'` sends each call over
 * a random connection instead (bench/routing.ts).
 *
 * A call counts as OK when the response has `:status` 200 and `grpc-status` 0
 * (in the trailers, or in the headers of a trailers-only response).
 */
import { performance } from 'node:perf_hooks';
import type { FrameSet } from './frames.js';
import { Histogram, type HistogramData } from './histogram.js';
import { connectionOfCall, homeConnection, targetOfConnection, type Routing, type Target } from './routing.js';
import { openConnection, type CallConnection, type ClientKind } from './transports.js';

export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  /** Calls in flight at any time. */
  readonly concurrency: number;
  /** HTTP/2 connections (EMQX's pool_size; 5.x default 8). */
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** HTTP/2 client: `raw` (default) or `node` (node:http2). */
  readonly client?: ClientKind;
  /** How long in-flight calls may take to finish after the window (default 10 s). */
  readonly drainMs?: number;
  /** Called when the measured window starts and ends (the runner samples server CPU then). */
  readonly onPhase?: (phase: 'measure' | 'end') => void;
  /** Several servers instead of host:port: connection i goes to targets[i % n]. */
  readonly targets?: readonly Target[];
  /** `affinity` (default): a client's calls over its hash-chosen connection; `random`: each call over a random one. */
  readonly routing?: Routing;
  /** Session the first slot takes (default 0): runs that must not share client ids start apart. */
  readonly firstSession?: number;
}

export interface LoadResult {
  /** Calls that completed inside the measured window (OK or not). */
  readonly calls: number;
  readonly errors: number;
  /** Error counts by kind: `grpc-status N`, `http N`, `rst N`, `connection lost`… */
  readonly errorKinds: Readonly<Record<string, number>>;
  /** Length of the measured window, ms. */
  readonly elapsedMs: number;
  /** Latency of the calls completed in the window. */
  readonly latency: HistogramData;
  /** CPU time this generator process used in the window, µs. */
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  /** Set when the run had to stop early (connection lost, server gone). */
  readonly fatal?: string;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Run one bounded load against host:port; resolves when the window is over and in-flight calls drained. */
export async function runLoad(set: FrameSet, opts: LoadOptions): Promise<LoadResult> {
  const targets = opts.targets && opts.targets.length > 0 ? opts.targets : [{ host: opts.host, port: opts.port }];
  for (const t of targets) if (!LOOPBACK.has(t.host)) throw new Error(`bench: loopback targets only, not ${t.host}`);
  if (set.sessions.length === 0) throw new Error('bench: empty frame set');
  const concurrency = Math.max(1, Math.floor(opts.concurrency));
  if (concurrency > set.sessions.length)
    throw new Error(`bench: ${concurrency} in flight needs at least as many client ids (have ${set.sessions.length})`);
  const nConn = Math.max(1, Math.floor(opts.connections));
  const conns: CallConnection[] = [];
  try {
    for (let i = 0; i < nConn; i += 1) {
      const t = targets[targetOfConnection(i, targets.length)] ?? targets[0];
      if (t) conns.push(await openConnection(opts.client ?? 'raw', t.host, t.port));
    }
  } catch (err) {
    await Promise.all(conns.map((c) => c.close()));
    throw err;
  }
  const connOf = Uint16Array.from(set.sessions, (s) => homeConnection(s.clientid, nConn));
  const random = opts.routing === 'random';

  const hist = new Histogram();
  const errorKinds: Record<string, number> = {};
  let measuring = false;
  let stopping = false;
  let calls = 0;
  let errors = 0;
  let inFlight = 0;
  let cursor = Math.max(0, Math.floor(opts.firstSession ?? 0)) % set.sessions.length;
  let fatal: string | undefined;
  let finish: () => void = () => undefined;
  const drained = new Promise<void>((resolve) => {
    finish = resolve;
  });

  /** Start call `callIdx` of session `sessionIdx`; when it completes, the slot moves on. */
  const issue = (sessionIdx: number, callIdx: number): void => {
    const session = set.sessions[sessionIdx];
    const call = session?.calls[callIdx];
    const home = connOf[sessionIdx] ?? 0;
    const conn = conns[random ? connectionOfCall('random', home, nConn, Math.random) : home];
    if (!session || !call || !conn) throw new Error('bench: slot out of range');
    inFlight += 1;
    const started = performance.now();
    conn.call(call, (status) => {
      inFlight -= 1;
      if (measuring) {
        calls += 1;
        hist.record((performance.now() - started) * 1000);
        if (status !== '0') {
          errors += 1;
          const kind = /^\d+$/.test(status) ? `grpc-status ${status}` : status;
          errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
        }
      }
      if (status === 'connection lost') fatal ??= conn.fatal ?? 'connection lost';
      if (stopping || fatal !== undefined) {
        if (inFlight === 0) finish();
        return;
      }
      if (callIdx + 1 < session.calls.length) {
        issue(sessionIdx, callIdx + 1);
      } else {
        const next = cursor;
        cursor = (cursor + 1) % set.sessions.length;
        issue(next, 0);
      }
    });
  };

  for (let slot = 0; slot < concurrency; slot += 1) {
    const s = cursor;
    cursor = (cursor + 1) % set.sessions.length;
    issue(s, 0);
  }

  await sleep(opts.warmupMs);
  measuring = true;
  opts.onPhase?.('measure');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(opts.durationMs);
  measuring = false;
  stopping = true;
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  opts.onPhase?.('end');
  if (inFlight === 0) finish();
  const drainMs = opts.drainMs ?? 10_000;
  const drainTimer = setTimeout(() => {
    fatal ??= `${inFlight} calls still in flight ${drainMs} ms after the window`;
    finish();
  }, drainMs);
  await drained;
  clearTimeout(drainTimer);
  await Promise.all(conns.map((c) => c.close()));
  return {
    calls,
    errors,
    errorKinds,
    elapsedMs: t1 - t0,
    latency: hist.data(),
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    ...(fatal !== undefined ? { fatal } : {}),
  };
}

/**
 * `node dist/bench/load.js --target 127.0.0.1:PORT[,127.0.0.1:PORT…] [--routing affinity|random]
 *  [--set mix|publish|authorize] [--concurrency 64]
 *  [--connections 8] [--duration 10] [--warmup 3] [--workers 1] [--client raw|node] [--proto v2]`:
 * one load against a running server (it must already be loaded: send OnProviderLoaded first if it
 * needs it); prints calls/s, latency and errors.
 */
async function cli(argv: string[]): Promise<number> {
  const { parseArgs } = await import('node:util');
  const { LoadPool } = await import('./load-pool.js');
  const { quantileUs } = await import('./histogram.js');
  const { parseTargets } = await import('./routing.js');
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: 'string' },
      routing: { type: 'string' },
      set: { type: 'string' },
      concurrency: { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      workers: { type: 'string' },
      client: { type: 'string' },
      proto: { type: 'string' },
      clients: { type: 'string' },
    },
  });
  let targets: Target[] = [];
  try {
    targets = parseTargets(values.target ?? '');
  } catch {
    targets = [];
  }
  const routing = values.routing ?? 'affinity';
  const set = values.set ?? 'mix';
  const client = values.client ?? 'raw';
  const proto = values.proto ?? 'v2';
  const first = targets[0];
  if (
    !first ||
    (routing !== 'affinity' && routing !== 'random') ||
    !['mix', 'publish', 'authorize'].includes(set) ||
    !['raw', 'node'].includes(client) ||
    !['v1', 'v2', 'v3'].includes(proto)
  ) {
    process.stderr.write(
      'usage: load --target 127.0.0.1:PORT[,127.0.0.1:PORT…] [--routing affinity|random] [--set mix|publish|authorize] [--concurrency N] [--connections N] [--duration S] [--warmup S] [--workers N] [--client raw|node] [--proto v1|v2|v3] [--clients N]\n',
    );
    return 2;
  }
  const pool = await LoadPool.start(
    Number(values.workers ?? 1),
    { version: proto as 'v1' | 'v2' | 'v3', clients: Number(values.clients ?? 10_000), publishesPerSession: 10, payloadBytes: 128 },
    [set as 'mix' | 'publish' | 'authorize'],
  );
  try {
    const r = await pool.run({
      host: first.host,
      port: first.port,
      ...(targets.length > 1 ? { targets } : {}),
      routing,
      set: set as 'mix' | 'publish' | 'authorize',
      concurrency: Number(values.concurrency ?? 64),
      connections: Number(values.connections ?? 8),
      warmupMs: Number(values.warmup ?? 3) * 1000,
      durationMs: Number(values.duration ?? 10) * 1000,
      client: client as ClientKind,
    });
    const ms = (q: number): string => (quantileUs(r.latency, q) / 1000).toFixed(2);
    process.stdout.write(
      `${set}: ${Math.round(r.callsPerSec)} calls/s over ${(r.elapsedMs / 1000).toFixed(1)} s; latency p50 ${ms(0.5)} ms, p99 ${ms(0.99)} ms, ` +
        `max ${(r.latency.maxUs / 1000).toFixed(2)} ms; errors ${r.errors}${r.errors > 0 ? ` ${JSON.stringify(r.errorKinds)}` : ''}; ` +
        `generator CPU ${((r.cpuUserUs + r.cpuSystemUs) / r.calls).toFixed(1)} µs/call${r.fatal ? `; stopped: ${r.fatal}` : ''}\n`,
    );
    return r.fatal || r.errors > 0 ? 1 : 0;
  } finally {
    await pool.close();
  }
}

if (process.argv[1] === (await import('node:url')).fileURLToPath(import.meta.url)) {
  cli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`load: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
