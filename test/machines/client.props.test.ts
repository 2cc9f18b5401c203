/** Properties of the client machine (fast-check, bounded runs). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  initialSnapshot,
  packSnapshot,
  stateName,
  step,
  unpackSnapshot,
  type ClientSnapshot,
  type StepResult,
} from '../../machines/client/client.step.js';
import type { ClientEvent } from '../../machines/client/client.types.js';
import { eventsArb } from './arbitraries.js';
import { aPolicy, ev, T0 } from './support.js';

/** What an observer sees of a run: decisions, facts, state names and packed states. */
function observe(from: ClientSnapshot, events: readonly ClientEvent[]): { seen: unknown[]; last: ClientSnapshot } {
  let s = from;
  const seen: unknown[] = [];
  for (const e of events) {
    const r: StepResult = step(s, e);
    seen.push([r.decision ?? null, r.facts, stateName(r.next), packSnapshot(r.next)]);
    s = r.next;
  }
  return { seen, last: s };
}

const rateArb = fc.record({
  count: fc.integer({ min: 1, max: 20 }),
  periodMs: fc.integer({ min: 50, max: 60_000 }),
  burst: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
});

/** Every pair of allowed events bounds the count in the window they span. */
function assertWindowBound(allowed: readonly { at: number; cost: number }[], burst: number, perMs: number): void {
  for (let i = 0; i < allowed.length; i++) {
    let used = 0;
    for (let j = i; j < allowed.length; j++) {
      used += (allowed[j] as { cost: number }).cost;
      const w = (allowed[j] as { at: number }).at - (allowed[i] as { at: number }).at;
      expect(used).toBeLessThanOrEqual(burst + perMs * w + 1e-6);
    }
  }
}

describe('client machine - properties', () => {
  it('client machine - in any window w at most burst + rate*w publishes are allowed', () => {
    fc.assert(
      fc.property(rateArb, fc.array(fc.nat({ max: 3_000 }), { minLength: 1, maxLength: 60 }), (r, gaps) => {
        const policy = aPolicy({ limits: { messagesRate: { count: r.count, periodMs: r.periodMs }, messagesBurst: r.burst } });
        let s = initialSnapshot();
        let at = T0;
        const allowed: { at: number; cost: number }[] = [];
        for (const gap of gaps) {
          at += gap;
          const res = step(s, ev.publish(at, 10, policy));
          if (res.decision?.outcome === 'allow') allowed.push({ at, cost: 1 });
          s = res.next;
        }
        assertWindowBound(allowed, r.burst ?? r.count, r.count / r.periodMs);
      }),
      { numRuns: 200 },
    );
  });

  it('client machine - the same bound holds for bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 5_000 }),
        fc.integer({ min: 100, max: 10_000 }),
        fc.array(fc.tuple(fc.nat({ max: 2_000 }), fc.nat({ max: 3_000 })), { minLength: 1, maxLength: 50 }),
        (count, periodMs, sends) => {
          const policy = aPolicy({ limits: { bytesRate: { count, periodMs } } });
          let s = initialSnapshot();
          let at = T0;
          const allowed: { at: number; cost: number }[] = [];
          for (const [gap, bytes] of sends) {
            at += gap;
            const res = step(s, ev.publish(at, bytes, policy));
            if (res.decision?.outcome === 'allow') allowed.push({ at, cost: bytes });
            s = res.next;
          }
          assertWindowBound(allowed, count, count / periodMs);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('client machine - a new client passes exactly its burst back to back, then one per interval', () => {
    const policy = aPolicy({ limits: { messagesRate: { count: 1, periodMs: 60_000 }, messagesBurst: 5 } });
    let s = initialSnapshot();
    const outcomes: string[] = [];
    for (const at of [0, 0, 0, 0, 0, 0, 59_999, 60_000, 60_001, 120_000]) {
      const r = step(s, ev.publish(T0 + at, 10, policy));
      outcomes.push(r.decision?.outcome ?? '?');
      s = r.next;
    }
    expect(outcomes).toEqual(['allow', 'allow', 'allow', 'allow', 'allow', 'deny', 'deny', 'allow', 'deny', 'allow']);
    expect(s.context.counters).toMatchObject({ publishesAllowed: 7, publishesDenied: 3 });
  });

  it('client machine - replaying the same events gives the same states, facts and decisions', () => {
    fc.assert(
      fc.property(eventsArb(60), (events) => {
        expect(observe(initialSnapshot(), events).seen).toEqual(observe(initialSnapshot(), events).seen);
      }),
      { numRuns: 80 },
    );
  });

  it('client machine - a packed snapshot continues identically', () => {
    fc.assert(
      fc.property(eventsArb(40), eventsArb(40), (before, after) => {
        const mid = observe(initialSnapshot(), before).last;
        const thawed = unpackSnapshot(packSnapshot(mid));
        const later = after.map((e) => ({ ...e, at: e.at + 40 * 1500 })); // continue after `before`
        expect(observe(thawed, later).seen).toEqual(observe(mid, later).seen);
      }),
      { numRuns: 80 },
    );
  });

  it('client machine - nothing is allowed while banned (enforce mode)', () => {
    let bannedChecks = 0;
    fc.assert(
      fc.property(eventsArb(80), (events) => {
        let s = initialSnapshot();
        for (const e of events) {
          const now = Math.max(e.at, s.context.lastAt);
          const banned = s.context.bannedUntil > now;
          const r = step(s, e);
          // the effective mode: an operator's shadow override wins over the policy's
          const enforce = 'policy' in e && !(s.context.override?.shadow ?? e.policy.mode === 'shadow');
          if (banned && r.decision && enforce) {
            bannedChecks++;
            expect(r.decision.outcome).toBe('deny');
            expect(r.decision.reason.code).toMatch(/^banned\./);
          }
          if (banned && e.type !== 'admin.unban') expect(stateName(r.next)).toBe('banned');
          s = r.next;
        }
      }),
      { numRuns: 150 },
    );
    expect(bannedChecks).toBeGreaterThan(0); // the generator does reach bans
  });

  it('client machine - the clock never goes back and facts carry event times', () => {
    fc.assert(
      fc.property(eventsArb(60), (events) => {
        let s = initialSnapshot();
        let max = 0;
        for (const e of events) {
          const r = step(s, e);
          max = Math.max(max, e.at);
          expect(r.next.context.lastAt).toBe(max);
          for (const f of r.facts) expect(f.at).toBe(e.at);
          s = r.next;
        }
      }),
      { numRuns: 80 },
    );
  });
});
