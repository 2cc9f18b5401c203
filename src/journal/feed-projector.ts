/**
 * The event feed for NATS subscribers: a PROJECTION of the journal, never a
 * second write on the hook path. The projector follows the journal stream
 * with an ordered consumer and republishes each entry's events (the hook
 * event, then its `decision.*` event) into the feed stream
 * (`HOOKWARDEN_FEED`, subjects `<prefix>.events.<category>.<name>.<key>`).
 *
 * Exactly-once per event, resumable: every feed message carries
 * `Hw-Journal-Seq`, `Hw-Part`, `Hw-Parts` and `Nats-Msg-Id =
 * <journal seq>:<part>`. On (re)start the projector reads the feed's last
 * message and continues right after it; a crash between the publish and the
 * bookkeeping is absorbed by the msgID dedup. Per client the order is the
 * journal's (one connection, publishes in order). The cost is a small lag.
 *
 * Run it in one instance (or a few: the dedup window absorbs the overlap).
 *
 * Sharded journals (docs/CLUSTER.md §Shards) have one projector per shard,
 * all writing into the one feed stream, so "the feed's last message" no
 * longer says where a shard stands: each keeps its position (the newest
 * journal sequence of its shard whose events are all acknowledged by the
 * feed) in the KV bucket `<prefix>-feed-positions` (key
 * `feed-position-<shard>`, written at most every `positionEveryMs` and on a
 * graceful stop), and its messages carry `Hw-Shard` and `Nats-Msg-Id =
 * <shard>:<journal seq>:<part>`. After a crash it repeats at most the last
 * interval's events, which the dedup window absorbs.
 */
import { DeliverPolicy, StorageType, type JetStreamClient, type JetStreamManager, type KV, type NatsConnection } from 'nats';
import type { SubjectNames } from './client-key.js';
import { decodeEntries, feedEventsOf, type FeedEvent, type FeedKind } from './events.js';
import { encodedHeaders, JsAppender } from './js-appender.js';
import type { JournalEntry } from './journal.js';
import { ensureStream, type EnsureResult } from './nats-setup.js';

export interface FeedOptions {
  /**
   * Run the projector in this instance: true (default), false, or `'lease'`: only while this
   * instance holds the cluster's projector lease (feed-lease.ts), so one instance projects.
   * Streams are ensured either way.
   */
  readonly project?: boolean | 'lease';
  /** Lifetime of the projector lease (default 9 s; renewed every third of it). */
  readonly leaseTtlMs?: number;
  /** Feed stream name (default `HOOKWARDEN_FEED`). */
  readonly stream?: string;
  /** Feed retention (default 24 h). */
  readonly maxAgeMs?: number;
  readonly maxBytes?: number;
  /** Kinds left out of the feed, e.g. `message.publish_checked`, `message.delivered`, `message.acked`. */
  readonly exclude?: readonly FeedKind[];
  /** Feed publishes in flight (default 128). */
  readonly window?: number;
  /** Sharded journals: how often a shard's projector stores its position (default 1 s; well inside the 2 min dedup window). */
  readonly positionEveryMs?: number;
}

export const FEED_DEFAULTS = {
  stream: 'HOOKWARDEN_FEED',
  maxAgeMs: 24 * 3600 * 1000,
  window: 128,
  duplicateWindowMs: 120_000,
  positionEveryMs: 1000,
} as const;

/** KV bucket of the shard projectors' positions (no TTL: a position must outlive any outage). */
export const positionBucket = (prefix: string): string => `${prefix}-feed-positions`;
export const positionKey = (shard: number): string => `feed-position-${shard}`;

export interface ProjectorDeps {
  /** Feed publishes go out on this connection (one ack inbox, batched per turn). */
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly journalStream: string;
  readonly names: SubjectNames;
  readonly feed: FeedOptions;
  readonly apiTimeoutMs: number;
  readonly onError: (err: Error) => void;
}

