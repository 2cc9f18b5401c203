import { describe, expect, it } from 'vitest';
import { stateName } from '../../machines/client/client.step.js';
import { Registry } from '../../src/actors/registry.js';

const connectedAt = (at: number) => ({ type: 'client.connected' as const, at, conn: 'n|h|1', policy: POLICY });
const POLICY = {
  name: 'default',
  mode: 'enforce' as const,
  authenticate: 'ignore' as const,
  limits: {},
  acl: [],
  noMatch: 'ignore' as const,
};

describe('registry', () => {
  it('registry - idle clients move to packed snapshots and come back identical', () => {
    const r = new Registry({ maxClients: 100, hotClients: 2, now: () => 0 });
    for (const id of ['a', 'b', 'c', 'd']) r.entry(id).applyNow(connectedAt(10));
    const s = r.stats();
    expect(s.hot).toBe(2);
    expect(s.cold).toBe(2);
    expect(stateName(r.peek('a')!)).toBe('connected');
    const back = r.entry('a');
    expect(stateName(back.snapshot)).toBe('connected');
    expect(r.stats().hot).toBe(2);
  });

  it('registry - the least recently used are forgotten beyond max_clients, but never an active ban', () => {
    let now = 1_000;
    const r = new Registry({ maxClients: 2, hotClients: 1, now: () => now });
    r.entry('banned').applyNow({ type: 'admin.ban', at: 1_000, untilAt: 60_000, reason: 'test' });
    for (const id of ['x1', 'x2', 'x3', 'x4']) r.entry(id).applyNow(connectedAt(1_000));
    expect(r.stats().pinned).toBe(1);
    expect(stateName(r.peek('banned')!)).toBe('banned');
    expect(r.peek('x1')).toBeUndefined(); // forgotten
    expect(r.stats().evictions).toBeGreaterThan(0);
    expect(r.sweep()).toBe(0); // ban still active
    now = 61_000;
    expect(r.sweep()).toBe(1);
    expect(r.peek('banned')).toBeUndefined();
  });

  it('registry - a client with queued work is not evicted mid-step and keeps arrival order', async () => {
    const r = new Registry({ maxClients: 10, hotClients: 1, now: () => 0 });
    const a = r.entry('a');
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const first = a.enqueue(
      async () => {
        await gate;
        order.push('first');
        return connectedAt(1);
      },
      () => 1,
    );
    const second = a.enqueue(
      () => {
        order.push('second');
        return { type: 'client.disconnected' as const, at: 2, conn: 'n|h|1', reason: 'normal' };
      },
      () => 2,
    );
    r.entry('b'); // evicts 'a' from the hot tier while it is busy
    expect(r.entry('a')).toBe(a); // still the same live entry
    release();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(order).toEqual(['first', 'second']);
    await new Promise((res) => setImmediate(res));
    expect(stateName(r.peek('a')!)).toBe('disconnected');
    expect(r.stats().busy).toBe(0);
  });
});
