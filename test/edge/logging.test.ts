/**
 * Passwords never reach the log: the edge logs RPC names, fields and client
 * ids, never requests. The logger here has NO redaction configured, so this
 * checks what the edge writes, not what pino would hide.
 */
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/domain/decision.js';
import { emqxClient } from '../support/emqx-client.js';
import { clientinfo, message, META } from '../support/emqx-shapes.js';
import { allow, deny, startTestEdge } from './harness.js';

const PASSWORDS = ['pw-Zq81-never-logged', 'pw-Ab77-never-logged', 'pw-Kx02-never-logged', 'pw-Lm55-never-logged'] as const;

describe('edge logging', () => {
  it('edge logging - no password appears in anything logged, across answers, fallbacks, errors and bad input', async () => {
    const t = await startTestEdge({ deadlines: { valuedMs: 50, fallback: { 'client.authenticate': 'deny', 'client.authorize': 'deny', 'message.publish': 'allow' } } });
    const c = emqxClient('v2', t.address);
    const v1 = emqxClient('v1', t.address);
    const who = (i: number) => ({ clientid: `c-log-${i}`, username: `user-${i}` });
    try {
      await c.call('OnProviderLoaded', { broker: { version: '5.8.0', uptime: '1' }, meta: META });
      t.dispatcher.decideWith = () => deny();
      await c.call('OnClientAuthenticate', { clientinfo: clientinfo(who(0), PASSWORDS[0]), result: false, meta: META });
      t.dispatcher.decideWith = () => new Promise<Decision>(() => undefined);
      await c.call('OnClientAuthenticate', { clientinfo: clientinfo(who(1), PASSWORDS[1]), result: false, meta: META });
      t.dispatcher.decideWith = () => {
        throw new Error('decide failed');
      };
      await v1.call('OnClientAuthenticate', { clientinfo: clientinfo(who(2), PASSWORDS[2]), result: false, meta: META });
      await v1.call('OnClientCheckAcl', { clientinfo: clientinfo(who(2), PASSWORDS[2]), type: 'PUBLISH', topic: 't', meta: META });
      // a notification with a password-bearing clientinfo but no message: warned about, not echoed
      await c.call('OnMessageDelivered', { clientinfo: clientinfo(who(3), PASSWORDS[3]), meta: META });
      t.dispatcher.decideWith = () => allow();
      await c.call('OnMessagePublish', { message: message(who(3), 't', PASSWORDS[3]), meta: META });
      await c.call('OnProviderUnloaded', { meta: META });

      const text = t.logText();
      const msgs = t.logLines().map((l) => l.msg);
      // the log really covers the paths above (else this test could not fail)
      expect(msgs).toEqual(
        expect.arrayContaining([
          'loaded by EMQX',
          'no decision before the deadline; answered the configured fallback',
          'deciding failed; answered the configured fallback',
          'unloaded by EMQX',
        ]),
      );
      expect(msgs.some((m) => typeof m === 'string' && m.startsWith('undecodable OnMessageDelivered'))).toBe(true);
      for (const pw of PASSWORDS) expect(text).not.toContain(pw);
    } finally {
      c.close();
      v1.close();
      await t.close();
    }
  });
});
