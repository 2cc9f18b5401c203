/**
 * PURE: how a policy body overrides the one beneath it (the default policy
 * over the built-in one, a `policies[]` entry over the default).
 *
 * - Scalars (`mode`, `authenticate`, `no_match`) replace.
 * - `limits` merge limit by limit; "infinity" removes an inherited limit.
 *   A rate and its burst go together: setting a rate without a burst makes
 *   the burst that rate's count (not an inherited burst); setting only a
 *   burst keeps the inherited rate.
 * - `flapping` / `quarantine` merge field by field over the inherited
 *   settings, or the built-in defaults; `false` turns them off.
 * - `acl` replaces the inherited list as a whole.
 */
import type { AclRule, AuthenticateMode, Flapping, Limits, Mode, Quarantine, ResolvedPolicy } from '../domain/policy.types.js';
import type { LimitsSpec } from './schema-fields.js';

/** A policy body as written (every key optional). */
export interface BodySpec {
  readonly mode?: Mode;
  readonly authenticate?: AuthenticateMode;
  readonly limits?: LimitsSpec;
  readonly flapping?: Partial<Flapping> | false;
  readonly quarantine?: Partial<Quarantine> | false;
  readonly acl?: readonly AclRule[];
  readonly noMatch?: 'allow' | 'deny' | 'ignore';
}

/** EMQX's flapping defaults (`flapping_detect`). */
export const FLAPPING_DEFAULTS: Flapping = Object.freeze({ maxCount: 15, windowMs: 60_000, banMs: 300_000 });
export const QUARANTINE_DEFAULTS: Quarantine = Object.freeze({ maxViolations: 10, windowMs: 60_000, durationMs: 600_000 });

/** What every client gets without a policy file: nothing limited, nothing decided (EMQX decides). */
export const BUILTIN_POLICY: ResolvedPolicy = deepFreeze({
  name: 'default',
  mode: 'enforce',
  authenticate: 'ignore',
  limits: {},
  acl: [],
  noMatch: 'ignore',
});

export function mergeLimits(base: Limits, spec: LimitsSpec | undefined): Limits {
  if (!spec) return base;
  const out: { -readonly [K in keyof Limits]: Limits[K] } = { ...base };
  if (spec.messagesRate !== undefined && spec.messagesBurst === undefined) delete out.messagesBurst;
  if (spec.bytesRate !== undefined && spec.bytesBurst === undefined) delete out.bytesBurst;
  for (const key of Object.keys(spec) as (keyof LimitsSpec)[]) {
    const v = spec[key];
    if (v === null) delete out[key];
    else if (v !== undefined) (out as Record<string, unknown>)[key] = v;
  }
  if (out.messagesRate && out.messagesBurst === undefined) out.messagesBurst = out.messagesRate.count;
  if (out.bytesRate && out.bytesBurst === undefined) out.bytesBurst = out.bytesRate.count;
  return out;
}

function mergeWindow<T extends object>(base: T | undefined, defaults: T, spec: Partial<T> | false | undefined): T | undefined {
  if (spec === undefined) return base;
  if (spec === false) return undefined;
  return { ...(base ?? defaults), ...spec };
}

/** `spec` over `base`, named `name`. The result is deeply frozen. */
export function mergePolicy(base: ResolvedPolicy, spec: BodySpec, name: string): ResolvedPolicy {
  const flapping = mergeWindow(base.flapping, FLAPPING_DEFAULTS, spec.flapping);
  const quarantine = mergeWindow(base.quarantine, QUARANTINE_DEFAULTS, spec.quarantine);
  return deepFreeze({
    name,
    mode: spec.mode ?? base.mode,
    authenticate: spec.authenticate ?? base.authenticate,
    limits: mergeLimits(base.limits, spec.limits),
    ...(flapping ? { flapping } : {}),
    ...(quarantine ? { quarantine } : {}),
    acl: spec.acl ?? base.acl,
    noMatch: spec.noMatch ?? base.noMatch,
  });
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
