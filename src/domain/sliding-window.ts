/**
 * PURE: event times in a trailing window (flapping connects, violations).
 *
 * A time `t` is inside the window ending at `now` when `now - windowMs < t`:
 * the window is `(now - windowMs, now]`, so an event exactly `windowMs` old
 * no longer counts. Lists are kept oldest first and never mutated.
 */

/** Hard cap on kept times, whatever a policy says (memory per client stays bounded). */
export const MAX_WINDOW_ENTRIES = 1024;

/** How many of `times` fall in the trailing window ending at `now`. */
export function countInWindow(times: readonly number[], now: number, windowMs: number): number {
  const from = now - windowMs;
  let n = 0;
  for (let i = times.length - 1; i >= 0; i--) {
    const t = times[i] as number;
    if (t > from) n++;
    else break; // oldest first: everything before is older
  }
  return n;
}

/**
 * `times` with `now` appended, times outside the window dropped and at most
 * `keep` (and `MAX_WINDOW_ENTRIES`) of the newest kept.
 */
export function pushInWindow(times: readonly number[], now: number, windowMs: number, keep: number): number[] {
  const limit = Math.max(1, Math.min(keep, MAX_WINDOW_ENTRIES));
  const from = now - windowMs;
  const out: number[] = [];
  for (const t of times) if (t > from) out.push(t);
  out.push(now);
  return out.length > limit ? out.slice(out.length - limit) : out;
}
