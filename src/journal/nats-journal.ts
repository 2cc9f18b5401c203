/**
 * The NATS JetStream journal (`--nats nats://HOST:PORT`).
 *
 * Layout (docs/EVENTS.md §NATS): stream `HOOKWARDEN_JOURNAL`, file storage,
 * one replica, direct get on, subject `<prefix>.journal.<clientKey>` per
 * client; each message is one stored entry (the CloudEvent plus, when the
 * caller attached it, the client's packed snapshot), so `load` is ONE direct
 * get `last_by_subj`.
 *
 * Appends of one client form a chain: each is published with
 * `expect.lastSubjectSequence` = the previous record's sequence (the fence)
 * and `msgID` = the record id (the dedup key), and the next starts when it
 * is acknowledged, so records keep arrival order. Clients are independent
 * and pipelined on one connection.
 *
 * - A timeout before the deadline is retried with the same msgID and
 *   expectation: a retry never writes twice (dedup runs before the fence).
 * - `ConflictError` (10071): another writer moved the client on. The
 *   append and everything queued behind it are rejected, and the client is
 *   fenced until `load()`, which re-reads its newest position.
 * - `AppendTimeoutError`: the deadline passed; the record may still land.
 *   The client is fenced the same way.
 * - A client this instance never loaded is appended with expectation 0 (no
 *   history): if it has history the append conflicts and the caller loads.
 * - Notifications ride the same chains (published at once, not awaited);
 *   a crash loses those not yet acknowledged, never a decision.
 */
