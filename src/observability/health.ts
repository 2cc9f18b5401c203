/**
 * Liveness and readiness.
 *
 * - Live (`/healthz`): the process answers; the body tells version, uptime,
 *   instance, journal kind, NATS state, degrade mode and policy revision.
 * - Ready (`/readyz`, gRPC health SERVING, `hookwarden_ready`): started (the
 *   policy is loaded and the journal was reached: `start()` opens both before
 *   the hook port), not shutting down, and, with NATS, the journal connection
 *   is up or has been down for less than `natsGraceMs`. The grace keeps a
 *   brief blip (a NATS node restarting) from turning every instance unready
 *   at once; past it the instance is taken out of rotation until NATS returns.
 */
import type { JournalKind } from '../journal/journal.js';
import type { ServingState } from '../edge/edge.types.js';
import type { NatsLink } from './nats-link.js';

export interface HealthOptions {
  readonly version: string;
  readonly instance: string;
  readonly journalKind: JournalKind;
  readonly policyRevision: () => string;
  /** The journal's NATS connection, when the journal is NATS. */
  readonly nats?: NatsLink;
  readonly natsGraceMs: number;
  readonly now?: () => number;
}

export interface Readiness {
  readonly ready: boolean;
  /** Why not, one sentence each (empty when ready). */
  readonly reasons: readonly string[];
  readonly checks: {
    readonly started: boolean;
    readonly stopping: boolean;
    readonly policy: { readonly revision: string };
    readonly journal: { readonly kind: JournalKind };
    readonly nats?: { readonly connected: boolean; readonly downForMs: number; readonly graceMs: number };
  };
}

export class Health implements ServingState {
  readonly #o: HealthOptions;
  readonly #now: () => number;
  readonly #startedAt: number;
  readonly #listeners = new Set<() => void>();
  readonly #unwatch: (() => void) | undefined;
  #started = false;
  #stopping = false;
  #degraded: string | false = false;
  #degradedBy: (() => string | false) | undefined;
  #graceTimer: NodeJS.Timeout | undefined;
  #lastServing = false;

  constructor(options: HealthOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
    this.#unwatch = options.nats?.onChange(() => this.#natsChanged());
  }

  /** Everything is open: the hook port answers. */
  markStarted(): void {
    this.#started = true;
    this.#changed();
  }

  /** Shutting down: not ready any more (load balancers stop sending new work). */
  markStopping(): void {
    this.#stopping = true;
    clearTimeout(this.#graceTimer);
    this.#unwatch?.();
    this.#changed();
  }

  /** A degrade mode's name while one is on (shown by `/healthz`); `false` when off. */
  setDegraded(mode: string | false): void {
    this.#degraded = mode;
  }

  /** Read the degrade mode from its owner (the hook service) whenever asked. */
  degradedBy(read: () => string | false): void {
    this.#degradedBy = read;
  }

  get degraded(): string | false {
    return this.#degradedBy?.() || this.#degraded;
  }

  readiness(): Readiness {
    const reasons: string[] = [];
    if (!this.#started) reasons.push('starting: the hook port is not open yet');
    if (this.#stopping) reasons.push('shutting down');
    const link = this.#o.nats;
    let nats: Readiness['checks']['nats'];
    if (link) {
      const downForMs = link.downForMs();
      nats = { connected: link.connected, downForMs: Number.isFinite(downForMs) ? downForMs : -1, graceMs: this.#o.natsGraceMs };
      if (downForMs >= this.#o.natsGraceMs)
        reasons.push(
          Number.isFinite(downForMs)
            ? `the NATS journal connection has been down for ${downForMs} ms (grace ${this.#o.natsGraceMs} ms)`
            : 'the NATS journal connection is closed',
        );
    }
    return {
      ready: reasons.length === 0,
      reasons,
      checks: {
        started: this.#started,
        stopping: this.#stopping,
        policy: { revision: this.#o.policyRevision() },
        journal: { kind: this.#o.journalKind },
        ...(nats ? { nats } : {}),
      },
    };
  }

  /** What `/healthz` shows. */
  liveness(): Record<string, unknown> {
    const link = this.#o.nats;
    return {
      status: 'ok',
      version: this.#o.version,
      instance: this.#o.instance,
      uptimeSeconds: Math.round((this.#now() - this.#startedAt) / 1000),
      journal: this.#o.journalKind,
      nats: link ? { connected: link.connected, reconnects: link.reconnects } : null,
      degraded: this.degraded,
      policy: { revision: this.#o.policyRevision() },
      ready: this.serving(),
    };
  }

  serving(): boolean {
    return this.readiness().ready;
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #natsChanged(): void {
    clearTimeout(this.#graceTimer);
    const link = this.#o.nats;
    if (link && !link.connected && !this.#stopping) {
      // re-evaluate when the grace period ends, so Watch streams hear of it without a poll
      const left = Math.max(0, this.#o.natsGraceMs - link.downForMs());
      this.#graceTimer = setTimeout(() => this.#changed(), Number.isFinite(left) ? left + 1 : 0);
      this.#graceTimer.unref();
    }
    this.#changed();
  }

  /** Tell listeners when serving flips. */
  #changed(): void {
    const serving = this.serving();
    if (serving === this.#lastServing) return;
    this.#lastServing = serving;
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch {
        // a listener (a gRPC Watch stream) that fails must not stop the others
      }
    }
  }
}
