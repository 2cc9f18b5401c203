/**
 * The metrics read from state that already exists (journal stats, registry
 * sizes, EMQX nodes, policy, bridge, NATS connections, outbox, readiness),
 * each a `ScrapeMetric` filled when Prometheus scrapes.
 */
import type { RegistryStats } from '../actors/registry.js';
import type { BridgeStats } from '../bridge/bridge.types.js';
import type { EmqxLinkStats } from '../admin/emqx-link.js';
import type { BrokerNode } from '../core/broker-nodes.js';
import type { WriterCounters } from '../core/client-writer.js';
import type { JournalStats } from '../journal/journal.js';
import type { Put, ScrapeMetric } from './metric-names.js';
import type { NatsLink } from './nats-link.js';

/** What the metrics read at scrape time; every part is optional (absent: no series, or 0). */
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
  /** The hook service's single-writer counters (`HookService.writerCounters`). */
  readonly writer?: () => WriterCounters;
  /** The EMQX link's counters (`--emqx-api-url`). */
  readonly emqxLink?: () => EmqxLinkStats;
}

const BRIDGE_RESULTS = ['bridged', 'duplicates', 'dropped', 'failed', 'unroutable', 'retried', 'abandoned'] as const;

export function stateMetrics(src: () => MetricSources): ScrapeMetric[] {
  const journal = (pick: (s: JournalStats) => number) => (put: Put) => {
    const s = src().journal?.();
    if (s) put({}, pick(s));
  };
  const bridge = (pick: (b: BridgeStats, put: Put) => void) => (put: Put) => {
    const b = src().bridge?.();
    if (b) pick(b, put);
  };
  return [
    {
      name: 'hookwarden_info',
      type: 'gauge',
      help: 'Constant 1, labelled with version, instance name and journal kind',
      labels: ['version', 'instance_name', 'journal'],
      fill: (put) => {
        const i = src().info;
        // not `instance`: Prometheus gives every series its scrape target's `instance` label
        if (i) put({ version: i.version, instance_name: i.instance, journal: i.journal }, 1);
      },
    },
    {
      name: 'hookwarden_ready',
      type: 'gauge',
      help: '1 while ready (see /readyz), else 0',
      fill: (put) => put({}, src().ready?.() === false ? 0 : 1),
    },
    {
      name: 'hookwarden_degraded',
      type: 'gauge',
      help: '1 while a degrade mode is on',
      labels: ['mode'],
      fill: (put) => {
        const mode = src().degraded?.();
        if (mode) put({ mode }, 1);
      },
    },
    {
      name: 'hookwarden_journal_appended_total',
      type: 'counter',
      help: 'Records accepted by the journal',
      fill: journal((s) => s.appended),
    },
    {
      name: 'hookwarden_journal_stored_total',
      type: 'counter',
      help: 'Records the journal stored durably',
      fill: journal((s) => s.stored),
    },
    {
      name: 'hookwarden_journal_pending',
      type: 'gauge',
      help: 'Records not yet stored (buffered or in flight)',
      fill: journal((s) => s.pending),
    },
    {
      name: 'hookwarden_journal_conflicts_total',
      type: 'counter',
      help: 'Appends refused because another writer moved the client on',
      fill: journal((s) => s.conflicts),
    },
    {
      name: 'hookwarden_journal_timeouts_total',
      type: 'counter',
      help: 'Durable appends not acknowledged before their deadline',
      fill: journal((s) => s.timeouts),
    },
    {
      name: 'hookwarden_journal_dropped_total',
      type: 'counter',
      help: 'Notification records dropped (conflict, overload, closed, write error)',
      fill: journal((s) => s.dropped),
    },
    {
      name: 'hookwarden_journal_redone_total',
      type: 'counter',
      help: 'Steps stepped and appended again after a conflict or an append timeout (single writer per client)',
      fill: (put) => put({}, src().writer?.().redone ?? 0),
    },
    {
      name: 'hookwarden_journal_recoveries_total',
      type: 'counter',
      help: 'Clients reloaded from the journal after a conflict or an append timeout',
      fill: (put) => put({}, src().writer?.().recoveries ?? 0),
    },
    {
      name: 'hookwarden_outbox_depth',
      type: 'gauge',
      help: 'Records waiting in the cluster outbox',
      fill: (put) => put({}, src().outboxDepth?.() ?? 0),
    },
    {
      name: 'hookwarden_nats_connected',
      type: 'gauge',
      help: '1 while the NATS connection is up, per purpose',
      labels: ['connection'],
      fill: (put) => {
        for (const l of src().nats?.() ?? []) put({ connection: l.name }, l.connected ? 1 : 0);
      },
    },
    {
      name: 'hookwarden_nats_reconnects_total',
      type: 'counter',
      help: 'NATS reconnections, per purpose',
      labels: ['connection'],
      fill: (put) => {
        for (const l of src().nats?.() ?? []) put({ connection: l.name }, l.reconnects);
      },
    },
    {
      name: 'hookwarden_clients',
      type: 'gauge',
      help: 'Tracked MQTT clients per registry tier (hot, cold, pinned, busy)',
      labels: ['tier'],
      fill: (put) => {
        const s = src().registry?.();
        if (s) for (const tier of ['hot', 'cold', 'pinned', 'busy'] as const) put({ tier }, s[tier]);
      },
    },
    {
      name: 'hookwarden_client_evictions_total',
      type: 'counter',
      help: 'Clients forgotten to stay within registry.max_clients',
      fill: (put) => {
        const s = src().registry?.();
        if (s) put({}, s.evictions);
      },
    },
    {
      name: 'hookwarden_emqx_nodes',
      type: 'gauge',
      help: 'EMQX nodes that loaded hookwarden (and did not unload it), per ExHook generation',
      labels: ['generation'],
      fill: (put) => {
        const counts = { v1: 0, v2: 0, v3: 0 };
        for (const n of src().nodes?.() ?? []) if (n.unloadedAt === undefined) counts[n.generation]++;
        for (const [generation, n] of Object.entries(counts)) put({ generation }, n);
      },
    },
    {
      name: 'hookwarden_emqx_provider_loads_total',
      type: 'counter',
      help: 'OnProviderLoaded calls received (every EMQX node, every reload)',
      fill: (put) =>
        put(
          {},
          (src().nodes?.() ?? []).reduce((n, node) => n + node.loads, 0),
        ),
    },
    {
      name: 'hookwarden_policy_info',
      type: 'gauge',
      help: 'Constant 1, labelled with the running policy revision',
      labels: ['revision'],
      fill: (put) => {
        const p = src().policy?.();
        if (p) put({ revision: p.revision }, 1);
      },
    },
    {
      name: 'hookwarden_policy_reloads_total',
      type: 'counter',
      help: 'Policy changes applied (file change or SIGHUP)',
      fill: (put) => put({}, src().policy?.().reloads ?? 0),
    },
    {
      name: 'hookwarden_policy_refused_total',
      type: 'counter',
      help: 'Policy files refused as invalid (the running policy stayed)',
      fill: (put) => put({}, src().policy?.().refused ?? 0),
    },
    {
      name: 'hookwarden_outbox_records_total',
      type: 'counter',
      help: 'Records kept in the local outbox while NATS was unreachable (kept), and moved into the journal since (flushed)',
      labels: ['event'],
      fill: (put) => {
        const w = src().writer?.();
        put({ event: 'kept' }, w?.outboxed ?? 0);
        put({ event: 'flushed' }, w?.flushed ?? 0);
      },
    },
    {
      name: 'hookwarden_degraded_denials_total',
      type: 'counter',
      help: 'Valued hooks denied by the degrade rules (mode deny, or the outbox full) while NATS was unreachable',
      fill: (put) => put({}, src().writer?.().failedClosed ?? 0),
    },
    {
      name: 'hookwarden_emqx_link_requests_total',
      type: 'counter',
      help: 'EMQX REST calls of the EMQX link, by result',
      labels: ['result'],
      fill: (put) => {
        const l = src().emqxLink?.();
        if (!l) return;
        put({ result: 'kicked' }, l.kicked);
        put({ result: 'not_connected' }, l.notConnected);
        put({ result: 'cache_cleared' }, l.cachesCleared);
        put({ result: 'failed' }, l.failed);
        put({ result: 'retried' }, l.retries);
        put({ result: 'dropped' }, l.dropped);
      },
    },
    {
      name: 'hookwarden_bridge_backlog',
      type: 'gauge',
      help: 'Bridged messages waiting or in flight to NATS',
      fill: bridge((b, put) => put({}, b.backlog)),
    },
    {
      name: 'hookwarden_bridge_backlog_bytes',
      type: 'gauge',
      help: 'Payload bytes waiting or in flight to NATS',
      fill: bridge((b, put) => put({}, b.backlogBytes)),
    },
    {
      name: 'hookwarden_bridge_messages_total',
      type: 'counter',
      help: 'Messages offered to the bridge, by how they ended',
      labels: ['result'],
      fill: bridge((b, put) => {
        for (const result of BRIDGE_RESULTS) put({ result }, b[result]);
      }),
    },
  ];
}
