/**
 * The NATS journal split into shards (`nats.shards` N > 1, docs/CLUSTER.md
 * §Shards): one `NatsJournal` per shard on one connection, each with its own
 * R1 stream `<PREFIX>_JOURNAL_<shard>` (subjects `<prefix>.journal.<shard>.*`),
 * so JetStream can place the streams on different servers of a cluster.
 *
 * A client lives in exactly one shard (`shardOf`: FNV-1a-32 of its key mod
 * N, = nats-server's `{{partition(N,1)}}`), so every per-client guarantee of
 * `NatsJournal` holds unchanged: fenced appends, batches, msgID dedup,
 * `track`/`id`, arrival order. `readAll` goes shard by shard (per-client
 * order holds; positions are per shard stream). The feed gets one projector
 * per shard, each behind its own lease (`feed-projector-<shard>`), so the
 * projection work spreads over the instances.
 *
 * `openNatsJournal` is the one way in: it reads the layout the deployment
 * already has and refuses a shard count that disagrees (shard-layout.ts).
 */
import { hostname } from 'node:os';
import type { NatsConnection } from 'nats';
import { shardOf } from './client-key.js';
import { FeedLease, shardLeaseKey } from './feed-lease.js';
import type { AppendAck, AppendOptions, JournalEntry, JournalPort, JournalRecord, JournalStats, LoadedClient } from './journal.js';
import { JournalError } from './journal-errors.js';
import { connectNats, type NatsConnectOptions } from './nats-connect.js';
import { NATS_DEFAULTS, NatsJournal, SETUP_TIMEOUT_MS, type NatsJournalOptions } from './nats-journal.js';
import { jetStreamManager } from './nats-setup.js';
import { RecordIds } from './record-ids.js';
import { findLayout, resolveShards } from './shard-layout.js';

export interface ShardedOptions extends NatsJournalOptions {
  /**
   * Shard count (1 – 64). 1: the unsharded journal (`NatsJournal`, stream `<PREFIX>_JOURNAL`).
   * Undefined: the layout the streams already have (for replay and inspect), else 1.
   */
  readonly shards?: number;
  /** Placement tags for new journal streams: shard s gets `shardTags[s mod length]` (unsharded: the first). */
  readonly shardTags?: readonly string[];
}

/** Open the NATS journal the options and the existing streams call for: `NatsJournal` for one shard, else `ShardedJournal`. */
export async function openNatsJournal(opts: ShardedOptions): Promise<NatsJournal | ShardedJournal> {
  if (!opts.connection && !opts.connect) {
    throw new JournalError('EXH_JOURNAL_SETUP', 'the NATS journal needs a connection or connect options (--nats URL)');
  }
  const { shards: configured, shardTags, ...rest } = opts;
  const nc = opts.connection ?? (await connectNats(opts.connect as NatsConnectOptions));
  const own = !opts.connection || opts.ownsConnection === true;
  try {
    const prefix = opts.prefix ?? NATS_DEFAULTS.prefix;
    const jsm = await jetStreamManager(nc, Math.max(opts.apiTimeoutMs ?? NATS_DEFAULTS.apiTimeoutMs, SETUP_TIMEOUT_MS));
    const n = resolveShards(await findLayout(jsm, prefix), prefix, configured);
    const tag = (s: number): { placementTag?: string } =>
      shardTags?.length ? { placementTag: shardTags[s % shardTags.length] as string } : {};
    if (n === 1) return await NatsJournal.open({ ...rest, ...tag(0), connection: nc, ownsConnection: own });
    return await ShardedJournal.open({ ...rest, connection: nc, ownsConnection: own }, n, tag);
  } catch (err) {
    if (own) await nc.close().catch(() => undefined);
    throw err;
  }
}

const sum = (stats: readonly JournalStats[], key: 'appended' | 'stored' | 'pending' | 'conflicts' | 'timeouts' | 'dropped'): number =>
  stats.reduce((s, x) => s + x[key], 0);

export class ShardedJournal implements JournalPort {
  readonly kind = 'nats' as const;
  /** One journal per shard, by shard number. */
  readonly shards: readonly NatsJournal[];
  readonly #nc: NatsConnection;
  readonly #ownConnection: boolean;
  #lease: FeedLease | undefined;
  /** `appended` of each shard at the last `activeShards()` call. */
  readonly #seen: number[];
  #closed = false;

  private constructor(nc: NatsConnection, own: boolean, shards: NatsJournal[]) {
    this.#nc = nc;
    this.#ownConnection = own;
    this.shards = shards;
    this.#seen = shards.map(() => 0);
  }

