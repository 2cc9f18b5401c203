/**
 * Every metric hookwarden registers (docs/OPERATIONS.md §Metrics describes
 * each; the Grafana dashboard test holds the dashboard to this list).
 */
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
  'hookwarden_journal_redone_total',
  'hookwarden_journal_recoveries_total',
  'hookwarden_outbox_depth',
  'hookwarden_outbox_records_total',
  'hookwarden_degraded_denials_total',
  'hookwarden_nats_connected',
  'hookwarden_nats_reconnects_total',
  'hookwarden_clients',
  'hookwarden_client_evictions_total',
  'hookwarden_emqx_nodes',
  'hookwarden_emqx_provider_loads_total',
  'hookwarden_emqx_link_requests_total',
  'hookwarden_policy_info',
  'hookwarden_policy_reloads_total',
  'hookwarden_policy_refused_total',
  'hookwarden_bridge_backlog',
  'hookwarden_bridge_backlog_bytes',
  'hookwarden_bridge_messages_total',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** Gives one series its value at scrape time. */
export type Put = (labels: Record<string, string>, value: number) => void;

/** A metric read at scrape time: `fill` puts every series it has now. */
export interface ScrapeMetric {
  readonly name: MetricName;
  readonly type: 'gauge' | 'counter';
  readonly help: string;
  readonly labels?: readonly string[];
  readonly fill: (put: Put) => void;
}
