/**
 * The background pumps that drain the backlog to NATS, one per mode. Each is
 * a single async loop; items leave the backlog's bound only once NATS has
 * them (core: a flush round trip after the batch; JetStream: the stream's
 * ack), so nats.js never holds more than the configured bound.
 */
import type { NatsConnection } from 'nats';
import type { Backlog } from './backlog.js';
import type { JsPublisher, PublishFailure } from './js-publisher.js';
import { outgoing, type BridgeItem } from './message-headers.js';

/** Running totals (see BridgeStats). */
export interface Counters {
  bridged: number;
  duplicates: number;
  dropped: number;
  failed: number;
  unroutable: number;
  retried: number;
  abandoned: number;
}

/** What a pump needs from its bridge. */
export interface PumpHost {
  readonly nc: NatsConnection;
  readonly prefix: string;
  readonly backlog: Backlog<BridgeItem>;
  readonly counters: Counters;
  stopped(): boolean;
  connected(): boolean;
  /** Wait until woken (an offer, an ack, a reconnect) or `ms` passed. */
  sleep(ms: number): Promise<void>;
  wake(): void;
  warn(kind: string, err: unknown): void;
}

const IDLE_MS = 1000;

/** Core NATS: publish up to `batch` messages, then one PING/PONG confirms the server has them. At most once. */
export async function runCorePump(host: PumpHost, batch: number): Promise<void> {
  const { nc, backlog, counters } = host;
  while (!host.stopped()) {
    if (!host.connected() || backlog.waiting === 0) {
      await host.sleep(IDLE_MS);
      continue;
    }
    let taken = 0;
    let bytes = 0;
    let sent = 0;
    for (let t = backlog.shift(); t; t = taken < batch ? backlog.shift() : undefined) {
      taken++;
      bytes += t.bytes;
      const out = outgoing(host.prefix, t.item);
      if (!out) {
        counters.unroutable++;
        continue;
      }
      try {
        nc.publish(out.subject, t.item.message.payload, { headers: out.headers });
        sent++;
      } catch (err) {
        counters.failed++; // over the server's max_payload, or the connection closed
        host.warn('publish', err);
      }
    }
    try {
      if (sent > 0) await nc.flush();
      counters.bridged += sent;
    } catch (err) {
      counters.failed += sent; // disconnected before the server confirmed: maybe delivered, maybe not
      host.warn('flush', err);
    } finally {
      backlog.finish(bytes, taken);
    }
  }
}

export interface JsPumpOptions {
  readonly maxInFlight: number;
  readonly ackTimeoutMs: number;
  readonly maxRetryDelayMs: number;
}

type Taken = { readonly item: BridgeItem; readonly bytes: number };

/** JetStream: up to `maxInFlight` publishes awaiting acks; a retryable failure is re-sent (same Nats-Msg-Id) after a backoff. */
export async function runJsPump(host: PumpHost, publisher: JsPublisher, o: JsPumpOptions): Promise<void> {
  const { backlog, counters } = host;
  const retries: Taken[] = [];
  let delay = 0;
  let retryAt = 0;
  const done = (t: Taken): void => {
    backlog.finish(t.bytes);
    host.wake();
  };
  const send = (t: Taken): void => {
    const out = outgoing(host.prefix, t.item);
    if (!out) {
      counters.unroutable++;
      return done(t);
    }
    publisher.publish(out.subject, t.item.message.payload, out.headers, o.ackTimeoutMs).then(
      (ack) => {
        if (ack.duplicate) counters.duplicates++;
        else counters.bridged++;
        delay = 0;
        done(t);
      },
      (f: PublishFailure) => {
        if (host.stopped()) {
          counters.abandoned++;
          return done(t);
        }
        host.warn(f.retryable ? 'retry' : 'publish', f);
        if (!f.retryable) {
          counters.failed++;
          return done(t);
        }
        counters.retried++;
        retries.push(t);
        delay = Math.min(delay === 0 ? 100 : delay * 2, o.maxRetryDelayMs);
        retryAt = Date.now() + delay;
        host.wake();
      },
    );
  };
  while (!host.stopped()) {
    const wait = retryAt - Date.now();
    if (!host.connected() || publisher.pending >= o.maxInFlight || (retries.length === 0 && backlog.waiting === 0)) {
      await host.sleep(IDLE_MS);
    } else if (wait > 0) {
      await host.sleep(wait);
    } else {
      const t = retries.shift() ?? backlog.shift();
      if (t) send(t);
    }
  }
  for (const t of retries.splice(0)) {
    counters.abandoned++;
    backlog.finish(t.bytes);
  }
}
