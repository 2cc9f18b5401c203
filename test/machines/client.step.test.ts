/**
 * `step` against the references: XState's own `transition()` (an actor per
 * call), `stepInterpreted` (the module-scope interpreter) and the fast path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import {
  clientMachine,
  initialSnapshot,
  isForgettable,
  MACHINE_VERSION,
  packSnapshot,
  stateName,
  step,
  stepInterpreted,
  unpackSnapshot,
  type ClientSnapshot,
} from '../../machines/client/client.step.js';
import type { ClientEvent, ClientFact, MachineEvent } from '../../machines/client/client.types.js';
import { eventsArb } from './arbitraries.js';
import { aPolicy, connectSequence, ev, run, T0 } from './support.js';

const factsOf = (actions: readonly { type: string; params?: unknown }[]): ClientFact[] =>
  actions.filter((a) => a.type === 'xstate.emit').map((a) => (a.params as { event: ClientFact }).event);

/** What `step` does, with XState's exported `transition()` (one actor per call). */
function referenceStep(s: ClientSnapshot, e: ClientEvent): { next: ClientSnapshot; facts: ClientFact[] } {
  const facts: ClientFact[] = [];
  let cur = s;
  const c = cur.context;
  const now = Math.max(e.at, c.lastAt);
  if ((c.bannedUntil !== 0 && now >= c.bannedUntil) || (c.quarantinedUntil !== 0 && now >= c.quarantinedUntil)) {
    const tick: MachineEvent = { type: 'clock.tick', at: e.at };
    const [afterTick, actions] = transition(clientMachine, cur, tick);
    facts.push(...factsOf(actions));
    cur = afterTick;
  }
  const [next, actions] = transition(clientMachine, cur, e);
  facts.push(...factsOf(actions));
  return { next, facts };
}

describe('client step - equivalences', () => {
  it('client step - the initial snapshot is XState initialTransition', () => {
    const [s] = initialTransition(clientMachine);
    expect(initialSnapshot().value).toEqual(s.value);
    expect(initialSnapshot().context).toEqual(s.context);
    expect(stateName(initialSnapshot())).toBe('idle');
  });

  it('client step - stepInterpreted equals XState transition() on any sequence', () => {
    fc.assert(
      fc.property(eventsArb(40), (events) => {
        let a = initialSnapshot();
        let b = initialSnapshot();
        for (const e of events) {
          const mine = stepInterpreted(a, e);
          const ref = referenceStep(b, e);
          expect(mine.next.value).toEqual(ref.next.value);
          expect(mine.next.context).toEqual(ref.next.context);
          expect(mine.facts).toEqual(ref.facts);
          a = mine.next;
          b = ref.next;
        }
      }),
      { numRuns: 60 },
    );
  });

  it('client step - the fast path equals the interpreter on any sequence', () => {
    fc.assert(
      fc.property(eventsArb(80), (events) => {
        let a = initialSnapshot();
        let b = initialSnapshot();
        for (const e of events) {
          const fast = step(a, e);
          const slow = stepInterpreted(b, e);
          expect(fast.next.value).toEqual(slow.next.value);
          expect(fast.next.context).toEqual(slow.next.context);
          expect(fast.facts).toEqual(slow.facts);
          expect(fast.decision).toEqual(slow.decision);
          expect(fast.next.status).toBe('active');
          a = fast.next;
          b = slow.next;
        }
      }),
      { numRuns: 150 },
    );
  });

  it('client step - a fast-path snapshot keeps working in the interpreter', () => {
    const { snapshot } = run([...connectSequence(T0), ev.delivered(T0 + 10), ev.publish(T0 + 11)]);
    expect(snapshot.matches({ lifecycle: 'connected' })).toBe(true);
    const r = stepInterpreted(snapshot, ev.disconnected(T0 + 12));
    expect(stateName(r.next)).toBe('disconnected');
    expect(r.next.context.counters).toMatchObject({ delivered: 1, publishesAllowed: 1 });
  });
});

describe('client step - helpers', () => {
  it('client step - decisions only for the valued hooks', () => {
    const { results } = run([...connectSequence(T0), ev.delivered(T0 + 5), ev.publish(T0 + 6)]);
    expect(results.map((r) => r.decision?.outcome ?? '-')).toEqual(['-', 'allow', '-', '-', '-', '-', 'allow']);
  });

  it('client step - isForgettable is false while a ban or quarantine is active', () => {
    const banned = run([ev.ban(T0, T0 + 1000)]).snapshot;
    expect(isForgettable(banned, T0 + 999)).toBe(false);
    expect(isForgettable(banned, T0 + 1000)).toBe(true);
    const quarantined = run([ev.quarantine(T0, T0 + 500)]).snapshot;
    expect(isForgettable(quarantined, T0 + 10)).toBe(false);
    expect(isForgettable(initialSnapshot(), T0)).toBe(true);
  });

  it('client step - MACHINE_VERSION names the machine and the pack format', () => {
    expect(MACHINE_VERSION).toMatch(/^client-\d+\.\d+$/);
  });
});

describe('client step - packing', () => {
  const typical = run([
    ...connectSequence(T0, 'emqx@10.0.0.2|10.1.2.3|51234', aPolicy({ limits: { messagesRate: { count: 10, periodMs: 1000 } } })),
    ev.subscribed(T0 + 10, 'devices/device-000123456/cmd'),
    ev.publish(T0 + 20, 120, aPolicy({ limits: { messagesRate: { count: 10, periodMs: 1000 } } })),
  ]).snapshot;

  it('client step - a packed snapshot unpacks to the same state and packs identically', () => {
    const packed = packSnapshot(typical);
    const back = unpackSnapshot(packed);
    expect(back.value).toEqual(typical.value);
    expect(back.context).toEqual(typical.context);
    expect(packSnapshot(back)).toBe(packed);
  });

  it('client step - a typical idle client packs small', () => {
    expect(packSnapshot(typical).length).toBeLessThan(200);
    expect(packSnapshot(initialSnapshot()).length).toBeLessThan(20);
  });

  it('client step - every reachable snapshot round-trips', () => {
    fc.assert(
      fc.property(eventsArb(50), (events) => {
        let s = initialSnapshot();
        for (const e of events) {
          s = step(s, e).next;
          const packed = packSnapshot(s);
          const back = unpackSnapshot(packed);
          expect(back.value).toEqual(s.value);
          expect(packSnapshot(back)).toBe(packed);
          expect(back.context.last).toEqual(s.context.last);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('client step - strings with any characters survive', () => {
    const odd = 'emqx@ä|"\\\n|1';
    const s = run([ev.connect(T0, odd), ev.subscribed(T0 + 1, 'tøpic/"q"/\u2028', odd), ev.ban(T0 + 2, T0 + 5, 'why: "x" 🚫')]).snapshot;
    const back = unpackSnapshot(packSnapshot(s));
    expect(back.context).toEqual(s.context);
  });

  it('client step - a ban "forever" is capped, explained and packed', () => {
    const s = run([ev.ban(T0, Infinity, 'forever'), ev.authenticate(T0 + 1)]).snapshot;
    expect(s.context.bannedUntil).toBe(8.64e15);
    expect(s.context.last?.reason.detail).toContain('+275760-09-13');
    expect(unpackSnapshot(packSnapshot(s)).context).toEqual(s.context);
  });

  it('client step - unpack rejects what pack did not produce', () => {
    for (const bad of ['', 'null', '{}', '[]', '[99]', '[1,"x"]', '[1,999,0]']) {
      expect(() => unpackSnapshot(bad)).toThrow(RangeError);
    }
  });
});
