/**
 * PURE: the Generic Cell Rate Algorithm (a token bucket kept as one number).
 *
 * The state is the theoretical arrival time `tat` (epoch ms): the time at which
 * the bucket would be full again. `0` means "never used", i.e. a full bucket.
 * A request of `cost` units conforms when, after adding `cost * interval` to
 * `max(tat, now)`, the bucket is still within its capacity:
 *
 *     newTat = max(tat, now) + cost * interval
 *     conforms  <=>  newTat - now <= capacity * interval
 *
 * Consequences (the properties the tests check):
 * - a fresh bucket lets exactly `capacity` unit requests through back to back;
 * - over any window of `w` ms at most `capacity + w / interval` units conform;
 * - a rejected request changes nothing (the caller keeps the old `tat`);
 * - a request costing more than `capacity` never conforms.
 */
import type { Rate } from './policy.types.js';

/** The returned `tat` when a request does not conform (a real `tat` is never negative). */
export const GCRA_REJECT = -1;

/** A bucket's shape: `interval` ms per unit (1 / rate), `capacity` units (the burst). */
export interface GcraLimit {
  readonly interval: number;
  readonly capacity: number;
}

/**
 * The bucket for a `Rate` and an optional burst. Without a burst the capacity
 * is the rate's `count` (`10/s` lets 10 through at once, then one every 100 ms).
 * A rate of 0 (or a non-finite interval) lets only zero-cost requests through.
 */
export function gcraLimit(rate: Rate, burst?: number): GcraLimit {
  const interval = rate.count > 0 ? rate.periodMs / rate.count : Infinity;
  const capacity = burst ?? rate.count;
  return { interval, capacity: capacity > 0 ? capacity : 0 };
}

/** The new `tat` if `cost` units conform at `now`, else `GCRA_REJECT`. Never throws. */
export function gcraTake(tat: number, now: number, cost: number, limit: GcraLimit): number {
  if (cost <= 0) return tat;
  const { interval, capacity } = limit;
  if (!(interval < Infinity) || !(interval >= 0)) return GCRA_REJECT;
  const next = (tat > now ? tat : now) + cost * interval;
  return next - now <= capacity * interval ? next : GCRA_REJECT;
}

/** Units available at `now` (0..capacity), rounded down: what a request could still spend. */
export function gcraAvailable(tat: number, now: number, limit: GcraLimit): number {
  const { interval, capacity } = limit;
  if (!(interval < Infinity) || interval <= 0) return interval === 0 ? capacity : 0;
  const used = tat > now ? (tat - now) / interval : 0;
  const left = Math.floor(capacity - used + 1e-9);
  return left > 0 ? left : 0;
}

/** Ms from `now` until `cost` units would conform; `Infinity` when they never can. */
export function gcraRetryAfter(tat: number, now: number, cost: number, limit: GcraLimit): number {
  const { interval, capacity } = limit;
  if (cost <= 0) return 0;
  if (!(interval < Infinity) || cost > capacity) return Infinity;
  const wait = (tat > now ? tat : now) + cost * interval - now - capacity * interval;
  return wait > 0 ? Math.ceil(wait) : 0;
}
