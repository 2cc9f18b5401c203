/**
 * PURE: a compact, lossless string form of a client snapshot, for the
 * (possibly millions of) idle clients kept in memory.
 *
 * Format (a JSON array, trailing defaults dropped, rarely set fields last):
 * `[version, stateCode, lastAt, conn, live, fresh, msgTat, byteTat, connects,
 *   subscriptions, counters, last, violations, recent, bannedUntil, banKind,
 *   banNote, quarantinedUntil, quarantineNote, override]`
 * - times other than `lastAt` are relative to `lastAt` (exactly: a time that
 *   does not survive `lastAt + d` is kept absolute as `"@<ms>"`); a bucket
 *   whose `tat` is not after `lastAt` is full and stored as 0 (the clock never
 *   goes back, so it behaves the same);
 * - `live` is 1 when equal to `conn`, 0 when empty;
 * - the last decision keeps code, outcome, policy, rule and values (known
 *   rule names and value keys as indexes); its sentence is rebuilt by
 *   `explain` (it is a function of those);
 * - the override (version 2) is `[note, since, shadow (0 unset, 1 true,
 *   2 false), limits]`, limits as `[key index, value, …]` with `"inf"` for a
 *   removed limit and `[count, periodMs]` for a rate; version 1 (no override
 *   field) still unpacks;
 * - the result is flattened: `JSON.stringify` returns a rope (a tree of
 *   string parts) that costs ~100 bytes more per idle client.
 * Changing the format means bumping `PACK_VERSION` (and `MACHINE_VERSION`).
 */
import { decision, type Decision, type Outcome, type ReasonCode } from '../../src/domain/decision.js';
import { explain, type Values } from './client.explain.js';
import type { BanKind, ClientContext, ClientOverride, Counters, LimitsOverride, RecentViolation, ViolationCode } from './client.types.js';

export const PACK_VERSION = 2;
/** Versions `unpackState` reads (1: before the override field). */
export const READABLE_PACK_VERSIONS: readonly number[] = [1, 2];

export const LIFECYCLE_STATES = ['idle', 'connecting', 'connected', 'disconnected'] as const;
export const SESSION_STATES = ['none', 'created', 'resumed', 'takenover', 'discarded', 'terminated'] as const;
export const STANDING_STATES = ['ok', 'quarantined', 'banned'] as const;

export interface ClientStateValue {
  readonly lifecycle: (typeof LIFECYCLE_STATES)[number];
  readonly session: (typeof SESSION_STATES)[number];
  readonly standing: (typeof STANDING_STATES)[number];
}

const OUTCOMES: readonly Outcome[] = ['allow', 'deny', 'ignore'];
const BAN_KINDS: readonly BanKind[] = ['', 'flapping', 'override'];
// Append only: positions are part of the format.
const CODES: readonly ReasonCode[] = [
  'default',
  'authn.policy',
  'authn.users.ok',
  'authn.users.bad_password',
  'authn.users.unknown_user',
  'banned.flapping',
  'banned.override',
  'quarantined',
  'acl.rule',
  'acl.no_match',
  'limit.max_subscriptions',
  'limit.max_payload',
  'limit.messages_rate',
  'limit.bytes_rate',
  'publisher.not_a_client',
  'deadline.fallback',
  'error.fallback',
  'limit.ok',
];
const RULES: readonly string[] = [
  'limits',
  'authenticate',
  'users',
  'flapping',
  'ban',
  'quarantine',
  'no_match',
  'max_subscriptions',
  'max_payload',
  'messages_rate',
  'bytes_rate',
];
const VALUE_KEYS: readonly string[] = [
  'messagesLeft',
  'bytesLeft',
  'answer',
  'credentials',
  'until',
  'remainingMs',
  'note',
  'permission',
  'action',
  'match',
  'topic',
  'max',
  'subscriptions',
  'bytes',
  'rate',
  'burst',
  'retryInMs',
];
// Append only: positions are part of the format.
const LIMIT_FIELDS: readonly (keyof LimitsOverride)[] = [
  'messagesRate',
  'messagesBurst',
  'bytesRate',
  'bytesBurst',
  'maxPayload',
  'maxSubscriptions',
];
const COUNTER_KEYS: readonly (keyof Counters)[] = [
  'connects',
  'publishesAllowed',
  'publishesDenied',
  'bytesAllowed',
  'delivered',
  'acked',
  'dropped',
];

type Packed = number | string | Packed[];

const bad = (why: string): never => {
  throw new RangeError(`unpackSnapshot: ${why}`);
};

