/** The operator's override (admin.override / admin.clear_override): kept in the context, applied over every event's policy. */
import { describe, expect, it } from 'vitest';
import { fastStep } from '../../machines/client/client.fast.js';
import {
  canRestore,
  initialSnapshot,
  isForgettable,
  MACHINE_VERSION,
  packSnapshot,
  step,
  stepInterpreted,
  unpackSnapshot,
} from '../../machines/client/client.step.js';
import { aPolicy, connectSequence, ev, factTypes, run, T0 } from './support.js';

const limited = aPolicy({ name: 'sensors', limits: { messagesRate: { count: 10, periodMs: 1000 }, messagesBurst: 10, maxPayload: 100 } });
const deny = { permission: 'deny' as const, rule: 0, detail: 'deny all' };

describe('client machine - operator override', () => {
  it('client override - tighter limits apply from the next publish, explained as "<policy>+override"', () => {
    const { snapshot } = run([
      ...connectSequence(T0, undefined, limited),
      ev.override(T0 + 10, { limits: { messagesRate: { count: 1, periodMs: 1000 }, messagesBurst: 1 } }),
    ]);
    expect(snapshot.context.override).toMatchObject({ note: 'tuning', since: T0 + 10, limits: { messagesBurst: 1 } });
    const first = step(snapshot, ev.publish(T0 + 20, 10, limited));
    expect(first.decision?.outcome).toBe('allow');
    const second = step(first.next, ev.publish(T0 + 21, 10, limited));
    expect(second.decision).toMatchObject({
      outcome: 'deny',
      reason: { code: 'limit.messages_rate', policy: 'sensors+override', values: { burst: 1 } },
    });
    // max_payload of the policy still holds (the override merges limit by limit)
    expect(step(snapshot, ev.publish(T0 + 20, 500, limited)).decision?.reason.code).toBe('limit.max_payload');
  });

  it('client override - null removes a limit the policy sets; a rate without burst gets its own burst', () => {
    const { snapshot } = run([ev.override(T0, { limits: { maxPayload: null, messagesRate: { count: 2, periodMs: 1000 } } })]);
    expect(step(snapshot, ev.publish(T0 + 1, 5000, limited)).decision?.outcome).toBe('allow');
    const outcomes = run(
      [1, 2, 3].map((i) => ev.publish(T0 + 1 + i, 1, limited)),
      snapshot,
    ).results.map((r) => r.decision?.outcome);
    expect(outcomes).toEqual(['allow', 'allow', 'deny']); // burst 2 (the override's rate count), not the policy's 10
  });

  it('client override - shadow: true answers allow (shadowed) what the policy denies; shadow: false enforces a shadow policy', () => {
    const enforce = aPolicy({ noMatch: 'deny' });
    const shadowed = run([ev.override(T0, { shadow: true })]).snapshot;
    const d = step(shadowed, ev.authorize(T0 + 1, 'publish', 'x', deny, enforce)).decision;
    expect(d).toMatchObject({ outcome: 'allow', shadowed: true, reason: { code: 'acl.rule', policy: 'test+override' } });
    const shadowPolicy = aPolicy({ mode: 'shadow' });
    expect(step(initialSnapshot(), ev.authorize(T0, 'publish', 'x', deny, shadowPolicy)).decision?.outcome).toBe('allow');
    const enforced = run([ev.override(T0, { shadow: false })]).snapshot;
    expect(step(enforced, ev.authorize(T0 + 1, 'publish', 'x', deny, shadowPolicy)).decision).toMatchObject({ outcome: 'deny' });
  });

  it('client override - a new override replaces the old; clearing restores the policy; clearing none is stale', () => {
    const r = run([
      ev.override(T0, { shadow: true, limits: { maxPayload: 1 } }, 'first'),
      ev.override(T0 + 1, { limits: { maxPayload: 2 } }, 'second'),
      ev.clearOverride(T0 + 2),
      ev.clearOverride(T0 + 3),
    ]);
    expect(r.results.map((x) => factTypes(x.facts))).toEqual([
      ['OverrideSet'],
      ['OverrideSet'],
      ['OverrideCleared'],
      ['StaleEventIgnored'],
    ]);
    expect(r.results[0]?.facts[0]).toEqual({ type: 'OverrideSet', at: T0, note: 'first', shadow: true, limits: { maxPayload: 1 } });
    expect(r.results[2]?.facts[0]).toEqual({ type: 'OverrideCleared', at: T0 + 2, by: 'admin', note: 'second' });
    expect(r.results[3]?.facts[0]).toMatchObject({ why: 'no_override', event: 'admin.clear_override' });
    expect(r.results[1]?.next.context.override).toEqual({ note: 'second', since: T0 + 1, limits: { maxPayload: 2 } }); // shadow is gone
    expect(r.snapshot.context.override).toBeNull();
    expect(step(r.snapshot, ev.publish(T0 + 5, 50, limited)).decision?.reason.policy).toBe('sensors');
  });

  it('client override - changed limits start with full buckets; shadow alone or the same limits do not refill them', () => {
    const slow = { limits: { messagesRate: { count: 1, periodMs: 60_000 }, messagesBurst: 1 } };
    const out = (events: ReturnType<typeof ev.publish>[], from = initialSnapshot()) =>
      run(events, from).results.map((r) => r.decision?.outcome ?? '-');
    const { snapshot } = run([ev.override(T0, slow), ev.publish(T0 + 1, 1, limited)]);
    expect(snapshot.context.msgTat).toBe(T0 + 1 + 60_000);
    expect(out([ev.publish(T0 + 2, 1, limited)], snapshot)).toEqual(['deny']);
    // the same limits again, or shadow only: the debt stays
    expect(run([ev.override(T0 + 2, slow)], snapshot).snapshot.context.msgTat).toBe(T0 + 1 + 60_000);
    expect(run([ev.override(T0 + 2, { ...slow, shadow: false })], snapshot).snapshot.context.msgTat).toBe(T0 + 1 + 60_000);
    // cleared: the policy's 10/s bucket, full
    const cleared = run([ev.clearOverride(T0 + 3)], snapshot).snapshot;
    expect(cleared.context.msgTat).toBe(0);
    expect(out([ev.publish(T0 + 4, 1, limited), ev.publish(T0 + 5, 1, limited)], cleared)).toEqual(['allow', 'allow']);
    // other limits: a full bucket of the new ones
    const other = run([ev.override(T0 + 3, { limits: { messagesRate: { count: 2, periodMs: 60_000 } } })], snapshot).snapshot;
    expect(
      out(
        [3, 4, 5].map((i) => ev.publish(T0 + i, 1, limited)),
        other,
      ),
    ).toEqual(['allow', 'allow', 'deny']);
  });

  it('client override - the fast path and the interpreter agree under an override', () => {
    const { snapshot } = run([...connectSequence(T0, undefined, limited), ev.override(T0 + 10, { limits: { maxPayload: 20 } })]);
    const ok = ev.publish(T0 + 11, 5, limited);
    expect(fastStep(snapshot, ok)).toBeDefined();
    expect(step(snapshot, ok)).toEqual(stepInterpreted(snapshot, ok));
    const big = ev.publish(T0 + 11, 50, limited); // within the policy's 100, over the override's 20
    expect(fastStep(snapshot, big)).toBeUndefined();
    expect(step(snapshot, big).decision?.reason.code).toBe('limit.max_payload');
  });

  it('client override - packs and unpacks exactly; a client with an override is never forgotten', () => {
    const s = run([
      ev.override(
        T0,
        { shadow: false, limits: { messagesRate: { count: 3, periodMs: 60_000 }, bytesRate: null, maxSubscriptions: 0 } },
        'why: "x" 🚫',
      ),
      ev.publish(T0 + 5, 1, limited),
    ]).snapshot;
    const packed = packSnapshot(s);
    expect(unpackSnapshot(packed).context).toEqual(s.context);
    expect(packSnapshot(unpackSnapshot(packed))).toBe(packed);
    expect(isForgettable(s, T0 + 1e9)).toBe(false);
    expect(isForgettable(run([ev.clearOverride(T0 + 6)], s).snapshot, T0 + 1e9)).toBe(true);
  });

  it('client override - a snapshot packed by the previous machine version (client-1.1) still restores', () => {
    expect(MACHINE_VERSION).toBe('client-2.1');
    expect(canRestore('client-1.1')).toBe(true);
    expect(canRestore(MACHINE_VERSION)).toBe(true);
    expect(canRestore('client-9.1')).toBe(false);
    const s = run([...connectSequence(T0, undefined, limited), ev.ban(T0 + 10, T0 + 5000, 'abuse')]).snapshot;
    const v1 = packSnapshot(s).replace(/^\[2,/, '[1,');
    const back = unpackSnapshot(v1);
    expect(back.context).toEqual(s.context);
    expect(back.value).toEqual(s.value);
  });
});
