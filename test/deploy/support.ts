/**
 * Reading deploy/ the way the tools do (YAML with merge keys, the Dockerfile's
 * stages and instructions) and running its commands without a container
 * engine: nats-server and hookwarden as local processes with the manifests'
 * arguments and environment, hosts and ports mapped to loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { KEYS } from '../../src/config.js';
import { ROOT } from '../support/process.js';

export { ROOT };
export const read = (rel: string): string => readFileSync(join(ROOT, rel), 'utf8');
export const yaml = <T>(rel: string): T => parse(read(rel), { merge: true }) as T;
export const yamlDocs = <T>(rel: string): T[] => parseAllDocuments(read(rel), { merge: true }).map((d) => d.toJS() as T);

/** The NATS version deploy/ ships: the one place it is stated. */
export const NATS_VERSION = read('deploy/nats/VERSION').trim();

/** Every environment variable hookwarden's configuration reads (KEYS, plus the config file's own). */
export const CONFIG_ENV = new Set<string>([...Object.values(KEYS).map((k) => k.env), 'HOOKWARDEN_CONFIG']);

/** The hook port and the HTTP port the deploy files agree on. */
export const HOOK_PORT = 9000;
export const HTTP_PORT = 9100;

/** The HTTP server (`--http-port`: /metrics, /healthz, /readyz) is built and wired into `start` in this tree. */
export const HTTP_SERVER_PRESENT = existsSync(join(ROOT, 'src/http/server.ts')) && /from '\.\/http\/server\.js'/.test(read('src/main.ts'));

// --- compose -----------------------------------------------------------------

export interface ComposeService {
  readonly image?: string;
  readonly build?: { readonly context: string; readonly dockerfile: string };
  readonly command?: readonly string[];
  readonly environment?: Readonly<Record<string, string | number | boolean>>;
  readonly ports?: readonly string[];
  readonly volumes?: readonly string[];
  readonly healthcheck?: { readonly test: readonly string[] };
  readonly depends_on?: Readonly<Record<string, { readonly condition: string }>> | readonly string[];
  readonly networks?: Readonly<Record<string, { readonly aliases?: readonly string[] }>>;
  readonly profiles?: readonly string[];
  readonly hostname?: string;
}
export interface Compose {
  readonly services: Readonly<Record<string, ComposeService>>;
  readonly volumes?: Readonly<Record<string, unknown>>;
}
export const compose = (): Compose => yaml<Compose>('deploy/compose.yaml');
export const servicesWhere = (c: Compose, test: (name: string, s: ComposeService) => boolean): [string, ComposeService][] =>
  Object.entries(c.services).filter(([n, s]) => test(n, s));
export const isHookwarden = (_: string, s: ComposeService): boolean => s.build?.dockerfile === 'deploy/Dockerfile';
export const isNats = (_: string, s: ComposeService): boolean => (s.image ?? '').startsWith('nats:');

/** `--name=value` / `--name value` arguments of a command as a map. */
export function flags(command: readonly string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (let i = 0; i < command.length; i++) {
    const a = command[i] ?? '';
    if (!a.startsWith('-')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) out.set(a.slice(0, eq), a.slice(eq + 1));
    else if (command[i + 1] !== undefined && !(command[i + 1] ?? '').startsWith('-')) out.set(a, command[++i] ?? '');
    else out.set(a, true);
  }
  return out;
}

// --- Dockerfile ----------------------------------------------------------------

export interface Instruction {
  readonly op: string;
  readonly args: string;
}
export interface Stage {
  readonly image: string;
  readonly name?: string;
  readonly instructions: Instruction[];
}

/** Stages and instructions (line continuations joined, comments dropped, ARG defaults substituted in FROM). */
export function dockerfile(text = read('deploy/Dockerfile')): { args: Map<string, string>; stages: Stage[] } {
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  const logical: string[] = [];
  let acc = '';
  for (const l of lines) {
    if (l.trimEnd().endsWith('\\')) acc += `${l.trimEnd().slice(0, -1)} `;
    else {
      acc += l;
      if (acc.trim()) logical.push(acc.trim());
      acc = '';
    }
  }
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logical) {
    const [op = '', ...rest] = line.split(/\s+/);
    const body = rest.join(' ');
    const upper = op.toUpperCase();
    if (upper === 'ARG' && stages.length === 0) {
      const [k = '', v = ''] = body.split('=');
      args.set(k, v);
    } else if (upper === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(body);
      const image = (m?.[1] ?? '').replace(/\$\{(\w+)\}/g, (_, k: string) => args.get(k) ?? '');
      stages.push({ image, ...(m?.[2] ? { name: m[2] } : {}), instructions: [] });
    } else stages.at(-1)?.instructions.push({ op: upper, args: body });
  }
  return { args, stages };
}

/** `COPY [--from=x] src... dest` → sources and destination. */
export function copyParts(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const from = words[0]?.startsWith('--from=') ? words.shift()?.slice('--from='.length) : undefined;
  const dest = words.pop() ?? '';
  return { ...(from ? { from } : {}), sources: words, dest };
}

/** `ENV A=1 B=2` pairs. */
export const envPairs = (args: string): [string, string][] =>
  args.split(/\s+/).map((kv) => {
    const eq = kv.indexOf('=');
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  });

/** An exec-form instruction (`["a", "b"]`) as its argv. */
export const execForm = (args: string): string[] => JSON.parse(args.slice(args.indexOf('['))) as string[];

/** Whether .dockerignore excludes `path` (Docker semantics: patterns from the context root, `!` re-includes, last match wins). */
export function dockerIgnored(path: string, patterns: readonly string[]): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const neg = raw.startsWith('!');
    const pat = (neg ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const body = pat
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*\*\//g, '\u0001')
      .replace(/\*\*/g, '\u0002')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]')
      .replace(/\u0001/g, '(?:.*/)?')
      .replace(/\u0002/g, '.*');
    // A matching directory excludes everything under it.
    if (new RegExp(`^${body}(?:/.*)?$`).test(path)) ignored = !neg;
  }
  return ignored;
}

// --- processes -----------------------------------------------------------------

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface Proc {
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
}

/** Spawn and wait until `ready` matches the output (stdout + stderr). */
export async function spawnUntil(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; ready: RegExp; timeoutMs?: number },
): Promise<Proc> {
  const child = spawn(cmd, [...args], { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let out = '';
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} not ready after ${opts.timeoutMs ?? 20_000} ms:\n${out}`));
    }, opts.timeoutMs ?? 20_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (opts.ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited (${code}) before ready:\n${out}`));
    });
  });
  return { child, output: () => out, stop };
}

/** Run to completion. */
export async function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; out: string }> {
  const child = spawn(cmd, [...args], { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out };
}

/** GET http://127.0.0.1:port/path → status (0 when refused). */
export async function httpStatus(port: number, path: string): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Poll `probe` until it returns true (bounded). */
export async function eventually(probe: () => Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
