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
 * `METRIC_NAMES` lists every metric registered here (docs/OPERATIONS.md
 * describes each; the Grafana dashboard test checks the dashboard against it).
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { RegistryStats } from '../actors/registry.js';
import type { BridgeStats } from '../bridge/bridge.types.js';
import type { BrokerNode } from '../core/broker-nodes.js';
import type { JournalStats } from '../journal/journal.js';
import { HookMeters, OUTCOMES } from './hook-meters.js';
import { CellHistogram, type HistogramCell } from './metric-cells.js';
import type { NatsLink } from './nats-link.js';

export const METRIC_NAMES = [
  'hookwarden_info',
  'hookwarden_ready',
  'hookwarden_degraded',
  'hookwarden_hook_calls_total',
  'hookwarden_hook_duration_seconds',
  'hookwarden_hook_cancelled_total',
  'hookwarden_hook_undecodable_total',
  'hookwarden_decisions_total',
  'hookwarden_fallbacks_total',
  'hookwarden_journal_append_duration_seconds',
  'hookwarden_journal_appended_total',
  'hookwarden_journal_stored_total',
  'hookwarden_journal_pending',
  'hookwarden_journal_conflicts_total',
  'hookwarden_journal_timeouts_total',
  'hookwarden_journal_dropped_total',
  'hookwarden_outbox_depth',
  'hookwarden_nats_connected',
  'hookwarden_nats_reconnects_total',
  'hookwarden_clients',
  'hookwarden_client_evictions_total',
  'hookwarden_emqx_nodes',
  'hookwarden_emqx_provider_loads_total',
  'hookwarden_policy_info',
  'hookwarden_policy_reloads_total',
  'hookwarden_policy_refused_total',
  'hookwarden_bridge_backlog',
  'hookwarden_bridge_backlog_bytes',
  'hookwarden_bridge_messages_total',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** What the metrics read at scrape time; every part is optional (absent: the metric has no series or 0). */
export interface MetricSources {
  readonly info?: { readonly version: string; readonly instance: string; readonly journal: string };
  readonly ready?: () => boolean;
  readonly degraded?: () => string | false;
  readonly journal?: () => JournalStats;
  readonly registry?: () => RegistryStats;
  readonly nodes?: () => readonly BrokerNode[];
  readonly policy?: () => { readonly revision: string; readonly reloads: number; readonly refused: number };
  readonly bridge?: () => BridgeStats | undefined;
  readonly nats?: () => readonly NatsLink[];
  /** Records waiting in the cluster outbox (0 until one exists). */
  readonly outboxDepth?: () => number;
}

type Set = (labels: Record<string, string>, value: number) => void;

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
    const src = (): MetricSources => this.#sources;
    const gauge = (name: MetricName, help: string, labelNames: string[], fill: (set: Set) => void): void => {
      new Gauge({
        name,
        help,
        labelNames,
        registers: [r],
        collect: function (this: Gauge) {
          this.reset();
          fill((l, v) => this.set(l, v));
        },
      });
    };
    const counter = (name: MetricName, help: string, labelNames: string[], fill: (set: Set) => void): void => {
      new Counter({
        name,
        help,
        labelNames,
        registers: [r],
        collect: function (this: Counter) {
          this.reset();
          fill((l, v) => this.inc(l, v));
        },
      });
    };
    const latency = new CellHistogram({
      name: 'hookwarden_hook_duration_seconds',
      help: 'Time from a hook call’s arrival to its answer (valued hooks) or to the end of its processing (notifications, answered first)',
      registers: [r],
    });
    this.hooks = new HookMeters(latency);
    const journalLatency = new CellHistogram({
      name: 'hookwarden_journal_append_duration_seconds',
      help: 'Durable journal appends (valued hooks wait for them), seconds',
      registers: [r],
    });
    this.journalAppend = journalLatency.cell({});

    gauge(
      'hookwarden_info',
      'Constant 1, labelled with version, instance name and journal kind',
      ['version', 'instance_name', 'journal'],
      (set) => {
        const i = src().info;
        // not `instance`: Prometheus gives every series its target's `instance` label
        if (i) set({ version: i.version, instance_name: i.instance, journal: i.journal }, 1);
      },
    );
    gauge('hookwarden_ready', '1 while ready (see /readyz), else 0', [], (set) => set({}, src().ready?.() === false ? 0 : 1));
    gauge('hookwarden_degraded', '1 while a degrade mode is on', ['mode'], (set) => {
      const mode = src().degraded?.();
      if (mode) set({ mode }, 1);
    });

    const cells = () => this.hooks.cells();
    counter(
      'hookwarden_hook_calls_total',
      'Hook calls received from EMQX, per hook and ExHook generation',
      ['hook', 'generation'],
      (set) => {
        for (const c of cells()) if (c.calls > 0) set({ hook: c.hook, generation: c.generation }, c.calls);
      },
    );
    counter(
      'hookwarden_hook_cancelled_total',
      'Valued calls EMQX cancelled (or whose deadline passed) before the answer',
      ['hook', 'generation'],
      (set) => {
        for (const c of cells()) if (c.cancelledCalls > 0) set({ hook: c.hook, generation: c.generation }, c.cancelledCalls);
      },
    );
    counter('hookwarden_hook_undecodable_total', 'Calls whose request could not be decoded', ['hook', 'generation'], (set) => {
      for (const c of cells()) if (c.undecodableCalls > 0) set({ hook: c.hook, generation: c.generation }, c.undecodableCalls);
    });
    counter(
      'hookwarden_decisions_total',
      'Decisions answered to valued hooks, per outcome and reason code (fallbacks included)',
      ['hook', 'outcome', 'reason'],
      (set) => {
        for (const c of cells())
          for (const [reason, row] of c.decisions)
            row.forEach((n, i) => n > 0 && set({ hook: c.hook, outcome: OUTCOMES[i] as string, reason }, n));
      },
    );
    counter(
      'hookwarden_fallbacks_total',
      'Valued hooks answered with the configured fallback: deadline passed or deciding failed',
      ['hook', 'cause'],
      (set) => {
        for (const c of cells()) {
          const deadline = sum(c.decisions.get('deadline.fallback'));
          const error = sum(c.decisions.get('error.fallback'));
          if (deadline > 0) set({ hook: c.hook, cause: 'deadline' }, deadline);
          if (error > 0) set({ hook: c.hook, cause: 'error' }, error);
        }
      },
    );

    const journal = (pick: (s: JournalStats) => number) => (set: Set) => {
      const s = src().journal?.();
      if (s) set({}, pick(s));
    };
    counter(
      'hookwarden_journal_appended_total',
      'Records accepted by the journal',
      [],
      journal((s) => s.appended),
    );
    counter(
      'hookwarden_journal_stored_total',
      'Records the journal stored durably',
      [],
      journal((s) => s.stored),
    );
    gauge(
      'hookwarden_journal_pending',
      'Records not yet stored (buffered or in flight)',
      [],
      journal((s) => s.pending),
    );
    counter(
      'hookwarden_journal_conflicts_total',
      'Appends refused because another writer moved the client on',
      [],
      journal((s) => s.conflicts),
    );
    counter(
      'hookwarden_journal_timeouts_total',
      'Durable appends not acknowledged before their deadline',
      [],
      journal((s) => s.timeouts),
    );
    counter(
      'hookwarden_journal_dropped_total',
      'Notification records dropped (conflict, overload, closed, write error)',
      [],
      journal((s) => s.dropped),
    );
    gauge('hookwarden_outbox_depth', 'Records waiting in the cluster outbox', [], (set) => set({}, src().outboxDepth?.() ?? 0));

    gauge('hookwarden_nats_connected', '1 while the NATS connection is up, per purpose', ['connection'], (set) => {
      for (const l of src().nats?.() ?? []) set({ connection: l.name }, l.connected ? 1 : 0);
    });
    counter('hookwarden_nats_reconnects_total', 'NATS reconnections, per purpose', ['connection'], (set) => {
      for (const l of src().nats?.() ?? []) set({ connection: l.name }, l.reconnects);
    });

    gauge('hookwarden_clients', 'Tracked MQTT clients per registry tier (hot, cold, pinned, busy)', ['tier'], (set) => {
      const s = src().registry?.();
      if (s) for (const tier of ['hot', 'cold', 'pinned', 'busy'] as const) set({ tier }, s[tier]);
    });
    counter('hookwarden_client_evictions_total', 'Clients forgotten to stay within registry.max_clients', [], (set) => {
      const s = src().registry?.();
      if (s) set({}, s.evictions);
    });

    gauge(
      'hookwarden_emqx_nodes',
      'EMQX nodes that loaded hookwarden (and did not unload it), per ExHook generation',
      ['generation'],
      (set) => {
        const counts = { v1: 0, v2: 0, v3: 0 };
        for (const n of src().nodes?.() ?? []) if (n.unloadedAt === undefined) counts[n.generation]++;
        for (const [generation, n] of Object.entries(counts)) set({ generation }, n);
      },
    );
    counter('hookwarden_emqx_provider_loads_total', 'OnProviderLoaded calls received (every EMQX node, every reload)', [], (set) => {
      set(
        {},
        (src().nodes?.() ?? []).reduce((n, node) => n + node.loads, 0),
      );
    });

    gauge('hookwarden_policy_info', 'Constant 1, labelled with the running policy revision', ['revision'], (set) => {
      const p = src().policy?.();
      if (p) set({ revision: p.revision }, 1);
    });
    counter('hookwarden_policy_reloads_total', 'Policy changes applied (file change or SIGHUP)', [], (set) =>
      set({}, src().policy?.().reloads ?? 0),
    );
    counter('hookwarden_policy_refused_total', 'Policy files refused as invalid (the running policy stayed)', [], (set) =>
      set({}, src().policy?.().refused ?? 0),
    );

    gauge('hookwarden_bridge_backlog', 'Bridged messages waiting or in flight to NATS', [], (set) => {
      const b = src().bridge?.();
      if (b) set({}, b.backlog);
    });
    gauge('hookwarden_bridge_backlog_bytes', 'Payload bytes waiting or in flight to NATS', [], (set) => {
      const b = src().bridge?.();
      if (b) set({}, b.backlogBytes);
    });
    counter('hookwarden_bridge_messages_total', 'Messages offered to the bridge, by how they ended', ['result'], (set) => {
      const b = src().bridge?.();
      if (b) for (const result of BRIDGE_RESULTS) set({ result }, b[result]);
    });
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

const BRIDGE_RESULTS = ['bridged', 'duplicates', 'dropped', 'failed', 'unroutable', 'retried', 'abandoned'] as const;

const sum = (row: readonly number[] | undefined): number => (row ? row.reduce((a, b) => a + b, 0) : 0);
