/**
 * The journal port: every hook becomes one record of what happened (facts)
 * and, for valued hooks, what was decided and why. Records are stored as
 * CloudEvents 1.0 documents (docs/EVENTS.md, schemas/), one per hook, in
 * per-client arrival order, optionally carrying the client's packed machine
 * snapshot after the step so that loading a client is one read.
 *
 * Adapters:
 * - `EmbeddedJournal` (default): in process, bounded memory; with a data
 *   directory, append-only segment files + a snapshot checkpoint.
 * - `NatsJournal`: JetStream, one subject per client, fenced appends,
 *   optional feed projection for NATS subscribers.
 *
 * The hot path: build the record (`recordOf`), `append(record, { snapshot })`.
 * A valued hook's append returns a promise; answer EMQX only when it
 * resolves. A notification's append returns `undefined` (buffered; failures
 * go to `onError`). See docs/EVENTS.md §Durability for each adapter's rule.
 */
import type { Decision } from '../domain/decision.js';
import type { RecordHook } from '../domain/admin-command.js';
import { isValuedHook } from '../domain/hook-event.js';
import type { JournalError } from './journal-errors.js';

/**
 * A fact the client machine emitted: past tense, PascalCase `type`, `at` in
 * epoch ms, any other JSON fields (`{ type: 'ClientBanned', at, until }`).
 */
export interface JournalFact {
  readonly type: string;
  readonly at: number;
  readonly [field: string]: unknown;
}

/** A subscription filter as recorded (`client.subscribe`, `client.unsubscribe`). */
export interface RecordedFilter {
  readonly topic: string;
  readonly qos: number;
}

/**
 * The hook details worth keeping, flattened into the event's `data`. Which
 * fields a hook fills is listed in docs/EVENTS.md. Message payloads are never
 * kept unless the operator opted in (`payload`, base64).
 */
export interface RecordDetail {
  readonly username?: string;
  readonly peerhost?: string;
  readonly protoName?: string;
  readonly protoVer?: string;
  readonly keepalive?: number;
  /** `client.connack`: EMQX's result code ("success", "not_authorized", ...). */
  readonly resultCode?: string;
  /** `client.disconnected`, `session.terminated`, `message.dropped`. */
  readonly reason?: string;
  /** `client.authorize`. */
  readonly action?: 'publish' | 'subscribe';
  /** `client.authorize`, `session.(un)subscribed`, `message.*`. */
  readonly topic?: string;
  readonly filters?: readonly RecordedFilter[];
  readonly qos?: number;
  /** Payload size in bytes (`message.*`). */
  readonly size?: number;
  /** EMQX message id (`message.*`). */
  readonly messageId?: string;
  /** Publisher client id (`message.delivered`, `message.acked`: not the subject). */
  readonly from?: string;
  /** Payload, base64: only with the `payloads` opt-in. */
  readonly payload?: string;
}

/** One hook, as journaled. */
export interface JournalRecord {
  readonly clientId: string;
  /** Epoch ms, stamped by the edge when the hook arrived. */
  readonly at: number;
  /** The EMQX hook, or the operator's command (`admin.*`, src/domain/admin-command.ts). */
  readonly hook: RecordHook;
  /** EMQX node that sent the hook (`meta.node`, "" before EMQX 4.3.14). */
  readonly node: string;
  /** Connection identity `node|peerhost|port`, when the hook has one. */
  readonly conn?: string;
  /** Name of the client's state after the step (e.g. `connected`, `banned`). */
  readonly state: string;
  readonly facts: readonly JournalFact[];
  /** Valued hooks: the verdict and its explanation. */
  readonly decision?: Decision;
  readonly detail?: RecordDetail;
  /**
   * The client machine's input event, as stepped: the `ClientEvent` with the
   * resolved policy replaced by a reference `"<revision>:<name>"` (policies
   * are archived by revision, see policy-archive.ts). `hookwarden replay`
   * re-steps these; absent on records written before it existed.
   */
  readonly input?: StoredInput;
}

/** A JSON copy of a `ClientEvent` with `policy` as `"<revision>:<name>"`. */
export interface StoredInput {
  readonly type: string;
  readonly at: number;
  readonly policy?: string;
  readonly [field: string]: unknown;
}

/** A packed client-machine snapshot (`packSnapshot`) and the machine version that packed it. */
export interface StoredSnapshot {
  /** `MACHINE_VERSION` of the machine that packed it: restore only when equal, else replay. */
  readonly machineVersion: string;
  readonly packed: string;
}

/** A record as read back, with its journal position. */
export interface JournalEntry {
  /** Journal position: stream sequence (NATS) or global file sequence (embedded). Increases per client. */
  readonly seq: number;
  /** CloudEvent `id`; also the NATS `Nats-Msg-Id` of the append. */
  readonly id: string;
  /** CloudEvent `source`: the hookwarden instance that wrote it. */
  readonly source: string;
  readonly record: JournalRecord;
  /** The client's snapshot after this record, when the writer attached one. */
  readonly snapshot?: StoredSnapshot;
}