const indexOf = <T>(list: readonly T[], v: T): number => {
  const i = list.indexOf(v);
  return i < 0 ? 0 : i;
};

/** Packs the state value and context. */
export function packState(value: ClientStateValue, ctx: ClientContext): string {
  const base = ctx.lastAt;
  const rel = (t: number): number | string => {
    const d = t - base;
    return base + d === t && Number.isFinite(d) ? d : `@${t}`;
  };
  const until = (t: number): number | string => (t === 0 ? 0 : t > base ? rel(t) : `@${t}`);
  const tat = (t: number): number | string => (t > base ? rel(t) : 0);
  const stateCode =
    indexOf(LIFECYCLE_STATES, value.lifecycle) * 18 + indexOf(SESSION_STATES, value.session) * 3 + indexOf(STANDING_STATES, value.standing);
  const counters: number[] = COUNTER_KEYS.map((k) => ctx.counters[k]);
  while (counters.length > 0 && counters[counters.length - 1] === 0) counters.pop();
  const last = ctx.last;
  let packedLast: Packed = 0;
  if (last) {
    const r = last.reason;
    const rule = r.rule === undefined ? -1 : RULES.indexOf(r.rule);
    const l: Packed[] = [
      indexOf(OUTCOMES, last.outcome),
      indexOf(CODES, r.code),
      last.shadowed ? 1 : 0,
      r.policy,
      rule < 0 && r.rule !== undefined ? r.rule : rule,
    ];
    if (r.values) {
      const kv: Packed[] = [];
      for (const [k, v] of Object.entries(r.values)) {
        const i = VALUE_KEYS.indexOf(k);
        kv.push(i < 0 ? k : i, v);
      }
      l.push(kv);
    }
    packedLast = l;
  }
  const recent: Packed[] = [];
  for (const v of ctx.recent) recent.push(indexOf(CODES, v.code), rel(v.at));
  const out: Packed[] = [
    PACK_VERSION,
    stateCode,
    base,
    ctx.conn,
    ctx.live === ctx.conn ? 1 : ctx.live === '' ? 0 : ctx.live,
    ctx.fresh ? 1 : 0,
    tat(ctx.msgTat),
    tat(ctx.byteTat),
    ctx.connects.map(rel),
    [...ctx.subscriptions],
    counters,
    packedLast,
    ctx.violations.map(rel),
    recent,
    until(ctx.bannedUntil),
    indexOf(BAN_KINDS, ctx.banKind),
    ctx.banNote,
    until(ctx.quarantinedUntil),
    ctx.quarantineNote,
    ctx.override === null ? 0 : packOverride(ctx.override, rel),
  ];
  while (out.length > 3) {
    const v = out[out.length - 1];
    if (v === 0 || v === '' || (Array.isArray(v) && v.length === 0)) out.pop();
    else break;
  }
  return flat(JSON.stringify(out));
}

function packOverride(o: ClientOverride, rel: (t: number) => number | string): Packed[] {
  const limits: Packed[] = [];
  const l = o.limits ?? {};
  LIMIT_FIELDS.forEach((k, i) => {
    const v = l[k];
    if (v === undefined) return;
    limits.push(i, v === null ? 'inf' : typeof v === 'number' ? v : [v.count, v.periodMs]);
  });
  return [o.note, rel(o.since), o.shadow === undefined ? 0 : o.shadow ? 1 : 2, limits];
}

function unpackOverride(v: unknown, time: (v: unknown) => number): ClientOverride | null {
  if (v === 0) return null;
  if (!Array.isArray(v)) return bad('bad override');
  const [note, since, shadow, limits] = v as unknown[];
  if (typeof note !== 'string' || !Array.isArray(limits)) return bad('bad override');
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < limits.length; i += 2) {
    const key = LIMIT_FIELDS[limits[i] as number] ?? bad('bad override limit');
    const raw: unknown = limits[i + 1];
    if (raw === 'inf') out[key] = null;
    else if (typeof raw === 'number') out[key] = raw;
    else if (Array.isArray(raw) && typeof raw[0] === 'number' && typeof raw[1] === 'number') out[key] = { count: raw[0], periodMs: raw[1] };
    else bad('bad override limit');
  }
  return {
    ...(limits.length > 0 ? { limits: out as LimitsOverride } : {}),
    ...(shadow === 1 ? { shadow: true } : shadow === 2 ? { shadow: false } : {}),
    note,
    since: time(since),
  };
}

/** A flat (sequential) copy of a string: JSON.stringify's output is well-formed, so the UTF-8 round trip is exact. */
const flat = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

