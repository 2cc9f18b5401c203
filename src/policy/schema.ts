/**
 * PURE: validate a parsed policy document (YAML or JSON, already turned into
 * plain data) into a `PolicySet`, or report every problem at once, each with
 * its key path, the fix and (given a locator) its line. docs/POLICY.md
 * documents every key.
 */
import type { AuthenticateMode, Mode, ResolvedPolicy } from '../domain/policy.types.js';
import { formatRate, formatSize } from '../domain/units.js';
import { mergePolicy, BUILTIN_POLICY, type BodySpec } from './merge.js';
import { buildPolicySet, canonicalJson, revisionOf, type PolicyEntry, type PolicySet } from './policy-set.js';
import { readAcl, readFlapping, readLimits, readMatch, readQuarantine, readUsers, type MatchSpec } from './schema-fields.js';
import { formatPath, isMapping, oneOf, Report, type Locate, type Path, type PolicyError, type Raw } from './schema-report.js';

export type { PolicyError, Locate, Path } from './schema-report.js';

export type PolicyResult = { readonly ok: true; readonly set: PolicySet } | { readonly ok: false; readonly errors: readonly PolicyError[] };

const TOP_KEYS = ['mode', 'default', 'users', 'policies'] as const;
const BODY_KEYS = ['authenticate', 'limits', 'flapping', 'quarantine', 'acl', 'no_match'] as const;
const ENTRY_KEYS = ['name', 'match', 'mode', ...BODY_KEYS] as const;

const UNDER_DEFAULT = 'put it under default: (every client) or in a policies[] entry';
const TOP_HINTS: Record<string, string> = Object.fromEntries(BODY_KEYS.map((k) => [k, `"${k}" is not a top-level key: ${UNDER_DEFAULT}`]));
const DEFAULT_HINTS: Record<string, string> = {
  mode: 'set mode at the top level (or in a policies[] entry)',
  name: 'the default policy is always named "default"; name belongs to policies[] entries',
  match: 'the default policy applies to every client; match belongs to policies[] entries',
};

interface EntrySpec {
  /** Index in the file's `policies` list. */
  readonly index: number;
  readonly name: string;
  readonly match: MatchSpec;
  readonly body: BodySpec;
}

function readBody(r: Report, raw: Raw, path: Path): BodySpec {
  const body: { -readonly [K in keyof BodySpec]: BodySpec[K] } = {};
  if (raw.mode !== undefined) body.mode = oneOf<Mode>(r, raw.mode, [...path, 'mode'], ['enforce', 'shadow']);
  if (raw.authenticate !== undefined) {
    body.authenticate = oneOf<AuthenticateMode>(r, raw.authenticate, [...path, 'authenticate'], ['allow', 'deny', 'users', 'ignore']);
  }
  if (raw.limits !== undefined) body.limits = readLimits(r, raw.limits, [...path, 'limits']);
  if (raw.flapping !== undefined) body.flapping = readFlapping(r, raw.flapping, [...path, 'flapping']);
  if (raw.quarantine !== undefined) body.quarantine = readQuarantine(r, raw.quarantine, [...path, 'quarantine']);
  if (raw.acl !== undefined) body.acl = readAcl(r, raw.acl, [...path, 'acl']);
  if (raw.no_match !== undefined) body.noMatch = oneOf(r, raw.no_match, [...path, 'no_match'], ['allow', 'deny', 'ignore'] as const);
  return body;
}

function readEntries(r: Report, raw: unknown): EntrySpec[] {
  if (!Array.isArray(raw)) {
    r.error(['policies'], 'policies must be a list', 'write e.g. policies: [ { name: sensors, match: { clientid: "sensor-*" }, limits: { messages_rate: "1/s" } } ]');
    return [];
  }
  const entries: EntrySpec[] = [];
  const names = new Map<string, number>();
  raw.forEach((item, i) => {
    const path: Path = ['policies', i];
    if (!isMapping(item)) return r.error(path, 'a policies[] entry must be a mapping', 'write e.g. { name: sensors, match: { clientid: "sensor-*" }, limits: { ... } }');
    r.keys(item, path, ENTRY_KEYS, { default: 'default is a top-level key, not part of an entry' });
    let name: string | undefined;
    if (typeof item.name !== 'string' || item.name.trim() === '') r.error([...path, 'name'], 'name is missing or empty', 'give every entry a name, e.g. name: sensors (it appears in every decision)');
    else if (item.name === 'default') r.error([...path, 'name'], '"default" is reserved for the default policy', 'choose another name');
    else if (names.has(item.name)) r.error([...path, 'name'], `name "${item.name}" is already used by policies[${names.get(item.name)}]`, 'give every entry its own name');
    else {
      name = item.name;
      names.set(name, i);
    }
    const match = item.match === undefined ? r.error([...path, 'match'], 'match is missing', 'add e.g. match: { clientid: "sensor-*" }; clientid: "*" matches every client') : readMatch(r, item.match, [...path, 'match']);
    const body = readBody(r, item, path);
    if (name !== undefined && match) entries.push({ index: i, name, match, body });
    return undefined;
  });
  return entries;
}

