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
