/**
 * What this build is: package version, client machine version and event
 * schema version, as announced by membership and shown by `hookwarden cluster`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MACHINE_VERSION } from '../../machines/client/client.step.js';
import { SCHEMA_VERSION } from '../journal/events.js';

export interface BuildInfo {
  readonly version: string;
  readonly machineVersion: string;
  readonly schemaVersion: number;
}

/** hookwarden's package.json version, found by walking up from this file (works from src/ and dist/src/). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const parsed = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown; version?: unknown };
      if (parsed.name === 'hookwarden' && typeof parsed.version === 'string') return parsed.version;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return 'unknown';
}

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  cached ??= { version: packageVersion(), machineVersion: MACHINE_VERSION, schemaVersion: SCHEMA_VERSION };
  return cached;
}
