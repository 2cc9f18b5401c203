/**
 * Operating hookwarden: the metrics, the health/readiness state, the NATS
 * connection watchers and the HTTP server, built from the configuration and
 * the running parts. `src/main.ts` creates it before the edge (the edge and
 * the journal report into its cells), attaches the parts read at scrape time,
 * and starts the HTTP server once the hook port is open.
 */
import { hostname } from 'node:os';
import type { NatsConnection } from 'nats';
import type { Registry } from '../actors/registry.js';
import type { MessageBridge } from '../bridge/bridge.js';
import type { Config } from '../config.js';
import type { BrokerNodes } from '../core/broker-nodes.js';
import type { WriterCounters } from '../core/client-writer.js';
import { startHttpServer, type HttpServer } from '../http/server.js';
import type { HttpRoute } from '../http/route.js';
import type { JournalPort } from '../journal/journal.js';
import type { PolicyStore } from '../policy/store.js';
import { Health } from './health.js';
import type { Logger } from './logger.js';
import { MeteredJournal } from './metered-journal.js';
import { Metrics } from './metrics.js';
import { NatsLink } from './nats-link.js';
import { operationsRoutes } from './routes.js';
import { VERSION } from './version.js';

export interface OperationsParts {
  readonly journal: JournalPort;
  readonly policies: PolicyStore;
  /** The journal's NATS connection (readiness follows it). */
  readonly nc?: NatsConnection;
  readonly bridge?: { readonly bridge: MessageBridge; readonly bnc: NatsConnection };
}

export class Operations {
  readonly metrics: Metrics;
  readonly health: Health;
  readonly #links: NatsLink[] = [];
  readonly #config: Config;
  #http: HttpServer | undefined;

  constructor(config: Config, parts: OperationsParts) {
    this.#config = config;
    // process metrics (event-loop monitor, GC observer) only when something can scrape them
    this.metrics = new Metrics({ processMetrics: config.httpPort !== undefined });
    const journalLink = parts.nc ? new NatsLink(parts.nc, 'journal') : undefined;
    if (journalLink) this.#links.push(journalLink);
    if (parts.bridge) this.#links.push(new NatsLink(parts.bridge.bnc, 'bridge'));
    const instance = config.instance ?? hostname();
    this.health = new Health({
      version: VERSION,
      instance,
      journalKind: parts.journal.kind,
      policyRevision: () => parts.policies.current().revision,
      ...(journalLink ? { nats: journalLink } : {}),
      natsGraceMs: config.readyNatsGraceMs,
    });
    const bridge = parts.bridge?.bridge;
    this.metrics.attach({
      info: { version: VERSION, instance, journal: parts.journal.kind },
      ready: () => this.health.serving(),
      degraded: () => this.health.degraded,
      journal: () => parts.journal.stats(),
      policy: () => ({ revision: parts.policies.current().revision, ...parts.policies.counts() }),
      nats: () => this.#links,
      ...(bridge ? { bridge: () => bridge.stats() } : {}),
    });
  }

  /** The journal the hook service should use: durable appends are timed. */
  metered(journal: JournalPort): JournalPort {
    return new MeteredJournal(journal, this.metrics.journalAppend);
  }

  /** Parts created after this object, read at scrape time. */
  attach(parts: { readonly registry: Registry; readonly nodes: BrokerNodes; readonly writer?: () => WriterCounters }): void {
    this.metrics.attach({
      registry: () => parts.registry.stats(),
      nodes: () => parts.nodes.list(),
      ...(parts.writer ? { writer: parts.writer } : {}),
    });
  }

  /** `/metrics`, `/healthz`, `/readyz`. */
  routes(): HttpRoute[] {
    return operationsRoutes({ metrics: this.metrics, health: this.health });
  }

  /** Start the HTTP server with `routes` when `--http-port` is set; then mark the instance started (ready). */
  async startHttp(routes: readonly HttpRoute[], log: Logger): Promise<HttpServer | undefined> {
    const c = this.#config;
    if (c.httpPort !== undefined) {
      this.#http = await startHttpServer({
        host: c.httpHost,
        port: c.httpPort,
        routes,
        ...(c.adminToken ? { adminToken: c.adminToken } : {}),
        log,
      });
    }
    this.health.markStarted();
    return this.#http;
  }

  /** Not ready any more (first step of a shutdown). */
  stopping(): void {
    this.health.markStopping();
  }

  /** Close the HTTP server and stop watching NATS. */
  async close(): Promise<void> {
    await this.#http?.close();
    for (const link of this.#links) link.stop();
  }
}
