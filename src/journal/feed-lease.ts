/**
 * One feed projector per cluster: instances that share a journal compete for
 * a lease in the KV bucket `<prefix>-leases` (key `feed-projector`); the
 * holder runs the projector, the others stand by and take over when the
 * lease expires (bucket TTL) or is released on a graceful stop.
 *
 * The lease only saves work: two projectors at once (a paused holder, KV CAS
 * on a replicated bucket in NATS 2.9, DISTRIBUTED.md §2.2) publish the same
 * feed messages with the same `Nats-Msg-Id` and the feed stream's dedup
 * window absorbs the overlap, so correctness never depends on it.
 */
import { StorageType, type JetStreamClient, type KV } from 'nats';

export interface LeaseOptions {
  readonly js: JetStreamClient;
  readonly prefix: string;
  /** Who holds it (instance name + run id), for operators. */
  readonly holder: string;
  /** Lease lifetime; renewed every third of it (default 9 s). */
  readonly ttlMs?: number;
  /** Called when this instance gains (true) or loses (false) the lease. */
  readonly onChange: (held: boolean) => void;
  readonly onError: (err: Error) => void;
}

const KEY = 'feed-projector';
const encoder = new TextEncoder();

export class FeedLease {
  readonly #opts: LeaseOptions;
  readonly #ttlMs: number;
  #kv: KV | undefined;
  #revision = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #busy: Promise<void> = Promise.resolve();

  private constructor(opts: LeaseOptions) {
    this.#opts = opts;
    this.#ttlMs = opts.ttlMs ?? 9000;
  }

  /** Open the bucket and make the first attempt; later attempts run every third of the TTL. */
  static async start(opts: LeaseOptions): Promise<FeedLease> {
    const lease = new FeedLease(opts);
    lease.#kv = await opts.js.views.kv(`${opts.prefix}-leases`, { history: 1, ttl: lease.#ttlMs, storage: StorageType.File });
    await lease.#tick();
    return lease;
  }

  get held(): boolean {
    return this.#revision > 0;
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
    try {
      if (this.#revision > 0) {
        this.#revision = await kv.update(KEY, value, this.#revision);
      } else {
        this.#revision = await kv.create(KEY, value);
        this.#opts.onChange(true);
      }
    } catch (err) {
      if (this.#revision > 0) {
        // taken over or unreachable: stop projecting; whoever holds it now projects
        this.#revision = 0;
        this.#opts.onChange(false);
        this.#opts.onError(err as Error);
      }
      // not held and the key exists: someone else projects
    }
    this.#schedule();
  }

  /** Stop competing; release the lease if held so another instance takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#busy;
    if (this.#revision > 0 && this.#kv) {
      const rev = this.#revision;
      this.#revision = 0;
      this.#opts.onChange(false);
      await this.#kv.delete(KEY, { previousSeq: rev }).catch(() => undefined);
    }
  }
}
