/**
 * A real `nats-server` for tests: one process on 127.0.0.1, an ephemeral
 * port, JetStream on a temporary store. Supports the faults the journal must
 * survive (SIGTERM, SIGKILL, SIGSTOP/SIGCONT, restart on the same port and
 * store) and always cleans up: every server started here is SIGKILLed when
 * the test process exits, whatever happened.
 *
 * The binary is `$NATS_SERVER_BIN`, else `nats-server` on PATH, else the
 * usual system directories (Debian installs it in sbin).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

/** Path of the nats-server binary; throws naming what to install when absent. */
export function natsServerBinary(): string {
  const fromEnv = process.env.NATS_SERVER_BIN;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin'];
  const candidates = fromEnv ? [fromEnv] : dirs.filter(Boolean).map((d) => join(d, 'nats-server'));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  throw new Error('nats-server not found: install it (apt-get install -y nats-server) or set NATS_SERVER_BIN');
}

export interface NatsServerOptions {
  /** Enable JetStream (default true). */
  readonly jetstream?: boolean;
  /** Store directory; default a fresh temporary directory, removed by `cleanup()`. */
  readonly storeDir?: string;
  /** Client port; default ephemeral (chosen by the server). */
  readonly port?: number;
  /** Extra configuration file text (authorization, cluster, ...). */
  readonly config?: string;
  /** Server name (default random). */
  readonly name?: string;
  /** How long to wait for "Server is ready" (default 10 s). */
  readonly readyTimeoutMs?: number;
}

export class NatsServer {
  #child: ChildProcess | undefined;
  #port: number;
  #paused = false;
  #log = '';
  readonly storeDir: string;
  readonly #ownStore: boolean;
  readonly #opts: NatsServerOptions;
  readonly #name: string;

