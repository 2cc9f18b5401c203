/**
 * `hookwarden client …` (the built CLI, as a child process) against a running
 * server with the admin API: human and JSON output, errors naming the field
 * and the fix, the token rule, usage errors, and the server and token taken
 * from a configuration file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/in-process.js';
import { runCli } from '../support/process.js';
import { adminConfig, hooks, TOKEN } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'hw-admin-cli-'));
let h: Harness;
let url: string;
beforeAll(async () => {
  h = await startHarness({ policy: 'default:\n  limits: { messages_rate: "100/s" }\n', config: adminConfig });
  url = `http://127.0.0.1:${h.running.httpPort}`;
  await hooks(h.client).connect({ clientid: 'cli/1' });
});
afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli(['client', ...args, '--url', url, '--token', TOKEN]);

describe('hookwarden client', () => {
  it('hookwarden client - show prints the state, policy and limits in effect, and recent events', async () => {
    const r = await cli('show', 'cli/1');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('client "cli/1": connected');
    expect(r.stdout).toContain('standing: ok');
    expect(r.stdout).toContain('override: none');
    expect(r.stdout).toMatch(/policy: default \(revision [0-9a-f]{12}\), mode enforce/);
    expect(r.stdout).toContain('limits in effect: messages_rate 100/s, messages_burst 100');
    expect(r.stdout).toMatch(/#\d+ \S+ client\.connack → connected/);
    const json = await cli('show', 'cli/1', '--json', '--last', '2');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ clientId: 'cli/1', state: 'connected', recent: [{}, {}] });
    const missing = await cli('show', 'nobody');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('HTTP 404 not_found');
  });

  it('hookwarden client - override, clear-override and unban change the client and say what they did', async () => {
    const o = await cli(
      'override',
      'cli/1',
      '--limits',
      '{"messages_rate":"1/s","max_payload":"infinity"}',
      '--shadow',
      'true',
      '--reason',
      'ticket 7',
    );
    expect(o.code).toBe(0);
    expect(o.stdout).toContain('applied admin.override {OverrideSet}');
    expect(o.stdout).toContain('override: limits messages_rate 1/s, max_payload infinity; shadow true (ticket 7)');
    const limitsFile = join(dir, 'limits.yaml');
    writeFileSync(limitsFile, 'messages_rate: "2/s"\nmessages_burst: 4\n');
    const f = await cli('override', 'cli/1', '--limits-file', limitsFile, '--ban', '10m', '--json');
    expect(f.code).toBe(0);
    expect(JSON.parse(f.stdout)).toMatchObject({
      applied: [{ command: 'admin.override' }, { command: 'admin.ban' }],
      standing: { status: 'banned' },
      override: { limits: { messages_rate: '2/s', messages_burst: 4 }, shadow: true },
    });
    const shown = await cli('show', 'cli/1');
    expect(shown.stdout).toContain('client "cli/1": banned');
    expect(shown.stdout).toMatch(/banned until \S+ \(override: set by an operator\)/);
    expect(shown.stdout).toContain('limits in effect: messages_rate 2/s, messages_burst 4');
    const un = await cli('unban', 'cli/1', '--reason', 'paid');
    expect(un.stdout).toContain('applied admin.unban {BanLifted}');
    expect(un.stdout).toContain('standing: ok');
    const clear = await cli('clear-override', 'cli/1');
    expect(clear.stdout).toContain('applied admin.clear_override {OverrideCleared}');
    expect(clear.stdout).toContain('override: none');
    expect((await cli('clear-override', 'cli/1')).stdout).toContain('nothing to change');
  });

  it('hookwarden client - bad input: the server names the field and the fix; exit 1', async () => {
    const r = await cli('override', 'cli/1', '--limits', '{"messages_rate":"fast","max_subs":3}', '--quarantine', 'soon');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('HTTP 400 invalid_request: 3 problem(s)');
    expect(r.stderr).toContain('limits.messages_rate: "fast" is not a rate');
    expect(r.stderr).toContain('limits.max_subs: unknown key "max_subs"');
    expect(r.stderr).toMatch(/quarantine: .*\n\s+fix: write an integer and a unit/);
  });

  it('hookwarden client - the token is required; the configuration file gives the server and the token', async () => {
    const none = await runCli(['client', 'show', 'cli/1', '--url', url]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('HTTP 401 unauthorized');
    const config = join(dir, 'hookwarden.yaml');
    writeFileSync(config, `http:\n  port: ${h.running.httpPort}\n  host: 0.0.0.0\n  admin_token: ${TOKEN}\n`);
    const fromFile = await runCli(['client', 'show', 'cli/1', '--config', config]);
    expect(fromFile.stderr).toBe('');
    expect(fromFile.stdout).toContain('client "cli/1"');
  });

  it('hookwarden client - usage errors exit 2; an unreachable server exits 1', async () => {
    for (const args of [
      ['frob', 'x'],
      ['show'],
      ['show', 'a', 'b'],
      ['show', 'x', '--ban', '1m'],
      ['override', 'x'],
      ['override', 'x', '--reason', 'only'],
      ['override', 'x', '--shadow', 'maybe'],
      ['override', 'x', '--limits', '{oops'],
      ['override', 'x', '--limits', '{}', '--limits-file', 'f'],
    ]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain('usage:');
    }
    const down = await runCli(['client', 'show', 'x', '--url', 'http://127.0.0.1:1', '--token', 't']);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot reach http://127.0.0.1:1');
    expect((await runCli(['client', 'show', 'x'])).stderr).toContain('--url');
  });
});
