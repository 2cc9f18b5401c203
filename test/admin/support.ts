/** Shared helpers of the admin API tests: HTTP calls with the bearer token, and hooks sent the way EMQX sends them. */
import { Secret } from '../../src/domain/secret.js';
import type { EmqxClient } from '../support/emqx-client.js';
import { META, clientinfo, conninfo, message, type Who } from '../support/emqx-shapes.js';

export const TOKEN = 'test-admin-token-0123456789';
export const adminConfig = { httpPort: 0, httpHost: '127.0.0.1', adminToken: new Secret(TOKEN) };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test replies are read field by field
export type Json = any;

export interface Reply {
  readonly status: number;
  readonly json: Json;
}

/** One admin API call; `token: null` sends none. */
export async function api(
  base: string,
  method: string,
  path: string,
  opts: { body?: unknown; raw?: string; token?: string | null } = {},
): Promise<Reply> {
  const token = opts.token === undefined ? TOKEN : opts.token;
  const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Json) : undefined };
}

export interface Valued {
  readonly type: string;
  readonly bool_result?: boolean;
  readonly message?: { readonly headers: Record<string, string> };
}

/** Hooks of one client, as EMQX sends them. */
export function hooks(client: EmqxClient) {
  return {
    loaded: () =>
      client.call('OnProviderLoaded', {
        broker: { version: '5.8.0', sysdescr: 'EMQX', uptime: 1, datetime: '2024-01-01 00:00:00' },
        meta: META,
      }),
    connect: async (w: Who) => {
      await client.call('OnClientConnect', { conninfo: conninfo(w), props: [], meta: META });
      await client.call('OnSessionCreated', { clientinfo: clientinfo(w), meta: META });
      await client.call('OnClientConnected', { clientinfo: clientinfo(w), meta: META });
      await client.call('OnClientConnack', { conninfo: conninfo(w), result_code: 'success', props: [], meta: META });
    },
    publish: (w: Who, topic = 't/1', payload = 'x') =>
      client.call<Valued>('OnMessagePublish', { message: message(w, topic, payload, 1), meta: META }),
    authorize: (w: Who, topic = 't/1') =>
      client.call<Valued>('OnClientAuthorize', { clientinfo: clientinfo(w), type: 'PUBLISH', topic, result: true, meta: META }),
  };
}

/** Whether EMQX would let a publish through: IGNORE (unchanged), or a message not marked `allow_publish=false`. */
export const published = (r: Valued): boolean => r.type === 'IGNORE' || r.message?.headers.allow_publish !== 'false';
/** Whether an authorize answer allows. */
export const allowed = (r: Valued): boolean => r.bool_result === true;