  private constructor(opts: NatsServerOptions) {
    this.#opts = opts;
    this.#ownStore = opts.storeDir === undefined;
    this.storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'hw-nats-'));
    this.#port = opts.port ?? -1;
    this.#name = opts.name ?? `hw-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  }

  /** Start a server and resolve once it accepts clients. */
  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    const s = new NatsServer(opts);
    try {
      await s.#spawn();
    } catch (err) {
      await s.cleanup();
      throw err;
    }
    return s;
  }

  get port(): number {
    return this.#port;
  }
  get url(): string {
    return `nats://127.0.0.1:${this.#port}`;
  }
  /** The server name (`-n`): what JetStream reports as a stream's `cluster.leader`. */
  get name(): string {
    return this.#name;
  }
  get pid(): number | undefined {
    return this.#child?.pid;
  }
  get running(): boolean {
    return this.#child !== undefined;
  }
  /** Everything the server logged since it was (re)started. */
  get log(): string {
    return this.#log;
  }

  async #spawn(): Promise<void> {
    const args = ['-a', '127.0.0.1', '-p', String(this.#port), '-n', this.#name];
    if (this.#opts.jetstream !== false) args.push('-js', '-sd', this.storeDir);
    if (this.#opts.config) {
      const file = join(this.storeDir, `${this.#name}.conf`);
      writeFileSync(file, this.#opts.config);
      args.push('-c', file);
    }
    const child = spawn(natsServerBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    this.#child = child;
    this.#log = '';
    child.once('exit', () => {
      live.delete(child);
      if (this.#child === child) this.#child = undefined;
    });
    const timeoutMs = this.#opts.readyTimeoutMs ?? 10_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`nats-server not ready after ${timeoutMs} ms:\n${this.#log}`)), timeoutMs);
      const onData = (chunk: Buffer): void => {
        this.#log += chunk.toString();
        const m = /Listening for client connections on [^\s]+:(\d+)/.exec(this.#log);
        if (m?.[1]) this.#port = Number(m[1]);
        if (this.#log.includes('Server is ready')) done();
      };
      const onExit = (code: number | null): void => fail(new Error(`nats-server exited (${code}) before ready:\n${this.#log}`));
      const cleanupListeners = (): void => {
        clearTimeout(timer);
        child.off('exit', onExit);
      };
      const done = (): void => {
        cleanupListeners();
        resolve();
      };
      const fail = (err: Error): void => {
        cleanupListeners();
        child.kill('SIGKILL');
        reject(err);
      };
      child.stderr?.on('data', onData);
      child.stdout?.on('data', onData);
      child.once('exit', onExit);
    });
  }

  async #signalAndWait(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (this.#paused) this.resume();
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Graceful stop (SIGTERM); SIGKILL if it takes longer than 5 s. */
  stop(): Promise<void> {
    return this.#signalAndWait('SIGTERM', 5000);
  }

  /** Crash (SIGKILL). */
  kill(): Promise<void> {
    return this.#signalAndWait('SIGKILL', 5000);
  }

  /**
   * Freeze the process (SIGSTOP): sockets stay open, nothing answers.
   * Resolves once every thread is stopped: the group stop is asynchronous
   * and a busy server can still answer for a moment after kill(2).
   */
  async pause(): Promise<void> {
    const child = this.#child;
    if (!child?.pid) throw new Error('nats-server is not running');
    child.kill('SIGSTOP');
    this.#paused = true;
    const end = Date.now() + 2000;
    while (Date.now() < end && !allThreadsStopped(child.pid)) await new Promise((r) => setTimeout(r, 1));
  }

  /** Thaw a paused process (SIGCONT). */
  resume(): void {
    if (!this.#child) return;
    this.#child.kill('SIGCONT');
    this.#paused = false;
  }

  /** Stop (gracefully, or by SIGKILL with `{ crash: true }`) and start again on the same port and store. */
  async restart(opts: { crash?: boolean } = {}): Promise<void> {
    await (opts.crash ? this.kill() : this.stop());
    await this.#spawn();
  }

  /** Start again after `stop()`/`kill()` on the same port and store. */
  async startAgain(): Promise<void> {
    if (this.#child) return;
    await this.#spawn();
  }

  /** Kill the process and remove a store this helper created. Safe to call twice. */
  async cleanup(): Promise<void> {
    await this.kill();
    if (this.#ownStore) rmSync(this.storeDir, { recursive: true, force: true });
  }
}

/** Whether every thread of `pid` is stopped (Linux /proc; elsewhere assume yes after a short wait). */
function allThreadsStopped(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).every((t) => {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      return state === 'T' || state === 't';
    });
  } catch {
    return true;
  }
}

/** A free TCP port on 127.0.0.1 (bound then released; a tiny race is acceptable in tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface NatsCluster {
  readonly servers: readonly NatsServer[];
  /** Client URLs of every node (seed list). */
  readonly urls: readonly string[];
  /** With `{ monitor: true }`: each node's HTTP monitoring base URL (`/connz`, `/jsz`, …); else empty. */
  readonly monitorUrls: readonly string[];
  cleanup(): Promise<void>;
}

/** A JetStream cluster of `size` nodes on loopback (default 3), each with its own store; `monitor`: HTTP monitoring on. */
export async function startCluster(
  size = 3,
  opts: { monitor?: boolean; /** JetStream `server_tags` of server i (placement). */ serverTags?: (i: number) => readonly string[] } = {},
): Promise<NatsCluster> {
  const clientPorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const monitorPorts = opts.monitor ? await Promise.all(Array.from({ length: size }, () => freePort())) : [];
  const tag = `hwc${process.pid}${Math.random().toString(36).slice(2, 6)}`;
  const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(', ');
  const servers: NatsServer[] = [];
  try {
    const started = await Promise.all(
      clientPorts.map((port, i) =>
        NatsServer.start({
          port,
          name: `${tag}-${i}`,
          config:
            `cluster {\n  name: ${tag}\n  listen: 127.0.0.1:${routePorts[i]}\n  routes: [${routes}]\n}\n` +
            (opts.monitor ? `http: 127.0.0.1:${monitorPorts[i]}\n` : '') +
            (opts.serverTags ? `server_tags: ${JSON.stringify(opts.serverTags(i))}\n` : ''),
          readyTimeoutMs: 20_000,
        }),
      ),
    );
    servers.push(...started);
  } catch (err) {
    await Promise.all(servers.map((s) => s.cleanup()));
    throw err;
  }
  return {
    servers,
    urls: servers.map((s) => s.url),
    monitorUrls: monitorPorts.map((p) => `http://127.0.0.1:${p}`),
    cleanup: async () => {
      await Promise.all(servers.map((s) => s.cleanup()));
    },
  };
}
