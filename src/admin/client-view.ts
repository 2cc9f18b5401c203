/**
 * `GET /v1/clients/:clientId`: one client as an operator sees it: its state
 * by name, standing (ban, quarantine), the operator's override, the policy
 * that applies now with the limits in effect (override included), counters,
 * and its recent events with the decisions' reasons.
 *
 * Where the state comes from: a persistent journal (files, NATS) is the
 * truth every instance shares: its newest snapshot, stepped on by any
 * records after it (as `hookwarden inspect` does, but without `load()`);
 * this instance's registry answers when the journal has no snapshot
 * (memory journal, or nothing stored yet).
 */
import { effectivePolicy } from '../../machines/client/client.rules.js';
import { canRestore, step, unpackSnapshot, type ClientSnapshot } from '../../machines/client/client.step.js';
import { parsePolicyRef, restoreInput } from '../core/stored-input.js';
import type { ClientContext, LimitsOverride } from '../../machines/client/client.types.js';
import type { Registry } from '../actors/registry.js';
import type { Decision } from '../domain/decision.js';
import type { Flapping, Limits, Quarantine, ResolvedPolicy } from '../domain/policy.types.js';
import { formatDuration, formatRate, formatSize } from '../domain/units.js';
import type { JournalEntry, JournalPort } from '../journal/journal.js';
import type { PolicyArchive } from '../journal/policy-archive.js';
import { resolvePolicy, type PolicySet } from '../policy/policy-set.js';
import { PolicyLookup } from '../tools/policy-lookup.js';

export interface ClientViewDeps {
  readonly journal: JournalPort;
  readonly archive: PolicyArchive;
  readonly registry: Registry;
  readonly policies: () => PolicySet;
}

type FileLimits = Record<string, string | number>;

/** Limits as the policy file writes them (`messages_rate: "10/s"`); a removed limit (override) is `"infinity"`. */
export function limitsToFile(l: Limits | LimitsOverride): FileLimits {
  const out: FileLimits = {};
  const put = <T>(key: string, v: T | null | undefined, show: (v: T) => string | number): void => {
    if (v === null) out[key] = 'infinity';
    else if (v !== undefined) out[key] = show(v);
  };
  put('messages_rate', l.messagesRate, (r) => formatRate(r, 'messages'));
  put('messages_burst', l.messagesBurst, (n) => n);
  put('bytes_rate', l.bytesRate, (r) => formatRate(r, 'bytes'));
  put('bytes_burst', l.bytesBurst, (n) => formatSize(n));
  put('max_payload', l.maxPayload, (n) => formatSize(n));
  put('max_subscriptions', l.maxSubscriptions, (n) => n);
  return out;
}

const iso = (ms: number): string => new Date(Math.min(Math.max(ms, -8.64e15), 8.64e15)).toISOString();
const windowOf = (w: Flapping | Quarantine | undefined, count: number, time: number): Record<string, string | number> | null =>
  w ? { max: count, window_time: formatDuration(w.windowMs), duration: formatDuration(time) } : null;

function decisionView(d: Decision): Record<string, unknown> {
  return { outcome: d.outcome, ...(d.shadowed ? { shadowed: true } : {}), reason: d.reason };
}

export function standingOf(c: ClientContext, now: number): { status: string; ban: unknown; quarantine: unknown } {
  const banned = c.bannedUntil > now;
  const quarantined = c.quarantinedUntil > now;
  return {
    status: banned ? 'banned' : quarantined ? 'quarantined' : 'ok',
    ban: banned ? { until: iso(c.bannedUntil), remainingMs: c.bannedUntil - now, kind: c.banKind, note: c.banNote } : null,
    quarantine: quarantined
      ? {
          until: iso(c.quarantinedUntil),
          remainingMs: c.quarantinedUntil - now,
          kind: c.quarantineNote ? 'override' : 'violations',
          note: c.quarantineNote,
        }
      : null,
  };
}

function policyView(p: ResolvedPolicy, revision: string): Record<string, unknown> {
  return {
    name: p.name,
    revision,
    mode: p.mode,
    authenticate: p.authenticate,
    limits: limitsToFile(p.limits),
    flapping: p.flapping ? windowOf(p.flapping, p.flapping.maxCount, p.flapping.banMs) : null,
    quarantine: p.quarantine ? windowOf(p.quarantine, p.quarantine.maxViolations, p.quarantine.durationMs) : null,
    aclRules: p.acl.length,
    noMatch: p.noMatch,
  };
}

