import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  formatRate,
  formatSize,
  parseDuration,
  parseDurationMs,
  parseRate,
  parseSize,
  parseSizeBytes,
} from '../../src/domain/units.js';

const value = <T>(r: { ok: true; value: T } | { ok: false }): T | undefined => (r.ok ? r.value : undefined);

describe('units', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1m', 60_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    [' 2 s ', 2000],
  ])('units - duration %j is %i ms', (text, ms) => {
    expect(value(parseDuration(text))).toBe(ms);
  });

  it.each([[30], ['30'], ['1.5s'], ['0s'], ['1w'], ['-1s'], ['s'], [''], [null], ['1M']])('units - duration %j is refused with a fix', (input) => {
    const r = parseDuration(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.fix).toMatch(/"30s"/);
  });

  it.each([
    [256, 256],
    ['256', 256],
    ['256KB', 256 * 1024],
    ['256kb', 256 * 1024],
    ['1MB', 1024 * 1024],
    ['1.5MB', 1.5 * 1024 * 1024],
    ['2GB', 2 * 1024 ** 3],
    ['100B', 100],
  ])('units - size %j is %i bytes (1024-based)', (text, bytes) => {
    expect(value(parseSize(text))).toBe(bytes);
  });

  it.each([['0'], [0], [1.5], ['12XB'], ['KB'], ['-1KB'], [true]])('units - size %j is refused', (input) => {
    expect(parseSize(input).ok).toBe(false);
  });

  it.each([
    ['10/s', 10, 1000],
    ['100/10s', 100, 10_000],
    ['5/m', 5, 60_000],
    ['1000/h', 1000, 3_600_000],
    ['3/5m', 3, 300_000],
    ['1/2s', 1, 2000],
    ['10 / 1s', 10, 1000],
  ])('units - messages rate %j is %i per %i ms', (text, count, periodMs) => {
    expect(value(parseRate(text, 'messages'))).toEqual({ count, periodMs });
  });

  it.each([
    ['64KB/s', 64 * 1024, 1000],
    ['1MB/10s', 1024 * 1024, 10_000],
    ['1000/s', 1000, 1000],
    ['1.5kb/m', 1536, 60_000],
  ])('units - bytes rate %j is %i bytes per %i ms', (text, count, periodMs) => {
    expect(value(parseRate(text, 'bytes'))).toEqual({ count, periodMs });
  });

  it('units - a messages rate refuses a size unit, fractions, zero and other shapes, with the fix', () => {
    for (const bad of ['64KB/s', '0.5/s', '0/s', '10 per s', '10/0s', '10/w', '10', 10, '/s']) {
      const r = parseRate(bad, 'messages');
      expect(r.ok, String(bad)).toBe(false);
      if (!r.ok) expect(r.fix.length).toBeGreaterThan(0);
    }
    const r = parseRate('10 per s', 'messages');
    expect(r.ok === false && r.fix).toBe('use N/s, N/10s, N/m or N/h, e.g. "10/s"');
  });

  it('units - lenient helpers for configuration', () => {
    expect(parseDurationMs('2m')).toBe(120_000);
    expect(parseDurationMs('2 minutes')).toBeUndefined();
    expect(parseSizeBytes('16MB')).toBe(16 * 1024 * 1024);
    expect(parseSizeBytes('lots')).toBeUndefined();
  });

  it('units - formatting picks the largest exact unit', () => {
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(300_000)).toBe('5m');
    expect(formatDuration(1500)).toBe('1500ms');
    expect(formatSize(262_144)).toBe('256KB');
    expect(formatSize(1000)).toBe('1000B');
    expect(formatRate({ count: 10, periodMs: 1000 }, 'messages')).toBe('10/s');
    expect(formatRate({ count: 100, periodMs: 10_000 }, 'messages')).toBe('100/10s');
    expect(formatRate({ count: 65_536, periodMs: 60_000 }, 'bytes')).toBe('64KB/m');
  });

  it('units - format then parse gives back the same duration, size and rate', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 100_000_000 }), (ms, count, bytes) => {
        expect(value(parseDuration(formatDuration(ms)))).toBe(ms);
        expect(value(parseSize(formatSize(bytes)))).toBe(bytes);
        const rate = { count, periodMs: ms };
        expect(value(parseRate(formatRate(rate, 'messages'), 'messages'))).toEqual(rate);
        expect(value(parseRate(formatRate({ count: bytes, periodMs: ms }, 'bytes'), 'bytes'))).toEqual({ count: bytes, periodMs: ms });
      }),
      { numRuns: 300 },
    );
  });
});
