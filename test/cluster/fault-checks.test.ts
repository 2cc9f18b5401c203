/**
 * The checks of the cluster fault tests (fault-checks.ts) on made-up answers
 * and records: each one fails on the defect it is meant to catch.
 */
import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../../src/journal/journal.js';
import type { CallRecord } from '../support/emqx-cluster-driver.js';
import { journalProblems, rateProblems } from './fault-checks.js';

const call = (n: number, sentAt: number, outcome: 'allow' | 'deny' = 'allow'): CallRecord => ({
  clientId: 'c',
  n,
  hook: 'message.publish',
  valued: true,
  key: `m${n}`,
  conn: 'emqx1@test/0',
  instance: 'i1',
  sentAt,
  at: sentAt + 5,
  ms: 5,
  waitedMs: 0,
  outcome,
});

const recordOf = (c: CallRecord, seq: number, id = `r${c.n}`): JournalEntry =>
  ({
    seq,
    id,
    source: '/hookwarden/i1',
    record: {
      clientId: c.clientId,
      at: c.sentAt,
      hook: c.hook,
      node: '',
      state: 'connected',
      facts: [],
      decision: { outcome: c.outcome, reason: { code: 'default', policy: 'default', detail: '' } },
      detail: { messageId: c.key },
    },
  }) as JournalEntry;

describe('fault checks', () => {
  const fast = Array.from({ length: 12 }, (_, i) => call(i, 1000 + i * 50)); // 12 allowed in 0.55 s
  const paced = Array.from({ length: 12 }, (_, i) => call(i, 1000 + i * 200)); // 5/s

  it('the rate bound: fails on too many allowed in a window, from the answers and from the journal', () => {
    expect(
      rateProblems(
        paced,
        paced.map((c, i) => recordOf(c, i + 1)),
      ),
    ).toEqual([]);
    expect(rateProblems(fast, [])).toHaveLength(1);
    expect(
      rateProblems(
        [],
        fast.map((c, i) => recordOf(c, i + 1)),
      ),
    ).toHaveLength(1);
  });

  it('the journal: fails on a missing decision, a duplicate, a wrong outcome, a reordering', () => {
    const records = paced.map((c, i) => recordOf(c, i + 1));
    expect(journalProblems(paced, records, new Map())).toEqual([]);
    expect(journalProblems(paced, records.slice(1), new Map())).toHaveLength(1);
    expect(journalProblems(paced, [...records, recordOf(paced[3] as CallRecord, 99, 'again')], new Map()).join()).toContain(
      'journaled 2 times',
    );
    const denied = paced.map((c, i) => (i === 4 ? { ...c, outcome: 'deny' as const } : c));
    expect(journalProblems(denied, records, new Map())).toHaveLength(1);
    // a publish answered deny without a deny record is accepted only as a fallback the instance logged
    expect(journalProblems(denied, records, new Map([['c|message.publish', 1]]))).toEqual([]);
    expect(journalProblems(paced, [records[1], records[0], ...records.slice(2)] as JournalEntry[], new Map())).toEqual([
      'c: call #0 journaled after call #1',
    ]);
  });
});