import { LRUCache } from 'lru-cache';
import { type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { subjectNames, type SubjectNames } from './client-key.js';
import { encodeBatch, encodeEvent } from './events.js';
import { hostname } from 'node:os';
import { FeedLease } from './feed-lease.js';
import { FeedProjector, type FeedOptions } from './feed-projector.js';
import { JsAppender, type AppendAckWire } from './js-appender.js';
import { NatsJournalReader } from './nats-reader.js';
import {
  isDurableByDefault,
  packedSnapshot,
  type AppendAck,
  type AppendOptions,
  type CommonJournalOptions,
  type JournalEntry,
  type JournalPort,
  type JournalRecord,
  type JournalStats,
  type LoadedClient,
  type StoredSnapshot,
} from './journal.js';
import { AppendTimeoutError, ConflictError, JournalClosedError, JournalError } from './journal-errors.js';
import { connectNats, type NatsConnectOptions } from './nats-connect.js';
import { ensureStream, jetStreamManager, type StreamSpec } from './nats-setup.js';
import { RecordIds, sourceOf } from './record-ids.js';

/**
 * Stream names follow the subject prefix (`hookwarden` → `HOOKWARDEN_JOURNAL`, `HOOKWARDEN_FEED`),
 * so deployments with different prefixes share one NATS server without their streams colliding.
 */
export const streamName = (prefix: string, what: 'JOURNAL' | 'FEED'): string => `${prefix.toUpperCase().replace(/-/g, '_')}_${what}`;

/** The journal stream of one shard: `<PREFIX>_JOURNAL_<shard>` (docs/CLUSTER.md §Shards). */
export const shardStreamName = (prefix: string, shard: number): string => `${streamName(prefix, 'JOURNAL')}_${shard}`;

export interface NatsJournalOptions extends CommonJournalOptions {
  /** Use this connection (not closed by `close()` unless `ownsConnection`); else one is made from `connect`. */
  readonly connection?: NatsConnection;
  /** Close the given `connection` on `close()` (the opener hands it over). */
  readonly ownsConnection?: boolean;
  readonly connect?: NatsConnectOptions;
  /** Subject prefix (default `hookwarden`). */
  readonly prefix?: string;
  /** Journal stream name (default `<PREFIX>_JOURNAL`, e.g. `HOOKWARDEN_JOURNAL`; with `shard`, `<PREFIX>_JOURNAL_<shard>`). */
  readonly stream?: string;
  /**
   * This journal is one shard of a sharded journal (sharded-journal.ts routes the clients): subjects
   * `<prefix>.journal.<shard>.<key>`, the shard's own stream, and feed messages marked with the shard.
   */
  readonly shard?: number;
  /**
   * JetStream placement tag of the journal stream when it is created: the stream goes to a server
   * with this tag in its `server_tags` (how shards are spread over servers, docs/CLUSTER.md §Shards).
   */
  readonly placementTag?: string;
  /** Records kept per client (default 1000). Never use max age alone: it would drop idle clients' state. */
  readonly maxMsgsPerSubject?: number;
  readonly maxAgeMs?: number;
  readonly maxBytes?: number;
  /** Dedup window of the stream (default 2 min). */
  readonly duplicateWindowMs?: number;
  /** Timeout of one JetStream API call or publish attempt (default 800 ms). */
  readonly apiTimeoutMs?: number;
  /** How long a notification is retried before it is dropped (default 30 s). */
  readonly notificationTimeoutMs?: number;
  /**
   * How long a notification waits for company before it is sent (default 20 ms; 0: at once). A
   * client's records that queue up meanwhile (its next valued hook included) leave as one batch
   * message. A crash loses at most the notifications of this interval plus those in flight.
   */
  readonly notificationDelayMs?: number;
  /** Records queued or in flight over all clients before notifications are dropped (default 100 000). */
  readonly maxPending?: number;
  /** Idle clients whose newest position is remembered (default 200 000). */
  readonly cursorCacheSize?: number;
  /** The event feed for NATS subscribers; off when absent. */
  readonly feed?: FeedOptions;
}

export const NATS_DEFAULTS = {
  prefix: 'hookwarden',
  stream: 'HOOKWARDEN_JOURNAL',
  maxMsgsPerSubject: 1000,
  duplicateWindowMs: 120_000,
  apiTimeoutMs: 800,
  appendTimeoutMs: 1500,
  notificationTimeoutMs: 30_000,
  notificationDelayMs: 20,
  maxPending: 100_000,
  cursorCacheSize: 200_000,
} as const;

interface Item {
  readonly id: string;
  /** The record's CloudEvent JSON (`encodeEvent`). */
  readonly event: string;
  /** The client's snapshot after this record, packed when it is written (only the last of a batch is). */
  readonly snapshot: AppendOptions['snapshot'];
  readonly record: JournalRecord;
  readonly deadline: number;
  readonly resolve?: (ack: AppendAck) => void;
  readonly reject?: (err: Error) => void;
  /** A tracked notification: has a promise but does not make the batch urgent. */
  readonly notification?: true;
  /** Sent as a message of its own (its id is the dedup key of the message). */
  readonly alone?: true;
}

interface Chain {
  readonly clientId: string;
  readonly subject: string;
  lastSeq: number;
  fenced: boolean;
  /** A publish loop is running for this chain. */
  running: boolean;
  readonly queue: Item[];
}

/** Records and bytes of one batch message (well under NATS's default 1 MB max_payload). */
const MAX_BATCH_RECORDS = 64;
const MAX_BATCH_BYTES = 256 * 1024;

const encoder = new TextEncoder();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const apiCode = (err: unknown): number | undefined => (err as { api_error?: { err_code?: number } }).api_error?.err_code;
const natsCode = (err: unknown): string | undefined => (err as { code?: unknown }).code as string | undefined;

/** Timeout of the JetStream calls made at start (stream creation can be slow on a busy server). */
export const SETUP_TIMEOUT_MS = 5000;

const journalStreamOf = (opts: NatsJournalOptions): string => {
  const prefix = opts.prefix ?? NATS_DEFAULTS.prefix;
  if (opts.shard === undefined) return opts.stream ?? streamName(prefix, 'JOURNAL');
  return opts.stream ? `${opts.stream}_${opts.shard}` : shardStreamName(prefix, opts.shard);
};

/** Cursor value of a fenced client: -(lastSeq + 1). */
const fencedCursor = (lastSeq: number): number => -(lastSeq + 1);

export class NatsJournal implements JournalPort {
  readonly kind = 'nats' as const;
  readonly names: SubjectNames;
  readonly stream: string;
  /** Tunable stream limits that differ from hookwarden's defaults (informational). */
  readonly setupNotes: readonly string[];
  readonly #nc: NatsConnection;
  readonly #ownConnection: boolean;
  readonly #js: JetStreamClient;
  readonly #appender: JsAppender;
  readonly #jsm: JetStreamManager;
  readonly #reader: NatsJournalReader;
  readonly #opts: NatsJournalOptions;
  readonly #ids = new RecordIds();
  readonly #sourceJson: string;
  readonly #machineVersion: string;
  readonly #apiTimeoutMs: number;
  readonly #chains = new Map<string, Chain>();
  /** Chains holding only notifications, waiting for `notificationDelayMs`. */
  readonly #held = new Set<Chain>();
  #holdTimer: NodeJS.Timeout | undefined;
  readonly #delayMs: number;
  #maxBatchBytes = MAX_BATCH_BYTES;
  readonly #cursors: LRUCache<string, number>;
  #projector: FeedProjector | undefined;
  #feed: FeedOptions | undefined;
  #projectorStopped: Promise<void> = Promise.resolve();
  #lease: FeedLease | undefined;
  #closed = false;
  /** Past close()'s grace period: in-flight appends give up. */
  #stopped = false;
  #pending = 0;
  #idle: (() => void)[] = [];
  #appended = 0;
  #stored = 0;
  #conflicts = 0;
  #timeouts = 0;
  #dropped = 0;

  private constructor(nc: NatsConnection, own: boolean, jsm: JetStreamManager, opts: NatsJournalOptions, notes: string[]) {
    this.#nc = nc;
    this.#ownConnection = own || opts.ownsConnection === true;
    this.#jsm = jsm;
    this.#opts = opts;
    this.#apiTimeoutMs = opts.apiTimeoutMs ?? NATS_DEFAULTS.apiTimeoutMs;
    this.#delayMs = opts.notificationDelayMs ?? NATS_DEFAULTS.notificationDelayMs;
    const maxPayload = nc.info?.max_payload;
    if (maxPayload !== undefined && maxPayload > 0) this.#maxBatchBytes = Math.min(MAX_BATCH_BYTES, Math.floor(maxPayload / 2));
    this.#js = nc.jetstream({ timeout: this.#apiTimeoutMs });
    this.#appender = new JsAppender(nc);
    this.names = subjectNames(opts.prefix ?? NATS_DEFAULTS.prefix, opts.shard);
    this.stream = journalStreamOf(opts);
    this.#reader = new NatsJournalReader(this.#js, jsm, this.stream, this.#apiTimeoutMs);
    this.#sourceJson = JSON.stringify(sourceOf(opts.instance));
    this.#machineVersion = String(opts.machineVersion ?? '');
    this.#cursors = new LRUCache<string, number>({ max: opts.cursorCacheSize ?? NATS_DEFAULTS.cursorCacheSize });
    this.setupNotes = notes;
  }

  /** Connect (unless given a connection), create or check the streams, start the feed projector if asked. */
  static async open(opts: NatsJournalOptions): Promise<NatsJournal> {
    if (!opts.connection && !opts.connect) {
      throw new JournalError('EXH_JOURNAL_SETUP', 'the NATS journal needs a connection or connect options (--nats URL)');
    }
    const nc = opts.connection ?? (await connectNats(opts.connect as NatsConnectOptions));
    const own = !opts.connection;
    try {
      const apiTimeoutMs = opts.apiTimeoutMs ?? NATS_DEFAULTS.apiTimeoutMs;
      // setup may wait for stream creation (slow on a busy server); the hot path uses apiTimeoutMs
      const setupJsm = await jetStreamManager(nc, Math.max(apiTimeoutMs, SETUP_TIMEOUT_MS));
      const jsm = await nc.jetstreamManager({ timeout: apiTimeoutMs });
      const names = subjectNames(opts.prefix ?? NATS_DEFAULTS.prefix, opts.shard);
      const stream = journalStreamOf(opts);
      const journalSpec: StreamSpec = {
        name: stream,
        subject: names.journalAll,
        description: `hookwarden journal${opts.shard !== undefined ? ` shard ${opts.shard}` : ''}: one subject per MQTT client (docs/EVENTS.md)`,
        maxMsgsPerSubject: opts.maxMsgsPerSubject ?? NATS_DEFAULTS.maxMsgsPerSubject,
        ...(opts.maxAgeMs ? { maxAgeMs: opts.maxAgeMs } : {}),
        ...(opts.maxBytes ? { maxBytes: opts.maxBytes } : {}),
        duplicateWindowMs: opts.duplicateWindowMs ?? NATS_DEFAULTS.duplicateWindowMs,
        allowDirect: true,
        ...(opts.placementTag ? { placementTag: opts.placementTag } : {}),
      };
      const feed = opts.feed && { ...opts.feed, stream: opts.feed.stream ?? streamName(opts.prefix ?? NATS_DEFAULTS.prefix, 'FEED') };
      const notes = [...(await ensureStream(setupJsm, journalSpec)).notes];
      if (feed) notes.push(...(await FeedProjector.ensureFeedStream(setupJsm, names, feed)).notes);
      const j = new NatsJournal(nc, own, jsm, opts, notes);
      j.#feed = feed;
      if (feed && feed.project === 'lease') {
        j.#lease = await FeedLease.start({
          js: j.#js,
          prefix: opts.prefix ?? NATS_DEFAULTS.prefix,
          holder: `${opts.instance ?? hostname()}/${j.#ids.boot}`,
          ...(feed.leaseTtlMs ? { ttlMs: feed.leaseTtlMs } : {}),
          onChange: (held) => (held ? j.startFeedProjector() : void j.stopFeedProjector()),
          onError: (err) => j.#background(err, 'feed projector lease'),
        });
      } else if (feed && feed.project !== false) {
        j.startFeedProjector();
      }
      return j;
    } catch (err) {
      if (own) await nc.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Run the feed projector of this journal (a no-op without `feed`, when running or closed). Called
   * by the lease holder; a sharded journal calls it for the shards whose lease it holds.
   */
  startFeedProjector(): void {
    const feed = this.#feed;
    if (!feed || this.#projector || this.#closed) return;
    this.#projector = FeedProjector.start({
      nc: this.#nc,
      js: this.#js,
      jsm: this.#jsm,
      journalStream: this.stream,
      names: this.names,
      feed,
      apiTimeoutMs: this.#apiTimeoutMs,
      onError: (err) => this.#background(err, `feed projection${this.names.shard !== undefined ? ` of shard ${this.names.shard}` : ''}`),
    });
  }

  /** Stop the feed projector; resolves when it has stopped (also for a stop already under way, e.g. a lost lease). */
  stopFeedProjector(): Promise<void> {
    const p = this.#projector;
    this.#projector = undefined;
    if (p) this.#projectorStopped = p.stop();
    return this.#projectorStopped;
  }

  /** Whether this instance runs the feed projector now (with `project: 'lease'`, while it holds the lease). */
  get projecting(): boolean {
    return this.#projector !== undefined;
  }

  /** The running feed projector of this instance, if any. */
  get projector(): FeedProjector | undefined {
    return this.#projector;
  }

  get connection(): NatsConnection {
    return this.#nc;
  }

  append(record: JournalRecord, opts: AppendOptions = {}): Promise<AppendAck> | undefined {
    const durable = opts.durable ?? isDurableByDefault(record);
    const promised = durable || opts.track === true;
    const clientId = record.clientId;
    if (this.#closed) return this.#refuse(promised, new JournalClosedError(), record);
    let chain = this.#chains.get(clientId);
    if (!chain) {
      const cursor = this.#cursors.get(clientId);
      const fenced = cursor !== undefined && cursor < 0;
      const lastSeq = cursor === undefined ? 0 : fenced ? -cursor - 1 : cursor;
      if (fenced) {
        return this.#refuse(
          promised,
          new ConflictError(
            clientId,
            lastSeq,
            `client ${JSON.stringify(clientId)} is fenced after a failed append: load() it again, then append`,
          ),
          record,
        );
      }
      chain = { clientId, subject: this.names.journal(clientId), lastSeq, fenced: false, running: false, queue: [] };
      this.#chains.set(clientId, chain);
    }
    if (!durable && this.#pending >= (this.#opts.maxPending ?? NATS_DEFAULTS.maxPending)) {
      return this.#refuse(
        opts.track === true,
        new JournalError('EXH_JOURNAL_OVERLOAD', `more than ${this.#pending} records are waiting for NATS: notification dropped`),
        record,
      );
    }
    const snapshot = opts.snapshot;
    const id = opts.id ?? this.#ids.next();
    const event = encodeEvent(record, id, this.#sourceJson);
    const now = Date.now();
    this.#appended++;
    this.#pending++;
    let promise: Promise<AppendAck> | undefined;
    if (durable) {
      const deadline = opts.deadline ?? now + (this.#opts.appendTimeoutMs ?? NATS_DEFAULTS.appendTimeoutMs);
      promise = new Promise<AppendAck>((resolve, reject) =>
        chain.queue.push({ id, event, snapshot, record, deadline, resolve, reject, ...(opts.alone ? { alone: true as const } : {}) }),
      );
    } else {
      const deadline = now + (this.#opts.notificationTimeoutMs ?? NATS_DEFAULTS.notificationTimeoutMs);
      if (opts.track) {
        promise = new Promise<AppendAck>((resolve, reject) =>
          chain.queue.push({ id, event, snapshot, record, deadline, resolve, reject, notification: true }),
        );
      } else chain.queue.push({ id, event, snapshot, record, deadline });
    }
    if (!chain.running) {
      if (durable || this.#delayMs <= 0) this.#start(chain);
      else this.#hold(chain);
    }
    return promise;
  }

  /** Keep a chain of notifications for up to `notificationDelayMs`, so they leave together with what follows. */
  #hold(chain: Chain): void {
    this.#held.add(chain);
    this.#holdTimer ??= setTimeout(() => {
      this.#holdTimer = undefined;
      this.#releaseHeld();
    }, this.#delayMs);
  }

  #releaseHeld(): void {
    for (const chain of this.#held) this.#start(chain);
  }

  #start(chain: Chain): void {
    this.#held.delete(chain);
    chain.running = true;
    void this.#run(chain);
  }

  #refuse(promised: boolean, err: JournalError, record: JournalRecord): Promise<AppendAck> | undefined {
    if (promised) return Promise.reject(err);
    this.#dropped++;
    this.#opts.onError?.(err, record.clientId, [record]);
    return undefined;
  }

  /**
   * Publish the chain's records until its queue is empty: everything queued
   * when a publish starts leaves as one message (a batch when several), the
   * next publish starts when it is acknowledged. Notifications that queue up
   * behind are held again unless a durable record is among them.
   */
  async #run(chain: Chain): Promise<void> {
    let held = false;
    try {
      while (chain.queue.length > 0) {
        const n = this.#batchSize(chain.queue);
        const batch = chain.queue.slice(0, n);
        const last = batch[n - 1] as Item;
        const packed = packedSnapshot(last.snapshot);
        const snapshot = packed !== undefined ? { machineVersion: this.#machineVersion, packed } : undefined;
        const body = encoder.encode(encodeBatch(n === 1 ? [last.event] : batch.map((i) => i.event), snapshot));
        let ack: AppendAckWire;
        try {
          ack = await this.#publish(chain, batch[0] as Item, body);
        } catch (err) {
          this.#failChain(
            chain,
            n,
            err instanceof JournalError ? err : new JournalError('EXH_JOURNAL_WRITE', (err as Error).message, { cause: err }),
          );
          return;
        }
        chain.queue.splice(0, n);
        this.#pending -= n;
        this.#stored += n;
        // a duplicate ack names the ORIGINAL message, which may be older than what this chain appended since
        chain.lastSeq = Math.max(chain.lastSeq, ack.seq);
        for (const item of batch) item.resolve?.({ seq: ack.seq, duplicate: ack.duplicate });
        const flushing = this.#closed || this.#idle.length > 0;
        if (chain.queue.length > 0 && this.#delayMs > 0 && !flushing && chain.queue.every((i) => !i.resolve || i.notification)) {
          held = true;
          return;
        }
      }
    } finally {
      chain.running = false;
      if (held) this.#hold(chain);
      else {
        this.#chains.delete(chain.clientId);
        this.#cursors.set(chain.clientId, chain.fenced ? fencedCursor(chain.lastSeq) : chain.lastSeq);
      }
      if (this.#pending === 0) for (const wake of this.#idle.splice(0)) wake();
    }
  }

  /** How many queued records go into the next message. */
  #batchSize(queue: readonly Item[]): number {
    let bytes = 0;
    let n = 0;
    for (const item of queue) {
      bytes += item.event.length + 1;
      // a message's dedup key is its first record's id: a record that may be stored already under its
      // own id (`alone`) never shares a message, or the new records with it would be dropped as a duplicate
      if (n > 0 && (n >= MAX_BATCH_RECORDS || bytes > this.#maxBatchBytes || item.alone)) break;
      n++;
      if (item.alone) break;
    }
    return n;
  }

  async #publish(chain: Chain, item: Item, body: Uint8Array): Promise<AppendAckWire> {
    let lastErr: unknown;
    for (;;) {
      if (this.#nc.isClosed() || this.#stopped) throw new JournalClosedError('the NATS connection is closed');
      // a durable record queued behind this one must not wait past its own deadline
      let deadline = item.deadline;
      for (const q of chain.queue) if (q.deadline < deadline) deadline = q.deadline;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        this.#timeouts++;
        throw new AppendTimeoutError(
          chain.clientId,
          `append ${item.id} of client ${JSON.stringify(chain.clientId)} was not acknowledged by NATS in time` +
            `${lastErr ? ` (${(lastErr as Error).message})` : ''}; it may still be stored: load() the client before appending again`,
          { cause: lastErr },
        );
      }
      try {
        return await this.#appender.publish(
          chain.subject,
          body,
          item.id,
          chain.lastSeq,
          Math.max(1, Math.min(remaining, this.#apiTimeoutMs)),
        );
      } catch (err) {
        lastErr = err;
        if (apiCode(err) === ConflictError.NATS_ERR_CODE) {
          this.#conflicts++;
          throw new ConflictError(
            chain.clientId,
            chain.lastSeq,
            `another writer appended to client ${JSON.stringify(chain.clientId)} after position ${chain.lastSeq}: load() it, step the hook again, then append`,
            { cause: err },
          );
        }
        const code = natsCode(err);
        if (code === 'MAX_PAYLOAD_EXCEEDED' || (apiCode(err) !== undefined && code !== '503')) {
          throw new JournalError('EXH_JOURNAL_WRITE', `NATS refused append ${item.id}: ${(err as Error).message}`, { cause: err });
        }
        if (code !== 'TIMEOUT') await sleep(Math.min(100, Math.max(1, deadline - Date.now())));
      }
    }
  }

  /** Reject the failed message's records (`inBatch`) and everything queued behind; fence the client until `load()`. */
  #failChain(chain: Chain, inBatch: number, err: JournalError): void {
    chain.fenced = true;
    const failed = chain.queue.splice(0);
    this.#pending -= failed.length;
    const notes: JournalRecord[] = [];
    failed.forEach((item, i) => {
      const behind = `an earlier append of client ${JSON.stringify(chain.clientId)} failed (${err.message}); load() it again`;
      const e =
        i < inBatch
          ? err
          : err instanceof AppendTimeoutError
            ? new AppendTimeoutError(chain.clientId, `not acknowledged in time: ${behind}`, { cause: err })
            : new ConflictError(chain.clientId, chain.lastSeq, behind, { cause: err });
      if (item.reject) item.reject(e);
      else notes.push(item.record);
    });
    if (notes.length > 0) {
      this.#dropped += notes.length;
      this.#opts.onError?.(err, chain.clientId, notes);
    }
  }

  #background(err: Error, what: string): void {
    if (this.#opts.onBackgroundError) this.#opts.onBackgroundError(err, what);
    else process.emitWarning(`hookwarden journal: ${what} failed: ${err.message}`);
  }

  async load(clientId: string): Promise<LoadedClient | undefined> {
    const subject = this.names.journal(clientId);
    const last = await this.#reader.last(subject);
    if (!last) {
      this.#rearm(clientId, 0);
      return undefined;
    }
    if (last.entry?.snapshot) {
      this.#rearm(clientId, last.seq);
      return {
        clientId,
        seq: last.seq,
        snapshot: { seq: last.seq, ...last.entry.snapshot },
        after: [],
        complete: true,
        newestIds: last.ids,
      };
    }
    if (!last.entry) {
      // the newest message is not readable by this version: report it, never fold past it
      this.#rearm(clientId, last.seq);
      return { clientId, seq: last.seq, after: [], complete: false, unreadable: true };
    }
    // slow path: the newest record has no snapshot; read the client's retained history
    const history = await this.#reader.history(subject, last.seq, Number.POSITIVE_INFINITY);
    let snapAt = -1;
    for (let i = history.length - 1; i >= 0; i--) {
      if (history[i]?.snapshot) {
        snapAt = i;
        break;
      }
    }
    const snapEntry = snapAt >= 0 ? history[snapAt] : undefined;
    this.#rearm(clientId, last.seq);
    const maxPerSubject = this.#opts.maxMsgsPerSubject ?? NATS_DEFAULTS.maxMsgsPerSubject;
    return {
      clientId,
      seq: last.seq,
      ...(snapEntry?.snapshot ? { snapshot: { seq: snapEntry.seq, ...snapEntry.snapshot } } : {}),
      after: history.slice(snapAt + 1),
      complete: snapEntry !== undefined || history.length < maxPerSubject,
      newestIds: last.ids,
    };
  }

  /** A loaded client's newest position becomes the fence (unless appends are in flight). */
  #rearm(clientId: string, seq: number): void {
    if (!this.#chains.has(clientId)) this.#cursors.set(clientId, seq);
  }

  async recent(clientId: string, limit: number): Promise<JournalEntry[]> {
    if (limit <= 0) return [];
    const subject = this.names.journal(clientId);
    const last = await this.#reader.last(subject);
    if (!last) return [];
    return this.#reader.history(subject, last.seq, limit);
  }

  async *readAll(opts: { readonly fromSeq?: number } = {}): AsyncGenerator<JournalEntry> {
    const info = await this.#jsm.streams.info(this.stream);
    const end = info.state.last_seq;
    const from = Math.max(opts.fromSeq ?? 0, info.state.first_seq);
    if (info.state.messages === 0 || from > end) return;
    yield* this.#reader.follow(this.names.journalAll, from, end);
  }

  /** No in-memory state per client worth dropping beyond the position cache. */
  forget(clientId: string): void {
    if (!this.#chains.has(clientId)) this.#cursors.delete(clientId);
  }

  /** Resolves when every record appended so far is acknowledged or dropped. */
  flush(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#idle.push(resolve));
    this.#releaseHeld();
    return done;
  }

  stats(): JournalStats {
    return {
      kind: 'nats',
      appended: this.#appended,
      stored: this.#stored,
      pending: this.#pending,
      conflicts: this.#conflicts,
      timeouts: this.#timeouts,
      dropped: this.#dropped,
    };
  }

  /** Refuse new appends, wait for those in flight (bounded by their deadlines), stop the projector, close an own connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const graceMs = this.#opts.appendTimeoutMs ?? NATS_DEFAULTS.appendTimeoutMs;
    await Promise.race([this.flush(), sleep(graceMs)]);
    await this.#lease?.stop();
    await this.stopFeedProjector();
    this.#stopped = true;
    clearTimeout(this.#holdTimer);
    this.#releaseHeld(); // fail fast: the connection is going
    this.#appender.close();
    if (this.#ownConnection) await this.#nc.drain().catch(() => this.#nc.close());
  }
}
