/**
 * Load generator processes. Each worker (a forked `load-worker.js`) encodes
 * its share of the client ids once at start, then runs loads on request; the
 * pool splits concurrency and connections across workers and merges results.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FrameOptions, FrameSetName } from './frames.js';
import { Histogram } from './histogram.js';
import type { LoadResult } from './load.js';
import type { Routing, Target } from './routing.js';
import type { ClientKind } from './transports.js';

export interface WorkerInit {
  readonly frames: Omit<FrameOptions, 'part'>;
  readonly sets: readonly FrameSetName[];
  readonly part: { readonly index: number; readonly count: number };
}

export interface SetInfo {
  readonly sessions: number;
  readonly calls: number;
  readonly bytes: number;
  readonly rpcCounts: Readonly<Record<string, number>>;
}

export interface RunRequest {
  readonly host: string;
  readonly port: number;
  readonly set: FrameSetName;
  readonly concurrency: number;
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly client: ClientKind;
  /** Several servers (connections spread round robin) instead of host:port. */
  readonly targets?: readonly Target[];
  readonly routing?: Routing;
  /** Session the first slot takes, counted over all workers' client ids (default 0). */
  readonly firstSession?: number;
}

export type ToWorker = { readonly type: 'run'; readonly id: number; readonly run: RunRequest } | { readonly type: 'exit' };
export type FromWorker =
  | { readonly type: 'ready'; readonly sets: Readonly<Record<string, SetInfo>> }
  | { readonly type: 'phase'; readonly id: number; readonly phase: 'measure' | 'end' }
  | { readonly type: 'result'; readonly id: number; readonly result: LoadResult }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

/** Merged result of all workers of one run; `perWorker` keeps each worker's own figures. */
export interface PoolResult extends LoadResult {
  /** Sum of each worker's calls / its own window (the windows differ by a few ms). */
  readonly callsPerSec: number;
  readonly perWorker: readonly LoadResult[];
}

/** Every worker forked and not yet exited, so a signal handler can stop them even during start. */
const live = new Set<ChildProcess>();

/** SIGKILL every load worker still running (process exit and signal handlers). */
export function killAllWorkers(): void {
  for (const w of live) w.kill('SIGKILL');
}

const share = (total: number, i: number, n: number): number => Math.floor(total / n) + (i < total % n ? 1 : 0);

export class LoadPool {
  private nextId = 1;
  private constructor(
    private readonly workers: readonly ChildProcess[],
    /** Per set: sessions etc. summed over workers. */
    readonly sets: Readonly<Record<string, SetInfo>>,
  ) {}

  /** Fork `count` workers and wait until each has encoded its frames. */
  static async start(count: number, frames: Omit<FrameOptions, 'part'>, sets: readonly FrameSetName[]): Promise<LoadPool> {
    const script = fileURLToPath(new URL('./load-worker.js', import.meta.url));
    const workers: ChildProcess[] = [];
    try {
      const infos = await Promise.all(
        Array.from({ length: count }, (_, index) => {
          const init: WorkerInit = { frames, sets, part: { index, count } };
          const child = fork(script, [JSON.stringify(init)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
          workers.push(child);
          live.add(child);
          child.once('exit', () => live.delete(child));
          return new Promise<Readonly<Record<string, SetInfo>>>((resolve, reject) => {
            child.once('exit', (code) => reject(new Error(`load worker exited with ${String(code)} before it was ready`)));
            child.on('message', (m: FromWorker) => {
              if (m.type === 'ready') resolve(m.sets);
            });
          });
        }),
      );
      const merged: Record<string, SetInfo> = {};
      for (const name of sets) {
        const rpcCounts: Record<string, number> = {};
        let sessions = 0;
        let calls = 0;
        let bytes = 0;
        for (const info of infos) {
          const s = info[name];
          if (!s) continue;
          sessions += s.sessions;
          calls += s.calls;
          bytes += s.bytes;
          for (const [rpc, n] of Object.entries(s.rpcCounts)) rpcCounts[rpc] = (rpcCounts[rpc] ?? 0) + n;
        }
        merged[name] = { sessions, calls, bytes, rpcCounts };
      }
      return new LoadPool(workers, merged);
    } catch (err) {
      for (const w of workers) w.kill('SIGKILL');
      throw err;
    }
  }

  get pids(): readonly number[] {
    return this.workers.map((w) => w.pid ?? -1);
  }

  /** Run one load on every worker at once; `onPhase` fires when the first worker's window starts/ends. */
  async run(req: RunRequest, onPhase?: (phase: 'measure' | 'end') => void): Promise<PoolResult> {
    const id = this.nextId++;
    const n = this.workers.length;
    const results = await Promise.all(
      this.workers.map(
        (w, i) =>
          new Promise<LoadResult>((resolve, reject) => {
            const onMessage = (m: FromWorker): void => {
              if (!('id' in m) || m.id !== id) return;
              if (m.type === 'phase' && i === 0) onPhase?.(m.phase);
              if (m.type === 'result' || m.type === 'error') {
                w.off('message', onMessage);
                w.off('exit', onExit);
                if (m.type === 'result') resolve(m.result);
                else reject(new Error(`load worker ${i}: ${m.message}`));
              }
            };
            const onExit = (code: number | null): void => reject(new Error(`load worker ${i} exited (${String(code)}) during a run`));
            w.on('message', onMessage);
            w.once('exit', onExit);
            const run: RunRequest = {
              ...req,
              concurrency: share(req.concurrency, i, n),
              connections: Math.max(1, share(req.connections, i, n)),
              // each worker holds every n-th client id
              ...(req.firstSession !== undefined ? { firstSession: Math.floor(req.firstSession / n) } : {}),
            };
            w.send({ type: 'run', id, run } satisfies ToWorker);
          }),
      ),
    );
    return mergeResults(results);
  }

  /** Stop every worker (SIGKILL after 2 s). */
  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.exitCode !== null || w.signalCode !== null) return resolve();
            w.once('exit', () => resolve());
            if (w.connected) w.send({ type: 'exit' } satisfies ToWorker);
            else w.kill('SIGTERM');
            setTimeout(() => {
              w.kill('SIGKILL');
              resolve();
            }, 2000).unref();
          }),
      ),
    );
  }
}

export function mergeResults(results: readonly LoadResult[]): PoolResult {
  const hist = new Histogram();
  const errorKinds: Record<string, number> = {};
  let calls = 0;
  let errors = 0;
  let elapsed = 0;
  let user = 0;
  let system = 0;
  let rate = 0;
  const fatals: string[] = [];
  for (const r of results) {
    hist.merge(r.latency);
    calls += r.calls;
    errors += r.errors;
    user += r.cpuUserUs;
    system += r.cpuSystemUs;
    elapsed = Math.max(elapsed, r.elapsedMs);
    rate += r.elapsedMs > 0 ? (r.calls * 1000) / r.elapsedMs : 0;
    for (const [k, v] of Object.entries(r.errorKinds)) errorKinds[k] = (errorKinds[k] ?? 0) + v;
    if (r.fatal) fatals.push(r.fatal);
  }
  return {
    calls,
    callsPerSec: rate,
    errors,
    errorKinds,
    elapsedMs: elapsed,
    latency: hist.data(),
    cpuUserUs: user,
    cpuSystemUs: system,
    ...(fatals.length > 0 ? { fatal: fatals.join('; ') } : {}),
    perWorker: results,
  };
}
