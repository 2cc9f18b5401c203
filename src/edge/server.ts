/**
 * The gRPC edge: ONE grpc-js server on one port serving
 * `emqx.exhook.v1.HookProvider` (EMQX 4.x), `emqx.exhook.v2.HookProvider`
 * (5.0–5.8) and `emqx.exhook.v3.HookProvider` (5.9+), over h2c or TLS, and
 * the standard `grpc.health.v1.Health` when given a serving state.
 *
 * Connections from EMQX are long-lived and mostly idle: each node opens
 * `pool_size` HTTP/2 connections and gun PINGs every 60 s with no calls in
 * between. They must stay open indefinitely and the pings must never count
 * against the peer, hence the server options below.
 */
import * as grpc from '@grpc/grpc-js';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { Dispatcher, EdgeOptions, TlsOptions } from './edge.types.js';
import { hookProviderHandlers } from './handlers.js';
import { healthService, healthServiceDefinition } from './health-service.js';
import { GENERATIONS, hookProviderService } from './proto.js';
import type { EdgeContext } from './valued-call.js';

export interface Edge {
  /** The port actually bound (the ephemeral one when options.port was 0). */
  readonly port: number;
  /** Stop accepting, let in-flight calls finish, force-close after `graceMs`. Idempotent. */
  close(graceMs: number): Promise<void>;
}

/**
 * grpc-js server options. Left UNSET on purpose: `grpc.max_connection_idle_ms`
 * and `grpc.max_connection_age_ms` (grpc-js then never closes an idle or old
 * connection) and `grpc.keepalive_time_ms` (EMQX pings us, not the reverse).
 * The ping-policy keys are what a gRPC server uses to tolerate client pings
 * on idle connections (grpc-js 1.14 does not police pings at all; they keep
 * the intent explicit and hold if it ever does). Channelz stays ON although
 * nothing reads it: grpc-js 1.14 tracks sessions for `forceShutdown` only in
 * its channelz session handler, so with `grpc.enable_channelz: 0` a forced
 * close leaves in-flight streams open (covered by test/edge/connection.test.ts).
 */
export function serverOptions(options: EdgeOptions): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    'grpc.http2.max_ping_strikes': 0,
  };
}

async function credentialsOf(tls: TlsOptions | undefined): Promise<grpc.ServerCredentials> {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  if (tls.requireClientCert && !tls.caFile) {
    throw new AppError('EXH_STARTUP', 'tls.require_client_cert needs tls.ca_file to verify client certificates against');
  }
  const [cert, key, ca] = await Promise.all([readFile(tls.certFile), readFile(tls.keyFile), tls.caFile ? readFile(tls.caFile) : null]);
  return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], tls.requireClientCert);
}

/** `host:port`, with brackets around a bare IPv6 address. */
const addressOf = (host: string, port: number): string => (host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`);

export async function startEdge(options: EdgeOptions, dispatcher: Dispatcher, log: Logger): Promise<Edge> {
  const credentials = await credentialsOf(options.tls);
  const server = new grpc.Server(serverOptions(options));
  const ctx: EdgeContext = { options, dispatcher, log: log.child({ component: 'edge' }) };
  for (const generation of GENERATIONS) server.addService(hookProviderService(generation), hookProviderHandlers(generation, ctx));
  const health = options.health ? healthService(options.health) : undefined;
  if (health) server.addService(healthServiceDefinition(), health.handlers);

  const address = addressOf(options.host, options.port);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentials, (err, bound) => {
      if (err) {
        server.forceShutdown();
        reject(new AppError('EXH_STARTUP', `cannot listen on ${address}: ${err.message}`, { cause: err }));
      } else resolve(bound);
    });
  });

  let closing: Promise<void> | undefined;
  const close = (graceMs: number): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      let settled = false;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(force);
        resolve();
      };
      const force = setTimeout(() => {
        ctx.log.warn({ graceMs }, 'calls still in flight after the grace period; closing them');
        server.forceShutdown();
        settle();
      }, Math.max(0, graceMs));
      health?.endWatches();
      server.tryShutdown(settle);
    }));

  return { port, close };
}
