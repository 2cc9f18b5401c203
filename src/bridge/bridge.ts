/**
 * The message bridge: allowed `message.publish` hooks whose topic matches
 * the configured filters go to NATS (docs/BRIDGE.md).
 *
 * The hook path calls `offer(event, decision)` after the decision: it is
 * synchronous, O(1) in the backlog size, never throws and never waits. It
 * enqueues into a bounded backlog (max messages and max payload bytes,
 * counting what is in flight); when full the new message is dropped and
 * counted. A background pump drains the backlog: core NATS (at most once)
 * or, with a stream, JetStream (at least once, deduplicated by message id).
 * While NATS is disconnected the pump holds back, so our bound, not the
 * nats.js reconnect buffer, is what limits memory.
 */
import type { NatsConnection } from 'nats';
import type { Decision } from '../domain/decision.js';
import type { MessagePublish } from '../domain/hook-event.js';
import type { Logger } from '../observability/logger.js';
import type { BridgeDeps, BridgeStats, OfferResult } from './bridge.types.js';
import { Backlog } from './backlog.js';
import type { ResolvedBridgeOptions } from './config.js';
import { JsPublisher } from './js-publisher.js';
import { selectMessage, type BridgeItem } from './message-headers.js';
import { runCorePump, runJsPump, type Counters } from './pumps.js';
import { ensureBridgeStream } from './stream-setup.js';
import { messageSubjectFilter } from './subject.js';

export type { BridgeDeps, BridgeStats, BridgeTuning, OfferResult } from './bridge.types.js';

const WARN_EVERY_MS = 10_000;

export class MessageBridge {
  readonly #nc: NatsConnection;
  readonly #o: ResolvedBridgeOptions;
  readonly #log: Logger | undefined;
  readonly #backlog: Backlog<BridgeItem>;
  readonly #counters: Counters = { bridged: 0, duplicates: 0, dropped: 0, failed: 0, unroutable: 0, retried: 0, abandoned: 0 };
  readonly #publisher: JsPublisher | undefined;
  readonly #pump: Promise<void>;
  readonly #warned = new Map<string, number>();
  #status: { stop?: () => void } | undefined;
  #connected = true;
  #closing = false;
  #closed: Promise<BridgeStats> | undefined;
  #stopped = false;
  #wakeup: (() => void) | undefined;

  /** Start a bridge on `nc` (not owned: `close()` leaves it open). With a stream, creates it when missing. */
  static async open(nc: NatsConnection, options: ResolvedBridgeOptions, deps: BridgeDeps = {}): Promise<MessageBridge> {
    if (options.stream !== undefined) {
      const setup = await ensureBridgeStream(nc, options.stream, messageSubjectFilter(options.prefix));
      for (const note of setup.notes) deps.log?.warn({ stream: options.stream }, note);
      deps.log?.info({ stream: options.stream, created: setup.created }, 'bridge stream ready');
    }
    return new MessageBridge(nc, options, deps);
  }

  private constructor(nc: NatsConnection, o: ResolvedBridgeOptions, deps: BridgeDeps) {
    this.#nc = nc;
    this.#o = o;
    this.#log = deps.log;
    this.#backlog = new Backlog<BridgeItem>(o.maxBacklog, o.maxBacklogBytes);
    this.#watchStatus();
    const t = deps.tuning ?? {};
    const host = {
      nc,
      prefix: o.prefix,
      backlog: this.#backlog,
      counters: this.#counters,
      stopped: () => this.#stopped,
      connected: () => this.#connected && !nc.isClosed(),
      sleep: (ms: number) => this.#sleep(ms),
      wake: () => this.#wake(),
      warn: (kind: string, err: unknown) => this.#warn(kind, err),
    };
    this.#publisher = o.stream !== undefined ? new JsPublisher(nc) : undefined;
    const pump = this.#publisher
      ? runJsPump(host, this.#publisher, {
          maxInFlight: t.maxInFlight ?? 256,
          ackTimeoutMs: t.ackTimeoutMs ?? 5000,
          maxRetryDelayMs: t.maxRetryDelayMs ?? 2000,
        })
      : runCorePump(host, t.batch ?? 256);
    this.#pump = pump.catch((err: unknown) => this.#log?.error({ err }, 'bridge pump stopped'));
  }

  /** Bridge `event` if `decision` let it through and its topic matches. Synchronous; never throws. */
  offer(event: MessagePublish, decision: Decision): OfferResult {
    if (this.#closing) return 'closed';
    const selection = selectMessage(this.#o.topics, event, decision);
    if (selection !== 'bridge') return selection;
    const item: BridgeItem = decision.shadowed
      ? { message: event.message, shadowDenied: decision.reason.code }
      : { message: event.message };
    if (!this.#backlog.push(item, event.message.payload.byteLength)) {
      this.#counters.dropped++;
      this.#warn('overflow', undefined);
      return 'dropped';
    }
    this.#wake();
    return 'queued';
  }

  stats(): BridgeStats {
    return {
      mode: this.#publisher ? 'jetstream' : 'core',
      ...this.#counters,
      backlog: this.#backlog.length,
      backlogBytes: this.#backlog.bytes,
      inFlight: this.#backlog.inFlight,
      connected: this.#connected && !this.#nc.isClosed(),
    };
  }

  /**
   * Stop taking messages, give the backlog up to `drainMs` (default 2000) to
   * reach NATS, then stop; what is left is counted as `abandoned`. Resolves
   * within `drainMs` + 1 s.
   */
  close(opts: { drainMs?: number } = {}): Promise<BridgeStats> {
    this.#closed ??= this.#close(opts.drainMs ?? 2000);
    return this.#closed;
  }

  async #close(drainMs: number): Promise<BridgeStats> {
    this.#closing = true;
    const end = Date.now() + drainMs;
    while (this.#backlog.length > 0 && Date.now() < end && !this.#nc.isClosed()) await new Promise((r) => setTimeout(r, 5));
    this.#stopped = true;
    this.#wake();
    this.#publisher?.close();
    // a core flush waits for the server; a frozen server is noticed by pings, so cap the wait
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#pump, new Promise((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
    this.#counters.abandoned += this.#backlog.clearWaiting();
    this.#status?.stop?.();
    return this.stats();
  }

  #watchStatus(): void {
    const iter = this.#nc.status();
    this.#status = iter as { stop?: () => void };
    void (async () => {
      for await (const s of iter) {
        if (s.type === 'disconnect') this.#connected = false;
        else if (s.type === 'reconnect') {
          this.#connected = true;
          this.#wake();
        }
      }
    })().catch(() => undefined);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.#wakeup === done) this.#wakeup = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakeup = done;
    });
  }

  #wake(): void {
    this.#wakeup?.();
  }

  /** Log a failure kind at most once per 10 s, with the counters. */
  #warn(kind: string, err: unknown): void {
    const now = Date.now();
    if (!this.#log || now - (this.#warned.get(kind) ?? -Infinity) < WARN_EVERY_MS) return;
    this.#warned.set(kind, now);
    const what = kind === 'overflow' ? 'bridge backlog full; new messages are dropped' : `bridge ${kind} failed`;
    this.#log.warn({ err, kind, ...this.stats() }, what);
  }
}
