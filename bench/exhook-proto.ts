/**
 * Bench-only access to the vendored ExHook protos: where they are, how to
 * load them, and the hook/RPC names of each version. Used by the floor
 * server and the frame encoder, never by src/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';

export type ExhookVersion = 'v1' | 'v2' | 'v3';
export const EXHOOK_VERSIONS: readonly ExhookVersion[] = ['v1', 'v2', 'v3'];

/** Same options as the traces were decoded with (see the traces README). */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The repository root: the nearest folder above this file whose package.json is hookwarden's. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i += 1) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'hookwarden') return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error('bench: cannot find the hookwarden repository root above ' + fileURLToPath(import.meta.url));
}

/** `protos/` of the repository, or `$BENCH_PROTO_DIR` (same layout: emqx/exhook/vN/exhook.proto). */
export function protoDir(): string {
  return process.env['BENCH_PROTO_DIR'] ?? join(repoRoot(), 'protos');
}

export function protoFile(version: ExhookVersion): string {
  return join(protoDir(), 'emqx', 'exhook', version, 'exhook.proto');
}

export function serviceName(version: ExhookVersion): string {
  return `emqx.exhook.${version}.HookProvider`;
}

export interface LoadedExhook {
  readonly version: ExhookVersion;
  readonly definition: protoLoader.PackageDefinition;
  readonly service: protoLoader.ServiceDefinition;
}

export function loadExhook(version: ExhookVersion): LoadedExhook {
  const file = protoFile(version);
  if (!existsSync(file)) {
    throw new Error(`bench: ${file} not found (set BENCH_PROTO_DIR to a folder with emqx/exhook/${version}/exhook.proto)`);
  }
  const definition = protoLoader.loadSync(file, LOADER_OPTIONS);
  const service = definition[serviceName(version)];
  if (!service || !('OnProviderLoaded' in service)) throw new Error(`bench: ${file} has no ${serviceName(version)}`);
  return { version, definition, service: service as protoLoader.ServiceDefinition };
}

/** Hook names in v2/v3 spelling, in the order of the proto's rpc list. */
export const HOOKS_V2 = [
  'client.connect',
  'client.connack',
  'client.connected',
  'client.disconnected',
  'client.authenticate',
  'client.authorize',
  'client.subscribe',
  'client.unsubscribe',
  'session.created',
  'session.subscribed',
  'session.unsubscribed',
  'session.resumed',
  'session.discarded',
  'session.takenover',
  'session.terminated',
  'message.publish',
  'message.delivered',
  'message.acked',
  'message.dropped',
] as const;
export type BenchHook = (typeof HOOKS_V2)[number];

/** The hook's name as `version` spells it (v1: client.check_acl, session.takeovered). */
export function hookName(hook: BenchHook, version: ExhookVersion): string {
  if (version !== 'v1') return hook;
  if (hook === 'client.authorize') return 'client.check_acl';
  if (hook === 'session.takenover') return 'session.takeovered';
  return hook;
}

/** `client.connect` → `OnClientConnect`; v1 renames as in hookName. */
export function rpcName(hook: BenchHook, version: ExhookVersion): string {
  return (
    'On' +
    hookName(hook, version)
      .split(/[._]/)
      .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
      .join('')
  );
}

/** The valued RPCs (they answer ValuedResponse), in every version's spelling. */
export const VALUED_RPCS: ReadonlySet<string> = new Set([
  'OnClientAuthenticate',
  'OnClientAuthorize',
  'OnClientCheckAcl',
  'OnMessagePublish',
]);
