/**
 * Who may call the admin (non-`open`) routes:
 * - a token is configured: `Authorization: Bearer <token>`, compared in
 *   constant time, wherever the server listens;
 * - no token and a loopback address: anyone who can reach it (local only);
 * - no token and any other address: nobody (403 telling to set a token).
 * `/metrics`, `/healthz`, `/readyz` are open in every case.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { Secret } from '../domain/secret.js';

export type AuthVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly status: 401 | 403;
      readonly code: string;
      readonly message: string;
      readonly headers?: Record<string, string>;
    };

/** Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class AdminAuth {
  readonly #token: Buffer | undefined;
  readonly #host: string;
  readonly #loopback: boolean;

  constructor(host: string, token: Secret | undefined) {
    this.#host = host;
    this.#loopback = isLoopback(host);
    this.#token = token ? digest(token.reveal()) : undefined;
  }

  /** How admin routes are guarded, for the start-up log. */
  get mode(): 'token' | 'loopback' | 'refused' {
    return this.#token ? 'token' : this.#loopback ? 'loopback' : 'refused';
  }

  check(authorization: string | undefined): AuthVerdict {
    if (!this.#token) {
      if (this.#loopback) return { ok: true };
      return {
        ok: false,
        status: 403,
        code: 'admin_token_required',
        message: `the admin API is off: the HTTP server listens on ${this.#host} (not loopback) and no admin token is set; set --admin-token or --admin-token-file (HOOKWARDEN_ADMIN_TOKEN, HOOKWARDEN_ADMIN_TOKEN_FILE)`,
      };
    }
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
    if (m?.[1] && timingSafeEqual(digest(m[1]), this.#token)) return { ok: true };
    return {
      ok: false,
      status: 401,
      code: 'unauthorized',
      message: authorization ? 'wrong admin token' : 'this route needs "Authorization: Bearer <admin token>"',
      headers: { 'www-authenticate': 'Bearer realm="hookwarden"' },
    };
  }
}
