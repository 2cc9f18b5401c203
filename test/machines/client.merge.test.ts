import { describe, expect, it } from 'vitest';
import { mergeStrict } from '../../machines/client/client.merge.js';
import { stateName, step } from '../../machines/client/client.step.js';
import { aPolicy, connectSequence, ev, run, T0 } from './support.js';

const limited = aPolicy({ limits: { messagesRate: { count: 1, periodMs: 1000 }, messagesBurst: 3 } });
const base = run(connectSequence(T0, undefined, limited)).snapshot;
const publishes = (from: number, n: number) => Array.from({ length: n }, (_, i) => ev.publish(from + i, 10, limited));

describe('mergeStrict', () => {
  it('merge - the rate bucket counts what both sides spent (the fuller bucket wins)', () => {
    const left = run(publishes(T0 + 10, 2), base).snapshot; // 2 of 3 spent here
    const right = run(publishes(T0 + 20, 1), base).snapshot; // 1 of 3 spent there
    const merged = mergeStrict(left, right);
    expect(merged.context.msgTat).toBe(Math.max(left.context.msgTat, right.context.msgTat));
    expect(mergeStrict(right, left).context.msgTat).toBe(merged.context.msgTat);
    // the merged client has at most what the stricter side has left: one more publish, then denied
    expect(step(merged, ev.publish(T0 + 30, 10, limited)).decision?.outcome).toBe('allow');
    const after = step(merged, ev.publish(T0 + 30, 10, limited)).next;
    expect(step(after, ev.publish(T0 + 31, 10, limited)).decision?.outcome).toBe('deny');
  });

  it('merge - a ban on either side holds, with its end and reason, whichever side saw the newer event', () => {
    const banned = step(base, ev.ban(T0 + 10, T0 + 60_000, 'abuse')).next;
    const busy = run(publishes(T0 + 20, 2), base).snapshot; // newer events, not banned
    for (const merged of [mergeStrict(banned, busy), mergeStrict(busy, banned)]) {
      expect(stateName(merged)).toBe('banned');
      expect(merged.context).toMatchObject({ bannedUntil: T0 + 60_000, banNote: 'abuse' });
      expect(step(merged, ev.publish(T0 + 40, 10, limited)).decision?.outcome).toBe('deny');
      expect(merged.context.counters.publishesAllowed).toBe(busy.context.counters.publishesAllowed);
    }
  });

  it('merge - windows are united and stay bounded; lifecycle comes from the newer side', () => {
    const left = run([ev.disconnected(T0 + 10)], base).snapshot;
    const right = run(connectSequence(T0 + 20, undefined, limited), left).snapshot;
    const merged = mergeStrict(left, right);
    expect(stateName(merged)).toBe(stateName(right));
    expect(merged.context.connects).toEqual([...new Set([...left.context.connects, ...right.context.connects])].sort((a, b) => a - b));
    expect(merged.context.connects.length).toBeLessThanOrEqual(Math.max(left.context.connects.length, right.context.connects.length));
  });
});
