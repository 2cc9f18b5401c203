/**
 * `hookwarden cluster`: the live instances of a deployment, read from the KV
 * bucket `<prefix>-instances` (docs/CLUSTER.md). Read-only: it never creates
 * the bucket.
 */
import type { NatsConnection } from 'nats';
import type { InstanceInfo } from './instance-info.js';
import { bindInstanceBucket, readInstances } from './instance-store.js';
import { MEMBERSHIP_DEFAULTS } from './membership.js';

/** Live instances under `prefix`; `[]` when the bucket does not exist yet. */
export async function listInstances(nc: NatsConnection, prefix: string, now: () => number = Date.now): Promise<InstanceInfo[]> {
  const kv = await bindInstanceBucket(nc, prefix, 2000);
  return kv ? readInstances(kv, MEMBERSHIP_DEFAULTS.ttlMs, now) : [];
}

/** A duration in the largest unit that keeps it short: `850ms`, `12s`, `5m`, `3h`, `2d`. */
export function shortDuration(ms: number): string {
  const v = Math.max(0, ms);
  if (v < 1000) return `${Math.round(v)}ms`;
  if (v < 60_000) return `${Math.floor(v / 1000)}s`;
  if (v < 3_600_000) return `${Math.floor(v / 60_000)}m`;
  if (v < 86_400_000) return `${Math.floor(v / 3_600_000)}h`;
  return `${Math.floor(v / 86_400_000)}d`;
}

/** Compact shard list: `0-3,7,9-10`. */
export function shardRanges(shards: readonly number[]): string {
  const s = [...new Set(shards)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && (s[j + 1] as number) === (s[j] as number) + 1) j++;
    parts.push(i === j ? String(s[i]) : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

const HEADER = ['NAME', 'VERSION', 'MACHINE', 'AGE', 'SEEN', 'HOOKS/S', 'VALUED/S', 'CLIENTS', 'EMQX NODES', 'SHARDS'] as const;

/** The table `hookwarden cluster` prints (plain text, aligned columns). */
export function formatInstances(instances: readonly InstanceInfo[], prefix: string, now: number): string {
  if (instances.length === 0) {
    return `no hookwarden instances are announced under prefix "${prefix}" (KV bucket ${prefix}-instances): none is running with this --nats and --nats-prefix, or none has sent a heartbeat within its TTL`;
  }
  const names = new Map<string, number>();
  for (const i of instances) names.set(i.name, (names.get(i.name) ?? 0) + 1);
  const rows = instances.map((i) => [
    (names.get(i.name) ?? 0) > 1 ? `${i.name} (${i.runId})` : i.name,
    i.version,
    i.machineVersion,
    shortDuration(now - i.startedAt),
    `${shortDuration(now - i.lastSeen)} ago`,
    String(i.load.hooksPerSec),
    String(i.load.valuedPerSec),
    String(i.load.clients),
    i.emqxNodes.length === 0 ? '-' : i.emqxNodes.join(','),
    i.shards.length === 0 ? '-' : shardRanges(i.shards),
  ]);
  const table = [[...HEADER], ...rows];
  const widths = HEADER.map((_, c) => Math.max(...table.map((r) => (r[c] ?? '').length)));
  const lines = table.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  const versions = new Set(instances.map((i) => `${i.version}/${i.machineVersion}`));
  if (versions.size > 1) lines.push('', `note: ${versions.size} different versions are running (a rolling upgrade?)`);
  return `${lines.join('\n')}\n\n${instances.length} instance${instances.length === 1 ? '' : 's'} under prefix "${prefix}"`;
}

/** The command, after cli.ts parsed its flags (`--config`, the NATS options, `--json`). Resolves to the exit code. */
export async function runClusterCommand(flags: Readonly<Record<string, string | boolean | undefined>>): Promise<number> {
  const { json, ...rest } = flags;
  const { loadConfig } = await import('../config.js');
  const { natsOptions } = await import('../main.js');
  const { connectNats } = await import('../journal/nats-connect.js');
  const { AppError } = await import('../errors.js');
  let config;
  try {
    config = loadConfig({ ...rest, 'log-level': 'silent' });
  } catch (err) {
    process.stderr.write(`hookwarden: ${err instanceof AppError ? err.message : String(err)}\n`);
    return 2;
  }
  if (!config.nats) {
    process.stderr.write(
      'hookwarden cluster: give the NATS servers the instances use: --nats URL [--nats-prefix P] (as serve was given)\n',
    );
    return 2;
  }
  let nc: NatsConnection;
  try {
    nc = await connectNats(natsOptions(config.nats, config.instance, 'cli'));
  } catch (err) {
    process.stderr.write(`hookwarden cluster: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    const instances = await listInstances(nc, config.nats.prefix);
    process.stdout.write(
      json ? `${JSON.stringify(instances, null, 2)}\n` : `${formatInstances(instances, config.nats.prefix, Date.now())}\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`hookwarden cluster: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await nc.close();
  }
}
