/**
 * Conditional JetStream appends on the hot path, without nats.js's
 * per-request machinery: one inbox subscription for all acks, one plain
 * publish per append with the `Nats-Msg-Id` and
 * `Nats-Expected-Last-Subject-Sequence` headers, the PubAck parsed here.
 * Same protocol as `js.publish(subject, data, { msgID, expect })`, about a
 * fifth of the client CPU (measured in bench/journal.ts: ~29 µs instead of
 * ~155 µs per append on a 2-core VM), so pipelined appends are 4× faster.
 *
 * Errors mimic nats.js's: `code` `'TIMEOUT'`, `'503'` (no responders: the
 * stream or JetStream is unavailable) or the API error's HTTP-like code,
 * with `api_error.err_code` (10071 = wrong last sequence).
 */
import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from 'nats';

export interface AppendAckWire {
  readonly stream: string;
  readonly seq: number;
  readonly duplicate: boolean;
}

export class JsPublishError extends Error {
  readonly code: string;
  readonly api_error?: { readonly code: number; readonly err_code?: number; readonly description: string };
  constructor(code: string, message: string, apiError?: { code: number; err_code?: number; description: string }) {
    super(message);
    this.name = 'JsPublishError';
    this.code = code;
    if (apiError) this.api_error = apiError;
  }
}

interface Pending {
  readonly resolve: (ack: AppendAckWire) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const decoder = new TextDecoder();

export class JsAppender {
  readonly #nc: NatsConnection;
  readonly #prefix = createInbox();
  readonly #sub: Subscription;
  readonly #pending = new Map<string, Pending>();
  #n = 0;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
    this.#sub = nc.subscribe(`${this.#prefix}.*`, { callback: (err, m) => this.#reply(err, m) });
  }

  /** Append `body` to `subject` if the subject's last message is `expectedLastSubjectSeq` (0: none). */
  publish(subject: string, body: Uint8Array, msgId: string, expectedLastSubjectSeq: number, timeoutMs: number): Promise<AppendAckWire> {
    const token = (++this.#n).toString(36);
    const h = headers();
    h.set('Nats-Msg-Id', msgId);
    h.set('Nats-Expected-Last-Subject-Sequence', String(expectedLastSubjectSeq));
    return new Promise<AppendAckWire>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(token);
        reject(new JsPublishError('TIMEOUT', `no JetStream ack within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(token, { resolve, reject, timer });
      try {
        this.#nc.publish(subject, body, { reply: `${this.#prefix}.${token}`, headers: h });
      } catch (err) {
        clearTimeout(timer);
        this.#pending.delete(token);
        reject(err as Error);
      }
    });
  }

  #reply(err: Error | null, m: Msg): void {
    if (err) return; // a subscription error: the pending appends time out
    const p = this.#pending.get(m.subject.slice(this.#prefix.length + 1));
    if (!p) return; // the append already timed out
    this.#pending.delete(m.subject.slice(this.#prefix.length + 1));
    clearTimeout(p.timer);
    if (m.data.length === 0) {
      const code = m.headers?.code ?? 0;
      p.reject(new JsPublishError(code === 503 ? '503' : String(code), `JetStream did not answer (${code} ${m.headers?.description ?? ''}): is the stream there?`));
      return;
    }
    let ack: { stream?: unknown; seq?: unknown; duplicate?: unknown; error?: { code: number; err_code?: number; description: string } };
    try {
      ack = JSON.parse(decoder.decode(m.data)) as typeof ack;
    } catch {
      p.reject(new JsPublishError('BAD_ACK', 'unreadable JetStream ack'));
      return;
    }
    if (ack.error) {
      p.reject(new JsPublishError(String(ack.error.code), ack.error.description, ack.error));
      return;
    }
    if (typeof ack.seq !== 'number') {
      p.reject(new JsPublishError('BAD_ACK', 'JetStream ack without a sequence'));
      return;
    }
    p.resolve({ stream: String(ack.stream), seq: ack.seq, duplicate: ack.duplicate === true });
  }

  /** Appends in flight. */
  get pending(): number {
    return this.#pending.size;
  }

  close(): void {
    this.#sub.unsubscribe();
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new JsPublishError('CONNECTION_CLOSED', 'the journal is closing'));
    }
    this.#pending.clear();
  }
}
