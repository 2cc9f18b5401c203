/**
 * The HTTP and health configuration keys: defaults, each source, the token
 * file, and the problems named with their fix. Also: each key is documented
 * in docs/CONFIG.md and the serve help.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HELP } from '../../src/cli.js';
import { DEFAULTS, loadConfig } from '../../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'hw-httpcfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('HTTP configuration', () => {
  it('has no HTTP server by default, listens on 0.0.0.0 when asked, 10 s NATS grace', () => {
    const c = loadConfig({}, {});
    expect(c.httpPort).toBeUndefined();
    expect(c.httpHost).toBe('0.0.0.0');
    expect(c.adminToken).toBeUndefined();
    expect(c.readyNatsGraceMs).toBe(10_000);
    expect(DEFAULTS.readyNatsGraceMs).toBe(10_000);
  });

  it('reads flags, environment and file keys', () => {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'http: { port: 9100, host: 127.0.0.1 }\nhealth: { ready_nats_grace: 3s }\n');
    const fromFile = loadConfig({ config: file }, {});
    expect([fromFile.httpPort, fromFile.httpHost, fromFile.readyNatsGraceMs]).toEqual([9100, '127.0.0.1', 3000]);
    const fromEnv = loadConfig(
      {},
      { HOOKWARDEN_HTTP_PORT: '0', HOOKWARDEN_ADMIN_TOKEN: 'env-token', HOOKWARDEN_READY_NATS_GRACE: '500ms' },
    );
    expect(fromEnv.httpPort).toBe(0);
    expect(fromEnv.adminToken?.reveal()).toBe('env-token');
    expect(fromEnv.readyNatsGraceMs).toBe(500);
    const fromFlags = loadConfig({ 'http-port': '9200', 'http-host': '::1', 'admin-token': 'flag-token' }, { HOOKWARDEN_HTTP_PORT: '1' });
    expect([fromFlags.httpPort, fromFlags.httpHost, fromFlags.adminToken?.reveal()]).toEqual([9200, '::1', 'flag-token']);
    expect(JSON.stringify(fromFlags)).not.toContain('flag-token');
  });

  it('reads the admin token from a file, trimmed', () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, '  file-token\n');
    expect(loadConfig({ 'admin-token-file': tokenFile }, {}).adminToken?.reveal()).toBe('file-token');
    expect(loadConfig({}, { HOOKWARDEN_ADMIN_TOKEN_FILE: tokenFile }).adminToken?.reveal()).toBe('file-token');
  });

  it('names the problem and the fix', () => {
    const tokenFile = join(dir, 'empty');
    writeFileSync(tokenFile, '\n');
    const problems = (flags: Record<string, string>): string => {
      try {
        loadConfig(flags, {});
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(problems({ 'http-port': '70000' })).toMatch(/--http-port: expected a whole number from 0 to 65535/);
    expect(problems({ 'ready-nats-grace': '10' })).toMatch(/--ready-nats-grace: expected a duration/);
    expect(problems({ 'admin-token': 'a', 'admin-token-file': tokenFile })).toMatch(
      /both admin_token and admin_token_file are set\. Fix: keep one/,
    );
    expect(problems({ 'admin-token-file': tokenFile })).toMatch(/is empty\. Fix: write the token into it/);
    expect(problems({ 'admin-token-file': join(dir, 'missing') })).toMatch(
      /http\.admin_token_file: cannot read .*missing.*Fix: check the path/,
    );
  });

  it('documents every key in docs/CONFIG.md and in the serve help', () => {
    const doc = readFileSync(new URL('../../docs/CONFIG.md', import.meta.url), 'utf8');
    for (const key of ['http.port', 'http.host', 'http.admin_token', 'http.admin_token_file', 'health.ready_nats_grace'])
      expect(doc).toContain(`\`${key}\``);
    for (const env of [
      'HOOKWARDEN_HTTP_PORT',
      'HOOKWARDEN_HTTP_HOST',
      'HOOKWARDEN_ADMIN_TOKEN',
      'HOOKWARDEN_ADMIN_TOKEN_FILE',
      'HOOKWARDEN_READY_NATS_GRACE',
    ])
      expect(doc).toContain(`\`${env}\``);
    for (const flag of ['--http-port', '--http-host', '--admin-token', '--admin-token-file', '--ready-nats-grace'])
      expect(HELP).toContain(flag);
  });
});
