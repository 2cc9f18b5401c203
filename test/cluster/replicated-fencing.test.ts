import { describe, expect, it } from 'vitest';
import {
  fencingRule,
  judgeCanary,
  REPLICATED_FENCING_RULES,
  replicatedAppendsSerialisable,
  type CanaryObservation,
} from '../../src/cluster/replicated-fencing.js';
import { NATS_REPLICATED_CAS_FIXED } from '../../src/journal/nats-version.js';

const obs = (version: string, r3RacyRounds: number, r1RacyRounds = 0): CanaryObservation => ({
  version,
  rounds: 40,
  r3RacyRounds,
  r3MaxAccepted: r3RacyRounds > 0 ? 7 : 1,
  r1RacyRounds,
});

describe('replicated fencing rule', () => {
  it('fencing - the table is keyed by the advisory boundary: racy below it, serialised from it', () => {
    const fixed = `${NATS_REPLICATED_CAS_FIXED.major}.${NATS_REPLICATED_CAS_FIXED.minor}.${NATS_REPLICATED_CAS_FIXED.patch}`;
    expect(fencingRule('2.9.10').expect).toBe('racy');
    expect(fencingRule('v2.9.25').expect).toBe('racy');
    expect(fencingRule(fixed).expect).toBe('serialised');
    expect(fencingRule('2.11.4').expect).toBe('serialised');
    expect(replicatedAppendsSerialisable('2.9.10')).toBe(false);
    expect(replicatedAppendsSerialisable('2.12.0')).toBe(true);
    // an unreadable version gets the cautious rule
    expect(fencingRule('nightly').expect).toBe('racy');
    expect(REPLICATED_FENCING_RULES[0]?.below).toBe(fixed);
  });

  it('fencing - a canary observation agreeing with the table is as expected', () => {
    expect(judgeCanary(obs('2.9.10', 38)).status).toBe('as-expected');
    expect(judgeCanary(obs('2.10.3', 0)).status).toBe('as-expected');
  });

  it('fencing - R3 racing where the table says serialised fails with what to revisit', () => {
    const v = judgeCanary(obs('2.10.3', 2));
    expect(v.status).toBe('changed');
    expect(v.message).toContain('conditional appends on R3 became unsafe on version 2.10.3');
    expect(v.message).toContain('revisit DISTRIBUTED.md §2.2');
    expect(v.message).toContain('2/40 R3 rounds');
  });

  it('fencing - no R3 race where the table says racy is reported as unconfirmed', () => {
    const v = judgeCanary(obs('2.9.10', 0));
    expect(v.status).toBe('unconfirmed');
    expect(v.message).toContain('became serialisable on version 2.9.10');
  });

  it('fencing - R1 racing is broken whatever the version', () => {
    expect(judgeCanary(obs('2.9.10', 40, 1)).status).toBe('broken');
    expect(judgeCanary(obs('2.11.0', 0, 3)).message).toContain('3/40 rounds');
  });
});
