/**
 * Makes decisions visible in logs without letting a flood of denials flood
 * the log: a client's denial is logged at info when its reason changes or at
 * most once a second, with the number suppressed since; allows go to debug.
 */
import { LRUCache } from 'lru-cache';
import type { Decision } from '../domain/decision.js';
import type { Logger } from '../observability/logger.js';

interface Last {
  at: number;
  code: string;
  suppressed: number;
}

export class DecisionLog {
  readonly #last = new LRUCache<string, Last>({ max: 10_000 });
  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  observe(clientId: string, hook: string, d: Decision): void {
    if (d.outcome !== 'deny' && !d.shadowed) {
      if (this.log.isLevelEnabled('debug')) this.log.debug({ clientId, hook, outcome: d.outcome, reason: d.reason }, 'decision');
      return;
    }
    const now = this.now();
    const last = this.#last.get(clientId);
    if (last && last.code === d.reason.code && now - last.at < 1000) {
      last.suppressed++;
      return;
    }
    this.log.info(
      { clientId, hook, outcome: d.outcome, shadowed: d.shadowed ?? false, reason: d.reason, suppressed: last?.suppressed ?? 0 },
      d.shadowed ? 'would deny (shadow mode)' : 'denied',
    );
    this.#last.set(clientId, { at: now, code: d.reason.code, suppressed: 0 });
  }
}
