/**
 * `hookwarden client …`: the admin API from the command line (the same HTTP
 * routes, docs/OPERATIONS.md). The server is `--url` (default: the HTTP port
 * of the configuration, on loopback) and the token `--token` /
 * `--token-file` (default: the configuration's admin token, e.g.
 * HOOKWARDEN_ADMIN_TOKEN). Human output by default, the API's JSON with `--json`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { AppError } from '../errors.js';
import { formatClient, formatOutcome, formatProblems } from './cli-format.js';

export const CLIENT_USAGE = `usage:
  hookwarden client show CLIENTID [--last N]
  hookwarden client override CLIENTID [--ban 10m] [--quarantine 5m] [--limits JSON | --limits-file FILE] [--shadow true|false] [--reason TEXT]
  hookwarden client clear-override CLIENTID [--reason TEXT]
  hookwarden client unban CLIENTID [--reason TEXT]
options: --url http://127.0.0.1:PORT  --token TOKEN | --token-file FILE  --config FILE  --json
`;

const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  last: { type: 'string' },
  ban: { type: 'string' },
  quarantine: { type: 'string' },
  limits: { type: 'string' },
  'limits-file': { type: 'string' },
  shadow: { type: 'string' },
  reason: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

type Values = { readonly [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

const ALLOWED: Readonly<Record<string, readonly (keyof typeof OPTIONS)[]>> = {
  show: ['last'],
  override: ['ban', 'quarantine', 'limits', 'limits-file', 'shadow', 'reason'],
  'clear-override': ['reason'],
  unban: ['reason'],
};
const COMMON = new Set(['url', 'token', 'token-file', 'config', 'json', 'help']);

class Usage extends Error {}

/** Run `hookwarden client ARGS`; resolves to the exit code (0 ok, 1 refused or unreachable, 2 usage). */
export async function clientCommand(args: readonly string[]): Promise<number> {
  try {
    return await run(args);
  } catch (err) {
    if (err instanceof Usage) {
      process.stderr.write(`hookwarden client: ${err.message}\n${CLIENT_USAGE}`);
      return 2;
    }
    process.stderr.write(`hookwarden client: ${err instanceof AppError ? err.message : (err as Error).message}\n`);
    return 1;
  }
}

async function run(args: readonly string[]): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options: OPTIONS, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (err) {
    throw new Usage((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    process.stdout.write(CLIENT_USAGE);
    return 0;
  }
  const [sub, clientId, ...extra] = positionals;
  const allowed = sub === undefined ? undefined : ALLOWED[sub];
  if (!allowed) throw new Usage(sub === undefined ? 'which command?' : `unknown command "${sub}"`);
  if (clientId === undefined || extra.length > 0) throw new Usage(`${sub} takes exactly one CLIENTID`);
  for (const k of Object.keys(v))
    if (!COMMON.has(k) && !allowed.includes(k as keyof typeof OPTIONS)) throw new Usage(`--${k} does not go with ${sub}`);
  const { url, token } = await target(v);
  const path = `/v1/clients/${encodeURIComponent(clientId)}`;
  const reason = v.reason === undefined ? undefined : { reason: v.reason };
  switch (sub) {
    case 'show':
      return call(
        url,
        token,
        'GET',
        `${path}${v.last !== undefined ? `?last=${encodeURIComponent(v.last)}` : ''}`,
        undefined,
        v.json,
        formatClient,
      );
    case 'override':
      return call(url, token, 'PUT', `${path}/override`, overrideBody(v), v.json, formatOutcome);
    case 'clear-override':
      return call(url, token, 'DELETE', `${path}/override`, reason, v.json, formatOutcome);
    default:
      return call(url, token, 'POST', `${path}/unban`, reason, v.json, formatOutcome);
  }
}

/** The PUT body from the flags (the server validates it; only the flags' own syntax is checked here). */
function overrideBody(v: Values): Record<string, unknown> {
  if (v.limits !== undefined && v['limits-file'] !== undefined) throw new Usage('give --limits or --limits-file, not both');
  const body: Record<string, unknown> = {};
  if (v.limits !== undefined) {
    try {
      body.limits = JSON.parse(v.limits) as unknown;
    } catch (err) {
      throw new Usage(`--limits is not JSON (${(err as Error).message}); write e.g. --limits '{"messages_rate":"1/s"}'`);
    }
  }
  if (v['limits-file'] !== undefined) {
    const file = v['limits-file'];
    try {
      body.limits = parseYaml(readFileSync(file, 'utf8')) as unknown;
    } catch (err) {
      throw new Usage(`--limits-file ${file}: ${(err as Error).message}`);
    }
  }
  if (v.shadow !== undefined) {
    if (v.shadow !== 'true' && v.shadow !== 'false') throw new Usage(`--shadow takes true or false, not ${JSON.stringify(v.shadow)}`);
    body.shadow = v.shadow === 'true';
  }
  if (v.ban !== undefined) body.ban = v.ban;
  if (v.quarantine !== undefined) body.quarantine = v.quarantine;
  if (v.reason !== undefined) body.reason = v.reason;
  if (Object.keys(body).length === 0 || (Object.keys(body).length === 1 && body.reason !== undefined))
    throw new Usage('override needs at least one of --ban, --quarantine, --limits, --limits-file, --shadow');
  return body;
}

/** The server and the token: the flags, else what the configuration (file, environment) says. */
async function target(v: Values): Promise<{ url: string; token?: string }> {
  const { loadConfig } = await import('../config.js');
  const flags: Record<string, string> = { 'log-level': 'silent' };
  if (v.config !== undefined) flags.config = v.config;
  if (v.token !== undefined) flags['admin-token'] = v.token;
  if (v['token-file'] !== undefined) flags['admin-token-file'] = v['token-file'];
  const config = loadConfig(flags);
  let url = v.url;
  if (url === undefined) {
    if (config.httpPort === undefined) throw new Usage('give the server: --url http://HOST:PORT (its --http-port)');
    const host = config.httpHost === '0.0.0.0' || config.httpHost === '::' ? '127.0.0.1' : config.httpHost;
    url = `http://${host.includes(':') ? `[${host}]` : host}:${config.httpPort}`;
  }
  if (!/^https?:\/\//.test(url)) throw new Usage(`--url ${JSON.stringify(url)} is not an http(s) URL`);
  const token = config.adminToken?.reveal();
  return { url: url.replace(/\/+$/, ''), ...(token ? { token } : {}) };
}

async function call(
  url: string,
  token: string | undefined,
  method: string,
  path: string,
  body: unknown,
  json: boolean | undefined,
  format: (reply: Record<string, unknown>) => string,
): Promise<number> {
  let res: Response;
  try {
    res = await fetch(`${url}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    throw new Error(`cannot reach ${url}: ${cause ?? (err as Error).message} (is hookwarden serving HTTP there? see --http-port)`);
  }
  const text = await res.text();
  let reply: Record<string, unknown>;
  try {
    reply = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${method} ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (json) process.stdout.write(`${JSON.stringify(reply, null, 2)}\n`);
  if (!res.ok) {
    if (!json) process.stderr.write(`hookwarden client: ${formatProblems(res.status, reply)}\n`);
    return 1;
  }
  if (!json) process.stdout.write(`${format(reply)}\n`);
  return 0;
}
