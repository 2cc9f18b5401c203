import { describe, expect, it } from 'vitest';
import { GCRA_REJECT, gcraAvailable, gcraLimit, gcraRetryAfter, gcraTake } from '../../src/domain/gcra.js';
import { countInWindow, MAX_WINDOW_ENTRIES, pushInWindow } from '../../src/domain/sliding-window.js';

describe('gcra - bucket arithmetic', () => {
  const perMinute5 = gcraLimit({ count: 1, periodMs: 60_000 }, 5);

  it('gcra - a fresh bucket passes exactly its capacity back to back', () => {
    let tat = 0;
    const passed: boolean[] = [];
    for (let i = 0; i < 7; i++) {
      const next = gcraTake(tat, 1_000, 1, perMinute5);
      passed.push(next !== GCRA_REJECT);
      if (next !== GCRA_REJECT) tat = next;
    }
    expect(passed).toEqual([true, true, true, true, true, false, false]);
    expect(gcraAvailable(tat, 1_000, perMinute5)).toBe(0);
    expect(gcraRetryAfter(tat, 1_000, 1, perMinute5)).toBe(60_000);
    expect(gcraTake(tat, 61_000, 1, perMinute5)).not.toBe(GCRA_REJECT);
  });

  it('gcra - a bucket refills to its capacity and no further', () => {
    const tat = 1_000 + 5 * 60_000;
    expect(gcraAvailable(tat, 1_000 + 2 * 60_000, perMinute5)).toBe(2);
    expect(gcraAvailable(tat, 10_000_000, perMinute5)).toBe(5);
  });

  it('gcra - without a burst the capacity is the rate count', () => {
    expect(gcraLimit({ count: 10, periodMs: 1_000 })).toEqual({ interval: 100, capacity: 10 });
  });

  it('gcra - a cost above the capacity never conforms; zero cost always does', () => {
    const bytes = gcraLimit({ count: 1_000, periodMs: 1_000 });
    expect(gcraTake(0, 5, 1_001, bytes)).toBe(GCRA_REJECT);
    expect(gcraRetryAfter(0, 5, 1_001, bytes)).toBe(Infinity);
    expect(gcraTake(123, 5, 0, bytes)).toBe(123);
  });

  it('gcra - a zero rate lets nothing with a cost through', () => {
    const none = gcraLimit({ count: 0, periodMs: 1_000 }, 5);
    expect(gcraTake(0, 5, 1, none)).toBe(GCRA_REJECT);
    expect(gcraAvailable(0, 5, none)).toBe(0);
  });
});

describe('sliding window - trailing counts', () => {
  it('sliding window - an event exactly windowMs old no longer counts', () => {
    expect(countInWindow([0, 10, 20], 60, 50)).toBe(1); // 10 is exactly 50 old
    expect(countInWindow([0, 10, 20], 60, 60)).toBe(2);
    expect(countInWindow([0, 10, 20], 60, 61)).toBe(3);
  });

  it('sliding window - pushing drops expired times and keeps the newest', () => {
    expect(pushInWindow([0, 10, 20], 65, 50, 10)).toEqual([20, 65]);
    expect(pushInWindow([1, 2, 3], 4, 100, 2)).toEqual([3, 4]);
    const many = Array.from({ length: 5_000 }, (_, i) => i);
    expect(pushInWindow(many, 5_000, 1e9, 1e9)).toHaveLength(MAX_WINDOW_ENTRIES);
  });
});