function eventView(e: JournalEntry): Record<string, unknown> {
  const r = e.record;
  return {
    seq: e.seq,
    at: iso(r.at),
    hook: r.hook,
    state: r.state,
    ...(r.decision ? { decision: decisionView(r.decision) } : {}),
    ...(r.detail?.reason !== undefined && r.hook.startsWith('admin.') ? { note: r.detail.reason } : {}),
    facts: r.facts.map((f) => f.type),
  };
}

/** Who the client is, for policy matching: the newest username and peer address its records carry. */
function whoOf(clientid: string, recent: readonly JournalEntry[]): { clientid: string; username: string; peerhost: string } {
  let username = '';
  let peerhost = '';
  for (let i = recent.length - 1; i >= 0 && (username === '' || peerhost === ''); i--) {
    const d = recent[i]?.record.detail;
    if (username === '' && d?.username) username = d.username;
    if (peerhost === '' && d?.peerhost) peerhost = d.peerhost;
  }
  return { clientid, username, peerhost };
}

/** Records read to find the client's newest snapshot (every record of a persistent journal normally carries one). */
const STATE_WINDOW = 32;

/**
 * The client's state from its newest records: the newest stored snapshot,
 * stepped on by the inputs of the records after it. Read-only on purpose:
 * `journal.load()` would also move this instance's fence for the client (a
 * stale copy in memory could then append over a change made elsewhere).
 */
async function stateOf(window: readonly JournalEntry[], archive: PolicyArchive): Promise<ClientSnapshot | undefined> {
  let i = window.length - 1;
  while (i >= 0 && !(window[i]?.snapshot && canRestore(window[i]?.snapshot?.machineVersion ?? ''))) i--;
  const stored = window[i]?.snapshot;
  if (!stored) return undefined;
  let snapshot = unpackSnapshot(stored.packed);
  const after = window.slice(i + 1);
  const lookup = new PolicyLookup(archive);
  await lookup.prefetch(after.map((e) => parsePolicyRef(e.record.input?.policy ?? '')?.revision ?? '').filter(Boolean));
  for (const e of after) {
    const input = e.record.input && restoreInput(e.record.input, lookup.policyOf);
    if (input) snapshot = step(snapshot, input).next;
  }
  return snapshot;
}

/** The view of a client, or undefined when neither this instance nor the journal knows it. */
export async function clientView(
  deps: ClientViewDeps,
  clientId: string,
  last: number,
  now: number,
): Promise<Record<string, unknown> | undefined> {
  let ctx: ClientContext | undefined;
  let lifecycle: string | undefined;
  let recent: JournalEntry[];
  let source: 'journal' | 'instance' = 'instance';
  if (deps.journal.kind !== 'memory') {
    const window = await deps.journal.recent(clientId, Math.max(last, STATE_WINDOW));
    const snapshot = await stateOf(window, deps.archive);
    recent = last > 0 ? window.slice(-last) : [];
    if (snapshot) {
      ctx = snapshot.context;
      lifecycle = (snapshot.value as { lifecycle: string }).lifecycle;
      source = 'journal';
    }
  } else recent = await deps.journal.recent(clientId, last);
  if (!ctx) {
    const live = deps.registry.peek(clientId);
    ctx = live?.context;
    lifecycle = live && (live.value as { lifecycle: string }).lifecycle;
  }
  if (!ctx && recent.length === 0) return undefined;
  const set = deps.policies();
  const policy = resolvePolicy(set, whoOf(clientId, recent));
  const o = ctx?.override ?? null;
  const standing = ctx ? standingOf(ctx, now) : { status: 'ok', ban: null, quarantine: null };
  return {
    clientId,
    source,
    state: standing.status === 'ok' ? (lifecycle ?? recent[recent.length - 1]?.record.state ?? 'unknown') : standing.status,
    lifecycle: lifecycle ?? null,
    standing,
    override: o
      ? {
          ...(o.limits ? { limits: limitsToFile(o.limits) } : {}),
          ...(o.shadow !== undefined ? { shadow: o.shadow } : {}),
          reason: o.note,
          since: iso(o.since),
        }
      : null,
    policy: policyView(ctx ? effectivePolicy(ctx, policy) : policy, set.revision),
    counters: ctx?.counters ?? null,
    subscriptions: ctx?.subscriptions ?? [],
    lastEventAt: ctx && ctx.lastAt > 0 ? iso(ctx.lastAt) : null,
    lastDecision: ctx?.last ? decisionView(ctx.last) : null,
    recentViolations: (ctx?.recent ?? []).map((v) => ({ at: iso(v.at), code: v.code })),
    recent: recent.map(eventView),
  };
}
