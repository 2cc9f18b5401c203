/**
 * PURE: human text for policy errors and a one-paragraph summary of a valid
 * policy (what `hookwarden check-policy` prints).
 */
import type { ResolvedPolicy } from '../domain/policy.types.js';
import { formatDuration, formatRate, formatSize } from '../domain/units.js';
import type { PolicySet } from './policy-set.js';
import type { PolicyError } from './schema-report.js';

/** Every error, one block each: `line 7: policies[0].limits.messages_rate: … \n    fix: …`. */
export function formatErrors(errors: readonly PolicyError[]): string {
  return errors
    .map((e) => {
      const where = `${e.line !== undefined ? `line ${e.line}: ` : ''}${e.path === '' ? '' : `${e.path}: `}`;
      return `  ${where}${e.message}\n      fix: ${e.fix}`;
    })
    .join('\n');
}

function describePolicy(p: ResolvedPolicy): string {
  const l = p.limits;
  const parts = [`authenticate ${p.authenticate}`];
  if (l.messagesRate) parts.push(`messages ${formatRate(l.messagesRate, 'messages')} burst ${l.messagesBurst ?? l.messagesRate.count}`);
  if (l.bytesRate) parts.push(`bytes ${formatRate(l.bytesRate, 'bytes')} burst ${formatSize(l.bytesBurst ?? l.bytesRate.count)}`);
  if (l.maxPayload !== undefined) parts.push(`max_payload ${formatSize(l.maxPayload)}`);
  if (l.maxSubscriptions !== undefined) parts.push(`max_subscriptions ${l.maxSubscriptions}`);
  if (p.flapping) parts.push(`flapping >${p.flapping.maxCount}/${formatDuration(p.flapping.windowMs)} → ban ${formatDuration(p.flapping.banMs)}`);
  if (p.quarantine) parts.push(`quarantine >${p.quarantine.maxViolations}/${formatDuration(p.quarantine.windowMs)} → ${formatDuration(p.quarantine.durationMs)}`);
  parts.push(`${p.acl.length} ACL rule(s)`, `no_match ${p.noMatch}`);
  if (p.mode === 'shadow') parts.push('SHADOW');
  return parts.join(', ');
}

/** A few lines describing a valid set: each policy, users, the hooks it needs, the revision. */
export function summarize(set: PolicySet): string {
  const lines = [`revision ${set.revision.slice(0, 12)}, mode ${set.mode}`, `default: ${describePolicy(set.default)}`];
  for (const e of set.entries) lines.push(`policy "${e.name}": ${describePolicy(e.policy)}`);
  lines.push(`${set.users.size} user(s)`);
  const hooks = [
    set.needs.authenticate ? 'client.authenticate' : '',
    set.needs.authorize ? 'client.authorize' : '',
    set.needs.publish ? 'message.publish' : '',
  ].filter(Boolean);
  lines.push(`valued hooks needed: ${hooks.length > 0 ? hooks.join(', ') : 'none'}`);
  return lines.join('\n');
}
