/**
 * The hook counts an instance announces (docs/CLUSTER.md §Membership), read
 * once per heartbeat from the edge's meters (src/observability/hook-meters.ts),
 * which count every call anyway: membership adds nothing to the hook path.
 */
import { isValuedHook } from '../domain/hook-event.js';

export interface HookCounts {
  /** Every hook call since start (valued and notifications). */
  readonly hooks: number;
  /** Valued hook calls since start. */
  readonly valued: number;
}

/** What membership reads of one meter cell: its hook and its calls so far. */
export interface CountedCell {
  readonly hook: string;
  readonly calls: number;
}

/** Totals over the cells (one per hook and generation). */
export function sumHookCounts(cells: Iterable<CountedCell>): HookCounts {
  let hooks = 0;
  let valued = 0;
  for (const c of cells) {
    hooks += c.calls;
    if (isValuedHook(c.hook)) valued += c.calls;
  }
  return { hooks, valued };
}
