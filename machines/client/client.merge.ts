/**
 * PURE: merging two snapshots of one client that diverged, e.g. the state an
 * instance built locally while NATS was unreachable (degrade mode `local`)
 * and the state the journal holds meanwhile. The merge errs strict: every
 * limit counts what either side spent, and the harsher standing wins.
 *
 * - rate buckets: the later theoretical arrival time (max TAT: the fuller bucket);
 * - ban and quarantine: the one that ends later, with its kind and note;
 * - flapping connects and violations: the union of both windows (bounded as each was);
 * - counters: per counter, the larger;
 * - lifecycle, session, subscriptions, override, last decision: the side that saw the newer event.
 */
import { clientMachine } from './client.machine.js';
import type { ClientSnapshot } from './client.step.js';
import type { ClientContext, Counters } from './client.types.js';

const union = (a: readonly number[], b: readonly number[]): number[] => {
  const bound = Math.max(a.length, b.length);
  const all = [...new Set([...a, ...b])].sort((x, y) => x - y);
  return all.slice(Math.max(0, all.length - bound));
};

const maxCounters = (a: Counters, b: Counters): Counters => ({
  connects: Math.max(a.connects, b.connects),
  publishesAllowed: Math.max(a.publishesAllowed, b.publishesAllowed),
  publishesDenied: Math.max(a.publishesDenied, b.publishesDenied),
  bytesAllowed: Math.max(a.bytesAllowed, b.bytesAllowed),
  delivered: Math.max(a.delivered, b.delivered),
  acked: Math.max(a.acked, b.acked),
  dropped: Math.max(a.dropped, b.dropped),
});

/** The strict merge of two snapshots of the same client (commutative in everything but ties of `lastAt`). */
export function mergeStrict(a: ClientSnapshot, b: ClientSnapshot): ClientSnapshot {
  const [newer, older] = a.context.lastAt >= b.context.lastAt ? [a, b] : [b, a];
  const n = newer.context;
  const o = older.context;
  const ban = o.bannedUntil > n.bannedUntil ? o : n;
  const quarantine = o.quarantinedUntil > n.quarantinedUntil ? o : n;
  const context: ClientContext = {
    ...n,
    msgTat: Math.max(n.msgTat, o.msgTat),
    byteTat: Math.max(n.byteTat, o.byteTat),
    connects: union(n.connects, o.connects),
    violations: union(n.violations, o.violations),
    bannedUntil: ban.bannedUntil,
    banKind: ban.banKind,
    banNote: ban.banNote,
    quarantinedUntil: quarantine.quarantinedUntil,
    quarantineNote: quarantine.quarantineNote,
    counters: maxCounters(n.counters, o.counters),
  };
  const now = n.lastAt;
  const standing = context.bannedUntil > now ? 'banned' : context.quarantinedUntil > now ? 'quarantined' : 'ok';
  const value = { ...(newer.value as Record<string, string>), standing };
  return clientMachine.resolveState({ value, context });
}
