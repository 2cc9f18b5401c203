/**
 * PURE: validators for the parts of a policy body (limits, flapping,
 * quarantine, ACL rules), `policies[].match` and `users`. Each records its
 * errors in the Report and returns what it could read.
 */
import { aclTopicProblem } from '../domain/acl.js';
import type { AclAction, AclRule, Flapping, Quarantine, Rate } from '../domain/policy.types.js';
import { compileGlobs, compilePeerhosts, parsePeerhost, type ClientMatch, type PeerhostEntry } from '../domain/policy-match.js';
import { parseDuration, parseRate, parseSize, type UnitResult } from '../domain/units.js';
import { HASH_FIX, parsePasswordHash, type PasswordHash } from './password-hash.js';
import { isMapping, oneOf, type Path, type Raw, type Report } from './schema-report.js';

/** A limit as written: a value, or `null` for "infinity" (explicitly no limit, overriding the default). */
export interface LimitsSpec {
  readonly messagesRate?: Rate | null;
  readonly messagesBurst?: number | null;
  readonly bytesRate?: Rate | null;
  readonly bytesBurst?: number | null;
  readonly maxPayload?: number | null;
  readonly maxSubscriptions?: number | null;
}

export const LIMIT_KEYS = ['messages_rate', 'messages_burst', 'bytes_rate', 'bytes_burst', 'max_payload', 'max_subscriptions'] as const;
export const FLAPPING_KEYS = ['max_count', 'window_time', 'ban_time'] as const;
export const QUARANTINE_KEYS = ['max_violations', 'window_time', 'duration'] as const;
const RULE_KEYS = ['permission', 'action', 'topics', 'topic', 'qos', 'retain'] as const;
const MATCH_KEYS = ['clientid', 'username', 'peerhost'] as const;
const USER_KEYS = ['username', 'password_hash'] as const;

const INFINITY_NOTE = '; "infinity" removes a limit the default sets';

function unit<T>(r: Report, path: Path, res: UnitResult<T>): T | undefined {
  return res.ok ? res.value : r.error(path, res.message, res.fix);
}

function count(r: Report, value: unknown, path: Path, min: number, example: string): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n === 'number' && Number.isSafeInteger(n) && n >= min) return n;
  return r.error(path, `${JSON.stringify(value)} is not a whole number of at least ${min}`, `write a whole number, e.g. ${example}`);
}

export function readLimits(r: Report, raw: unknown, path: Path): LimitsSpec | undefined {
  if (!isMapping(raw)) return r.error(path, 'limits must be a mapping', 'write e.g. limits: { messages_rate: "10/s", max_payload: "128KB" }');
  r.keys(raw, path, LIMIT_KEYS);
  const out: { -readonly [K in keyof LimitsSpec]: LimitsSpec[K] } = {};
  const read = <K extends keyof LimitsSpec>(key: string, field: K, parse: (v: unknown, p: Path) => NonNullable<LimitsSpec[K]> | undefined): void => {
    const v = raw[key];
    if (v === undefined) return;
    if (v === 'infinity') {
      out[field] = null as LimitsSpec[K];
      return;
    }
    if (v === null) {
      r.error([...path, key], `${key} has no value`, 'write a value, or "infinity" to remove the limit the default sets');
      return;
    }
    const parsed = parse(v, [...path, key]);
    if (parsed !== undefined) out[field] = parsed;
  };
  read('messages_rate', 'messagesRate', (v, p) => unit(r, p, withNote(parseRate(v, 'messages'))));
  read('messages_burst', 'messagesBurst', (v, p) => count(r, v, p, 1, '20'));
  read('bytes_rate', 'bytesRate', (v, p) => unit(r, p, withNote(parseRate(v, 'bytes'))));
  read('bytes_burst', 'bytesBurst', (v, p) => unit(r, p, withNote(parseSize(v))));
  read('max_payload', 'maxPayload', (v, p) => unit(r, p, withNote(parseSize(v))));
  read('max_subscriptions', 'maxSubscriptions', (v, p) => count(r, v, p, 0, '50'));
  return out;
}

function withNote<T>(res: UnitResult<T>): UnitResult<T> {
  return res.ok ? res : { ok: false, message: res.message, fix: res.fix + INFINITY_NOTE };
}

type WindowSpec<T> = Partial<T> | false;