/** Checks that need the merged policy; reported where the entry (or the default) wrote the keys involved. */
function checkMerged(r: Report, p: ResolvedPolicy, spec: BodySpec, path: Path, users: ReadonlyMap<string, unknown>): void {
  if (spec.authenticate === 'users' && users.size === 0) {
    r.error([...path, 'authenticate'], 'authenticate is "users" but no users are listed', 'add users: [ { username: ..., password_hash: ... } ] at the top level, or choose allow, deny or ignore');
  }
  // A limit that failed to parse is missing from the merge: checking the rest would only add echoes of that error.
  const limitsFailed = r.errors.some((e) => e.path.startsWith('default.limits') || e.path.startsWith(`${formatPath(path)}.limits`));
  if (limitsFailed) return;
  const l = p.limits;
  const wrote = spec.limits ?? {};
  if (l.messagesBurst !== undefined && !l.messagesRate) {
    r.error([...path, 'limits', 'messages_burst'], 'messages_burst is set but there is no messages_rate to refill the bucket', 'add messages_rate, e.g. "10/s", or remove messages_burst');
  }
  if (l.bytesBurst !== undefined && !l.bytesRate) {
    r.error([...path, 'limits', 'bytes_burst'], 'bytes_burst is set but there is no bytes_rate to refill the bucket', 'add bytes_rate, e.g. "64KB/s", or remove bytes_burst');
  }
  const touchesBytes = wrote.bytesRate !== undefined || wrote.bytesBurst !== undefined || wrote.maxPayload !== undefined;
  if (touchesBytes && l.bytesBurst !== undefined && l.bytesRate && l.maxPayload !== undefined && l.bytesBurst < l.maxPayload) {
    r.error(
      [...path, 'limits'],
      `bytes_burst (${formatSize(l.bytesBurst)}${wrote.bytesBurst === undefined ? `, from bytes_rate ${formatRate(l.bytesRate, 'bytes')}` : ''}) is smaller than max_payload (${formatSize(l.maxPayload)}): a message of max_payload bytes could never pass`,
      'raise bytes_burst to at least max_payload, or lower max_payload',
    );
  }
}

/** Errors in file order (a stable sort: errors without a line keep their place first). */
function byLine(errors: readonly PolicyError[]): PolicyError[] {
  return [...errors].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

/** Validate `input` (the parsed file) into a PolicySet, or every error found. */
export function validatePolicy(input: unknown, options: { readonly locate?: Locate } = {}): PolicyResult {
  const r = new Report(options.locate);
  if (input === null || input === undefined) {
    r.error([], 'the policy file is empty', 'write {} for a policy that decides nothing, or see docs/POLICY.md for the keys');
    return { ok: false, errors: r.errors };
  }
  if (!isMapping(input)) {
    r.error([], 'the policy file must be a mapping of keys (mode, default, users, policies)', 'see examples/policies/minimal.yaml');
    return { ok: false, errors: r.errors };
  }
  r.keys(input, [], TOP_KEYS, TOP_HINTS);
  const mode = input.mode === undefined ? 'enforce' : (oneOf<Mode>(r, input.mode, ['mode'], ['enforce', 'shadow']) ?? 'enforce');
  let defaultSpec: BodySpec = {};
  if (input.default !== undefined) {
    if (!isMapping(input.default)) r.error(['default'], 'default must be a mapping', 'write e.g. default: { authenticate: ignore, no_match: deny }');
    else {
      r.keys(input.default, ['default'], BODY_KEYS, DEFAULT_HINTS);
      defaultSpec = readBody(r, input.default, ['default']);
    }
  }
  const users = input.users === undefined ? new Map() : readUsers(r, input.users, ['users']);
  const specs = input.policies === undefined ? [] : readEntries(r, input.policies);

  const base = mergePolicy(BUILTIN_POLICY, { ...defaultSpec, mode }, 'default');
  checkMerged(r, base, defaultSpec, ['default'], users);
  const entries: PolicyEntry[] = [];
  let catchAll: number | undefined;
  for (const spec of specs) {
    const i = spec.index;
    const path: Path = ['policies', i];
    const policy = mergePolicy(base, spec.body, spec.name);
    checkMerged(r, policy, spec.body, path, users);
    if (catchAll !== undefined) {
      r.error([...path, 'match'], `policies[${i}] ("${spec.name}") can never apply: policies[${catchAll}] matches every client first`, `move it above policies[${catchAll}], or narrow policies[${catchAll}].match`);
    } else if (spec.match.catchAll) catchAll = i;
    entries.push({ name: spec.name, match: spec.match.match, policy });
  }

  if (r.errors.length > 0) return { ok: false, errors: byLine(r.errors) };
  return { ok: true, set: buildPolicySet({ revision: revisionOf(input), mode, default: base, entries, users, source: canonicalJson(input) }) };
}
