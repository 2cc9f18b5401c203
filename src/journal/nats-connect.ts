/**
 * A NATS connection with the options a production hookwarden needs, and the
 * defaults fixed for this workload (DISTRIBUTED.md §2.2 trap 4): reconnect
 * forever, ping every 2 s (a dead server is noticed in ~4–6 s), JetStream
 * API calls bounded well under EMQX's 5 s budget (`apiTimeoutMs`).
 */
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from 'nats';
import type { Secret } from '../domain/secret.js';
import { JournalError } from './journal-errors.js';

export interface NatsConnectOptions {
  /** One or more seed URLs (`nats://host:4222`, `tls://host:4222`). */
  readonly servers: string | readonly string[];
  readonly user?: string;
  readonly pass?: string | Secret;
  readonly token?: string | Secret;
  /** A `.creds` file (user JWT + nkey seed), as `nsc`/`nats` write them. */
  readonly credsFile?: string;
  /** A file holding a bare nkey seed (`SU...`). */
  readonly nkeySeedFile?: string;
  readonly tls?: {
    /** CA bundle to verify the server. */
    readonly caFile?: string;
    /** Client certificate and key for mutual TLS. */
    readonly certFile?: string;
    readonly keyFile?: string;
  };
  /** Connection name shown by `nats server report connections` (default `hookwarden`). */
  readonly name?: string;
  /** Client ping period (default 2000 ms); with `maxPingOut` 2 a dead server is noticed in ≈3 periods. */
  readonly pingIntervalMs?: number;
  readonly maxPingOut?: number;
  /** Wait between reconnect attempts to one server (default 250 ms). */
  readonly reconnectTimeWaitMs?: number;
  /** Timeout of the first connection (default 5000 ms). */
  readonly connectTimeoutMs?: number;
}

const reveal = (v: string | Secret): string => (typeof v === 'string' ? v : v.reveal());

/** The nats.js options for `o` (reads the credential files). Throws JournalError naming an unreadable file. */
export function natsConnectionOptions(o: NatsConnectOptions): ConnectionOptions {
  const read = (file: string, what: string): Uint8Array => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new JournalError('EXH_JOURNAL_SETUP', `cannot read the NATS ${what} ${file}: ${(err as Error).message}`, { cause: err });
    }
  };
  const servers =
    typeof o.servers === 'string'
      ? o.servers
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [...o.servers];
  const opts: ConnectionOptions = {
    servers,
    name: o.name ?? 'hookwarden',
    maxReconnectAttempts: -1,
    reconnectTimeWait: o.reconnectTimeWaitMs ?? 250,
    reconnectJitter: 100,
    pingInterval: o.pingIntervalMs ?? 2000,
    maxPingOut: o.maxPingOut ?? 2,
    timeout: o.connectTimeoutMs ?? 5000,
    ignoreClusterUpdates: false,
  };
  if (o.user !== undefined) opts.user = o.user;
  if (o.pass !== undefined) opts.pass = reveal(o.pass);
  if (o.token !== undefined) opts.token = reveal(o.token);
  if (o.credsFile) opts.authenticator = credsAuthenticator(read(o.credsFile, 'credentials file'));
  else if (o.nkeySeedFile) {
    const seed = new TextDecoder().decode(read(o.nkeySeedFile, 'nkey seed file')).trim();
    opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (o.tls) {
    opts.tls = {
      ...(o.tls.caFile ? { caFile: o.tls.caFile } : {}),
      ...(o.tls.certFile ? { certFile: o.tls.certFile } : {}),
      ...(o.tls.keyFile ? { keyFile: o.tls.keyFile } : {}),
    };
  }
  return opts;
}

/** Connect, or throw a JournalError that names the servers and the cause. Never logs secrets. */
export async function connectNats(o: NatsConnectOptions): Promise<NatsConnection> {
  const opts = natsConnectionOptions(o);
  try {
    return await connect(opts);
  } catch (err) {
    const servers = (Array.isArray(opts.servers) ? opts.servers : [opts.servers]).join(', ');
    throw new JournalError(
      'EXH_JOURNAL_SETUP',
      `cannot connect to NATS at ${servers}: ${(err as Error).message}; check the URL (--nats), that nats-server runs, and the credentials/TLS options`,
      { cause: err },
    );
  }
}
