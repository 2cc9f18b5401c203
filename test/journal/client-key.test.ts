import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clientIdOfKey, clientKey, isSubjectToken, MAX_PLAIN_ID_BYTES, subjectNames } from '../../src/journal/client-key.js';
import { NASTY_IDS } from './records.js';

describe('client-key', () => {
  it('client-key - every id maps to one valid subject token that is also a valid KV key', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (id) => {
        const key = clientKey(id);
        expect(isSubjectToken(key)).toBe(true);
        expect(key).toMatch(/^[-/_=.A-Za-z0-9]+$/);
        expect(key).not.toContain('.');
      }),
      { numRuns: 500 },
    );
  });

  it('client-key - short ids round-trip, long ids are hashed to 45 characters', () => {
    for (const id of NASTY_IDS) {
      const key = clientKey(id);
      if (Buffer.byteLength(id) <= MAX_PLAIN_ID_BYTES) expect(clientIdOfKey(key)).toBe(id);
      else {
        expect(key).toHaveLength(45);
        expect(key.startsWith('h') && key.endsWith('=')).toBe(true);
        expect(clientIdOfKey(key)).toBeUndefined();
      }
    }
  });

  it('client-key - distinct ids get distinct keys (plain, hashed and empty forms never collide)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 80 }), (a, b) => {
        fc.pre(a !== b);
        expect(clientKey(a)).not.toBe(clientKey(b));
      }),
      { numRuns: 500 },
    );
    const keys = new Set(NASTY_IDS.map(clientKey));
    expect(keys.size).toBe(NASTY_IDS.length);
    // a 33-byte id encodes to 44 chars: never the 45-char hashed form
    expect(clientKey('x'.repeat(33))).toHaveLength(44);
  });

  it('client-key - feed subjects have exactly five tokens with the default prefix', () => {
    const names = subjectNames();
    for (const id of NASTY_IDS) {
      expect(names.feed('client', 'connected', id).split('.')).toHaveLength(5);
      expect(names.journal(id).split('.')).toHaveLength(3);
    }
    expect(() => subjectNames('bad prefix')).toThrow(/invalid subject prefix/);
  });
});
