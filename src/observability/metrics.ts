/**
 * Prometheus metrics (prom-client), all named `hookwarden_…` (plus the
 * standard `process_…`/`nodejs_…` process metrics when asked for).
 *
 * Two kinds of source, chosen for the hot path:
 * - the edge and the journal's durable appends bump plain cells
 *   (`HookMeters`, `CellHistogram`): no prom-client call per hook;
 * - everything that already exists as state (journal stats, registry sizes,
 *   EMQX nodes, policy, bridge, NATS connections, outbox) is read at scrape
 *   time through `collect()` from the sources given to `attach()`.
 *
 * `METRIC_NAMES` (metric-names.ts) lists every metric registered here.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { HookMeters, hookMetrics } from './hook-meters.js';
import { CellHistogram, type HistogramCell } from './metric-cells.js';
import type { ScrapeMetric } from './metric-names.js';
import { stateMetrics, type MetricSources } from './state-metrics.js';

export { METRIC_NAMES, type MetricName } from './metric-names.js';
export type { MetricSources } from './state-metrics.js';

export class Metrics {
  readonly registry = new Registry();
  /** Give these to the edge (`EdgeOptions.meters`). */
  readonly hooks: HookMeters;
  /** Durable journal appends, seconds (see metered-journal.ts). */
  readonly journalAppend: HistogramCell;
  #sources: MetricSources = {};

  constructor(options: { readonly processMetrics?: boolean } = {}) {
    const r = this.registry;
    if (options.processMetrics) collectDefaultMetrics({ register: r });
    this.hooks = new HookMeters(
      new CellHistogram({
        name: 'hookwarden_hook_duration_seconds',
        help: 'Time from a hook call’s arrival to its answer (valued hooks) or to the end of its processing (notifications, answered first)',
        registers: [r],
      }),
    );
    this.journalAppend = new CellHistogram({
      name: 'hookwarden_journal_append_duration_seconds',
      help: 'Durable journal appends (valued hooks wait for them), seconds',
      registers: [r],
    }).cell({});
    for (const m of [...hookMetrics(this.hooks), ...stateMetrics(() => this.#sources)]) register(r, m);
  }

  /** Add or replace scrape-time sources (main wires them; the cluster work adds `outboxDepth`). */
  attach(sources: MetricSources): void {
    this.#sources = { ...this.#sources, ...sources };
  }

  /** The exposition text, and its content type. */
  async scrape(): Promise<{ readonly text: string; readonly contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

/** A prom-client gauge or counter whose `collect()` refills it from `m.fill` at every scrape. */
function register(r: Registry, m: ScrapeMetric): void {
  const common = { name: m.name, help: m.help, labelNames: [...(m.labels ?? [])], registers: [r] };
  if (m.type === 'gauge')
    new Gauge({
      ...common,
      collect(this: Gauge) {
        this.reset();
        m.fill((labels, value) => this.set(labels, value));
      },
    });
  else
    new Counter({
      ...common,
      collect(this: Counter) {
        this.reset();
        m.fill((labels, value) => this.inc(labels, value));
      },
    });
}
