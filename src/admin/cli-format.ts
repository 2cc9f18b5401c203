/** PURE: the human output of `hookwarden client …` from the admin API's JSON replies. */

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '-' : JSON.stringify(v));

const pairs = (o: Obj | undefined): string =>
  o && Object.keys(o).length > 0
    ? Object.entries(o)
        .map(([k, v]) => `${k} ${str(v)}`)
        .join(', ')
    : 'none';

function standingLines(s: Obj | undefined): string[] {
  const out = [`standing: ${str(s?.status ?? 'ok')}`];
  const ban = obj(s?.ban);
  if (ban) out.push(`  banned until ${str(ban.until)} (${str(ban.kind)}${ban.note ? `: ${str(ban.note)}` : ''})`);
  const q = obj(s?.quarantine);
  if (q) out.push(`  quarantined until ${str(q.until)} (${str(q.kind)}${q.note ? `: ${str(q.note)}` : ''})`);
  return out;
}

function overrideLine(o: Obj | undefined): string {
  if (!o) return 'override: none';
  const parts = [o.limits ? `limits ${pairs(obj(o.limits))}` : '', o.shadow !== undefined ? `shadow ${str(o.shadow)}` : ''].filter(Boolean);
  return `override: ${parts.join('; ') || 'nothing'} (${str(o.reason)}${o.since ? `, since ${str(o.since)}` : ''})`;
}

function decisionText(d: Obj | undefined): string {
  if (!d) return '';
  const r = obj(d.reason);
  return ` ${str(d.outcome)}${d.shadowed ? ' (shadowed)' : ''} [${str(r?.code)}] ${str(r?.detail)}`;
}

/** `client show`. */
export function formatClient(c: Obj): string {
  const out = [`client ${JSON.stringify(c.clientId)}: ${str(c.state)} (state from ${str(c.source)})`, ...standingLines(obj(c.standing))];
  out.push(overrideLine(obj(c.override)));
  const p = obj(c.policy);
  if (p) {
    out.push(
      `policy: ${str(p.name)} (revision ${str(p.revision).slice(0, 12)}), mode ${str(p.mode)}, authenticate ${str(p.authenticate)}, ${str(p.aclRules)} ACL rules, no_match ${str(p.noMatch)}`,
    );
    out.push(`limits in effect: ${pairs(obj(p.limits))}`);
    if (p.flapping) out.push(`flapping: ${pairs(obj(p.flapping))}`);
    if (p.quarantine) out.push(`quarantine: ${pairs(obj(p.quarantine))}`);
  }
  out.push(`counters: ${pairs(obj(c.counters))}`);
  const subs = list(c.subscriptions);
  out.push(`subscriptions: ${subs.length > 0 ? subs.map(str).join(', ') : '-'}`);
  const last = obj(c.lastDecision);
  if (last) out.push(`last decision:${decisionText(last)}`);
  const violations = list(c.recentViolations).map(obj);
  if (violations.length > 0) out.push(`recent violations: ${violations.map((v) => `${str(v?.code)} at ${str(v?.at)}`).join('; ')}`);
  const recent = list(c.recent).map(obj);
  out.push(`last ${recent.length} events:`);
  for (const e of recent) {
    if (!e) continue;
    const facts = list(e.facts).map(str).join(',');
    out.push(
      `  #${str(e.seq)} ${str(e.at)} ${str(e.hook)} → ${str(e.state)}${decisionText(obj(e.decision))}${e.note ? ` (${str(e.note)})` : ''}${facts ? ` {${facts}}` : ''}`,
    );
  }
  return out.join('\n');
}

/** `client override | clear-override | unban`. */
export function formatOutcome(r: Obj): string {
  const applied = list(r.applied).map(obj);
  const out = [
    applied.length > 0
      ? `client ${JSON.stringify(r.clientId)}: applied ${applied.map((a) => `${str(a?.command)} {${list(a?.facts).map(str).join(',')}}`).join(', ')}`
      : `client ${JSON.stringify(r.clientId)}: nothing to change`,
    ...standingLines(obj(r.standing)),
    overrideLine(obj(r.override)),
  ];
  return out.join('\n');
}

/** An error reply: the message, then each problem with its fix. */
export function formatProblems(status: number, r: Obj): string {
  const problems = list(r.problems).map(obj);
  if (problems.length === 0) return `HTTP ${status} ${str(r.error)}: ${str(r.message)}`;
  return [
    `HTTP ${status} ${str(r.error)}: ${problems.length} problem(s)`,
    ...problems.map((p) => `  ${p?.field ? `${str(p.field)}: ` : ''}${str(p?.message)}\n      fix: ${str(p?.fix)}`),
  ].join('\n');
}
