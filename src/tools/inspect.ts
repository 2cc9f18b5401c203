/**
 * `hookwarden inspect CLIENTID`: a client's current state by name, its
 * standing, counters, the policy that applies with its limits, and its last
 * events with their explanations, read from the journal.
 */
import { canRestore, stateName, step, unpackSnapshot, type ClientSnapshot } from '../../machines/client/client.step.js';
import type { ResolvedPolicy } from '../domain/policy.types.js';
import { parsePolicyRef, restoreInput } from '../core/stored-input.js';
import type { JournalEntry, JournalPort } from '../journal/journal.js';
import type { PolicyArchive } from '../journal/policy-archive.js';
import { formatDuration, formatRate, formatSize } from '../domain/units.js';
import { PolicyLookup } from './policy-lookup.js';

export interface InspectReport {
  readonly clientId: string;
  readonly found: boolean;
  readonly state?: string;
  /** The lifecycle region's state (`idle`, `connecting`, `connected`, `disconnected`), when a snapshot was found. */
  readonly lifecycle?: string;
  readonly context?: ClientSnapshot['context'];
  readonly policy?: { readonly name: string; readonly revision: string; readonly resolved?: ResolvedPolicy };
  readonly last: readonly JournalEntry[];
}

export async function inspectClient(journal: JournalPort, archive: PolicyArchive, clientId: string, last = 20): Promise<InspectReport> {
  const loaded = await journal.load(clientId);
  const recent = await journal.recent(clientId, last);
  if (!loaded && recent.length === 0) return { clientId, found: false, last: [] };
  const refs = [...(loaded?.after ?? []), ...recent].map((e) => e.record.input?.policy).filter((r): r is string => r !== undefined);
  const lookup = new PolicyLookup(archive);
  await lookup.prefetch(refs.map((r) => parsePolicyRef(r)?.revision ?? ''));
  let snapshot: ClientSnapshot | undefined;
  if (loaded?.snapshot && canRestore(loaded.snapshot.machineVersion)) snapshot = unpackSnapshot(loaded.snapshot.packed);
  for (const e of loaded?.after ?? []) {
    const input = e.record.input && restoreInput(e.record.input, lookup.policyOf);
    if (snapshot && input) snapshot = step(snapshot, input).next;
    else if (e.snapshot && canRestore(e.snapshot.machineVersion)) snapshot = unpackSnapshot(e.snapshot.packed);
  }
  const ref = refs.length > 0 ? parsePolicyRef(refs[refs.length - 1] as string) : undefined;
  const resolved = ref ? lookup.policyOf(ref.revision, ref.name) : undefined;
  const newest = recent[recent.length - 1];
  return {
    clientId,
    found: true,
    ...(snapshot
      ? { state: stateName(snapshot), lifecycle: (snapshot.value as { lifecycle: string }).lifecycle, context: snapshot.context }
      : newest
        ? { state: newest.record.state }
        : {}),
    ...(ref ? { policy: { ...ref, ...(resolved ? { resolved } : {}) } } : {}),
    last: recent,
  };
}

const time = (at: number): string => (at > 0 ? new Date(at).toISOString() : '-');

export function formatInspect(r: InspectReport): string {
  if (!r.found) return `client ${JSON.stringify(r.clientId)}: not in the journal`;
  const out = [`client: ${JSON.stringify(r.clientId)}`, `state: ${r.state ?? 'unknown'}`];
  const c = r.context;
  if (c) {
    if (c.bannedUntil > 0) out.push(`banned until: ${time(c.bannedUntil)} (${c.banKind}${c.banNote ? `: ${c.banNote}` : ''})`);
    if (c.quarantinedUntil > 0)
      out.push(`quarantined until: ${time(c.quarantinedUntil)}${c.quarantineNote ? ` (${c.quarantineNote})` : ''}`);
    out.push(`connection: ${c.live || c.conn || '-'}; last event: ${time(c.lastAt)}`);
    const k = c.counters;
    out.push(
      `counters: connects ${k.connects}, publishes allowed ${k.publishesAllowed}, denied ${k.publishesDenied}, bytes ${k.bytesAllowed}, delivered ${k.delivered}, acked ${k.acked}, dropped ${k.dropped}`,
    );
    out.push(`subscriptions: ${c.subscriptions.length ? c.subscriptions.join(', ') : '-'}`);
    const o = c.override;
    if (o) out.push(`override: ${JSON.stringify({ limits: o.limits, shadow: o.shadow })} since ${time(o.since)} (${o.note})`);
    if (c.recent.length) out.push(`recent violations: ${c.recent.map((v) => `${v.code} at ${time(v.at)}`).join('; ')}`);
  }
  if (r.policy) {
    out.push(`policy: ${r.policy.name} (revision ${r.policy.revision.slice(0, 12)})`);
    const p = r.policy.resolved;
    if (p) {
      const l = p.limits;
      const limits = [
        l.messagesRate ? `messages_rate ${formatRate(l.messagesRate, 'messages')} burst ${l.messagesBurst ?? l.messagesRate.count}` : '',
        l.bytesRate ? `bytes_rate ${formatRate(l.bytesRate, 'bytes')} burst ${formatSize(l.bytesBurst ?? l.bytesRate.count)}` : '',
        l.maxPayload !== undefined ? `max_payload ${formatSize(l.maxPayload)}` : '',
        l.maxSubscriptions !== undefined ? `max_subscriptions ${l.maxSubscriptions}` : '',
        p.flapping ? `flapping ${p.flapping.maxCount}/${formatDuration(p.flapping.windowMs)} ban ${formatDuration(p.flapping.banMs)}` : '',
        p.quarantine
          ? `quarantine ${p.quarantine.maxViolations}/${formatDuration(p.quarantine.windowMs)} for ${formatDuration(p.quarantine.durationMs)}`
          : '',
      ].filter(Boolean);
      out.push(`mode: ${p.mode}; authenticate: ${p.authenticate}; acl rules: ${p.acl.length}; no_match: ${p.noMatch}`);
      out.push(`limits: ${limits.length ? limits.join('; ') : 'none'}`);
    }
  }
  out.push(`last ${r.last.length} events:`);
  for (const e of r.last) {
    const rec = e.record;
    const d = rec.decision;
    const facts = rec.facts.map((f) => f.type).join(',');
    out.push(
      `  #${e.seq} ${time(rec.at)} ${rec.hook} → ${rec.state}${d ? ` ${d.outcome}${d.shadowed ? ' (shadowed)' : ''} [${d.reason.code}] ${d.reason.detail}` : ''}${facts ? ` {${facts}}` : ''}`,
    );
  }
  return out.join('\n');
}
