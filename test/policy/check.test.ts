import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/domain/secret.js';
import { checkPolicyFile, formatErrors } from '../../src/policy/check.js';
import { parsePolicyText } from '../../src/policy/parse.js';
import { resolvePolicy } from '../../src/policy/policy-set.js';
import { CredentialChecker } from '../../src/policy/users.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/policies/', import.meta.url));

describe('check-policy', () => {
  const examples = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));

  it('check-policy - the examples include a minimal and a realistic policy', () => {
    expect(examples).toEqual(expect.arrayContaining(['minimal.yaml', 'realistic.yaml']));
  });

  it.each(examples)('check-policy - examples/policies/%s is valid', async (file) => {
    const r = await checkPolicyFile(join(EXAMPLES, file));
    expect(formatErrors(r.errors)).toBe('');
    expect(r.summary).toMatch(/^revision [0-9a-f]{12}, mode (enforce|shadow)/);
    expect(r.summary).toMatch(/valued hooks needed: /);
  });

  it('check-policy - the realistic example resolves as its comments say', async () => {
    const r = parsePolicyText(await readFile(join(EXAMPLES, 'realistic.yaml'), 'utf8'));
    if (!r.ok) throw new Error(formatErrors(r.errors));
    const set = r.set;
    expect(resolvePolicy(set, { clientid: 'sensor-1', username: '', peerhost: '8.8.8.8' }).name).toBe('sensors');
    expect(resolvePolicy(set, { clientid: 'sensor-1', username: 'operator', peerhost: '8.8.8.8' }).name).toBe('operators');
    expect(resolvePolicy(set, { clientid: 'gw-1', username: '', peerhost: '10.1.1.1' }).name).toBe('gateways');
    expect(resolvePolicy(set, { clientid: 'gw-1', username: '', peerhost: '8.8.8.8' }).name).toBe('default');
    const ops = resolvePolicy(set, { clientid: 'x', username: 'operator', peerhost: '' });
    expect(ops.limits.messagesRate).toBeUndefined();
    expect(ops.limits.bytesBurst).toBeUndefined();
    expect(set.needs).toEqual({ authenticate: true, authorize: true, publish: true });
    // the documented example password
    const checker = new CredentialChecker({ users: () => set.users });
    expect(await checker.check('operator', new Secret('change-me'))).toBe('ok');
  });

  it('check-policy - every error at once, each with line, path and fix; unreadable files too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hookwarden-check-'));
    try {
      const file = join(dir, 'bad.yaml');
      await writeFile(file, 'mode: loud\ndefault:\n  limits: { messages_rate: "10 per s" }\n');
      const r = await checkPolicyFile(file);
      expect(r.summary).toBe('');
      expect(formatErrors(r.errors)).toBe(
        [
          '  line 1: mode: "loud" is not one of enforce, shadow',
          '      fix: use one of: enforce, shadow',
          '  line 3: default.limits.messages_rate: "10 per s" is not a rate',
          '      fix: use N/s, N/10s, N/m or N/h, e.g. "10/s"; "infinity" removes a limit the default sets',
        ].join('\n'),
      );
      const missing = await checkPolicyFile(join(dir, 'nope.yaml'));
      expect(missing.errors).toEqual([{ path: '', message: 'cannot read the file (ENOENT)', fix: expect.any(String) }]);
      expect(formatErrors(missing.errors)).toMatch(/^ {2}cannot read the file \(ENOENT\)\n {6}fix: /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
