/**
 * Hot-path measurement without prom-client on the hot path: a "cell" is a
 * plain object with number fields, created once per label set and bumped
 * directly (a few nanoseconds; prom-client's `observe` hashes its labels on
 * every call, ~0.4 µs). prom-client reads the cells at scrape time:
 * `CellHistogram` is a prom-client-compatible metric whose `get()` builds the
 * usual `_bucket`/`_sum`/`_count` series from its cells.
 */
import type { Metric, MetricValueWithName, Registry } from 'prom-client';

/** Latency buckets, seconds: a synchronous answer takes tens of µs, a durable append a few ms. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/** One label set of a histogram: bucket counts (not cumulative; the last is +Inf), sum and count. */
export class HistogramCell {
  count = 0;
  sum = 0;
  readonly buckets: Float64Array;
  readonly #bounds: readonly number[];

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.buckets = new Float64Array(bounds.length + 1);
  }

  /** Record one value, in seconds. */
  observe(seconds: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && seconds > (bounds[i] as number)) i++;
    this.buckets[i]! += 1;
    this.count++;
    this.sum += seconds;
  }
}

type Labels = Readonly<Record<string, string>>;

/**
 * A histogram over cells. `cell(labels)` is resolved once by the caller and
 * kept; series are exported only for cells that observed something.
 */
export class CellHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  readonly #cells = new Map<string, { labels: Labels; cell: HistogramCell }>();

  constructor(opts: { name: string; help: string; buckets?: readonly number[]; registers?: readonly Registry[] }) {
    this.name = opts.name;
    this.help = opts.help;
    this.#bounds = opts.buckets ?? LATENCY_BUCKETS;
    // prom-client accepts any object with this metric shape; its Metric type lists only its own classes.
    for (const r of opts.registers ?? []) r.registerMetric(this as unknown as Metric);
  }

  /** The cell of one label set (created on first use; keep it). */
  cell(labels: Labels): HistogramCell {
    const key = JSON.stringify(labels);
    let entry = this.#cells.get(key);
    if (!entry) {
      entry = { labels, cell: new HistogramCell(this.#bounds) };
      this.#cells.set(key, entry);
    }
    return entry.cell;
  }

  /** Called by prom-client's registry at scrape time. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValueWithName<string>[] }> {
    const values: MetricValueWithName<string>[] = [];
    for (const { labels, cell } of this.#cells.values()) {
      if (cell.count === 0) continue;
      let cumulative = 0;
      for (let i = 0; i <= this.#bounds.length; i++) {
        cumulative += cell.buckets[i] ?? 0;
        const le = i < this.#bounds.length ? (this.#bounds[i] as number) : '+Inf';
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels: { ...labels }, value: cell.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...labels }, value: cell.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const { cell } of this.#cells.values()) {
      cell.count = 0;
      cell.sum = 0;
      cell.buckets.fill(0);
    }
  }
}
