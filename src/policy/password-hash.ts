/**
 * PURE: the `users[].password_hash` formats (docs/POLICY.md, "Users"):
 *
 *   scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>        (what `hookwarden hash-password` writes)
 *   pbkdf2-sha256$<iterations>$<salt base64>$<hash base64> (also pbkdf2-sha512; e.g. converted from EMQX's built-in database)
 *
 * Parameters are bounded so a policy file cannot make one check cost more
 * than about 64 MiB of memory or a few hundred milliseconds.
 */

export type PasswordHash =
  | {
      readonly scheme: 'scrypt';
      readonly N: number;
      readonly r: number;
      readonly p: number;
      readonly salt: Buffer;
      readonly hash: Buffer;
      /** The hash as written, the credential cache's key material. */
      readonly text: string;
    }
  | {
      readonly scheme: 'pbkdf2';
      readonly digest: 'sha256' | 'sha512';
      readonly iterations: number;
      readonly salt: Buffer;
      readonly hash: Buffer;
      readonly text: string;
    };

/**
 * Defaults of `hashPassword`: N=2^14, r=8, p=1 (16 MiB, ~50 ms on one core: the
 * classic "interactive login" cost), 16-byte salt, 32-byte hash.
 */
export const SCRYPT_DEFAULTS = { N: 16_384, r: 8, p: 1, saltBytes: 16, hashBytes: 32 } as const;
export const PBKDF2_DEFAULTS = { iterations: 600_000, saltBytes: 16, hashBytes: 32 } as const;

/** The most memory one scrypt check may take (128·N·r bytes). */
export const SCRYPT_MAX_MEMORY = 64 * 1024 * 1024;

export const HASH_FIX = 'make one with `printf %s "$PASSWORD" | hookwarden hash-password` (format scrypt$N$r$p$salt$hash)';

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

function int(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,10}$/.test(text) ? Number(text) : undefined;
}

function b64(text: string | undefined, minBytes: number, maxBytes: number): Buffer | undefined {
  if (text === undefined || !B64.test(text)) return undefined;
  const buf = Buffer.from(text, 'base64');
  return buf.length >= minBytes && buf.length <= maxBytes ? buf : undefined;
}

/** Parse a stored hash; the problem never echoes the hash itself. */
export function parsePasswordHash(text: unknown): PasswordHash | { readonly problem: string } {
  if (typeof text !== 'string' || text === '') return { problem: 'password_hash must be a non-empty string' };
  const f = text.split('$');
  const scheme = f[0];
  if (scheme === 'scrypt') {
    if (f.length !== 6) return { problem: 'a scrypt hash has 6 fields: scrypt$N$r$p$salt$hash' };
    const [N, r, p] = [int(f[1]), int(f[2]), int(f[3])];
    if (N === undefined || N < 1024 || N > 1_048_576 || (N & (N - 1)) !== 0) return { problem: 'scrypt N must be a power of two from 1024 to 1048576' };
    if (r === undefined || r < 1 || r > 32) return { problem: 'scrypt r must be from 1 to 32' };
    if (p === undefined || p < 1 || p > 16) return { problem: 'scrypt p must be from 1 to 16' };
    if (128 * N * r > SCRYPT_MAX_MEMORY) return { problem: `scrypt N·r needs more than ${SCRYPT_MAX_MEMORY / 1024 / 1024} MiB per check` };
    const salt = b64(f[4], 8, 1024);
    if (!salt) return { problem: 'the salt must be base64 of 8 to 1024 bytes' };
    const hash = b64(f[5], 16, 128);
    if (!hash) return { problem: 'the hash must be base64 of 16 to 128 bytes' };
    return { scheme: 'scrypt', N, r, p, salt, hash, text };
  }
  if (scheme === 'pbkdf2-sha256' || scheme === 'pbkdf2-sha512') {
    if (f.length !== 4) return { problem: `a ${scheme} hash has 4 fields: ${scheme}$iterations$salt$hash` };
    const iterations = int(f[1]);
    if (iterations === undefined || iterations < 1000 || iterations > 10_000_000) return { problem: 'pbkdf2 iterations must be from 1000 to 10000000' };
    const salt = b64(f[2], 1, 1024);
    if (!salt) return { problem: 'the salt must be base64 of 1 to 1024 bytes' };
    const hash = b64(f[3], 16, 128);
    if (!hash) return { problem: 'the hash must be base64 of 16 to 128 bytes' };
    return { scheme: 'pbkdf2', digest: scheme === 'pbkdf2-sha256' ? 'sha256' : 'sha512', iterations, salt, hash, text };
  }
  return { problem: `unknown hash scheme "${(scheme ?? '').slice(0, 20)}": use scrypt, pbkdf2-sha256 or pbkdf2-sha512` };
}

export function formatScrypt(N: number, r: number, p: number, salt: Buffer, hash: Buffer): string {
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function formatPbkdf2(digest: 'sha256' | 'sha512', iterations: number, salt: Buffer, hash: Buffer): string {
  return `pbkdf2-${digest}$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}
