import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backlog } from '../../src/bridge/backlog.js';

describe('bridge backlog', () => {
  it('bridge backlog - refuses what exceeds the item or byte bound, counting items in flight', () => {
    const b = new Backlog<string>(3, 10);
    expect(b.push('a', 4)).toBe(true);
    expect(b.push('b', 4)).toBe(true);
    expect(b.push('big', 3)).toBe(false); // 11 bytes > 10
    expect(b.push('c', 2)).toBe(true);
    expect(b.push('d', 0)).toBe(false); // 4 items > 3
    expect(b.shift()).toEqual({ item: 'a', bytes: 4 });
    expect([b.length, b.waiting, b.inFlight, b.bytes]).toEqual([3, 2, 1, 10]);
    expect(b.push('d', 0)).toBe(false); // 'a' is in flight: still held
    b.finish(4);
    expect(b.push('d', 0)).toBe(true);
    expect([b.shift()?.item, b.shift()?.item, b.shift()?.item, b.shift()]).toEqual(['b', 'c', 'd', undefined]);
    expect(b.clearWaiting()).toBe(0);
  });

  it('bridge backlog - behaves as a bounded FIFO model through wrap-around and growth', () => {
    type Op = { op: 'push'; bytes: number } | { op: 'shift' } | { op: 'finish' } | { op: 'clear' };
    const ops = fc.array(
      fc.oneof(
        { arbitrary: fc.record({ op: fc.constant('push' as const), bytes: fc.nat(20) }), weight: 8 },
        { arbitrary: fc.constant({ op: 'shift' as const }), weight: 4 },
        { arbitrary: fc.constant({ op: 'finish' as const }), weight: 3 },
        { arbitrary: fc.constant({ op: 'clear' as const }), weight: 1 },
      ),
      { maxLength: 600 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 5000 }), ops, (maxItems, maxBytes, list: Op[]) => {
        const b = new Backlog<number>(maxItems, maxBytes);
        const waiting: { item: number; bytes: number }[] = [];
        const taken: number[] = [];
        let next = 0;
        for (const o of list) {
          const held = waiting.length + taken.length;
          const heldBytes = [...waiting.map((w) => w.bytes), ...taken].reduce((x, y) => x + y, 0);
          if (o.op === 'push') {
            const fits = held + 1 <= maxItems && heldBytes + o.bytes <= maxBytes;
            expect(b.push(next, o.bytes)).toBe(fits);
            if (fits) waiting.push({ item: next, bytes: o.bytes });
            next++;
          } else if (o.op === 'shift') {
            const want = waiting.shift();
            expect(b.shift()).toEqual(want);
            if (want) taken.push(want.bytes);
          } else if (o.op === 'finish') {
            const bytes = taken.shift();
            if (bytes !== undefined) b.finish(bytes);
          } else {
            expect(b.clearWaiting()).toBe(waiting.length);
            waiting.length = 0;
          }
          expect([b.length, b.waiting, b.inFlight]).toEqual([waiting.length + taken.length, waiting.length, taken.length]);
          expect(b.bytes).toBe([...waiting.map((w) => w.bytes), ...taken].reduce((x, y) => x + y, 0));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('bridge backlog - keeps FIFO order when it grows while wrapped around', () => {
    const b = new Backlog<number>(1000, 1e9);
    let pushed = 0;
    let shifted = 0;
    for (let round = 0; round < 5; round++) {
      for (let k = 0; k < 60 * (round + 1); k++) expect(b.push(pushed++, 1)).toBe(true);
      for (let k = 0; k < 30 * (round + 1); k++) {
        expect(b.shift()?.item).toBe(shifted++);
        b.finish(1);
      }
    }
    for (let t = b.shift(); t; t = b.shift()) expect(t.item).toBe(shifted++);
    expect(shifted).toBe(pushed);
  });

  it('bridge backlog - rejects a nonsensical bound', () => {
    expect(() => new Backlog(0, 10)).toThrow(RangeError);
    expect(() => new Backlog(1.5, 10)).toThrow(RangeError);
    expect(() => new Backlog(1, 0)).toThrow(RangeError);
  });
});
