/**
 * The contract between the gRPC edge and the rest of hookwarden.
 * The edge decodes, validates, stamps `at`, calls the dispatcher and encodes
 * the answer; it owns deadlines and fallbacks so that EMQX's timer never fires
 * because of us.
 */
import type { Decision, Outcome } from '../domain/decision.js';
import type { Generation, HookName, Meta, NotificationEvent, ValuedEvent } from '../domain/hook-event.js';

export interface BrokerInfo {
  readonly version: string;
  readonly sysdescr: string;
  /** v1: text such as "2 hours, 3 minutes"; v2/v3: int64 ms as a decimal string. */
  readonly uptime: string;
  readonly datetime: string;
}

export interface ProviderLoaded {
  readonly at: number;
  readonly generation: Generation;
  readonly meta: Meta;
  readonly broker: BrokerInfo;
}

export interface ProviderUnloaded {
  readonly at: number;
  readonly generation: Generation;
  readonly meta: Meta;
}

export interface Dispatcher {
  /**
   * Decide a valued hook. A synchronous return is answered at once (the cheap
   * path); a promise is raced against the deadline. Rejections and throws are
   * answered with the configured fallback and logged.
   */
  decide(event: ValuedEvent, deadline: number): Decision | Promise<Decision>;
  /** Take a notification after it was answered. Never throws, never blocks. */
  notify(event: NotificationEvent): void;
  providerLoaded(info: ProviderLoaded): void;
  providerUnloaded(info: ProviderUnloaded): void;
}

/** Which hooks OnProviderLoaded mounts (in v2/v3 spelling; the edge renames for v1). */
export interface HookMount {
  readonly hooks: readonly HookName[];
  /** Topic filters for `message.*` hooks; empty = all topics. */
  readonly messageTopics: readonly string[];
}

export type ValuedHookName = ValuedEvent['type'];

export interface DeadlineOptions {
  /** Internal deadline for valued hooks, ms from arrival; the caller's grpc-timeout is honoured too. */
  readonly valuedMs: number;
  /** The answer when the deadline passes or deciding fails, per valued hook. */
  readonly fallback: Readonly<Record<ValuedHookName, Outcome>>;
}

export interface TlsOptions {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA bundle to verify client certificates with; with `requireClientCert` EMQX must present one. */
  readonly caFile?: string;
  readonly requireClientCert: boolean;
}

export interface EdgeOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: TlsOptions;
  /** The ValuedResponse type of an allow: CONTINUE (default; later servers in EMQX's chain still have their say) or STOP_AND_RETURN. */
  readonly allowType: 'CONTINUE' | 'STOP_AND_RETURN';
  readonly deadlines: DeadlineOptions;
  /** Largest request accepted, bytes; larger ones get RESOURCE_EXHAUSTED. */
  readonly maxMessageBytes: number;
  /** Called for each loaded HookProvider; may depend on generation and meta (e.g. cluster name). */
  readonly mount: (loaded: ProviderLoaded) => HookMount;
  /**
   * Told the decision actually answered for each valued hook (deadline and
   * error fallbacks included), after the answer was handed to grpc-js. Must
   * not throw or block (the message bridge enqueues here).
   */
  readonly answered?: (event: ValuedEvent, decision: Decision) => void;
  /** Counting and timing per hook and generation (src/observability/metrics.ts); none: not measured. */
  readonly meters?: EdgeMeters;
  /** What the standard gRPC health service (`grpc.health.v1.Health`) reports; absent: not served. */
  readonly health?: ServingState;
}

/**
 * Counters and timings of one hook of one generation, resolved once when the
 * handlers are built, so the hot path only bumps fields of a known object.
 */
export interface HookMeter {
  /** A call answered (valued) or processed (notification); `startedAt` is `performance.now()` at arrival. */
  done(startedAt: number): void;
  /** The decision actually answered to a valued hook (fallbacks included). */
  decided(decision: Decision): void;
  /** The caller cancelled (or its deadline passed) before the answer. */
  cancelled(): void;
  /** The request could not be decoded. */
  undecodable(): void;
}

export interface EdgeMeters {
  meter(hook: HookName, generation: Generation): HookMeter;
}

/** Whether the server is serving, and a way to hear of changes (for gRPC health Watch). */
export interface ServingState {
  serving(): boolean;
  /** Returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}
