/**
 * The checks of the cluster fault tests (faults.test.ts): the answers the
 * EMQX-like driver recorded and the journal held to the cluster's promises
 * (one record per answered decision, no fork, order, the rate bound), and
 * what the instances' logs say (fallbacks, degrade, traces for a report).
 */
import { isFallback } from '../../src/domain/decision.js';
import type { JournalEntry } from '../../src/journal/journal.js';
import { recordKey } from '../e2e/e2e-support.js';
import type { CallRecord } from '../support/emqx-cluster-driver.js';
import { BURST, RATE, isAuthorizeFallback, type Instance } from './fault-rig.js';

/** Fallback answers each instance logged, per `clientid|hook`. */
export function loggedFallbacks(instances: readonly Instance[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const i of instances) {
    for (const line of i.hw.lines) {
      if (!line.includes('answered the configured fallback')) continue;
      const rec = JSON.parse(line) as { clientid?: string; hook?: string };
      const k = `${rec.clientid}|${rec.hook}`;
      out.set(k, (out.get(k) ?? 0) + 1);
    }
  }
  return out;
}

const keyOf = (clientId: string, key: string | undefined): string => `${clientId}|${key}`;

/**
 * The journal held to the answers (empty when all hold):
 * - per client, record ids are unique (records of one NATS batch share a stream sequence, not an id);
 * - no call is journaled twice (a fork or a duplicate redo);
 * - per client, calls are journaled in the order they were sent;
 * - every answered decision is journaled with the answered outcome, except
 *   fallbacks: an authorize IGNORE, or a publish deny hookwarden logged as a
 *   fallback (counted per client).
 */
const isFallbackNote = (e: JournalEntry): boolean => e.record.decision !== undefined && isFallback(e.record.decision);

export function journalProblems(calls: readonly CallRecord[], entries: readonly JournalEntry[], fallbacks: Map<string, number>): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  const byKey = new Map<string, JournalEntry[]>();
  // a fallback answer is journaled as its own record (docs/EVENTS.md §3): kept apart from the hook's record
  const notes = new Map<string, JournalEntry>();
  for (const e of entries) {
    if (ids.has(e.id)) problems.push(`${e.record.clientId}: record id ${e.id} appears twice`);
    ids.add(e.id);
    const k = recordKey(e);
    if (k !== undefined && isFallbackNote(e)) notes.set(keyOf(e.record.clientId, k), e);
    else if (k !== undefined) byKey.set(keyOf(e.record.clientId, k), [...(byKey.get(keyOf(e.record.clientId, k)) ?? []), e]);
  }
  entries = entries.filter((e) => !isFallbackNote(e));
  for (const [k, es] of byKey)
    if (es.length > 1)
      problems.push(`call ${k} journaled ${es.length} times: ${es.map((e) => `${e.seq}:${e.record.decision?.outcome}`).join(', ')}`);
  const nOf = new Map(calls.filter((c) => c.key !== undefined).map((c) => [keyOf(c.clientId, c.key), c.n]));
  const lastN = new Map<string, number>();
  for (const e of entries) {
    const n = nOf.get(keyOf(e.record.clientId, recordKey(e)));
    if (n === undefined) continue;
    const prev = lastN.get(e.record.clientId) ?? -1;
    if (n <= prev) problems.push(`${e.record.clientId}: call #${n} journaled after call #${prev}`);
    lastN.set(e.record.clientId, n);
  }
  const unexplained = new Map<string, CallRecord[]>();
  for (const c of calls) {
    if (c.outcome === undefined || c.key === undefined || isAuthorizeFallback(c)) continue;
    const e = byKey.get(keyOf(c.clientId, c.key))?.[0];
    if (e?.record.decision?.outcome === c.outcome) continue;
    if (notes.get(keyOf(c.clientId, c.key))?.record.decision?.outcome === c.outcome) continue; // the fallback, journaled
    const k = `${c.clientId}|${c.hook}`;
    if (!(c.hook === 'message.publish' && c.outcome === 'deny')) {
      problems.push(
        `${c.clientId} #${c.n} ${c.hook} on ${c.instance}: answered ${c.outcome} in ${c.ms} ms, journal has ${e?.record.decision?.outcome ?? 'nothing'}`,
      );
    } else unexplained.set(k, [...(unexplained.get(k) ?? []), c]);
  }
  for (const [k, cs] of unexplained) {
    const logged = fallbacks.get(k) ?? 0;
    if (cs.length > logged)
      problems.push(
        `${k}: ${cs.length} publishes answered deny without a deny record, ${logged} fallbacks logged: ${cs.map((c) => `#${c.n}@${c.instance} ${c.ms}ms`).join(', ')}`,
      );
  }
  return problems;
}

/**
 * The rate bound per client, for every window between two allowed publishes
 * (allowed ≤ burst + rate·w + 1): from the driver (w from the first one's
 * send to the last one's answer, which can only widen it) and from the
 * journal's allowed records (w between their arrival times `at`).
 */
