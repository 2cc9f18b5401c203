/**
 * PURE: what one hookwarden instance announces about itself in the KV bucket
 * `<prefix>-instances` (docs/CLUSTER.md §Membership), its key, and how a
 * reader decodes and ages entries. No I/O, no clock: `now` is an argument.
 */

/** Load figures over the last heartbeat interval. */
export interface InstanceLoad {
  /** Hooks received per second (valued and notifications). */
  readonly hooksPerSec: number;
  /** Valued hooks (authenticate, authorize, publish) per second. */
  readonly valuedPerSec: number;
  /** Clients tracked in the registry (hot, cold and pinned). */
  readonly clients: number;
  /** Journal records not yet acknowledged. */
  readonly journalPending: number;
  /** Journal appends refused by the fence since start. */
  readonly journalConflicts: number;
}

export interface InstanceInfo {
  /** The `instance` option (default: the host name). Not unique: two runs may share it. */
  readonly name: string;
  /** Unique per process start. */
  readonly runId: string;
  /** hookwarden's package version. */
  readonly version: string;
  /** The client machine's `MACHINE_VERSION` (snapshots of another version are not restored). */
  readonly machineVersion: string;
  /** The event schema version (`io.hookwarden.….v<N>`). */
  readonly schemaVersion: number;
  readonly host: string;
  readonly pid: number;
  /** Epoch ms. */
  readonly startedAt: number;
  /** Epoch ms of the heartbeat that wrote this entry (the writer's clock). */
  readonly lastSeen: number;
  readonly heartbeatMs: number;
  /** After this long without a heartbeat the entry is considered gone. */
  readonly ttlMs: number;
  readonly hookPort: number;
  readonly httpPort?: number;
  readonly load: InstanceLoad;
  /** EMQX nodes that loaded this instance and have not unloaded it. */
  readonly emqxNodes: readonly string[];
  /** Shard numbers this instance currently serves (empty when not sharded). */
  readonly shards: readonly number[];
}

/** The KV bucket of a subject prefix. */
export const instancesBucket = (prefix: string): string => `${prefix}-instances`;

/** KV key of one run: `<name, made key-safe>.<runId>` (KV keys allow `[-/_=.A-Za-z0-9]`). */
export function instanceKey(name: string, runId: string): string {
  const safe = name.replace(/[^-_=A-Za-z0-9]/g, '_').slice(0, 64) || '_';
  return `${safe}.${runId.replace(/[^-_A-Za-z0-9]/g, '_')}`;
}

/** Whether the entry's last heartbeat is older than its TTL (a crashed instance's entry lingers until then). */
export const isStale = (info: InstanceInfo, now: number): boolean => now - info.lastSeen > info.ttlMs;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Decode one entry; undefined when it is not an InstanceInfo (another writer's
 * junk is skipped, never fatal). Unknown fields are ignored, so a newer
 * writer may add some. `defaultTtlMs` applies to an entry that names none.
 */
export function parseInstanceInfo(json: string, defaultTtlMs: number): InstanceInfo | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!isObj(v)) return undefined;
  const name = str(v.name);
  const runId = str(v.runId);
  const lastSeen = num(v.lastSeen);
  const hookPort = num(v.hookPort);
  if (name === undefined || runId === undefined || lastSeen === undefined || hookPort === undefined) return undefined;
  const load = isObj(v.load) ? v.load : {};
  const httpPort = num(v.httpPort);
  return {
    name,
    runId,
    version: str(v.version) ?? '?',
    machineVersion: str(v.machineVersion) ?? '?',
    schemaVersion: num(v.schemaVersion) ?? 0,
    host: str(v.host) ?? '',
    pid: num(v.pid) ?? 0,
    startedAt: num(v.startedAt) ?? lastSeen,
    lastSeen,
    heartbeatMs: num(v.heartbeatMs) ?? 0,
    ttlMs: num(v.ttlMs) ?? defaultTtlMs,
    hookPort,
    ...(httpPort !== undefined ? { httpPort } : {}),
    load: {
      hooksPerSec: num(load.hooksPerSec) ?? 0,
      valuedPerSec: num(load.valuedPerSec) ?? 0,
      clients: num(load.clients) ?? 0,
      journalPending: num(load.journalPending) ?? 0,
      journalConflicts: num(load.journalConflicts) ?? 0,
    },
    emqxNodes: Array.isArray(v.emqxNodes) ? v.emqxNodes.filter((n): n is string => typeof n === 'string') : [],
    shards: Array.isArray(v.shards) ? v.shards.filter((n): n is number => Number.isInteger(n)) : [],
  };
}

/** Live entries (stale ones dropped), ordered by name then start time. */
export function liveInstances(entries: readonly InstanceInfo[], now: number): InstanceInfo[] {
  return entries.filter((i) => !isStale(i, now)).sort((a, b) => a.name.localeCompare(b.name) || a.startedAt - b.startedAt);
}

/** Per-second rate of a counter between two samples, one decimal. */
export function ratePerSec(delta: number, elapsedMs: number): number {
  if (elapsedMs <= 0 || delta <= 0) return 0;
  return Math.round((delta * 10_000) / elapsedMs) / 10;
}
