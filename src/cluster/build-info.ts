/**
 * What this build is: package version, client machine version and event
 * schema version, as announced by membership and shown by `hookwarden cluster`.
 */
import { MACHINE_VERSION } from '../../machines/client/client.step.js';
import { SCHEMA_VERSION } from '../journal/events.js';
import { VERSION } from '../observability/version.js';

export interface BuildInfo {
  readonly version: string;
  readonly machineVersion: string;
  readonly schemaVersion: number;
}

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  cached ??= { version: VERSION, machineVersion: MACHINE_VERSION, schemaVersion: SCHEMA_VERSION };
  return cached;
}