  /** Create or check every shard's stream, then start the feed projectors (all, or those whose lease this instance wins). */
  static async open(
    opts: NatsJournalOptions & { readonly connection: NatsConnection },
    n: number,
    placement: (shard: number) => { placementTag?: string } = () => ({}),
  ): Promise<ShardedJournal> {
    const shards: NatsJournal[] = [];
    const feed = opts.feed;
    try {
      for (let shard = 0; shard < n; shard++) {
        shards.push(
          await NatsJournal.open({
            ...opts,
            ...placement(shard),
            shard,
            ownsConnection: false,
            // the bounds are per journal: share them out
            maxPending: Math.ceil((opts.maxPending ?? NATS_DEFAULTS.maxPending) / n),
            cursorCacheSize: Math.ceil((opts.cursorCacheSize ?? NATS_DEFAULTS.cursorCacheSize) / n),
            ...(feed ? { feed: { ...feed, project: false } } : {}),
          }),
        );
      }
    } catch (err) {
      await Promise.all(shards.map((s) => s.close().catch(() => undefined)));
      throw err;
    }
    const j = new ShardedJournal(opts.connection, opts.ownsConnection === true, shards);
    if (feed?.project === 'lease') {
      j.#lease = await FeedLease.start({
        js: opts.connection.jetstream({ timeout: opts.apiTimeoutMs ?? NATS_DEFAULTS.apiTimeoutMs }),
        prefix: opts.prefix ?? NATS_DEFAULTS.prefix,
        holder: `${opts.instance ?? hostname()}/${new RecordIds().boot}`,
        keys: shards.map((_, i) => shardLeaseKey(i)),
        ...(feed.leaseTtlMs ? { ttlMs: feed.leaseTtlMs } : {}),
        onChange: (held, i) => (held ? j.shards[i]?.startFeedProjector() : void j.shards[i]?.stopFeedProjector()),
        onError: (err) => opts.onBackgroundError?.(err, 'feed projector lease'),
      });
    } else if (feed && feed.project !== false) {
      for (const s of shards) s.startFeedProjector();
    }
    return j;
  }

  /** The shard of a client (`shardOf`). */
  shardOf(clientId: string): number {
    return shardOf(clientId, this.shards.length);
  }

  /** Shards fail independently (their streams may live on different servers). */
  partitionOf(clientId: string): number {
    return this.shardOf(clientId);
  }

  #of(clientId: string): NatsJournal {
    return this.shards[this.shardOf(clientId)] as NatsJournal;
  }

  get connection(): NatsConnection {
    return this.#nc;
  }

  /** Shards whose feed projector runs in this instance now. */
  get projectingShards(): number[] {
    return this.shards.flatMap((s, i) => (s.projecting ? [i] : []));
  }

  /** Shards this instance appended records for since the previous call (membership reports them each heartbeat). */
  activeShards(): number[] {
    const out: number[] = [];
    this.shards.forEach((s, i) => {
      const appended = s.stats().appended;
      if (appended !== this.#seen[i]) out.push(i);
      this.#seen[i] = appended;
    });
    return out;
  }

  append(record: JournalRecord, opts?: AppendOptions): Promise<AppendAck> | undefined {
    return this.#of(record.clientId).append(record, opts);
  }

  load(clientId: string): Promise<LoadedClient | undefined> {
    return this.#of(clientId).load(clientId);
  }

  recent(clientId: string, limit: number): Promise<JournalEntry[]> {
    return this.#of(clientId).recent(clientId, limit);
  }

  /** Shard by shard, each in its stream's order (`fromSeq` applies to every shard stream). */
  async *readAll(opts: { readonly fromSeq?: number } = {}): AsyncGenerator<JournalEntry> {
    for (const s of this.shards) yield* s.readAll(opts);
  }

  forget(clientId: string): void {
    this.#of(clientId).forget(clientId);
  }

  async flush(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.flush()));
  }

  stats(): JournalStats {
    const all = this.shards.map((s) => s.stats());
    return {
      kind: 'nats',
      appended: sum(all, 'appended'),
      stored: sum(all, 'stored'),
      pending: sum(all, 'pending'),
      conflicts: sum(all, 'conflicts'),
      timeouts: sum(all, 'timeouts'),
      dropped: sum(all, 'dropped'),
    };
  }

  /** Release the projector leases, close every shard (each waits for its appends in flight), close an own connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#lease?.stop();
    await Promise.all(this.shards.map((s) => s.close()));
    if (this.#ownConnection) await this.#nc.drain().catch(() => this.#nc.close());
  }
}