export function rateProblems(calls: readonly CallRecord[], entries: readonly JournalEntry[]): string[] {
  const problems: string[] = [];
  const check = (who: string, xs: readonly { from: number; to: number }[]): void => {
    for (let i = 0; i < xs.length; i++) {
      for (let j = xs.length - 1; j > i; j--) {
        const w = ((xs[j] as { to: number }).to - (xs[i] as { from: number }).from) / 1000;
        if (j - i + 1 > BURST + RATE * w + 1) {
          problems.push(`${who}: ${j - i + 1} publishes allowed within ${w.toFixed(3)} s`);
          return;
        }
      }
    }
  };
  const clients = new Set([...calls.map((c) => c.clientId), ...entries.map((e) => e.record.clientId)]);
  for (const id of clients) {
    const mine = calls.filter((c) => c.clientId === id && c.hook === 'message.publish' && c.outcome === 'allow');
    check(
      `${id} (answers)`,
      mine.sort((x, y) => x.sentAt - y.sentAt).map((c) => ({ from: c.sentAt, to: c.at })),
    );
    const recs = entries.filter(
      (e) => e.record.clientId === id && e.record.hook === 'message.publish' && e.record.decision?.outcome === 'allow',
    );
    check(
      `${id} (journal)`,
      recs
        .map((e) => e.record.at)
        .sort((x, y) => x - y)
        .map((at) => ({ from: at, to: at })),
    );
  }
  return problems;
}

/** A client's calls, journal records and instance log lines, for a failure report. */
export function clientTrace(
  clientId: string,
  calls: readonly CallRecord[],
  entries: readonly JournalEntry[],
  instances: readonly Instance[],
): string {
  const nOf = new Map(calls.filter((c) => c.clientId === clientId && c.key !== undefined).map((c) => [c.key, c.n]));
  const t0 = calls.find((c) => c.clientId === clientId)?.sentAt ?? 0;
  return [
    `calls of ${clientId} (ms after its first call):`,
    ...calls
      .filter((c) => c.clientId === clientId)
      .map((c) => `  #${c.n} ${c.hook} +${c.sentAt - t0} ${c.ms}ms ${c.instance} ${c.outcome ?? c.failed ?? '-'}`),
    'journal:',
    ...entries
      .filter((e) => e.record.clientId === clientId)
      .map(
        (e) =>
          `  seq ${e.seq} ${e.id} ${e.source} ${e.record.hook} call #${nOf.get(recordKey(e)) ?? '?'} at +${e.record.at - t0} ${e.record.decision?.outcome ?? ''}`,
      ),
    'logs:',
    ...instances.flatMap((i) => i.hw.lines.filter((l) => l.includes(`"${clientId}"`)).map((l) => `  ${i.name} ${l}`)),
  ].join('\n');
}

/** Warnings and errors the instances logged between `from` and `to` (epoch ms), for a failure report. */
export function warnings(instances: readonly Instance[], from: number, to: number): string[] {
  return instances.flatMap((i) =>
    i.hw.lines
      .filter((l) => l.includes('"level":"warn"') || l.includes('"level":"error"'))
      .filter((l) => {
        const t = Date.parse((JSON.parse(l) as { time?: string }).time ?? '');
        return t >= from && t <= to;
      })
      .map((l) => `${i.name} ${l}`),
  );
}

/**
 * Per instance, from its log (figures only): ms from `faultStart` until it
 * went degraded (deciding locally, records to its outbox; only if before
 * `to`) and from `faultEnd` until its outbox was flushed into the journal,
 * i.e. until it journaled again. Instances that never degraded are left out.
 */
export function degradeTimeline(
  instances: readonly Instance[],
  faultStart: number,
  faultEnd: number,
  to = Infinity,
): Record<string, { degradedMs: number; journalingAgainMs: number | null }> {
  const out: Record<string, { degradedMs: number; journalingAgainMs: number | null }> = {};
  for (const i of instances) {
    const at = (msg: string, after: number): number | undefined =>
      i.hw.lines
        .filter((l) => l.includes(msg))
        .map((l) => Date.parse((JSON.parse(l) as { time?: string }).time ?? ''))
        .find((t) => t >= after);
    const degraded = at('not answering: degraded', faultStart);
    if (degraded === undefined || degraded >= to) continue;
    const flushed = at('outbox flushed to the journal', degraded);
    out[i.name] = { degradedMs: degraded - faultStart, journalingAgainMs: flushed === undefined ? null : flushed - faultEnd };
  }
  return out;
}

/** Fallback answers the instances logged between `from` and `to` (epoch ms). */
export const fallbackLines = (instances: readonly Instance[], from: number, to: number): string[] =>
  warnings(instances, from, to).filter((l) => l.includes('answered the configured fallback'));
