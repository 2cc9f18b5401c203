/**
 * One feed projector per cluster: instances that share a journal compete for
 * a lease in the KV bucket `<prefix>-leases` (key `feed-projector`); the
 * holder runs the projector, the others stand by and take over when the
 * lease expires (bucket TTL) or is released on a graceful stop.
 *
 * A sharded journal has one lease per shard (`feed-projector-<shard>`), and
 * the work is shared: every competing instance refreshes a candidate key
 * (`candidates.<run id>`), and with C candidates each holds at most
 * ceil(shards / C) leases. An instance over its share releases the extra
 * leases (highest shard first), one under it takes free ones, so a second
 * instance gets half of the shards within two renewals.
 *
 * The lease only saves work: two projectors at once (a paused holder, KV CAS
 * on a replicated bucket in NATS 2.9, DISTRIBUTED.md §2.2) publish the same
 * feed messages with the same `Nats-Msg-Id` and the feed stream's dedup
 * window absorbs the overlap, so correctness never depends on it.
 */
import { randomBytes } from 'node:crypto';
import { StorageType, type JetStreamClient, type KV } from 'nats';

export interface LeaseOptions {
  readonly js: JetStreamClient;
  readonly prefix: string;
  /** Who holds it (instance name + run id), for operators. */
  readonly holder: string;
  /** Lease lifetime; renewed every third of it (default 9 s). */
  readonly ttlMs?: number;
  /** The leases competed for (default one, `feed-projector`); with several, each instance takes its share. */
  readonly keys?: readonly string[];
  /** Called when this instance gains (true) or loses (false) the lease `keys[index]`. */
  readonly onChange: (held: boolean, index: number) => void;
  readonly onError: (err: Error) => void;
}

export const LEASE_KEY = 'feed-projector';
/** The projector lease of one shard. */
export const shardLeaseKey = (shard: number): string => `${LEASE_KEY}-${shard}`;

const encoder = new TextEncoder();

export class FeedLease {
  readonly #opts: LeaseOptions;
  readonly #ttlMs: number;
  readonly #keys: readonly string[];
  /** Revision of each held lease (0: not held). */
  readonly #revisions: number[];
  readonly #candidate = `candidates.${randomBytes(6).toString('hex')}`;
  #kv: KV | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #busy: Promise<void> = Promise.resolve();

  private constructor(opts: LeaseOptions) {
    this.#opts = opts;
    this.#ttlMs = opts.ttlMs ?? 9000;
    this.#keys = opts.keys && opts.keys.length > 0 ? opts.keys : [LEASE_KEY];
    this.#revisions = this.#keys.map(() => 0);
  }

  /** Open the bucket and make the first attempt; later attempts run every third of the TTL. */
  static async start(opts: LeaseOptions): Promise<FeedLease> {
    const lease = new FeedLease(opts);
    lease.#kv = await opts.js.views.kv(`${opts.prefix}-leases`, { history: 1, ttl: lease.#ttlMs, storage: StorageType.File });
    await lease.#tick();
    return lease;
  }

  /** Whether this instance holds any lease. */
  get held(): boolean {
    return this.#revisions.some((r) => r > 0);
  }

  /** Indexes of the leases held now. */
  get heldIndexes(): number[] {
    return this.#revisions.flatMap((r, i) => (r > 0 ? [i] : []));
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(
      () => {
        this.#busy = this.#tick();
      },
      Math.max(50, Math.floor(this.#ttlMs / 3)),
    );
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    const kv = this.#kv;
    if (!kv || this.#stopped) return;
    const value = encoder.encode(JSON.stringify({ holder: this.#opts.holder }));
    for (let i = 0; i < this.#keys.length; i++) if ((this.#revisions[i] ?? 0) > 0) await this.#renew(kv, i, value);
    const share = await this.#share(kv, value);
    const held = this.heldIndexes;
    for (const i of held.slice(share).reverse()) await this.#release(kv, i);
    const free = this.#keys.map((_, i) => i).filter((i) => this.#revisions[i] === 0);
    for (let k = free.length - 1; k > 0; k--) {
      const j = Math.floor(Math.random() * (k + 1));
      [free[k], free[j]] = [free[j] as number, free[k] as number];
    }
    for (const i of free) {
      if (this.heldIndexes.length >= share || this.#stopped) break;
      try {
        this.#revisions[i] = await kv.create(this.#keys[i] as string, value);
        this.#opts.onChange(true, i);
      } catch {
        // held by another instance (or unreachable: the next tick tries again)
      }
    }
    this.#schedule();
  }

  async #renew(kv: KV, i: number, value: Uint8Array): Promise<void> {
    try {
      this.#revisions[i] = await kv.update(this.#keys[i] as string, value, this.#revisions[i] ?? 0);
    } catch (err) {
      // taken over or unreachable: stop projecting; whoever holds it now projects
      this.#revisions[i] = 0;
      this.#opts.onChange(false, i);
      this.#opts.onError(err as Error);
    }
  }

  /** How many leases this instance may hold: all of one, else a fair share among the live candidates. */
  async #share(kv: KV, value: Uint8Array): Promise<number> {
    if (this.#keys.length === 1) return 1;
    try {
      await kv.put(this.#candidate, value);
      let candidates = 0;
      for await (const _ of await kv.keys('candidates.*')) candidates++;
      return Math.ceil(this.#keys.length / Math.max(1, candidates));
    } catch (err) {
      this.#opts.onError(err as Error);
      return this.heldIndexes.length; // keep what is held, take nothing new
    }
  }

  async #release(kv: KV, i: number): Promise<void> {
    const rev = this.#revisions[i] ?? 0;
    if (rev === 0) return;
    this.#revisions[i] = 0;
    this.#opts.onChange(false, i);
    await kv.delete(this.#keys[i] as string, { previousSeq: rev }).catch(() => undefined);
  }

  /** Stop competing; release the leases held so other instances take over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#busy;
    const kv = this.#kv;
    if (!kv) return;
    for (const i of this.heldIndexes) await this.#release(kv, i);
    if (this.#keys.length > 1) await kv.delete(this.#candidate).catch(() => undefined);
  }
}
