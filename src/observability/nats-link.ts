/**
 * The state of one NATS connection, as its `status()` stream tells it:
 * connected or not (and since when), and how many times it reconnected. Read
 * by the metrics at scrape time and by readiness (src/observability/health.ts).
 */
import type { NatsConnection } from 'nats';

export class NatsLink {
  /** What the connection is for: `journal`, `bridge`. */
  readonly name: string;
  readonly #nc: NatsConnection;
  readonly #now: () => number;
  readonly #listeners = new Set<() => void>();
  readonly #iterator: { stop?: () => void };
  #connected = true;
  #disconnectedAt: number | undefined;
  #reconnects = 0;

  constructor(nc: NatsConnection, name: string, now: () => number = Date.now) {
    this.name = name;
    this.#nc = nc;
    this.#now = now;
    const status = nc.status();
    this.#iterator = status as { stop?: () => void };
    void (async () => {
      for await (const s of status) {
        if (s.type === 'disconnect' && this.#connected) {
          this.#connected = false;
          this.#disconnectedAt = now();
          this.#emit();
        } else if (s.type === 'reconnect') {
          this.#reconnects++;
          this.#connected = true;
          this.#disconnectedAt = undefined;
          this.#emit();
        }
      }
    })().catch(() => undefined);
  }

  get connected(): boolean {
    return this.#connected && !this.#nc.isClosed();
  }

  /** How long the connection has been down, ms (0 while connected). */
  downForMs(): number {
    if (this.connected) return 0;
    return this.#disconnectedAt === undefined ? Number.POSITIVE_INFINITY : Math.max(0, this.#now() - this.#disconnectedAt);
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  /** Told on every disconnect and reconnect. Returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stop following the connection's status. */
  stop(): void {
    this.#listeners.clear();
    this.#iterator.stop?.();
  }

  #emit(): void {
    for (const listener of this.#listeners) listener();
  }
}
