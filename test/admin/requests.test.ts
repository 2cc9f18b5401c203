/** The admin API's request validation (pure): strict keys, the policy file's units, and limits that round-trip. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LimitsOverride } from '../../machines/client/client.types.js';
import { limitsToFile } from '../../src/admin/client-view.js';
import { checkOverride, checkReason } from '../../src/admin/requests.js';

const rate = fc.record({ count: fc.integer({ min: 1, max: 10_000 }), periodMs: fc.constantFrom(1000, 10_000, 60_000, 3_600_000, 500) });
const limitsArb: fc.Arbitrary<LimitsOverride> = fc.record(
  {
    messagesRate: fc.option(rate, { nil: null }),
    messagesBurst: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: null }),
    bytesRate: fc.option(rate, { nil: null }),
    maxPayload: fc.option(fc.integer({ min: 1, max: 1 << 24 }), { nil: null }),
    maxSubscriptions: fc.option(fc.integer({ min: 0, max: 500 }), { nil: null }),
  },
  { requiredKeys: [] },
);

describe('admin requests', () => {
  it('admin requests - limits shown by the API (policy file shape) are accepted back unchanged', () => {
    fc.assert(
      fc.property(limitsArb, (limits) => {
        fc.pre(Object.keys(limits).length > 0);
        const r = checkOverride({ limits: limitsToFile(limits) });
        expect(r.ok && r.value.limits).toEqual(limits);
      }),
      { numRuns: 200 },
    );
  });

  it('admin requests - durations, shadow and reason; the default reason', () => {
    expect(checkOverride({ ban: '10m', quarantine: '30s', shadow: false })).toEqual({
      ok: true,
      value: { banMs: 600_000, quarantineMs: 30_000, shadow: false, reason: 'set by an operator' },
    });
    expect(checkOverride({ shadow: true, reason: '  ticket 9 ' })).toMatchObject({ ok: true, value: { reason: 'ticket 9' } });
    const long = checkOverride({ shadow: true, reason: 'x'.repeat(201) });
    expect(long.ok || long.problems[0]).toMatchObject({ field: 'reason' });
  });

  it('admin requests - every problem at once, each with its field and fix', () => {
    const r = checkOverride({ limits: { messages_rate: 'fast', max_payload: -1 }, ban: '0s', quarantine: true, shadow: 1, reasn: 'x' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.field).sort()).toEqual([
      'ban',
      'limits.max_payload',
      'limits.messages_rate',
      'quarantine',
      'reasn',
      'shadow',
    ]);
    for (const p of r.problems) expect(p.fix.length).toBeGreaterThan(10);
    expect(r.problems.find((p) => p.field === 'reasn')?.fix).toContain('did you mean "reason"');
  });

  it('admin requests - an optional reason body', () => {
    expect(checkReason(undefined)).toEqual({ ok: true, value: {} });
    expect(checkReason({})).toEqual({ ok: true, value: {} });
    expect(checkReason({ reason: 'ok' })).toEqual({ ok: true, value: { reason: 'ok' } });
    expect(checkReason('why')).toMatchObject({ ok: false, problems: [{ field: '' }] });
    expect(checkReason({ reason: '' })).toMatchObject({ ok: false, problems: [{ field: 'reason' }] });
  });
});
