/**
 * PURE: what hookwarden expects of conditional appends
 * (`Nats-Expected-Last-Subject-Sequence`) on a **replicated** JetStream
 * stream, by nats-server version, and how an observation of the canary
 * (test/cluster/canary-r3.test.ts) is judged against that expectation.
 *
 * One rule for everyone: the canary test, the start-up advisory and the docs
 * (DISTRIBUTED.md §2.2, docs/CLUSTER.md §Canary) read the same table, so a
 * NATS upgrade that changes the guarantee makes the canary fail with a
 * message saying what to revisit. The version boundary is the advisory's
 * own `NATS_REPLICATED_CAS_FIXED` (src/journal/nats-version.ts).
 */
import { compareSemver, NATS_REPLICATED_CAS_FIXED, parseSemver, type Semver } from '../journal/nats-version.js';

/** `racy`: several appends with one expectation may all be accepted. `serialised`: exactly one is. */
export type FencingBehaviour = 'racy' | 'serialised';

export interface FencingRule {
  /** Versions this rule covers: `from` ≤ v < `below` (either bound may be absent). */
  readonly from?: string;
  readonly below?: string;
  readonly expect: FencingBehaviour;
  /** Where the expectation comes from. */
  readonly evidence: string;
}

const show = (v: Semver): string => `${v.major}.${v.minor}.${v.patch}`;

/** The expectation table, ordered by version. */
export const REPLICATED_FENCING_RULES: readonly FencingRule[] = [
  {
    below: show(NATS_REPLICATED_CAS_FIXED),
    expect: 'racy',
    evidence:
      'nats-server issue 4320 (reported on 2.9.15-2.9.20: the check ran outside Raft consensus); reproduced on 2.9.10 with a 3-node loopback cluster: 197/200 (R3 memory) and 198/200 (R3 file) rounds of 20 concurrent appends accepted more than one',
  },
  {
    from: show(NATS_REPLICATED_CAS_FIXED),
    expect: 'serialised',
    evidence:
      'PR 4319 (merged July 2023, after 2.9.20) makes the leader track in-flight expectations; not verified by hookwarden on any version: the canary is the check',
  },
];

/** The canary's observation on one server version. */
export interface CanaryObservation {
  readonly version: string;
  /** Rounds run on each stream. */
  readonly rounds: number;
  /** R3 rounds in which more than one append was accepted. */
  readonly r3RacyRounds: number;
  /** Largest number of appends accepted in one R3 round. */
  readonly r3MaxAccepted: number;
  /** R1 rounds in which more than one append was accepted (must be 0). */
  readonly r1RacyRounds: number;
}

export type CanaryStatus = 'as-expected' | 'unconfirmed' | 'changed' | 'broken';

export interface CanaryVerdict {
  readonly status: CanaryStatus;
  readonly expect: FencingBehaviour;
  readonly observed: FencingBehaviour;
  readonly message: string;
}

/** Compare two version strings (an unreadable one sorts first). */
export function compareVersions(a: string, b: string): number {
  const zero: Semver = { major: 0, minor: 0, patch: 0 };
  return compareSemver(parseSemver(a) ?? zero, parseSemver(b) ?? zero);
}

/** The rule covering `version` (an unreadable version gets the most cautious rule: the first). */
export function fencingRule(version: string): FencingRule {
  const first = REPLICATED_FENCING_RULES[0] as FencingRule;
  if (!parseSemver(version)) return first;
  return (
    REPLICATED_FENCING_RULES.find(
      (r) =>
        (r.from === undefined || compareVersions(version, r.from) >= 0) && (r.below === undefined || compareVersions(version, r.below) < 0),
    ) ?? first
  );
}

/** Whether conditional appends on a replicated stream are expected to be serialisable on `version`. */
export const replicatedAppendsSerialisable = (version: string): boolean => fencingRule(version).expect === 'serialised';

const REVISIT = 'revisit DISTRIBUTED.md §2.2, docs/CLUSTER.md §Canary and the start-up advisory (REPLICATED_FENCING_RULES)';

/**
 * Judge a canary run against the table:
 * - `broken`: R1 accepted more than one append in a round; hookwarden's fence does not hold at all.
 * - `changed`: the table says serialised but R3 raced: conditional appends on R3 are unsafe on this version.
 * - `unconfirmed`: the table says racy but no R3 round raced in the bounded run (report it; it may have been fixed).
 * - `as-expected`: the observation agrees with the table.
 */
export function judgeCanary(o: CanaryObservation): CanaryVerdict {
  const expect = fencingRule(o.version).expect;
  const observed: FencingBehaviour = o.r3RacyRounds > 0 ? 'racy' : 'serialised';
  const seen = `${o.r3RacyRounds}/${o.rounds} R3 rounds accepted more than one append (at most ${o.r3MaxAccepted} in one round)`;
  if (o.r1RacyRounds > 0) {
    return {
      status: 'broken',
      expect,
      observed,
      message: `conditional appends on an R1 stream accepted more than one append in ${o.r1RacyRounds}/${o.rounds} rounds on nats-server ${o.version}: the journal's fence does not hold; do not run hookwarden on this version`,
    };
  }
  if (expect === observed) {
    return { status: 'as-expected', expect, observed, message: `nats-server ${o.version}: ${seen}, as expected (${expect})` };
  }
  if (expect === 'serialised') {
    return {
      status: 'changed',
      expect,
      observed,
      message: `conditional appends on R3 became unsafe on version ${o.version} (${seen}; the table expects serialised): ${REVISIT}`,
    };
  }
  return {
    status: 'unconfirmed',
    expect,
    observed,
    message: `conditional appends on R3 became serialisable on version ${o.version}? (${seen}; the table expects racy): ${REVISIT}`,
  };
}
