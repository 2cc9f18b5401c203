/**
 * The standard gRPC health service (`grpc.health.v1.Health`, Check + Watch)
 * on the hook port, for gRPC-aware probes and load balancers. Service `""`
 * is the whole server; each `emqx.exhook.v{1,2,3}.HookProvider` is listed by
 * its full name and has the same status. SERVING while `ServingState` says
 * so (hookwarden: ready, see src/observability/health.ts), NOT_SERVING
 * otherwise (NATS gone past its grace period, shutting down). Check of an
 * unknown service is NOT_FOUND; Watch of one streams SERVICE_UNKNOWN, as the
 * specification asks.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import type { ServingState } from './edge.types.js';
import { GENERATIONS, LOAD_OPTIONS, protoRoot } from './proto.js';

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

interface CheckRequest {
  readonly service: string;
}
interface CheckResponse {
  readonly status: ServingStatus;
}

/** Service names answered: "" (the server) and every HookProvider. */
export const HEALTH_SERVICES: readonly string[] = ['', ...GENERATIONS.map((g) => `emqx.exhook.${g}.HookProvider`)];

/** `protos/grpc/health/v1/health.proto`, next to our ExHook protos. */
export const healthProtoFile = (): string => join(protoRoot(), '..', '..', 'grpc', 'health', 'v1', 'health.proto');

let definition: grpc.ServiceDefinition | undefined;

export function healthServiceDefinition(): grpc.ServiceDefinition {
  if (definition) return definition;
  const pkg = protoLoader.loadSync(healthProtoFile(), LOAD_OPTIONS);
  const service = pkg['grpc.health.v1.Health'];
  if (!service || 'format' in service || !('Check' in service))
    throw new Error('protos/grpc/health/v1/health.proto does not define grpc.health.v1.Health');
  definition = service as unknown as grpc.ServiceDefinition;
  return definition;
}

export interface HealthService {
  readonly handlers: grpc.UntypedServiceImplementation;
  /** End every Watch stream (they never end on their own and would hold a graceful shutdown). */
  endWatches(): void;
}

/** `grpc.health.v1.Health` over `state`. */
export function healthService(state: ServingState): HealthService {
  /** Open Watch streams → how to end each one (telling NOT_SERVING first). */
  const watches = new Map<grpc.ServerWritableStream<CheckRequest, CheckResponse>, () => void>();
  const known = new Set(HEALTH_SERVICES);
  const statusOf = (service: string): ServingStatus =>
    !known.has(service) ? 'SERVICE_UNKNOWN' : state.serving() ? 'SERVING' : 'NOT_SERVING';

  const check: grpc.handleUnaryCall<CheckRequest, CheckResponse> = (call, callback) => {
    const service = call.request.service;
    if (!known.has(service)) {
      callback({
        code: grpc.status.NOT_FOUND,
        details: `unknown service "${service}"; known: ${HEALTH_SERVICES.map((s) => JSON.stringify(s)).join(', ')}`,
      });
      return;
    }
    callback(null, { status: statusOf(service) });
  };

  const watch: grpc.handleServerStreamingCall<CheckRequest, CheckResponse> = (call) => {
    const service = call.request.service;
    let last: ServingStatus | undefined;
    const send = (): void => {
      const now = statusOf(service);
      if (now === last) return;
      last = now;
      call.write({ status: now });
    };
    send();
    const unsubscribe = state.onChange(send);
    const forget = (): void => {
      unsubscribe();
      watches.delete(call);
    };
    watches.set(call, () => {
      forget();
      if (last !== 'NOT_SERVING' && last !== 'SERVICE_UNKNOWN') call.write({ status: 'NOT_SERVING' });
      call.end();
    });
    call.once('cancelled', forget);
    call.once('error', forget);
  };

  return {
    handlers: { Check: check, Watch: watch },
    endWatches: () => {
      for (const end of [...watches.values()]) end();
    },
  };
}
