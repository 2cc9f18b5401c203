/**
 * `hookwarden replay`: rebuild every client's state by re-stepping the
 * machine inputs stored in the journal, in journal order, and compare with
 * what the live server stored: the packed snapshot, the state name and the
 * decision of every record.
 */
import {
  MACHINE_VERSION,
  canRestore,
  initialSnapshot,
  packSnapshot,
  stateName,
  step,
  unpackSnapshot,
  type ClientSnapshot,
} from '../../machines/client/client.step.js';
import { parsePolicyRef, restoreInput } from '../core/stored-input.js';
import type { JournalEntry, JournalPort } from '../journal/journal.js';
import type { PolicyArchive } from '../journal/policy-archive.js';
import { PolicyLookup } from './policy-lookup.js';

export interface ReplayDifference {
  readonly clientId: string;
  readonly seq: number;
  readonly hook: string;
  readonly what: 'snapshot' | 'state' | 'decision';
  readonly stored: string;
  readonly replayed: string;
}

export interface ReplayReport {
  readonly records: number;
  readonly clients: number;
  /** Records re-stepped from their stored input. */
  readonly replayed: number;
  /** Records without a stored input, or whose policy is not archived: the stored snapshot was adopted. */
  readonly adopted: number;
  /**
   * Clients whose first retained record does not follow from a fresh state:
   * their older records were retained away (segment retention, stream
   * limits). Their stored snapshot is adopted there; on a journal that kept
   * everything this is 0, and anything else is a difference.
   */
  readonly truncated: number;
  readonly differences: readonly ReplayDifference[];
  /** All differences, even beyond the listed ones. */
  readonly differenceCount: number;
}

/** Two passes: collect the policy revisions, then fold. */
export async function replayJournal(journal: JournalPort, archive: PolicyArchive, maxListed = 50): Promise<ReplayReport> {
  const revisions = new Set<string>();
  for await (const e of journal.readAll()) {
    const ref = e.record.input?.policy;
    const parsed = ref === undefined ? undefined : parsePolicyRef(ref);
    if (parsed) revisions.add(parsed.revision);
  }
  const lookup = new PolicyLookup(archive);
  await lookup.prefetch(revisions);

  const states = new Map<string, ClientSnapshot>();
  const differences: ReplayDifference[] = [];
  let count = 0;
  let records = 0;
  let replayed = 0;
  let adopted = 0;
  let truncated = 0;
  const differ = (d: ReplayDifference): void => {
    count++;
    if (differences.length < maxListed) differences.push(d);
  };
  for await (const entry of journal.readAll()) {
    records++;
    const { record } = entry;
    const first = !states.has(record.clientId);
    const before = states.get(record.clientId) ?? initialSnapshot();
    const input = record.input ? restoreInput(record.input, lookup.policyOf) : undefined;
    if (!input) {
      adopted++;
      const stored = storedSnapshot(entry);
      if (stored) states.set(record.clientId, stored);
      continue;
    }
    replayed++;
    const r = step(before, input);
    const packed = entry.snapshot?.machineVersion === MACHINE_VERSION ? entry.snapshot.packed : undefined;
    if (first && packed !== undefined && packSnapshot(r.next) !== packed) {
      truncated++;
      states.set(record.clientId, storedSnapshot(entry) ?? r.next);
      continue;
    }
    states.set(record.clientId, r.next);
    const base = { clientId: record.clientId, seq: entry.seq, hook: record.hook };
    if (packed !== undefined && packSnapshot(r.next) !== packed)
      differ({ ...base, what: 'snapshot', stored: packed, replayed: packSnapshot(r.next) });
    if (stateName(r.next) !== record.state) differ({ ...base, what: 'state', stored: record.state, replayed: stateName(r.next) });
    const a = record.decision;
    const b = r.decision;
    if ((a || b) && (a?.outcome !== b?.outcome || a?.reason.code !== b?.reason.code || Boolean(a?.shadowed) !== Boolean(b?.shadowed))) {
      differ({ ...base, what: 'decision', stored: describe(a), replayed: describe(b) });
    }
  }
  return { records, clients: states.size, replayed, adopted, truncated, differences, differenceCount: count };
}

function storedSnapshot(entry: JournalEntry): ClientSnapshot | undefined {
  if (!entry.snapshot || !canRestore(entry.snapshot.machineVersion)) return undefined;
  try {
    return unpackSnapshot(entry.snapshot.packed);
  } catch {
    return undefined;
  }
}

const describe = (d: { outcome: string; reason: { code: string }; shadowed?: boolean } | undefined): string =>
  d ? `${d.outcome} (${d.reason.code}${d.shadowed ? ', shadowed' : ''})` : 'none';

export function formatReplay(r: ReplayReport): string {
  const lines = [
    `records: ${r.records}, clients: ${r.clients}, re-stepped: ${r.replayed}, adopted stored snapshots: ${r.adopted}, truncated histories: ${r.truncated}`,
    `differences: ${r.differenceCount}`,
  ];
  for (const d of r.differences) lines.push(`  ${d.clientId} #${d.seq} ${d.hook} ${d.what}: stored ${d.stored} / replayed ${d.replayed}`);
  if (r.differenceCount > r.differences.length) lines.push(`  … and ${r.differenceCount - r.differences.length} more`);
  return lines.join('\n');
}
