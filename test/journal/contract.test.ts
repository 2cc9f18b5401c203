import { describe, expect, expectTypeOf, it } from 'vitest';
import { MACHINE_VERSION, type ClientFact } from '../../machines/client/client.step.js';
import type { Decision } from '../../src/domain/decision.js';
import type { JournalFact, JournalRecord } from '../../src/journal/journal.js';

describe('journal contract', () => {
  it("journal contract - the machine's facts, decisions and version fit the journal's types", () => {
    expectTypeOf<ClientFact>().toMatchTypeOf<JournalFact>();
    expectTypeOf<Decision>().toEqualTypeOf<NonNullable<JournalRecord['decision']>>();
    expectTypeOf(MACHINE_VERSION).toMatchTypeOf<string>();
    expect(MACHINE_VERSION).toMatch(/\S/);
  });
});
