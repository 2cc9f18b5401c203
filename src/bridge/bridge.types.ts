/** The bridge's public types (see bridge.ts and docs/BRIDGE.md). */
import type { Logger } from '../observability/logger.js';
import type { Selection } from './message-headers.js';
import type { Counters } from './pumps.js';

/** Knobs that are not configuration (tests, tuning). */
export interface BridgeTuning {
  /** JetStream: publishes awaiting their ack at once (default 256). */
  readonly maxInFlight?: number;
  /** JetStream: how long to wait for an ack before re-sending (default 5000 ms). */
  readonly ackTimeoutMs?: number;
  /** JetStream: longest pause between retries (default 2000 ms; from 100 ms, doubling). */
  readonly maxRetryDelayMs?: number;
  /** Core NATS: messages per flush round trip (default 256). */
  readonly batch?: number;
}

export interface BridgeDeps {
  readonly log?: Logger;
  readonly tuning?: BridgeTuning;
}

/** What `offer` did: `queued`, or why not (`dropped` = the backlog was full). */
export type OfferResult = 'queued' | 'dropped' | 'closed' | Exclude<Selection, 'bridge'>;

/** Counters since start. Every queued message ends in exactly one of bridged, duplicates, failed, unroutable, abandoned. */
export interface BridgeStats extends Readonly<Counters> {
  readonly mode: 'core' | 'jetstream';
  /** Messages held: waiting or in flight. */
  readonly backlog: number;
  readonly backlogBytes: number;
  readonly inFlight: number;
  readonly connected: boolean;
}
