/**
 * The bridge's JetStream stream, created idempotently at start: file
 * storage, limits retention, subjects `<prefix>.msg.>`, a 2-minute duplicate
 * window (so a re-offered message with the same EMQX id is stored once).
 * An existing stream is used as it is when it captures the subjects; limits
 * (max age, bytes, replicas) are the operator's to tune.
 */
import { AppError, type ErrorCode } from '../errors.js';
import { DiscardPolicy, nanos, RetentionPolicy, StorageType, type NatsConnection, type StreamConfig } from 'nats';

export type BridgeErrorCode = Extract<ErrorCode, `EXH_BRIDGE_${string}`>;

/** A bridge that cannot start; the message names the fix. */
export class BridgeError extends AppError<BridgeErrorCode> {
  constructor(code: BridgeErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'BridgeError';
  }
}

/** Duplicate window of a stream the bridge creates. */
export const DUPLICATE_WINDOW_MS = 120_000;

const apiCode = (err: unknown): number | undefined => (err as { api_error?: { err_code?: number } } | undefined)?.api_error?.err_code;

export interface StreamSetup {
  readonly created: boolean;
  /** Things an operator may want to know (e.g. a short duplicate window). */
  readonly notes: readonly string[];
}

/** Create `stream` capturing `subject` unless it exists; check that an existing one captures it. */
export async function ensureBridgeStream(nc: NatsConnection, stream: string, subject: string, apiTimeoutMs = 5000): Promise<StreamSetup> {
  const fail = (what: string, err?: unknown): BridgeError =>
    new BridgeError(
      'EXH_BRIDGE_SETUP',
      `bridge stream ${stream} (subjects ${subject}): ${what}`,
      err === undefined ? undefined : { cause: err },
    );
  let jsm;
  try {
    jsm = await nc.jetstreamManager({ timeout: apiTimeoutMs });
  } catch (err) {
    throw fail(
      `JetStream is not available on ${nc.getServer()}: ${(err as Error).message}; enable JetStream (nats-server -js) or remove bridge.stream to publish to core NATS`,
      err,
    );
  }
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const info = await jsm.streams.info(stream);
      const subjects = info.config.subjects ?? [];
      if (!subjects.includes(subject)) {
        throw fail(
          `it exists but does not capture ${subject} (subjects: ${subjects.join(', ') || 'none'}); fix: nats stream edit ${stream} --subjects '${subject}', or choose another bridge.stream`,
        );
      }
      const dupMs = (info.config.duplicate_window ?? 0) / 1e6;
      const notes =
        dupMs < 10_000
          ? [
              `${stream}: duplicate window is ${dupMs} ms; retried publishes may be stored twice (nats stream edit ${stream} --dupe-window 2m)`,
            ]
          : [];
      return { created: false, notes };
    } catch (err) {
      if (err instanceof BridgeError) throw err;
      if (apiCode(err) !== 10059) {
        if ((err as { code?: unknown }).code === 'TIMEOUT' && attempt < 3) continue;
        throw fail(`cannot read it: ${(err as Error).message}`, err);
      }
    }
    const config: Partial<StreamConfig> & { name: string } = {
      name: stream,
      description: 'hookwarden: MQTT messages bridged from EMQX (docs/BRIDGE.md)',
      subjects: [subject],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      num_replicas: 1,
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    };
    try {
      await jsm.streams.add(config);
      return { created: true, notes: [] };
    } catch (err) {
      const code = apiCode(err);
      if (code === 10058 || ((err as { code?: unknown }).code === 'TIMEOUT' && attempt < 3)) continue; // created meanwhile, or maybe
      if (code === 10065)
        throw fail(`its subjects overlap another stream's; remove that stream's ${subject} subjects or choose another bridge.prefix`, err);
      throw fail(`cannot create it: ${(err as Error).message}`, err);
    }
  }
  throw fail('JetStream did not answer after 3 attempts; check the NATS server');
}