/** `flapping: { max_count, window_time, ban_time }`, `true` (all defaults) or `false` (off, overriding the default). */
export function readFlapping(r: Report, raw: unknown, path: Path): WindowSpec<Flapping> | undefined {
  if (raw === false || raw === true) return raw ? {} : false;
  if (!isMapping(raw)) return r.error(path, 'flapping must be a mapping, true or false', 'write e.g. flapping: { max_count: 15, window_time: "1m", ban_time: "5m" }');
  r.keys(raw, path, FLAPPING_KEYS);
  const out: { -readonly [K in keyof Flapping]?: number } = {};
  if (raw.max_count !== undefined) out.maxCount = count(r, raw.max_count, [...path, 'max_count'], 1, '15');
  if (raw.window_time !== undefined) out.windowMs = unit(r, [...path, 'window_time'], parseDuration(raw.window_time));
  if (raw.ban_time !== undefined) out.banMs = unit(r, [...path, 'ban_time'], parseDuration(raw.ban_time));
  return dropUndefined(out);
}

/** `quarantine: { max_violations, window_time, duration }`, `true` or `false`. */
export function readQuarantine(r: Report, raw: unknown, path: Path): WindowSpec<Quarantine> | undefined {
  if (raw === false || raw === true) return raw ? {} : false;
  if (!isMapping(raw)) return r.error(path, 'quarantine must be a mapping, true or false', 'write e.g. quarantine: { max_violations: 10, window_time: "1m", duration: "10m" }');
  r.keys(raw, path, QUARANTINE_KEYS);
  const out: { -readonly [K in keyof Quarantine]?: number } = {};
  if (raw.max_violations !== undefined) out.maxViolations = count(r, raw.max_violations, [...path, 'max_violations'], 1, '10');
  if (raw.window_time !== undefined) out.windowMs = unit(r, [...path, 'window_time'], parseDuration(raw.window_time));
  if (raw.duration !== undefined) out.durationMs = unit(r, [...path, 'duration'], parseDuration(raw.duration));
  return dropUndefined(out);
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** `acl: [ { permission, action, topics, qos?, retain? }, … ]`. */
export function readAcl(r: Report, raw: unknown, path: Path): AclRule[] | undefined {
  if (!Array.isArray(raw)) return r.error(path, 'acl must be a list of rules', 'write e.g. acl: [ { permission: allow, action: publish, topics: ["devices/${clientid}/#"] } ]');
  const rules: AclRule[] = [];
  raw.forEach((item, i) => {
    const rule = readRule(r, item, [...path, i]);
    if (rule) rules.push(rule);
  });
  return rules.length === raw.length ? rules : undefined;
}

function readRule(r: Report, raw: unknown, path: Path): AclRule | undefined {
  if (!isMapping(raw)) return r.error(path, 'an ACL rule must be a mapping', 'write e.g. { permission: deny, action: all, topics: ["#"] }');
  const before = r.errors.length;
  r.keys(raw, path, RULE_KEYS, { who: 'rules apply to the clients their policy matches: put who in a policies[] entry match' });
  const permission = raw.permission === undefined ? r.error([...path, 'permission'], 'permission is missing', 'add permission: allow or permission: deny') : oneOf(r, raw.permission, [...path, 'permission'], ['allow', 'deny'] as const);
  const action: AclAction | undefined =
    raw.action === undefined ? 'all' : oneOf(r, raw.action, [...path, 'action'], ['publish', 'subscribe', 'all'] as const, raw.action === 'pubsub' ? ' (4.x "pubsub" is "all")' : '');
  const topics = readTopics(r, raw, path);
  let qos: number[] | undefined;
  if (raw.qos !== undefined) {
    const list = Array.isArray(raw.qos) ? raw.qos : [raw.qos];
    if (list.length === 0 || !list.every((q) => q === 0 || q === 1 || q === 2)) {
      r.error([...path, 'qos'], `${JSON.stringify(raw.qos)} is not a QoS level or list of them`, 'write qos: 1 or qos: [1, 2] (levels 0, 1, 2)');
    } else qos = [...new Set(list as number[])].sort();
  }
  let retain: boolean | undefined;
  if (raw.retain !== undefined && raw.retain !== 'all') {
    if (typeof raw.retain !== 'boolean') r.error([...path, 'retain'], `${JSON.stringify(raw.retain)} is not true, false or all`, 'write retain: true, retain: false, or leave it out');
    else if (action === 'subscribe') r.error([...path, 'retain'], 'retain is a condition on publishes, and this rule is for subscribe', 'remove retain, or make the rule action publish or all');
    else retain = raw.retain;
  }
  if (r.errors.length > before || !permission || !action || !topics) return undefined;
  return Object.freeze({ permission, action, topics: Object.freeze(topics), ...(qos ? { qos: Object.freeze(qos) } : {}), ...(retain !== undefined ? { retain } : {}) });
}

function readTopics(r: Report, raw: Raw, path: Path): string[] | undefined {
  if (raw.topics !== undefined && raw.topic !== undefined) {
    return r.error([...path, 'topic'], 'both topic and topics are given', 'keep one: topics: [...] (a list) or topic: "..." (one)');
  }
  const key = raw.topic !== undefined ? 'topic' : 'topics';
  const value = raw[key];
  if (value === undefined) return r.error([...path, 'topics'], 'topics is missing', 'add topics: ["#"] (or the filters this rule is about)');
  const list = key === 'topic' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) return r.error([...path, key], 'topics must be a non-empty list', 'write e.g. topics: ["devices/${clientid}/#", "eq broadcast/#"]');
  const out: string[] = [];
  list.forEach((t, i) => {
    const p = key === 'topic' ? [...path, key] : [...path, key, i];
    const text = isMapping(t) && Object.keys(t).length === 1 && typeof t.eq === 'string' ? `eq ${t.eq}` : t;
    if (typeof text !== 'string') return r.error(p, `${JSON.stringify(t)} is not a topic`, 'write a topic filter string, or "eq <filter>" / { eq: "<filter>" } for an exact match');
    const problem = aclTopicProblem(text);
    if (problem) return r.error(p, problem.message, problem.fix);
    out.push(text);
    return undefined;
  });
  return out.length === list.length ? out : undefined;
}

