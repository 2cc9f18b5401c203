/**
 * When the edge answers a valued hook with the configured fallback (here: a
 * password check slower than a 30 ms deadline), the journal records what EMQX
 * actually got, next to the machine's own (late) record of the hook.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { JournalEntry } from '../../src/journal/journal.js';
import { hashPassword } from '../../src/policy/users.js';
import { META, clientinfo } from '../support/emqx-shapes.js';
import { startHarness, type Harness } from '../support/in-process.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('fallback answers are journaled', () => {
  it("fallback - a deadline fallback is recorded with its reason after the hook's own record", async () => {
    // a slow KDF (pbkdf2, 600k rounds: ~0.3 s) against a 30 ms deadline: the fallback always wins
    const hash = await hashPassword('s3cret', { scheme: 'pbkdf2-sha256', iterations: 600_000 });
    h = await startHarness({
      policy: `default:\n  authenticate: users\nusers:\n  - { username: alice, password_hash: "${hash}" }\n`,
      config: { deadlineMs: 30, fallback: { 'client.authenticate': 'deny', 'client.authorize': 'ignore', 'message.publish': 'ignore' } },
    });
    h.running.log.level = 'error';
    const a = await h.client.call<{ type: string; bool_result?: boolean }>('OnClientAuthenticate', {
      clientinfo: clientinfo({ clientid: 'slow-1', username: 'alice' }, 's3cret'),
      result: false,
      meta: META,
    });
    expect(a).toMatchObject({ type: 'STOP_AND_RETURN', bool_result: false }); // the fallback (deny), not the machine's allow
    // the password check finishes later and its record lands (bounded wait)
    const entries: JournalEntry[] = [];
    for (const end = Date.now() + 10_000; entries.length < 2 && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 50));
      entries.length = 0;
      for await (const e of h.running.journal.readAll()) if (e.record.clientId === 'slow-1') entries.push(e);
    }
    const codes = entries.map((e) => `${e.record.decision?.outcome}:${e.record.decision?.reason.code}`);
    // the machine's late decision and the answer EMQX got, in the order they happened (here the
    // fallback first: the password check was still running when the deadline passed)
    expect([...codes].sort()).toEqual(['allow:authn.users.ok', 'deny:deadline.fallback']);
    const note = entries.find((e) => e.record.decision?.reason.code === 'deadline.fallback');
    expect(note?.record.input).toBeUndefined(); // nothing to re-step: replay skips it
  }, 20_000);
});
