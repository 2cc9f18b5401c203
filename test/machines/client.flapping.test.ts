/** Flapping and quarantine: counted by event time, banned/quarantined until the time passes. */
import { describe, expect, it } from 'vitest';
import { stateName, step, type ClientSnapshot } from '../../machines/client/client.step.js';
import type { ClientEvent } from '../../machines/client/client.types.js';
import { aPolicy, ev, run, T0 } from './support.js';

const flapping = aPolicy({ flapping: { maxCount: 3, windowMs: 60_000, banMs: 300_000 } });

/** Connect then authenticate at `at`; the authenticate decision's outcome and code. */
function attempt(s: ClientSnapshot, at: number): { s: ClientSnapshot; outcome: string; code: string; facts: string[] } {
  const c = step(s, ev.connect(at, undefined, flapping));
  const a = step(c.next, ev.authenticate(at, 'ok', flapping));
  return {
    s: a.next,
    outcome: a.decision?.outcome ?? '?',
    code: a.decision?.reason.code ?? '?',
    facts: [...c.facts, ...a.facts].map((f) => f.type),
  };
}

describe('client machine - flapping', () => {
  it('client machine - with maxCount 3 the 4th connect in the window is refused until banMs passes', () => {
    let s = run([]).snapshot;
    const outcomes: string[] = [];
    for (const at of [0, 1_000, 2_000, 3_000]) {
      const r = attempt(s, T0 + at);
      outcomes.push(r.outcome);
      s = r.s;
    }
    expect(outcomes).toEqual(['allow', 'allow', 'allow', 'deny']);
    expect(stateName(s)).toBe('banned');
    expect(s.context.bannedUntil).toBe(T0 + 3_000 + 300_000);
    expect(s.context.last?.reason.code).toBe('banned.flapping');
    // Still refused just before the end of the ban, by event time.
    const before = attempt(s, T0 + 302_999);
    expect(before.outcome).toBe('deny');
    // Allowed once the ban is over; the lift is reported first.
    const after = attempt(before.s, T0 + 303_000);
    expect(after.outcome).toBe('allow');
    expect(after.facts).toEqual(['BanLifted', 'ClientConnecting']);
  });

  it('client machine - the ban fact carries the connects counted', () => {
    const { results } = run([0, 1, 2, 3].map((i) => ev.connect(T0 + i, undefined, flapping)));
    expect(results[3]?.facts.find((f) => f.type === 'ClientBanned')).toMatchObject({
      reason: 'flapping',
      until: T0 + 3 + 300_000,
      connects: 4,
    });
  });

  it('client machine - connects during a ban are not counted: the window starts fresh after it', () => {
    let s = run([0, 1, 2, 3].map((i) => ev.connect(T0 + i, undefined, flapping))).snapshot;
    for (let i = 0; i < 20; i++) {
      const r = step(s, ev.connect(T0 + 10_000 + i * 1_000, undefined, flapping));
      expect(r.facts.map((f) => f.type)).toEqual(['ClientConnecting']); // no new ban
      s = r.next;
    }
    expect(s.context.bannedUntil).toBe(T0 + 3 + 300_000); // not extended
    expect(s.context.connects).toEqual([]);
    // After the ban: three connects pass again, the fourth in the window bans again.
    const outcomes: string[] = [];
    for (const at of [400_000, 400_001, 400_002, 400_003]) {
      const r = attempt(s, T0 + at);
      outcomes.push(r.outcome);
      s = r.s;
    }
    expect(outcomes).toEqual(['allow', 'allow', 'allow', 'deny']);
  });

  it('client machine - connects spread wider than the window never ban', () => {
    const events: ClientEvent[] = Array.from({ length: 30 }, (_, i) => ev.connect(T0 + i * 20_001, undefined, flapping));
    const { snapshot } = run(events);
    expect(stateName(snapshot)).toBe('connecting');
    expect(snapshot.context.connects.length).toBeLessThanOrEqual(4);
  });

  it('client machine - without a flapping policy nothing is counted', () => {
    const { snapshot } = run(Array.from({ length: 50 }, (_, i) => ev.connect(T0 + i)));
    expect(snapshot.context.connects).toEqual([]);
    expect(snapshot.context.counters.connects).toBe(50);
  });
});

describe('client machine - quarantine', () => {
  const strict = aPolicy({
    limits: { maxPayload: 10 },
    quarantine: { maxViolations: 2, windowMs: 10_000, durationMs: 60_000 },
  });

  it('client machine - more than maxViolations in the window quarantines from that violation', () => {
    const { results, snapshot } = run([1, 2, 3].map((i) => ev.publish(T0 + i * 100, 50, strict)));
    expect(results.map((r) => r.decision?.reason.code)).toEqual(['limit.max_payload', 'limit.max_payload', 'limit.max_payload']);
    expect(results[2]?.facts.map((f) => f.type)).toEqual(['PublishDenied', 'ViolationRecorded', 'ClientQuarantined']);
    expect(results[1]?.facts[1]).toMatchObject({ type: 'ViolationRecorded', count: 2, max: 2, windowMs: 10_000 });
    expect(stateName(snapshot)).toBe('quarantined');
    expect(snapshot.context.quarantinedUntil).toBe(T0 + 300 + 60_000);
    expect(snapshot.context.recent.map((v) => v.code)).toEqual(['limit.max_payload', 'limit.max_payload', 'limit.max_payload']);
    // Quarantined: even a small publish is denied, and that is not a new violation.
    const small = step(snapshot, ev.publish(T0 + 1_000, 1, strict));
    expect(small.decision?.reason.code).toBe('quarantined');
    expect(small.facts.map((f) => f.type)).toEqual(['PublishDenied']);
    // Over by event time.
    const later = step(small.next, ev.publish(T0 + 300 + 60_000, 1, strict));
    expect(later.decision?.outcome).toBe('allow');
    expect(later.facts.map((f) => f.type)).toEqual(['QuarantineLifted']);
  });

  it('client machine - violations spread wider than the window do not quarantine', () => {
    const { snapshot } = run([0, 6_000, 12_000, 18_000, 24_000].map((t) => ev.publish(T0 + t, 50, strict)));
    expect(stateName(snapshot)).toBe('idle');
    expect(snapshot.context.recent).toHaveLength(5);
  });

  it('client machine - shadow mode records the quarantine but answers allow', () => {
    const shadow = { ...strict, mode: 'shadow' as const };
    const { results, snapshot } = run([1, 2, 3, 4].map((i) => ev.publish(T0 + i, 50, shadow)));
    expect(results.map((r) => [r.decision?.outcome, r.decision?.shadowed])).toEqual([
      ['allow', true],
      ['allow', true],
      ['allow', true],
      ['allow', true],
    ]);
    expect(results[3]?.decision?.reason.code).toBe('quarantined');
    expect(stateName(snapshot)).toBe('quarantined');
    expect(snapshot.context.counters.publishesDenied).toBe(4);
  });
});