interface Resume {
  /** First journal sequence to project. */
  readonly seq: number;
  /** Parts of that entry already in the feed. */
  readonly skipParts: number;
  /** Instead of `seq`: the first journal entry stored at or after this time. */
  readonly startTime?: string;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class FeedProjector {
  readonly #deps: ProjectorDeps;
  readonly #feedStream: string;
  readonly #exclude: ReadonlySet<string>;
  readonly #publisher: JsAppender;
  #stopped = false;
  #stop: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #position = 0;
  #published = 0;
  #waiters: { seq: number; wake: () => void }[] = [];
  /** Sharded: this projector's shard and its position store. */
  readonly #shard: number | undefined;
  #positions: KV | undefined;
  #savedPosition = 0;
  #saving: Promise<void> | undefined;
  #saveTimer: NodeJS.Timeout | undefined;

  private constructor(deps: ProjectorDeps) {
    this.#deps = deps;
    this.#shard = deps.names.shard;
    this.#feedStream = deps.feed.stream ?? FEED_DEFAULTS.stream;
    this.#exclude = new Set(deps.feed.exclude ?? []);
    this.#publisher = new JsAppender(deps.nc);
  }

  /** Create or check the feed stream. */
  static ensureFeedStream(jsm: JetStreamManager, names: SubjectNames, feed: FeedOptions): Promise<EnsureResult> {
    return ensureStream(jsm, {
      name: feed.stream ?? FEED_DEFAULTS.stream,
      subject: names.feedAll,
      description: 'hookwarden event feed: CloudEvents projected from the journal (docs/EVENTS.md)',
      maxAgeMs: feed.maxAgeMs ?? FEED_DEFAULTS.maxAgeMs,
      ...(feed.maxBytes ? { maxBytes: feed.maxBytes } : {}),
      duplicateWindowMs: FEED_DEFAULTS.duplicateWindowMs,
      allowDirect: false,
    });
  }

  static start(deps: ProjectorDeps): FeedProjector {
    const p = new FeedProjector(deps);
    p.#loop = p.#run();
    return p;
  }

  /** The newest journal sequence whose events are all in the feed (or excluded). */
  get position(): number {
    return this.#position;
  }
  get published(): number {
    return this.#published;
  }

  /** Resolves true once `position >= seq`, false after `timeoutMs`. */
  waitFor(seq: number, timeoutMs: number): Promise<boolean> {
    if (this.#position >= seq) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = { seq, wake: () => resolve(true) };
      this.#waiters.push(w);
      setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        resolve(false);
      }, timeoutMs).unref();
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stop?.();
    await this.#loop;
    clearTimeout(this.#saveTimer);
    await this.#saving;
    if (this.#positions && this.#position > this.#savedPosition) await this.#savePosition().catch(() => undefined);
    this.#publisher.close();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.#project(await this.#resume());
      } catch (err) {
        if (!this.#stopped) this.#deps.onError(err as Error);
      }
      if (this.#stopped) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 500);
        this.#stop = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Where to continue: right after the feed's last message (sharded: after the stored position). */
  async #resume(): Promise<Resume> {
    if (this.#shard !== undefined) return this.#resumeShard(this.#shard);
    const info = await this.#deps.jsm.streams.info(this.#feedStream);
    if (info.state.last_seq === 0) return { seq: 0, skipParts: 0 };
    if (info.state.messages === 0) {
      // everything expired: continue with journal entries stored after the last feed message
      return { seq: 0, skipParts: 0, startTime: info.state.last_ts };
    }
    const last = await this.#deps.jsm.streams.getMessage(this.#feedStream, { seq: info.state.last_seq });
    const seq = Number(last.header.get('Hw-Journal-Seq'));
    const part = Number(last.header.get('Hw-Part'));
    const parts = Number(last.header.get('Hw-Parts'));
    if (!Number.isInteger(seq) || seq <= 0) return { seq: 0, skipParts: 0 };
    return part + 1 >= parts ? { seq: seq + 1, skipParts: 0 } : { seq, skipParts: part + 1 };
  }

  async #resumeShard(shard: number): Promise<Resume> {
    this.#positions ??= await this.#deps.js.views.kv(positionBucket(this.#deps.names.prefix), { history: 1, storage: StorageType.File });
    const e = await this.#positions.get(positionKey(shard));
    const stored = e && e.operation === 'PUT' ? Number((e.json() as { seq?: unknown }).seq) : 0;
    const info = await this.#deps.jsm.streams.info(this.#deps.journalStream);
    // a position past the stream's end means the stream was recreated: project it from the start
    const seq = Number.isInteger(stored) && stored > 0 && stored <= info.state.last_seq ? stored : 0;
    this.#savedPosition = Math.max(this.#savedPosition, seq);
    return { seq: seq + 1, skipParts: 0 };
  }

  /** Store the position now (sharded), one write at a time. */
  async #savePosition(): Promise<void> {
    const kv = this.#positions;
    if (!kv || this.#shard === undefined) return;
    const seq = this.#position;
    await kv.put(positionKey(this.#shard), encoder.encode(JSON.stringify({ seq, at: Date.now() })));
    this.#savedPosition = Math.max(this.#savedPosition, seq);
  }

  /** Sharded: store the position after acknowledged progress, at most every `positionEveryMs`. */
  #schedulePositionSave(): void {
    if (!this.#positions || this.#saveTimer || this.#saving || this.#stopped) return;
    const every = this.#deps.feed.positionEveryMs ?? FEED_DEFAULTS.positionEveryMs;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = undefined;
      if (this.#position <= this.#savedPosition || this.#stopped) return;
      this.#saving = this.#savePosition()
        .catch((err: unknown) => this.#deps.onError(err as Error))
        .finally(() => {
          this.#saving = undefined;
          if (this.#position > this.#savedPosition) this.#schedulePositionSave();
        });
    }, every);
    this.#saveTimer.unref();
  }

  async #project(from: Resume): Promise<void> {
    const { js, names } = this.#deps;
    const oc = await js.consumers.get(this.#deps.journalStream, {
      filterSubjects: names.journalAll,
      ...(from.startTime
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: from.startTime }
        : from.seq > 1
          ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from.seq }
          : {}),
    });
    if (!from.startTime) this.#advance(from.seq - 1);
    const iter = await oc.consume({ max_messages: 512 });
    this.#stop = () => void iter.stop();
    if (this.#stopped) void iter.stop();
    const window = this.#deps.feed.window ?? FEED_DEFAULTS.window;
    // entries in journal order; the position advances over the finished prefix as acks arrive
    const inflight: { seq: number; done: boolean; acked: Promise<void> | undefined }[] = [];
    let failure: Error | undefined;
    const drain = (): void => {
      while (inflight.length > 0 && inflight[0]?.done) this.#advance((inflight.shift() as { seq: number }).seq);
    };
    try {
      for await (const m of iter) {
        if (failure) break;
        // a message holds one record or a batch of one client's records: its feed events are numbered as parts
        const events: { fe: FeedEvent; entry: JournalEntry }[] = [];
        for (const entry of decodeEntries(decoder.decode(m.data), m.seq) ?? []) {
          for (const fe of feedEventsOf(entry, this.#exclude)) events.push({ fe, entry });
        }
        const pubs: Promise<unknown>[] = [];
        events.forEach(({ fe, entry }, part) => {
          if (m.seq === from.seq && part < from.skipParts) return;
          const h = encodedHeaders([
            ['Content-Type', 'application/cloudevents+json'],
            ['Hw-Journal-Seq', String(m.seq)],
            ['Hw-Part', String(part)],
            ['Hw-Parts', String(events.length)],
            ...(this.#shard !== undefined ? ([['Hw-Shard', String(this.#shard)]] as const) : []),
            ['Nats-Msg-Id', this.#shard !== undefined ? `${this.#shard}:${m.seq}:${part}` : `${m.seq}:${part}`],
          ]);
          const subject = names.feed(fe.category, fe.name, entry.record.clientId);
          pubs.push(this.#publisher.publishWith(subject, encoder.encode(JSON.stringify(fe.event)), h, this.#deps.apiTimeoutMs));
        });
        this.#published += pubs.length;
        const item = { seq: m.seq, done: pubs.length === 0, acked: undefined as Promise<void> | undefined };
        if (pubs.length > 0) {
          item.acked = Promise.all(pubs).then(
            () => {
              item.done = true;
              drain();
            },
            (err: Error) => {
              failure ??= err;
              iter.stop(); // restart from the feed's last message
            },
          );
        }
        inflight.push(item);
        drain();
        while (inflight.length >= window && !failure) await inflight[0]?.acked;
      }
      await Promise.all(inflight.map((i) => i.acked));
      if (failure) throw failure;
    } finally {
      iter.stop(); // not close(): after a break nobody drains the queue that would settle it
    }
  }

  #advance(seq: number): void {
    if (seq <= this.#position) return;
    this.#position = seq;
    if (seq > this.#savedPosition) this.#schedulePositionSave();
    if (this.#waiters.length === 0) return;
    const ready = this.#waiters.filter((w) => w.seq <= seq);
    this.#waiters = this.#waiters.filter((w) => w.seq > seq);
    for (const w of ready) w.wake();
  }
}
