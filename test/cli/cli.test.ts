import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, startServe } from '../support/process.js';
import { emqxClient } from '../support/emqx-client.js';

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const dir = mkdtempSync(join(tmpdir(), 'hw-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cli', () => {
  it('cli - --version and --help', async () => {
    const v = await runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(version);
    const h = await runCli(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('hookwarden serve');
    expect(h.stdout).toContain('check-policy');
  });

  it('cli - an unknown command or flag is a usage error', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(2);
    const r = await runCli(['serve', '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--no-such-flag');
  });

  it('cli - serve refuses a bad configuration, naming the key', async () => {
    const r = await runCli(['serve', '--port', 'ninety']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--port');
  });

  it('cli - check-policy reports every error and exits 1; a good file exits 0', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'default:\n  limits:\n    messages_rate: "fast"\n  no_match: perhaps\n');
    const r = await runCli(['check-policy', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('default.limits.messages_rate');
    expect(r.stderr).toContain('default.no_match');
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'default:\n  limits: { messages_rate: "10/s" }\n');
    expect((await runCli(['check-policy', good])).code).toBe(0);
  });

  it('cli - hash-password prints a hash that is not the password', async () => {
    const r = await runCli(['hash-password'], 'correct horse\n');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().length).toBeGreaterThan(20);
    expect(r.stdout).not.toContain('correct horse');
  });

  it('cli - serve with no configuration answers EMQX, mounts no valued hook, and exits 0 on SIGTERM', async () => {
    const hw = await startServe();
    try {
      for (const generation of ['v1', 'v2', 'v3'] as const) {
        const client = emqxClient(generation, `127.0.0.1:${hw.port}`);
        const reply = await client.call('OnProviderLoaded', {
          broker: { version: '5.8.0', sysdescr: 'EMQX', uptime: generation === 'v1' ? '1 seconds' : '1000', datetime: '' },
          meta: { node: 'emqx@127.0.0.1', version: '5.8.0', sysdescr: 'EMQX', cluster_name: 'emqxcl' },
        });
        const names = (reply as { hooks: { name: string }[] }).hooks.map((h) => h.name);
        expect(names).toContain('client.connected');
        expect(names).not.toContain('client.authenticate');
        expect(names).not.toContain('client.authorize');
        expect(names).not.toContain('client.check_acl');
        expect(names).toContain(generation === 'v1' ? 'session.takeovered' : 'session.takenover');
        client.close();
      }
    } finally {
      expect(await hw.stop('SIGTERM')).toBe(0);
    }
  });

  it('cli - SIGHUP reloads the policy; an invalid file is refused and the server keeps running', async () => {
    const policy = join(dir, 'hup.yaml');
    writeFileSync(policy, 'default:\n  limits: { messages_rate: "10/s" }\n');
    const hw = await startServe(['--policy', policy, '--policy-watch', 'false']);
    const waitFor = async (msg: string): Promise<Record<string, unknown>> => {
      for (let i = 0; i < 100; i++) {
        const hit = hw.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => typeof l.msg === 'string' && l.msg.startsWith(msg));
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no "${msg}" log line`);
    };
    try {
      writeFileSync(policy, 'default:\n  limits: { messages_rate: "5/s" }\n');
      hw.child.kill('SIGHUP');
      expect((await waitFor('policy reloaded')).revision).toMatch(/^[0-9a-f]{64}$/);
      writeFileSync(policy, 'default:\n  limits: { messages_rate: "soon" }\n');
      hw.child.kill('SIGHUP');
      expect((await waitFor('policy file refused')).msg).toContain('messages_rate');
      expect(hw.child.exitCode).toBeNull();
    } finally {
      expect(await hw.stop('SIGTERM')).toBe(0);
    }
  });
});