/** Reverses `packState`. Throws `RangeError` on anything it did not produce. */
export function unpackState(packed: string): { value: ClientStateValue; context: ClientContext } {
  let raw: unknown;
  try {
    raw = JSON.parse(packed);
  } catch {
    return bad('not JSON');
  }
  if (!Array.isArray(raw)) return bad('not an array');
  const a = raw as unknown[];
  if (!READABLE_PACK_VERSIONS.includes(a[0] as number))
    return bad(`version ${String(a[0])} is not one of ${READABLE_PACK_VERSIONS.join(', ')}`);
  const num = (i: number): number => {
    const v = a[i] ?? 0;
    return typeof v === 'number' ? v : bad(`field ${i} is not a number`);
  };
  const text = (i: number): string => {
    const v = a[i] ?? '';
    return typeof v === 'string' ? v : bad(`field ${i} is not a string`);
  };
  const list = (i: number): unknown[] => {
    const v = a[i] ?? [];
    return Array.isArray(v) ? v : bad(`field ${i} is not a list`);
  };
  const base = num(2);
  const time = (v: unknown): number =>
    typeof v === 'number' ? base + v : typeof v === 'string' && v.startsWith('@') ? Number(v.slice(1)) : bad('bad time');
  const until = (i: number): number => {
    const v = a[i] ?? 0;
    return v === 0 ? 0 : time(v);
  };
  const code = num(1);
  const value: ClientStateValue = {
    lifecycle: LIFECYCLE_STATES[Math.floor(code / 18)] ?? bad('bad state'),
    session: SESSION_STATES[Math.floor(code / 3) % 6] ?? bad('bad state'),
    standing: STANDING_STATES[code % 3] ?? bad('bad state'),
  };
  const conn = text(3);
  const liveRaw = a[4] ?? 0;
  const live = liveRaw === 1 ? conn : liveRaw === 0 ? '' : typeof liveRaw === 'string' ? liveRaw : bad('bad live');
  const countersRaw = list(10);
  const counters = {} as Record<keyof Counters, number>;
  COUNTER_KEYS.forEach((k, i) => {
    const v = countersRaw[i] ?? 0;
    counters[k] = typeof v === 'number' ? v : bad('bad counter');
  });
  const recentRaw = list(13);
  const recent: RecentViolation[] = [];
  for (let i = 0; i + 1 < recentRaw.length; i += 2) {
    recent.push({ at: time(recentRaw[i + 1]), code: (CODES[recentRaw[i] as number] ?? bad('bad code')) as ViolationCode });
  }
  const context: ClientContext = {
    lastAt: base,
    conn,
    live,
    fresh: num(5) === 1,
    msgTat: until(6),
    byteTat: until(7),
    connects: list(8).map(time),
    violations: list(12).map(time),
    bannedUntil: until(14),
    banKind: BAN_KINDS[num(15)] ?? bad('bad ban kind'),
    banNote: text(16),
    quarantinedUntil: until(17),
    quarantineNote: text(18),
    subscriptions: list(9).map((t) => (typeof t === 'string' ? t : bad('bad topic'))),
    counters,
    last: unpackLast(a[11] ?? 0),
    recent,
    override: unpackOverride(a[19] ?? 0, time),
  };
  return { value, context };
}

function unpackLast(v: unknown): Decision | undefined {
  if (v === 0) return undefined;
  if (!Array.isArray(v)) return bad('bad last decision');
  const [o, c, shadowed, policy, rule, values] = v as unknown[];
  const outcome = OUTCOMES[o as number] ?? bad('bad outcome');
  const code = CODES[c as number] ?? bad('bad code');
  if (typeof policy !== 'string') return bad('bad policy');
  const ruleName = typeof rule === 'string' ? rule : typeof rule === 'number' && rule >= 0 ? (RULES[rule] ?? bad('bad rule')) : undefined;
  let vals: Record<string, number | string> | undefined;
  if (Array.isArray(values)) {
    vals = {};
    for (let i = 0; i + 1 < values.length; i += 2) {
      const k: unknown = values[i];
      const key = typeof k === 'number' ? (VALUE_KEYS[k] ?? bad('bad value key')) : typeof k === 'string' ? k : bad('bad value key');
      const v: unknown = values[i + 1];
      vals[key] = typeof v === 'number' || typeof v === 'string' ? v : bad('bad value');
    }
  }
  return decision(outcome, explain(code, policy, ruleName, vals as Values | undefined), shadowed === 1);
}