export interface AppendOptions {
  /**
   * Wait until the record is durable (adapter rule) before resolving; the
   * answer to EMQX waits for it. Default: true when the record carries a
   * decision (a valued hook), false otherwise (a notification, buffered).
   */
  readonly durable?: boolean;
  /**
   * The client's packed snapshot after this record. Attach it to make `load` one read. A function
   * is called only when the snapshot is written (NATS packs just the last record's of a batch).
   */
  readonly snapshot?: string | (() => string);
  /**
   * NATS: epoch ms by which a durable append must be acknowledged; past it
   * the promise rejects with `AppendTimeoutError` (the record may still
   * have been stored). Default: now + `appendTimeoutMs` (1500 ms). Pass the
   * hook's internal deadline. The embedded journal never waits that long
   * (its write happens in the same event-loop turn) and ignores it.
   */
  readonly deadline?: number;
  /** The record's id (CloudEvent `id`, NATS dedup key), unique per record; default: the journal makes one. */
  readonly id?: string;
  /**
   * NATS: return a promise for a notification too (settled when stored or failed), so the caller
   * can redo records that conflicted. A tracked notification that fails is rejected, not reported
   * to `onError`. Other adapters ignore it (their notifications cannot conflict).
   */
  readonly track?: boolean;
  /**
   * NATS: store this record as a message of its own (never batched), so its id is the message's
   * dedup key. For records that may have been stored before under that id (the outbox flush).
   */
  readonly alone?: boolean;
}

export interface AppendAck {
  readonly seq: number;
  /** The server had already stored this record (a retry after a lost ack). */
  readonly duplicate: boolean;
}

/** What `load` returns: the newest snapshot and the records after it. */
export interface LoadedClient {
  readonly clientId: string;
  /** Position of the client's newest record; with NATS the fence the next append is checked against. */
  readonly seq: number;
  readonly snapshot?: StoredSnapshot & { readonly seq: number };
  /** Records after the snapshot (every retained record when there is none), oldest first. */
  readonly after: readonly JournalEntry[];
  /** False when records after the snapshot were no longer available (evicted from memory or retention). */
  readonly complete: boolean;
  /** NATS: ids of the records in the client's newest message (tells a writer whether its timed-out append landed). */
  readonly newestIds?: readonly string[];
  /**
   * The client's newest message could not be read (a newer entry schema, written by a newer
   * version during a rolling upgrade): this instance must not write for the client.
   */
  readonly unreadable?: boolean;
}

export interface JournalStats {
  readonly kind: JournalKind;
  /** Records accepted by `append`. */
  readonly appended: number;
  /** Records acknowledged durable (written to the file / acked by JetStream). */
  readonly stored: number;
  /** Records not yet stored (buffered or in flight). */
  readonly pending: number;
  readonly conflicts: number;
  readonly timeouts: number;
  /** Notification records dropped (conflict, overload, closed, write error). */
  readonly dropped: number;
  /** Embedded: write(2) calls (group commits). */
  readonly writes?: number;
  readonly fsyncs?: number;
  readonly segments?: number;
  readonly indexedClients?: number;
  readonly tailClients?: number;
  readonly tailBytes?: number;
  /** Embedded: unreadable lines skipped while reading files. */
  readonly corrupt?: number;
}

export type JournalKind = 'memory' | 'file' | 'nats';

/** Called for failures nobody awaits: a buffered notification that could not be stored. */
export type JournalErrorHandler = (err: JournalError, clientId: string, dropped: readonly JournalRecord[]) => void;

/** Options every adapter takes. */
export interface CommonJournalOptions {
  /** Instance name, the CloudEvent `source` is `/hookwarden/<instance>` (default: host name). */
  readonly instance?: string;
  /** `MACHINE_VERSION` of the client machine, stored (as a string) with every snapshot. */
  readonly machineVersion?: string | number;
  /** Default time budget of a durable append when no `deadline` is given (ms). */
  readonly appendTimeoutMs?: number;
  readonly onError?: JournalErrorHandler;
  /** Failures of background work (fdatasync, checkpoint, retention, feed); default `process.emitWarning`. */
  readonly onBackgroundError?: (err: Error, what: string) => void;
}

/**
 * The journal port. Per client, records are stored in the order `append`
 * was called, whatever their durability. Implementations never throw from
 * `append` for a notification; a durable append's failure is its promise's
 * rejection.
 */
export interface JournalPort {
  readonly kind: JournalKind;
  /**
   * Append one record of `record.clientId`.
   * - durable (valued hooks): a promise resolved once durable per the
   *   adapter's rule; rejected with `ConflictError` (another writer, reload),
   *   `AppendTimeoutError` (deadline passed) or another `JournalError`.
   *   The memory adapter has nothing to wait for and returns `undefined`.
   * - not durable (notifications): `undefined`; the record is buffered and
   *   written shortly after (bounded, see docs/EVENTS.md).
   */
  append(record: JournalRecord, opts?: AppendOptions): Promise<AppendAck> | undefined;
  /** The newest snapshot of a client and the records after it; undefined when the journal has nothing on it. Also re-arms a client fenced by a conflict. */
  load(clientId: string): Promise<LoadedClient | undefined>;
  /** The newest `limit` records of a client, oldest first (for `inspect`). */
  recent(clientId: string, limit: number): Promise<JournalEntry[]>;
  /** Every retained record in journal order (for `replay`), from `fromSeq` (default the oldest). */
  readAll(opts?: { readonly fromSeq?: number }): AsyncIterable<JournalEntry>;
  /** Drop what memory holds on a client the registry forgot (its records stay on disk/stream). */
  forget(clientId: string): void;
  /** Store everything appended so far (notifications included) now. */
  flush(): Promise<void>;
  stats(): JournalStats;
  /** Flush, then release files/connections. Appends after close fail with `JournalClosedError`. */
  close(): Promise<void>;
  /**
   * Which independently available part of the journal holds a client (a shard's stream, possibly
   * on its own server); absent: one part. Degrade rules apply per part.
   */
  partitionOf?(clientId: string): number;
}

/** Whether a record is durable by default: a valued hook, or any record carrying a decision. */
export const isDurableByDefault = (record: JournalRecord): boolean => record.decision !== undefined || isValuedHook(record.hook);

/** The packed snapshot an append carries, packing it now if it was given as a function. */
export const packedSnapshot = (s: AppendOptions['snapshot']): string | undefined => (typeof s === 'function' ? s() : s);
