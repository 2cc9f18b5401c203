/**
 * PURE: the admin API's request bodies, validated strictly: unknown keys are
 * refused (with the closest key suggested), durations are the policy file's
 * (`"10m"`), limits are written exactly as under `limits:` in the policy file
 * (docs/POLICY.md) and read by the same validator. Every problem names its
 * field and the fix, all at once.
 */
import type { LimitsOverride } from '../../machines/client/client.types.js';
import { MAX_TEXT } from '../../machines/client/client.explain.js';
import { parseDuration } from '../domain/units.js';
import { readLimits } from '../policy/schema-fields.js';
import { isMapping, Report, type PolicyError } from '../policy/schema-report.js';

/** One problem with a request: the field (dotted path, "" for the body), what is wrong, the fix. */
export interface Problem {
  readonly field: string;
  readonly message: string;
  readonly fix: string;
}

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly Problem[] };

/** `PUT /v1/clients/:clientId/override`, validated. */
export interface OverrideRequest {
  readonly limits?: LimitsOverride;
  readonly shadow?: boolean;
  readonly banMs?: number;
  readonly quarantineMs?: number;
  readonly reason: string;
}

export const OVERRIDE_KEYS = ['limits', 'ban', 'quarantine', 'shadow', 'reason'] as const;
const REASON_KEYS = ['reason'] as const;
const DEFAULT_REASON = 'set by an operator';
const EXAMPLE = '{"limits": {"messages_rate": "1/s"}, "ban": "10m", "shadow": true, "reason": "abuse ticket 123"}';

const problems = (errors: readonly PolicyError[]): Problem[] => errors.map((e) => ({ field: e.path, message: e.message, fix: e.fix }));

function readReason(r: Report, raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || raw.trim() === '')
    return r.error(['reason'], 'reason must be a non-empty string', 'write why, e.g. "reason": "abuse ticket 123"');
  if (raw.length > MAX_TEXT)
    return r.error(['reason'], `reason is longer than ${MAX_TEXT} characters`, 'shorten it (it is kept with the client)');
  return raw.trim();
}

function readDuration(r: Report, raw: unknown, key: 'ban' | 'quarantine'): number | undefined {
  if (raw === undefined) return undefined;
  const d = parseDuration(raw);
  return d.ok ? d.value : r.error([key], `${key}: ${d.message}`, `${d.fix}; the ${key} lasts that long from now`);
}

/** The body of `PUT …/override`. */
export function checkOverride(body: unknown): Checked<OverrideRequest> {
  const r = new Report();
  if (!isMapping(body)) {
    r.error([], 'the body must be a JSON object', `send a JSON object, e.g. ${EXAMPLE}`);
    return { ok: false, problems: problems(r.errors) };
  }
  r.keys(body, [], OVERRIDE_KEYS, { duration: 'give the duration as the value of "ban" or "quarantine", e.g. "ban": "10m"' });
  let limits: LimitsOverride | undefined;
  if (body.limits !== undefined) {
    const before = r.errors.length;
    limits = readLimits(r, body.limits, ['limits']);
    if (limits && r.errors.length === before) checkLimits(r, limits);
  }
  let shadow: boolean | undefined;
  if (body.shadow !== undefined) {
    if (typeof body.shadow === 'boolean') shadow = body.shadow;
    else
      r.error(
        ['shadow'],
        `${JSON.stringify(body.shadow)} is not true or false`,
        'write "shadow": true (answer as in shadow mode) or false (enforce)',
      );
  }
  const banMs = readDuration(r, body.ban, 'ban');
  const quarantineMs = readDuration(r, body.quarantine, 'quarantine');
  const reason = readReason(r, body.reason);
  if (
    r.errors.length === 0 &&
    body.limits === undefined &&
    body.shadow === undefined &&
    body.ban === undefined &&
    body.quarantine === undefined
  ) {
    r.error([], 'the override sets nothing', `give at least one of limits, ban, quarantine, shadow, e.g. ${EXAMPLE}`);
  }
  if (r.errors.length > 0) return { ok: false, problems: problems(r.errors) };
  return {
    ok: true,
    value: {
      ...(limits ? { limits } : {}),
      ...(shadow !== undefined ? { shadow } : {}),
      ...(banMs !== undefined ? { banMs } : {}),
      ...(quarantineMs !== undefined ? { quarantineMs } : {}),
      reason: reason ?? DEFAULT_REASON,
    },
  };
}

/** Checks on the override's own limits (the merge with the client's policy happens at each event). */
function checkLimits(r: Report, l: LimitsOverride): void {
  if (Object.keys(l).length === 0)
    r.error(['limits'], 'limits is empty', 'give at least one limit, e.g. "limits": {"messages_rate": "1/s"}, or leave limits out');
  if (typeof l.bytesBurst === 'number' && typeof l.maxPayload === 'number' && l.bytesBurst < l.maxPayload) {
    r.error(
      ['limits'],
      `bytes_burst (${l.bytesBurst} bytes) is smaller than max_payload (${l.maxPayload} bytes): a message of max_payload bytes could never pass`,
      'raise bytes_burst to at least max_payload, or lower max_payload',
    );
  }
}

/** An optional `{ "reason": … }` body (unban, clear override). */
export function checkReason(body: unknown): Checked<{ readonly reason?: string }> {
  if (body === undefined) return { ok: true, value: {} };
  const r = new Report();
  if (!isMapping(body)) r.error([], 'the body must be a JSON object or empty', 'send no body, or {"reason": "…"}');
  else {
    r.keys(body, [], REASON_KEYS);
    const reason = readReason(r, body.reason);
    if (r.errors.length === 0) return { ok: true, value: reason ? { reason } : {} };
  }
  return { ok: false, problems: problems(r.errors) };
}

/** A client id from the path: non-empty, at most EMQX's 65535 bytes. */
export function checkClientId(id: string): Problem | undefined {
  if (id === '')
    return {
      field: 'clientId',
      message: 'the client id is empty',
      fix: 'put the URL-encoded client id in the path, e.g. /v1/clients/sensor%2F1',
    };
  if (Buffer.byteLength(id) > 65535)
    return { field: 'clientId', message: 'the client id is longer than 65535 bytes', fix: 'MQTT client ids are at most 65535 bytes' };
  return undefined;
}
