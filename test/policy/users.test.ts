import { pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/domain/secret.js';
import { parsePasswordHash, type PasswordHash } from '../../src/policy/password-hash.js';
import { CredentialChecker, hashPassword, verifyPassword, type CredentialCache } from '../../src/policy/users.js';

/** Cheap parameters so tests stay fast; the defaults are covered once. */
const FAST = { N: 1024, r: 8, p: 1 } as const;

const parsed = (text: string): PasswordHash => {
  const h = parsePasswordHash(text);
  if ('problem' in h) throw new Error(h.problem);
  return h;
};

class RecordingCache implements CredentialCache {
  readonly map = new Map<string, true>();
  get(key: string): true | undefined {
    return this.map.get(key);
  }
  set(key: string, value: true): void {
    this.map.set(key, value);
  }
  clear(): void {
    this.map.clear();
  }
  get size(): number {
    return this.map.size;
  }
}

describe('users', () => {
  it('users - hashPassword writes scrypt$N$r$p$salt$hash with the default cost, and it verifies', async () => {
    const h = await hashPassword('correct horse');
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(await verifyPassword('correct horse', h)).toBe(true);
    expect(await verifyPassword('correct horsE', h)).toBe(false);
    expect(await hashPassword('correct horse')).not.toBe(h); // salted
  });

  it('users - pbkdf2-sha256 and pbkdf2-sha512 hashes verify', async () => {
    for (const scheme of ['pbkdf2-sha256', 'pbkdf2-sha512'] as const) {
      const h = await hashPassword('pw', { scheme, iterations: 1000 });
      expect(h.startsWith(`${scheme}$1000$`)).toBe(true);
      expect(await verifyPassword('pw', h)).toBe(true);
      expect(await verifyPassword('pW', h)).toBe(false);
    }
  });

  it('users - a hash converted from EMQX built-in database pbkdf2 (hex hash, text salt) verifies', async () => {
    // EMQX stores hex(pbkdf2(sha256, password, salt, iterations, dk_length)) and the salt as given.
    const salt = 'e378187547bf2d6f';
    const hex = pbkdf2Sync('emqx-pass', salt, 4096, 32, 'sha256').toString('hex');
    const converted = `pbkdf2-sha256$4096$${Buffer.from(salt).toString('base64')}$${Buffer.from(hex, 'hex').toString('base64')}`;
    expect(await verifyPassword('emqx-pass', converted)).toBe(true);
  });

  it('users - malformed or too costly hashes are refused with a reason, never echoing the hash', async () => {
    const bad = [
      'plain',
      'scrypt$16384$8$1$c2FsdA==',
      'scrypt$16383$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==',
      'scrypt$1048576$32$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==',
      'scrypt$16384$8$1$!!$aGFzaGhhc2hoYXNoaGFzaA==',
      'pbkdf2-sha256$10$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==',
      'pbkdf2-md5$1000$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==',
    ];
    for (const text of bad) {
      const r = parsePasswordHash(text);
      expect('problem' in r, text).toBe(true);
      if ('problem' in r) expect(r.problem).not.toContain('aGFzaG');
    }
    await expect(verifyPassword('x', 'plain')).rejects.toThrow(RangeError);
    await expect(hashPassword('x', { N: 1000 })).rejects.toThrow(/power of two/);
  });

  it('users - check answers ok, bad_password, unknown_user', async () => {
    const users = new Map([['alice', parsed(await hashPassword('s3cret', FAST))]]);
    const checker = new CredentialChecker({ users: () => users });
    expect(await checker.check('alice', new Secret('s3cret'))).toBe('ok');
    expect(await checker.check('alice', new Secret('wrong'))).toBe('bad_password');
    expect(await checker.check('bob', new Secret('s3cret'))).toBe('unknown_user');
    expect(await checker.check('', new Secret(''))).toBe('unknown_user');
  });

  it('users - an unknown user costs one derivation (timing does not reveal who exists); an empty username none', async () => {
    const checker = new CredentialChecker({ users: () => new Map() });
    expect(await checker.check('ghost', new Secret('pw'))).toBe('unknown_user');
    expect(checker.stats().derivations).toBe(1);
    expect(await checker.check('', new Secret('pw'))).toBe('unknown_user');
    expect(checker.stats().derivations).toBe(1);
  });

  it('users - verified results are cached under a keyed hash: no plaintext, no username, no stored hash', async () => {
    const stored = await hashPassword('hunter2-very-secret', FAST);
    let users = new Map([['carol', parsed(stored)]]);
    const cache = new RecordingCache();
    const checker = new CredentialChecker({ users: () => users, cache });
    expect(await checker.check('carol', new Secret('hunter2-very-secret'))).toBe('ok');
    expect(await checker.check('carol', new Secret('hunter2-very-secret'))).toBe('ok');
    expect(checker.stats()).toMatchObject({ derivations: 1, cacheHits: 1, cached: 1 });
    const [key] = [...cache.map.keys()];
    expect(key).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const all = JSON.stringify([...cache.map.entries()]);
    for (const secret of ['hunter2', 'carol', stored.split('$')[5] as string]) expect(all).not.toContain(secret);

    // a wrong password is never cached: each costs a derivation
    await checker.check('carol', new Secret('nope'));
    await checker.check('carol', new Secret('nope'));
    expect(checker.stats()).toMatchObject({ derivations: 3, cached: 1 });

    // a changed stored hash misses the cache and is checked for real
    users = new Map([['carol', parsed(await hashPassword('new-password', FAST))]]);
    expect(await checker.check('carol', new Secret('hunter2-very-secret'))).toBe('bad_password');
    expect(await checker.check('carol', new Secret('new-password'))).toBe('ok');

    // the key is keyed per process: another checker derives another key for the same input
    const other = new RecordingCache();
    await new CredentialChecker({ users: () => users, cache: other }).check('carol', new Secret('new-password'));
    expect([...other.map.keys()][0]).not.toBe([...cache.map.keys()][1]);
  });

  it('users - identical concurrent checks share one derivation', async () => {
    const users = new Map([['dave', parsed(await hashPassword('pw', FAST))]]);
    const checker = new CredentialChecker({ users: () => users });
    const results = await Promise.all(Array.from({ length: 5 }, () => checker.check('dave', new Secret('pw'))));
    expect(results).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(checker.stats().derivations).toBe(1);
  });

  it('users - bounded concurrency and queue: beyond them a check answers not_checked at once', async () => {
    const users = new Map([['eve', parsed(await hashPassword('pw', { N: 16_384, r: 8, p: 1 }))]]);
    const checker = new CredentialChecker({ users: () => users, concurrency: 1, maxQueue: 2 });
    const pending = ['a', 'b', 'c'].map((pw) => checker.check('eve', new Secret(pw)));
    expect(checker.stats()).toMatchObject({ running: 1, queued: 2 });
    const refused = await Promise.all([checker.check('eve', new Secret('d')), checker.check('eve', new Secret('e'))]);
    expect(refused).toEqual(['not_checked', 'not_checked']);
    expect(checker.stats()).toMatchObject({ running: 1, queued: 2, rejected: 2 });
    expect(await Promise.all(pending)).toEqual(['bad_password', 'bad_password', 'bad_password']);
    expect(checker.stats()).toMatchObject({ running: 0, queued: 0, derivations: 3 });
    expect(await checker.check('eve', new Secret('pw'))).toBe('ok');
  });

  it('users - a queued check whose deadline passed is dropped as not_checked without deriving', async () => {
    const users = new Map([['fay', parsed(await hashPassword('pw', { N: 16_384, r: 8, p: 1 }))]]);
    const checker = new CredentialChecker({ users: () => users, concurrency: 1 });
    const first = checker.check('fay', new Secret('pw'));
    const late = checker.check('fay', new Secret('other'), { deadline: Date.now() - 1 });
    expect(await late).toBe('not_checked');
    expect(await first).toBe('ok');
    expect(checker.stats().derivations).toBe(1);
  });

  it('users - the event loop keeps turning while derivations run', async () => {
    const users = new Map([['gus', parsed(await hashPassword('pw', { N: 16_384, r: 8, p: 1 }))]]);
    const checker = new CredentialChecker({ users: () => users, concurrency: 2 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const results = await Promise.all(['x', 'y', 'z', 'w'].map((pw) => checker.check('gus', new Secret(pw))));
    clearInterval(timer);
    expect(results).toEqual(['bad_password', 'bad_password', 'bad_password', 'bad_password']);
    expect(ticks).toBeGreaterThan(5); // ~100 ms of KDF work happened off the loop
  });
});
