/**
 * Loads our copies of the three ExHook protos (protos/emqx/exhook/v{1,2,3})
 * with @grpc/proto-loader and hands out one grpc-js service definition per
 * generation. The `protos/` folder is found by walking up from this module,
 * so the same code works from `src/edge` (vitest, tsx) and from the compiled
 * `dist/src/edge`.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Generation } from '../domain/hook-event.js';

export const GENERATIONS: readonly Generation[] = ['v1', 'v2', 'v3'];

/**
 * The decoding contract every decoder relies on: field names as in the proto,
 * 64-bit integers (timestamp, v2/v3 uptime) as decimal strings, enums by name
 * (an unknown number stays a number), every absent scalar present with its
 * default, absent sub-messages as null, `bytes` as Buffer (the default).
 */
export const LOAD_OPTIONS: protoLoader.Options = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});

const PROTO_RELATIVE = join('protos', 'emqx', 'exhook');
/** src/edge → repo root is 2 levels; dist/src/edge is 3; a few more for safety. */
const MAX_LEVELS_UP = 8;

/** The `protos/emqx/exhook` folder, found by walking up from this module. */
export function protoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (let i = 0; i <= MAX_LEVELS_UP; i++) {
    const candidate = join(dir, PROTO_RELATIVE);
    if (existsSync(join(candidate, 'v1', 'exhook.proto'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`cannot find ${PROTO_RELATIVE}/v1/exhook.proto above ${from}; is the protos/ folder shipped next to dist/?`);
}

/** Path of our proto file for one generation. */
export const protoFile = (generation: Generation, root: string = protoRoot()): string =>
  join(root, generation, 'exhook.proto');

const cache = new Map<Generation, ServiceDefinition>();

/** The `emqx.exhook.<generation>.HookProvider` service definition (loaded once). */
export function hookProviderService(generation: Generation): ServiceDefinition {
  const cached = cache.get(generation);
  if (cached) return cached;
  const definition = protoLoader.loadSync(protoFile(generation), LOAD_OPTIONS);
  const service = definition[`emqx.exhook.${generation}.HookProvider`];
  if (!service || 'format' in service || !('OnProviderLoaded' in service)) {
    throw new Error(`protos/emqx/exhook/${generation}/exhook.proto does not define emqx.exhook.${generation}.HookProvider`);
  }
  const result = service as unknown as ServiceDefinition;
  cache.set(generation, result);
  return result;
}
