/**
 * Server child processes for the benchmark: start (ephemeral port, wait until
 * it answers), sample CPU time from /proc, stop. Linux only (/proc).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { repoRoot } from './exhook-proto.js';

/** Clock ticks per second for /proc/<pid>/stat (Linux's USER_HZ is 100 on every common build). */
const CLK_TCK = 100;

/** user+system CPU time of a process (all its threads), µs; NaN when /proc is unreadable. */
export function processCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** Busy and total jiffies of the whole machine (first line of /proc/stat). */
export function machineCpu(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const n = line.trim().split(/\s+/).slice(1).map(Number);
    const total = n.reduce((a, b) => a + b, 0);
    const idle = (n[3] ?? 0) + (n[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

export interface ServerChild {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** Bytes the server wrote to stdout/stderr so far (its logs cost CPU too). */
  outputBytes(): number;
  /** The last lines it wrote, for error messages. */
  tail(): string;
  stop(): Promise<void>;
  /** Synchronous last-resort stop (process exit handlers). */
  kill(): void;
}

/** Every server child started and not yet exited, so a signal handler can stop them even during start. */
const live = new Set<ChildProcess>();

/** SIGKILL every server child still running (process exit and signal handlers). */
export function killAllServers(): void {
  for (const c of live) c.kill('SIGKILL');
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, host);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

interface SpawnSpec {
  readonly name: string;
  readonly args: readonly string[];
  /** Known in advance, or read from a `listening <port>` line. */
  readonly port?: number;
  readonly host: string;
  readonly startTimeoutMs: number;
}

async function spawnServer(spec: SpawnSpec): Promise<ServerChild> {
  const child: ChildProcess = spawn(process.execPath, [...spec.args], { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let bytes = 0;
  let lines: string[] = [];
  let announced: number | undefined;
  const onData = (chunk: Buffer): void => {
    bytes += chunk.length;
    lines = lines.concat(chunk.toString('utf8').split('\n').filter(Boolean)).slice(-30);
    const m = /^listening (\d+)$/m.exec(chunk.toString('utf8'));
    if (m?.[1]) announced = Number(m[1]);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? String(code)}`;
  });
  const handle: ServerChild = {
    name: spec.name,
    pid: child.pid ?? -1,
    port: 0,
    outputBytes: () => bytes,
    tail: () => lines.join('\n'),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const hard = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(hard);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
  const deadline = Date.now() + spec.startTimeoutMs;
  for (let i = 0; Date.now() < deadline && i < 1000; i += 1) {
    if (exited !== undefined) throw new Error(`${spec.name} ${exited} before listening:\n${handle.tail()}`);
    const port = spec.port ?? announced;
    if (port !== undefined && (await canConnect(port, spec.host))) return { ...handle, port };
    await new Promise((r) => setTimeout(r, 100));
  }
  handle.kill();
  throw new Error(`${spec.name} did not listen within ${spec.startTimeoutMs} ms:\n${handle.tail()}`);
}

/** The no-op floor (dist/bench/floor-server.js) on an ephemeral port. */
export function startFloorChild(name = 'floor'): Promise<ServerChild> {
  return spawnServer({ name, args: [join(repoRoot(), 'dist', 'bench', 'floor-server.js'), '0'], host: '127.0.0.1', startTimeoutMs: 15_000 });
}

/** `node bin/hookwarden.js serve --host 127.0.0.1 --port N …extra` on a free port. */
export async function startHookwardenChild(extra: readonly string[]): Promise<ServerChild> {
  const port = await freePort();
  return spawnServer({
    name: 'hookwarden',
    args: [join(repoRoot(), 'bin', 'hookwarden.js'), 'serve', '--host', '127.0.0.1', '--port', String(port), ...extra],
    port,
    host: '127.0.0.1',
    startTimeoutMs: 20_000,
  });
}
