/**
 * A fixed-size log-linear latency histogram in microseconds (HDR style:
 * 128 sub-buckets per power of two, so every value is kept within 0.8 %).
 * Counts are a plain array so workers can send them to the runner and the
 * runner can merge rounds.
 */

const SUB_BITS = 7;
const SUB = 1 << SUB_BITS; // 128
/** Values below 2*SUB µs are exact; above, each octave has SUB buckets. Up to 2^31 µs (~36 min). */
export const BUCKETS = 2 * SUB + (31 - SUB_BITS) * SUB;

export function bucketOf(us: number): number {
  const v = us <= 0 ? 0 : Math.min(Math.floor(us), 0x7fffffff);
  if (v < 2 * SUB) return v;
  const shift = 31 - Math.clz32(v) - SUB_BITS; // v >> shift is in [SUB, 2*SUB)
  return 2 * SUB + (shift - 1) * SUB + ((v >>> shift) - SUB);
}

/** The middle of bucket `b` in µs. */
export function valueOf(b: number): number {
  if (b < 2 * SUB) return b;
  const shift = Math.floor((b - 2 * SUB) / SUB) + 1;
  const m = ((b - 2 * SUB) % SUB) + SUB;
  return m * 2 ** shift + 2 ** (shift - 1);
}

export class Histogram {
  readonly counts: number[] = new Array<number>(BUCKETS).fill(0);
  total = 0;
  maxUs = 0;

  record(us: number): void {
    const b = bucketOf(us);
    this.counts[b] = (this.counts[b] ?? 0) + 1;
    this.total += 1;
    if (us > this.maxUs) this.maxUs = us;
  }

  merge(other: HistogramData): void {
    for (let i = 0; i < BUCKETS; i += 1) this.counts[i] = (this.counts[i] ?? 0) + (other.counts[i] ?? 0);
    this.total += other.total;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }

  data(): HistogramData {
    return { counts: [...this.counts], total: this.total, maxUs: this.maxUs };
  }
}

export interface HistogramData {
  readonly counts: readonly number[];
  readonly total: number;
  readonly maxUs: number;
}

/** The q-quantile (0..1) in µs, or 0 for an empty histogram. */
export function quantileUs(h: HistogramData, q: number): number {
  if (h.total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * h.total));
  let seen = 0;
  for (let b = 0; b < h.counts.length; b += 1) {
    seen += h.counts[b] ?? 0;
    if (seen >= rank) return Math.min(valueOf(b), h.maxUs);
  }
  return h.maxUs;
}
