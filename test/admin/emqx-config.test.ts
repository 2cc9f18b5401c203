/** The EMQX link's configuration keys: flags, environment, config file, secret file; all or nothing, with the fix named. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HELP } from '../../src/cli.js';
import { KEYS, loadConfig } from '../../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'hw-emqx-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('EMQX link configuration', () => {
  it('EMQX link configuration - off by default; flags, environment and file set it', () => {
    expect(loadConfig({}, {}).emqxApi).toBeUndefined();
    const flags = loadConfig({ 'emqx-api-url': 'http://emqx:18083', 'emqx-api-key': 'k', 'emqx-api-secret': 's' }, {});
    expect(flags.emqxApi?.url).toBe('http://emqx:18083');
    expect(flags.emqxApi?.secret.reveal()).toBe('s');
    expect(JSON.stringify(flags)).not.toContain('"s"'); // the secret is redacted
    const env = loadConfig(
      {},
      { HOOKWARDEN_EMQX_API_URL: 'https://e:18084', HOOKWARDEN_EMQX_API_KEY: 'k2', HOOKWARDEN_EMQX_API_SECRET: 's2' },
    );
    expect(env.emqxApi).toMatchObject({ url: 'https://e:18084', key: 'k2' });
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, 's3\n');
    const file = join(dir, 'config.yaml');
    writeFileSync(file, `emqx:\n  api_url: http://emqx:18083\n  api_key: k3\n  api_secret_file: ${secretFile}\n`);
    expect(loadConfig({ config: file }, {}).emqxApi?.secret.reveal()).toBe('s3');
  });

  it('EMQX link configuration - incomplete or wrong settings are refused, naming the key and the fix', () => {
    const issue = (flags: Record<string, string>): string => {
      try {
        loadConfig(flags, {});
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(issue({ 'emqx-api-url': 'http://emqx:18083' })).toMatch(/emqx\.api_key: .*API key and its secret.*Fix: create an API key/);
    expect(issue({ 'emqx-api-key': 'k', 'emqx-api-secret': 'hunter2' })).toMatch(/emqx\.api_url: .*no API URL/);
    expect(issue({ 'emqx-api-url': 'emqx:18083', 'emqx-api-key': 'k', 'emqx-api-secret': 'hunter2' })).toMatch(/not an http\(s\) URL/);
    expect(issue({ 'emqx-api-url': 'http://e', 'emqx-api-key': 'k', 'emqx-api-secret-file': join(dir, 'missing') })).toMatch(
      /api_secret_file: cannot read/,
    );
    expect(issue({ 'emqx-api-url': 'http://e', 'emqx-api-key': 'k', 'emqx-api-secret': 'hunter2' })).toBe('accepted');
    expect(issue({ 'emqx-api-key': 'k', 'emqx-api-secret': 'hunter2' })).not.toContain('hunter2');
  });

  it('EMQX link configuration - every key is in docs/CONFIG.md and the serve help', () => {
    const doc = readFileSync(new URL('../../docs/CONFIG.md', import.meta.url), 'utf8');
    for (const k of [KEYS.emqxApiUrl, KEYS.emqxApiKey, KEYS.emqxApiSecret, KEYS.emqxApiSecretFile]) {
      for (const name of [`\`${k.file}\``, `\`${k.env}\``, `\`--${k.flag}\``]) expect(doc).toContain(name);
      expect(HELP).toContain(`--${k.flag}`);
    }
  });
});
