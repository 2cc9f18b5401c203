/**
 * The KV bucket `<prefix>-instances`: created idempotently by the instances
 * (file storage, one replica, history 1, bucket TTL = the instance TTL), only
 * bound by readers such as `hookwarden cluster` (a reader never creates it).
 *
 * On nats-server 2.9 the TTL is per bucket (`max_age`) and an expired key
 * leaves no delete marker, so readers also drop entries whose `lastSeen` is
 * older than their TTL (`liveInstances`).
 */
import { StorageType, type KV, type NatsConnection } from 'nats';
import { AppError } from '../errors.js';
import { instancesBucket, liveInstances, parseInstanceInfo, type InstanceInfo } from './instance-info.js';

const decoder = new TextDecoder();
const apiCode = (err: unknown): number | undefined => (err as { api_error?: { err_code?: number } } | undefined)?.api_error?.err_code;

/** Open the bucket, creating it when missing. A bucket created earlier with another TTL is used as it is. */
export async function openInstanceBucket(nc: NatsConnection, prefix: string, ttlMs: number, timeoutMs: number): Promise<KV> {
  const js = nc.jetstream({ timeout: timeoutMs });
  const name = instancesBucket(prefix);
  try {
    return await js.views.kv(name, {
      history: 1,
      ttl: ttlMs,
      storage: StorageType.File,
      replicas: 1,
      description: 'hookwarden instances: one key per running process, refreshed every heartbeat (docs/CLUSTER.md)',
    });
  } catch (err) {
    // another instance created it at the same moment with other options (10058): use it as it is
    if (apiCode(err) === 10058) return js.views.kv(name, { bindOnly: true });
    throw new AppError('EXH_CLUSTER_SETUP', `cannot open the NATS KV bucket ${name}: ${(err as Error).message}`, { cause: err });
  }
}

/** Bind to an existing bucket; undefined when it does not exist (no instance ever announced itself). */
export async function bindInstanceBucket(nc: NatsConnection, prefix: string, timeoutMs: number): Promise<KV | undefined> {
  const js = nc.jetstream({ timeout: timeoutMs });
  try {
    const kv = await js.views.kv(instancesBucket(prefix), { bindOnly: true });
    await kv.status(); // binding alone does not look the stream up
    return kv;
  } catch (err) {
    if (apiCode(err) === 10059 || (err as Error).message === 'stream not found') return undefined;
    throw new AppError('EXH_CLUSTER_SETUP', `cannot read the NATS KV bucket ${instancesBucket(prefix)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Every live instance in the bucket (stale and undecodable entries dropped), by name. */
export async function readInstances(kv: KV, defaultTtlMs: number, now: () => number = Date.now): Promise<InstanceInfo[]> {
  const keys: string[] = [];
  for await (const k of await kv.keys()) keys.push(k);
  const entries = await Promise.all(keys.map((k) => kv.get(k)));
  const infos: InstanceInfo[] = [];
  for (const e of entries) {
    if (!e || e.operation !== 'PUT') continue;
    const info = parseInstanceInfo(decoder.decode(e.value), defaultTtlMs);
    if (info) infos.push(info);
  }
  return liveInstances(infos, now());
}
