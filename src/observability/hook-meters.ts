/**
 * The edge's meters: one `HookCell` per (hook, generation), handed to the
 * edge when it builds its handlers, so a call costs two `performance.now()`
 * readings and a few field increments. Decisions are counted per reason code
 * and outcome in a small map per cell (no string is built per call).
 */
import type { Decision, Outcome, ReasonCode } from '../domain/decision.js';
import type { Generation, HookName } from '../domain/hook-event.js';
import type { EdgeMeters, HookMeter } from '../edge/edge.types.js';
import { CellHistogram, type HistogramCell } from './metric-cells.js';
import type { Put, ScrapeMetric } from './metric-names.js';

export const OUTCOMES: readonly Outcome[] = ['allow', 'deny', 'ignore'];

export class HookCell implements HookMeter {
  readonly hook: HookName;
  readonly generation: Generation;
  /** Answered (valued) or processed (notification) calls and their time, seconds. */
  readonly latency: HistogramCell;
  cancelledCalls = 0;
  undecodableCalls = 0;
  /** Reason code → counts per outcome, in `OUTCOMES` order. */
  readonly decisions = new Map<ReasonCode, [number, number, number]>();

  constructor(hook: HookName, generation: Generation, latency: HistogramCell) {
    this.hook = hook;
    this.generation = generation;
    this.latency = latency;
  }

  /** Every call received: answered, cancelled or undecodable. */
  get calls(): number {
    return this.latency.count + this.cancelledCalls + this.undecodableCalls;
  }

  done(startedAt: number): void {
    this.latency.observe((performance.now() - startedAt) / 1000);
  }

  decided(d: Decision): void {
    let row = this.decisions.get(d.reason.code);
    if (row === undefined) {
      row = [0, 0, 0];
      this.decisions.set(d.reason.code, row);
    }
    row[d.outcome === 'allow' ? 0 : d.outcome === 'deny' ? 1 : 2]++;
  }

  cancelled(): void {
    this.cancelledCalls++;
  }

  undecodable(): void {
    this.undecodableCalls++;
  }
}

/** Every (hook, generation) cell, created when the edge asks for it. */
export class HookMeters implements EdgeMeters {
  readonly #cells = new Map<string, HookCell>();
  readonly #latency: CellHistogram;

  constructor(latency: CellHistogram) {
    this.#latency = latency;
  }

  meter(hook: HookName, generation: Generation): HookCell {
    const key = `${hook} ${generation}`;
    let cell = this.#cells.get(key);
    if (!cell) {
      cell = new HookCell(hook, generation, this.#latency.cell({ hook, generation }));
      this.#cells.set(key, cell);
    }
    return cell;
  }

  cells(): IterableIterator<HookCell> {
    return this.#cells.values();
  }
}

const sum = (row: readonly number[] | undefined): number => (row ? row.reduce((a, b) => a + b, 0) : 0);

/** The counters read from the cells at scrape time (the latency histogram reads them itself). */
export function hookMetrics(meters: HookMeters): ScrapeMetric[] {
  const perCell = (count: (c: HookCell) => number) => (put: Put) => {
    for (const c of meters.cells()) {
      const n = count(c);
      if (n > 0) put({ hook: c.hook, generation: c.generation }, n);
    }
  };
  return [
    {
      name: 'hookwarden_hook_calls_total',
      type: 'counter',
      help: 'Hook calls received from EMQX (answered, cancelled or undecodable), per hook and ExHook generation',
      labels: ['hook', 'generation'],
      fill: perCell((c) => c.calls),
    },
    {
      name: 'hookwarden_hook_cancelled_total',
      type: 'counter',
      help: 'Valued calls EMQX cancelled (or whose deadline passed) before the answer',
      labels: ['hook', 'generation'],
      fill: perCell((c) => c.cancelledCalls),
    },
    {
      name: 'hookwarden_hook_undecodable_total',
      type: 'counter',
      help: 'Calls whose request could not be decoded',
      labels: ['hook', 'generation'],
      fill: perCell((c) => c.undecodableCalls),
    },
    {
      name: 'hookwarden_decisions_total',
      type: 'counter',
      help: 'Decisions answered to valued hooks, per outcome and reason code (fallbacks included)',
      labels: ['hook', 'outcome', 'reason'],
      fill: (put) => {
        // summed over generations (a Map per hook, since one hook has a cell per generation)
        const totals = new Map<string, number>();
        for (const c of meters.cells())
          for (const [reason, row] of c.decisions)
            row.forEach((n, i) => {
              const key = `${c.hook}\u0000${OUTCOMES[i] as string}\u0000${reason}`;
              totals.set(key, (totals.get(key) ?? 0) + n);
            });
        for (const [key, n] of totals) {
          const [hook, outcome, reason] = key.split('\u0000') as [string, string, string];
          if (n > 0) put({ hook, outcome, reason }, n);
        }
      },
    },
    {
      name: 'hookwarden_fallbacks_total',
      type: 'counter',
      help: 'Valued hooks answered with the configured fallback: deadline passed or deciding failed',
      labels: ['hook', 'cause'],
      fill: (put) => {
        const totals = new Map<string, number>();
        for (const c of meters.cells()) {
          for (const [cause, code] of [
            ['deadline', 'deadline.fallback'],
            ['error', 'error.fallback'],
          ] as const) {
            const key = `${c.hook}\u0000${cause}`;
            totals.set(key, (totals.get(key) ?? 0) + sum(c.decisions.get(code)));
          }
        }
        for (const [key, n] of totals) {
          const [hook, cause] = key.split('\u0000') as [string, string];
          if (n > 0) put({ hook, cause }, n);
        }
      },
    },
  ];
}