/** A compiled `match` plus whether it selects every client (nothing after it can be reached). */
export interface MatchSpec {
  readonly match: ClientMatch;
  readonly catchAll: boolean;
}

export function readMatch(r: Report, raw: unknown, path: Path): MatchSpec | undefined {
  const example = 'write e.g. match: { clientid: "sensor-*" } (keys clientid, username, peerhost)';
  if (!isMapping(raw)) return r.error(path, 'match must be a mapping', example);
  r.keys(raw, path, MATCH_KEYS);
  const present = MATCH_KEYS.filter((k) => raw[k] !== undefined);
  if (present.length === 0) return r.error(path, 'match has no condition', `${example}; clientid: "*" matches every client`);
  const before = r.errors.length;
  const strings = (key: (typeof MATCH_KEYS)[number]): string[] | undefined => {
    const v = raw[key];
    const list = Array.isArray(v) ? v : [v];
    if (list.length === 0 || !list.every((s): s is string => typeof s === 'string' && s !== '')) {
      return r.error([...path, key], `${key} must be a non-empty string or list of strings`, key === 'peerhost' ? 'write e.g. peerhost: "10.0.0.0/8" or ["10.0.0.0/8", "2001:db8::/32"]' : `write e.g. ${key}: "sensor-*" (* any characters, ? one character)`);
    }
    return list;
  };
  const m: { -readonly [K in keyof ClientMatch]: ClientMatch[K] } = {};
  let catchAll = raw.peerhost === undefined;
  for (const key of ['clientid', 'username'] as const) {
    if (raw[key] === undefined) continue;
    const globs = strings(key);
    if (!globs) continue;
    m[key] = compileGlobs(globs);
    if (!globs.includes('*')) catchAll = false;
  }
  if (raw.peerhost !== undefined) {
    const texts = strings('peerhost');
    const entries: PeerhostEntry[] = [];
    texts?.forEach((t, i) => {
      const e = parsePeerhost(t);
      if ('problem' in e) r.error(Array.isArray(raw.peerhost) ? [...path, 'peerhost', i] : [...path, 'peerhost'], e.problem, 'write an IPv4/IPv6 address or CIDR block, e.g. "10.0.0.0/8" or "2001:db8::/32"');
      else entries.push(e);
    });
    if (texts && entries.length === texts.length) m.peerhost = compilePeerhosts(entries);
  }
  return r.errors.length > before ? undefined : { match: m, catchAll };
}

/** `users: [ { username, password_hash }, … ]` → username → parsed hash. */
export function readUsers(r: Report, raw: unknown, path: Path): Map<string, PasswordHash> {
  const users = new Map<string, PasswordHash>();
  if (!Array.isArray(raw)) {
    r.error(path, 'users must be a list', 'write e.g. users: [ { username: alice, password_hash: "scrypt$..." } ]');
    return users;
  }
  raw.forEach((u, i) => {
    const p = [...path, i];
    if (!isMapping(u)) return r.error(p, 'a user must be a mapping', 'write e.g. { username: alice, password_hash: "scrypt$..." }');
    r.keys(u, p, USER_KEYS, { password: 'never put a plaintext password in the policy: store password_hash, made with `hookwarden hash-password`' });
    const name = u.username;
    if (typeof name !== 'string' || name === '') return r.error([...p, 'username'], 'username must be a non-empty string', 'write e.g. username: alice');
    if (users.has(name)) return r.error([...p, 'username'], `user "${name}" is listed twice`, 'keep one entry per username');
    if (u.password_hash === undefined) return r.error([...p, 'password_hash'], 'password_hash is missing', HASH_FIX);
    const hash = parsePasswordHash(u.password_hash);
    if ('problem' in hash) return r.error([...p, 'password_hash'], hash.problem, HASH_FIX);
    users.set(name, hash);
    return undefined;
  });
  return users;
}
