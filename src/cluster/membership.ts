/**
 * Membership: every instance announces itself in the NATS KV bucket
 * `<prefix>-instances` (docs/CLUSTER.md §Membership) and refreshes its entry
 * every heartbeat; `list()` shows who is alive. A graceful stop deletes the
 * entry at once; a crashed instance's entry ages out after its TTL.
 *
 * Nothing here touches the hook path: the load figures are read from
 * counters the hook path already keeps (the edge's meter cells)
 * once per heartbeat. A NATS failure never stops hookwarden: the heartbeat is
 * retried at the next tick, and the failure logged once per outage.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KV, NatsConnection } from 'nats';
import type { Logger } from '../observability/logger.js';
import { buildInfo } from './build-info.js';
import type { HookCounts } from './hook-counter.js';
import { instanceKey, ratePerSec, type InstanceInfo } from './instance-info.js';
import { openInstanceBucket, readInstances } from './instance-store.js';

export const MEMBERSHIP_DEFAULTS = { heartbeatMs: 2000, ttlMs: 10_000 } as const;

/** The TTL used when none is configured: 10 s, or 3 heartbeats if that is longer. */
export const defaultTtlMs = (heartbeatMs: number): number => Math.max(MEMBERSHIP_DEFAULTS.ttlMs, 3 * heartbeatMs);

/** Where the announced figures come from; each is read once per heartbeat. */
export interface MembershipSources {
  readonly hooks: () => HookCounts;
  readonly clients: () => number;
  readonly journal: () => { readonly pending: number; readonly conflicts: number };
  readonly emqxNodes: () => readonly string[];
  /** Shard numbers served (default: none). The sharding code may replace it with `setShards`. */
  readonly shards?: () => readonly number[];
}

export interface MembershipOptions {
  /** An open connection; not closed by `stop()`. */
  readonly nc: NatsConnection;
  readonly prefix: string;
  /** Instance name (default: the host name). */
  readonly name?: string;
  readonly hookPort: number;
  readonly httpPort?: number;
  readonly heartbeatMs?: number;
  readonly ttlMs?: number;
  readonly sources: MembershipSources;
  readonly log: Logger;
  readonly now?: () => number;
}

export class Membership {
  readonly name: string;
  readonly runId = randomBytes(6).toString('hex');
  readonly key: string;
  readonly heartbeatMs: number;
  readonly ttlMs: number;
  readonly #opts: MembershipOptions;
  readonly #now: () => number;
  readonly #startedAt: number;
  readonly #timeoutMs: number;
  #kv: KV | undefined;
  #shards: () => readonly number[];
  #httpPort: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<void> | undefined;
  #stopped = false;
  #failing = false;
  #last: InstanceInfo | undefined;
  #prev: { at: number; hooks: number; valued: number };

  private constructor(opts: MembershipOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.name = opts.name ?? hostname();
    this.key = instanceKey(this.name, this.runId);
    this.heartbeatMs = opts.heartbeatMs ?? MEMBERSHIP_DEFAULTS.heartbeatMs;
    this.ttlMs = opts.ttlMs ?? defaultTtlMs(this.heartbeatMs);
    this.#timeoutMs = Math.min(2000, Math.max(500, this.heartbeatMs));
    this.#startedAt = this.#now();
    this.#shards = opts.sources.shards ?? (() => []);
    this.#httpPort = opts.httpPort;
    const c = opts.sources.hooks();
    this.#prev = { at: this.#startedAt, hooks: c.hooks, valued: c.valued };
  }

  /** Announce this instance (first heartbeat awaited, failures only logged) and keep announcing it. */
  static async start(opts: MembershipOptions): Promise<Membership> {
    const m = new Membership(opts);
    await m.announce();
    m.#schedule();
    return m;
  }

  /** The live instances of the deployment, this one included (stale entries dropped). */
  async list(): Promise<InstanceInfo[]> {
    return readInstances(await this.#bucket(), this.ttlMs, this.#now);
  }

  /** What this instance announced last. */
  get self(): InstanceInfo | undefined {
    return this.#last;
  }

  /** Let the sharding code say which shards this instance serves. */
  setShards(shards: () => readonly number[]): void {
    this.#shards = shards;
  }

  /** The HTTP port, once that server listens. */
  setHttpPort(port: number | undefined): void {
    this.#httpPort = port;
  }

  /** Write one heartbeat now. Never throws: a failure is logged and retried at the next tick. */
  announce(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#inflight ??= this.#beat().finally(() => (this.#inflight = undefined));
    return this.#inflight;
  }

  /** Stop heartbeats and delete this instance's entry, so readers see it gone at once. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#inflight;
    try {
      await this.#kv?.delete(this.key);
    } catch (err) {
      this.#opts.log.warn({ err, key: this.key }, 'membership: could not delete this instance entry; it ages out after its TTL');
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.announce().then(() => this.#schedule());
    }, this.heartbeatMs);
    this.#timer.unref();
  }

  async #bucket(): Promise<KV> {
    if (this.#kv) return this.#kv;
    const kv = await openInstanceBucket(this.#opts.nc, this.#opts.prefix, this.ttlMs, this.#timeoutMs);
    const bucketTtl = (await kv.status()).ttl;
    if (bucketTtl > 0 && bucketTtl < 2 * this.heartbeatMs) {
      this.#opts.log.warn(
        { bucketTtlMs: bucketTtl, heartbeatMs: this.heartbeatMs },
        `membership: the bucket ${this.#opts.prefix}-instances keeps entries ${bucketTtl} ms, less than two heartbeats of this instance, so it will flicker out of the list; give every instance the same cluster.ttl, or delete the bucket (nats kv del ${this.#opts.prefix}-instances) so the next start recreates it`,
      );
    }
    this.#kv = kv;
    return kv;
  }

  async #beat(): Promise<void> {
    const info = this.#sample();
    try {
      const kv = await this.#bucket();
      if (this.#stopped) return;
      await kv.put(this.key, JSON.stringify(info));
      this.#last = info;
      if (this.#failing) this.#opts.log.info({ key: this.key }, 'membership: heartbeat written again');
      this.#failing = false;
    } catch (err) {
      if (!this.#failing) this.#opts.log.warn({ err, key: this.key }, 'membership: heartbeat failed; retrying every heartbeat');
      this.#failing = true;
    }
  }

  #sample(): InstanceInfo {
    const s = this.#opts.sources;
    const at = this.#now();
    const c = s.hooks();
    const elapsed = at - this.#prev.at;
    const journal = s.journal();
    const info: InstanceInfo = {
      name: this.name,
      runId: this.runId,
      ...buildInfo(),
      host: hostname(),
      pid: process.pid,
      startedAt: this.#startedAt,
      lastSeen: at,
      heartbeatMs: this.heartbeatMs,
      ttlMs: this.ttlMs,
      hookPort: this.#opts.hookPort,
      ...(this.#httpPort !== undefined ? { httpPort: this.#httpPort } : {}),
      load: {
        hooksPerSec: ratePerSec(c.hooks - this.#prev.hooks, elapsed),
        valuedPerSec: ratePerSec(c.valued - this.#prev.valued, elapsed),
        clients: s.clients(),
        journalPending: journal.pending,
        journalConflicts: journal.conflicts,
      },
      emqxNodes: [...s.emqxNodes()],
      shards: [...this.#shards()].sort((a, b) => a - b),
    };
    if (elapsed > 0) this.#prev = { at, hooks: c.hooks, valued: c.valued };
    return info;
  }
}
