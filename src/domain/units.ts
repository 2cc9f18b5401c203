/**
 * PURE: durations, sizes and rates as the policy and configuration files
 * write them, and back again for explanations.
 *
 * - Durations: `500ms`, `30s`, `1m`, `5m`, `1h`, `1d` (an integer and one unit).
 * - Sizes: `256KB`, `1.5MB`, `2GB`, `100B` or a plain integer (bytes).
 *   KB/MB/GB are 1024-based (1KB = 1024 bytes), as in EMQX; the unit is
 *   case-insensitive.
 * - Rates (EMQX syntax): `10/s`, `100/10s`, `5/m`, `1000/h`, `3/5m`: a count,
 *   `/`, an optional number of units and the unit. Byte rates take a size:
 *   `64KB/s`, `1MB/10s`.
 */
import type { Rate } from './policy.types.js';

/** A parse outcome naming what was wrong and how to write it instead. */
export type UnitResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string; readonly fix: string };

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Readonly<Record<string, number>> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

const DURATION_RE = /^(\d+)\s*(ms|s|m|h|d)$/;
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/;
const RATE_RE = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*\/\s*(\d*)\s*([a-z]+)$/;

export const DURATION_FIX = 'write an integer and a unit (ms, s, m, h or d), e.g. "500ms", "30s", "5m"';
export const SIZE_FIX = 'write bytes as an integer or with KB, MB or GB (1024-based), e.g. "256KB"';
export const MESSAGES_RATE_FIX = 'use N/s, N/10s, N/m or N/h, e.g. "10/s"';
export const BYTES_RATE_FIX = 'use a size per period, e.g. "64KB/s", "1MB/10s" (KB = 1024 bytes)';

const ok = <T>(value: T): UnitResult<T> => ({ ok: true, value });
const bad = <T>(message: string, fix: string): UnitResult<T> => ({ ok: false, message, fix });
const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** `"30s"` → 30000. Plain numbers are refused: a bare `30` could mean seconds or milliseconds. */
export function parseDuration(input: unknown): UnitResult<number> {
  if (typeof input === 'number') return bad(`${input} has no unit`, DURATION_FIX);
  if (typeof input !== 'string') return bad(`${show(input)} is not a duration`, DURATION_FIX);
  const m = DURATION_RE.exec(input.trim());
  if (!m) return bad(`${show(input)} is not a duration`, DURATION_FIX);
  const ms = Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
  if (!Number.isSafeInteger(ms) || ms <= 0) return bad(`${show(input)} must be more than 0`, DURATION_FIX);
  return ok(ms);
}

/** `"256KB"` → 262144; a plain integer (number or digits) is bytes. */
export function parseSize(input: unknown): UnitResult<number> {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input > 0 ? ok(input) : bad(`${input} is not a positive whole number of bytes`, SIZE_FIX);
  }
  if (typeof input !== 'string') return bad(`${show(input)} is not a size`, SIZE_FIX);
  const m = SIZE_RE.exec(input.trim());
  const mult = m ? SIZE_UNITS[(m[2] as string).toLowerCase() || 'b'] : undefined;
  if (!m || mult === undefined) return bad(`${show(input)} is not a size`, SIZE_FIX);
  const bytes = Math.round(Number(m[1]) * mult);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) return bad(`${show(input)} must be at least 1 byte`, SIZE_FIX);
  return ok(bytes);
}

/**
 * `"10/s"` → `{ count: 10, periodMs: 1000 }`. `kind: 'messages'` refuses a
 * size unit; `kind: 'bytes'` reads the count as a size (`64KB/s`).
 */
export function parseRate(input: unknown, kind: 'messages' | 'bytes'): UnitResult<Rate> {
  const fix = kind === 'messages' ? MESSAGES_RATE_FIX : BYTES_RATE_FIX;
  if (typeof input !== 'string') return bad(`${show(input)} is not a rate`, fix);
  const m = RATE_RE.exec(input.trim());
  if (!m) return bad(`${show(input)} is not a rate`, fix);
  const [, num, sizeUnit, periodNum, periodUnit] = m as unknown as [string, string, string, string, string];
  const unitMs = DURATION_UNITS[periodUnit];
  if (unitMs === undefined) return bad(`${show(input)} has an unknown period unit "${periodUnit}"`, fix);
  const periods = periodNum === '' ? 1 : Number(periodNum);
  if (periods <= 0) return bad(`${show(input)} has a zero period`, fix);
  let count: number;
  if (kind === 'messages') {
    if (sizeUnit !== '') return bad(`${show(input)} counts messages, not bytes: drop "${sizeUnit}"`, fix);
    if (!/^\d+$/.test(num)) return bad(`${show(input)} must count whole messages`, 'to allow 1 message per 2 seconds write "1/2s"');
    count = Number(num);
  } else {
    const mult = SIZE_UNITS[sizeUnit.toLowerCase() || 'b'];
    if (mult === undefined) return bad(`${show(input)} has an unknown size unit "${sizeUnit}"`, fix);
    count = Math.round(Number(num) * mult);
  }
  if (!Number.isSafeInteger(count) || count <= 0) {
    return bad(
      `${show(input)} allows nothing`,
      `a rate must be more than 0; to forbid publishing use an ACL rule, e.g. { permission: deny, action: publish, topics: ["#"] }`,
    );
  }
  const periodMs = periods * unitMs;
  if (!Number.isSafeInteger(periodMs)) return bad(`${show(input)} has too long a period`, fix);
  return ok({ count, periodMs });
}

/** Lenient helpers for configuration: the value or undefined. */
export const parseDurationMs = (s: string): number | undefined => {
  const r = parseDuration(s);
  return r.ok ? r.value : undefined;
};
export const parseSizeBytes = (s: string): number | undefined => {
  const r = parseSize(s);
  return r.ok ? r.value : undefined;
};

/** 90000 → "90s", 300000 → "5m", 1500 → "1500ms": the largest exact unit. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = DURATION_UNITS[unit] as number;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** 262144 → "256KB", 1000 → "1000B": the largest exact 1024-based unit. */
export function formatSize(bytes: number): string {
  for (const unit of ['GB', 'MB', 'KB'] as const) {
    const size = SIZE_UNITS[unit.toLowerCase()] as number;
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}

/** `{ count: 10, periodMs: 1000 }` → "10/s"; bytes → "64KB/s". */
export function formatRate(rate: Rate, kind: 'messages' | 'bytes'): string {
  const count = kind === 'bytes' ? formatSize(rate.count) : String(rate.count);
  const period = formatDuration(rate.periodMs);
  return `${count}/${/^1[a-z]+$/.test(period) ? period.slice(1) : period}`;
}
