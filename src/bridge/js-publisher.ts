/**
 * JetStream publishes with acks collected on one inbox subscription: a
 * plain publish with a reply subject per message (the same wire protocol as
 * nats.js `js.publish`), without nats.js's per-request machinery, so many
 * acks can be pending cheaply. A PubAck is `{"stream","seq","duplicate"?}`;
 * an error is `{"error":{code,err_code,description}}`; an empty reply with a
 * 503 status means no stream captures the subject (or JetStream is down).
 */
import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from 'nats';

export interface PubAck {
  readonly seq: number;
  readonly duplicate: boolean;
}

/** Why a publish was not acknowledged. `retryable`: try again later (same Nats-Msg-Id). */
export class PublishFailure extends Error {
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean) {
    super(message);
    this.name = 'PublishFailure';
    this.retryable = retryable;
  }
}

interface Pending {
  readonly resolve: (ack: PubAck) => void;
  readonly reject: (err: PublishFailure) => void;
  readonly timer: NodeJS.Timeout;
}

const decoder = new TextDecoder();

export class JsPublisher {
  readonly #nc: NatsConnection;
  readonly #inbox = createInbox();
  readonly #sub: Subscription;
  readonly #pending = new Map<string, Pending>();
  #n = 0;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
    this.#sub = nc.subscribe(`${this.#inbox}.*`, { callback: (err, m) => this.#reply(err, m) });
  }

  /** Publish and wait for the stream's ack (at most `timeoutMs`). Never throws synchronously. */
  publish(subject: string, data: Uint8Array, h: MsgHdrs, timeoutMs: number): Promise<PubAck> {
    const token = (++this.#n).toString(36);
    return new Promise<PubAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(token);
        reject(new PublishFailure(`no JetStream ack within ${timeoutMs} ms`, true));
      }, timeoutMs);
      this.#pending.set(token, { resolve, reject, timer });
      try {
        this.#nc.publish(subject, data, { reply: `${this.#inbox}.${token}`, headers: h });
      } catch (err) {
        clearTimeout(timer);
        this.#pending.delete(token);
        // MAX_PAYLOAD_EXCEEDED, bad subject: retrying cannot help. A closed connection: the bridge is stopping.
        reject(new PublishFailure(`publish refused: ${(err as Error).message}`, false));
      }
    });
  }

  /** Publishes waiting for their ack. */
  get pending(): number {
    return this.#pending.size;
  }

  #reply(err: Error | null, m: Msg): void {
    if (err) return; // the subscription failed: pending publishes time out and are retried
    const token = m.subject.slice(this.#inbox.length + 1);
    const p = this.#pending.get(token);
    if (!p) return; // timed out already; the retry carries the same Nats-Msg-Id
    this.#pending.delete(token);
    clearTimeout(p.timer);
    if (m.data.length === 0) {
      const code = m.headers?.code ?? 0;
      p.reject(
        new PublishFailure(
          `JetStream did not answer (${code} ${m.headers?.description ?? ''}): is the stream there, capturing the subject?`,
          true,
        ),
      );
      return;
    }
    let ack: { seq?: unknown; duplicate?: unknown; error?: { code?: number; err_code?: number; description?: string } };
    try {
      ack = JSON.parse(decoder.decode(m.data)) as typeof ack;
    } catch {
      p.reject(new PublishFailure('unreadable JetStream ack', true));
      return;
    }
    if (ack.error) {
      // 503-class errors (no quorum, storage busy) are transient; 4xx (too big, wrong stream) are not
      p.reject(
        new PublishFailure(
          `JetStream refused it: ${ack.error.description ?? ''} (${ack.error.err_code ?? ack.error.code ?? '?'})`,
          (ack.error.code ?? 0) >= 500,
        ),
      );
      return;
    }
    if (typeof ack.seq !== 'number') {
      p.reject(new PublishFailure('JetStream ack without a sequence', true));
      return;
    }
    p.resolve({ seq: ack.seq, duplicate: ack.duplicate === true });
  }

  /** Stop: every pending publish fails as retryable (it may still land; a restart re-sends nothing). */
  close(): void {
    this.#sub.unsubscribe();
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new PublishFailure('the bridge is closing', true));
    }
    this.#pending.clear();
  }
}
