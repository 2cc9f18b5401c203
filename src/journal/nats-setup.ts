/**
 * Idempotent creation and checking of hookwarden's JetStream streams at
 * start: create when missing, otherwise verify what correctness depends on
 * and fail with an error naming what is wrong and how to fix it. Limits an
 * operator may tune (max age, bytes, messages per subject) are left alone
 * and reported as notes when they differ.
 */
import {
  DiscardPolicy,
  nanos,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type NatsConnection,
  type StreamConfig,
  type StreamInfo,
} from 'nats';
import { JournalError } from './journal-errors.js';

export interface StreamSpec {
  readonly name: string;
  /** The one subject filter hookwarden writes under. */
  readonly subject: string;
  readonly description: string;
  readonly maxMsgsPerSubject?: number;
  readonly maxAgeMs?: number;
  readonly maxBytes?: number;
  readonly duplicateWindowMs: number;
  /** Direct get is needed for one-read loads (journal). */
  readonly allowDirect: boolean;
  /** JetStream placement tag for a new stream (a server with this tag in `server_tags` gets it). */
  readonly placementTag?: string;
}

export interface EnsureResult {
  readonly created: boolean;
  /** Tunable limits that differ from what hookwarden would create (informational). */
  readonly notes: readonly string[];
}

/** A JetStream manager, or a JournalError saying JetStream is off. */
export async function jetStreamManager(nc: NatsConnection, apiTimeoutMs: number, startupBudgetMs = 15_000): Promise<JetStreamManager> {
  const giveUpAt = Date.now() + startupBudgetMs;
  for (;;) {
    try {
      const jsm = await nc.jetstreamManager({ timeout: apiTimeoutMs });
      await jsm.getAccountInfo();
      return jsm;
    } catch (err) {
      // a cluster that just started has no JetStream meta leader yet: 503 / timeouts for a few seconds
      const code = (err as { code?: unknown }).code;
      const enabled = (nc.info as { jetstream?: boolean } | undefined)?.jetstream === true;
      if (enabled && (code === '503' || code === 'TIMEOUT') && Date.now() + 500 < giveUpAt) {
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      throw jetStreamMissing(nc, err);
    }
  }
}

function jetStreamMissing(nc: NatsConnection, err: unknown): JournalError {
  return new JournalError(
    'EXH_JOURNAL_SETUP',
    `JetStream is not available on ${nc.getServer()}: ${(err as Error).message}; start nats-server with JetStream enabled (-js, or "jetstream {}" in its config) and check the account's JetStream limits`,
    { cause: err },
  );
}

const apiCode = (err: unknown): number | undefined => (err as { api_error?: { err_code?: number } } | undefined)?.api_error?.err_code;

/** Create the stream if missing, else check it. A timed-out attempt is retried twice (creation may have happened). */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec): Promise<EnsureResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ensureOnce(jsm, spec);
    } catch (err) {
      const cause = err instanceof JournalError ? err.cause : err;
      if (attempt >= 3 || (cause as { code?: unknown } | undefined)?.code !== 'TIMEOUT') throw err;
    }
  }
}

async function ensureOnce(jsm: JetStreamManager, spec: StreamSpec): Promise<EnsureResult> {
  let info: StreamInfo | undefined;
  try {
    info = await jsm.streams.info(spec.name);
  } catch (err) {
    if (apiCode(err) !== 10059) throw setupError(spec, `cannot read stream ${spec.name}: ${(err as Error).message}`, err);
  }
  if (!info) {
    const config: Partial<StreamConfig> & { name: string } = {
      name: spec.name,
      description: spec.description,
      subjects: [spec.subject],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      num_replicas: 1,
      duplicate_window: nanos(spec.duplicateWindowMs),
      allow_direct: spec.allowDirect,
      ...(spec.maxMsgsPerSubject ? { max_msgs_per_subject: spec.maxMsgsPerSubject } : {}),
      ...(spec.maxAgeMs ? { max_age: nanos(spec.maxAgeMs) } : {}),
      ...(spec.maxBytes ? { max_bytes: spec.maxBytes } : {}),
      ...(spec.placementTag ? { placement: { cluster: '', tags: [spec.placementTag] } } : {}),
    };
    try {
      await jsm.streams.add(config);
      return { created: true, notes: [] };
    } catch (err) {
      const code = apiCode(err);
      if (code === 10058) return ensureOnce(jsm, spec); // created by another instance meanwhile
      if (code === 10065) {
        throw setupError(
          spec,
          `cannot create stream ${spec.name}: its subject ${spec.subject} overlaps another stream's; remove that stream or choose another --nats-prefix`,
          err,
        );
      }
      throw setupError(spec, `cannot create stream ${spec.name}: ${(err as Error).message}`, err);
    }
  }
  return { created: false, notes: checkStream(info, spec) };
}

/** What is wrong with an existing stream (throws), and the tunable differences (returned). */
export function checkStream(info: StreamInfo, spec: StreamSpec): string[] {
  const c = info.config;
  const problems: string[] = [];
  const fix = (what: string, how: string): void => {
    problems.push(`${what} (fix: ${how})`);
  };
  if (!(c.subjects ?? []).includes(spec.subject)) {
    fix(
      `it does not capture ${spec.subject} (subjects: ${(c.subjects ?? []).join(', ') || 'none'})`,
      `nats stream edit ${spec.name} --subjects '${spec.subject}'`,
    );
  }
  if (c.storage !== StorageType.File) {
    fix(
      `storage is ${c.storage}; a memory stream loses the journal when nats-server restarts`,
      `recreate it with file storage (nats stream rm ${spec.name}; hookwarden creates it)`,
    );
  }
  if ((c.num_replicas ?? 1) !== 1) {
    fix(
      `it has ${c.num_replicas} replicas; conditional appends are not serialisable on replicated streams before nats-server 2.10 (nats-server issue 4320)`,
      'recreate it with 1 replica, or upgrade NATS and re-run the fencing test',
    );
  }
  if (c.retention !== RetentionPolicy.Limits) {
    fix(`retention is ${c.retention}; records must stay until the limits remove them`, `recreate it with limits retention`);
  }
  if (spec.allowDirect && !c.allow_direct) {
    fix('direct get is off; loading a client needs it', `nats stream edit ${spec.name} --allow-direct`);
  }
  const dupMs = (c.duplicate_window ?? 0) / 1e6;
  if (dupMs < Math.min(spec.duplicateWindowMs, 10_000)) {
    fix(
      `its duplicate window is ${dupMs} ms; retries after a timeout need at least 10 s to be deduplicated`,
      `nats stream edit ${spec.name} --dupe-window 2m`,
    );
  }
  if (problems.length > 0) {
    throw new JournalError('EXH_JOURNAL_SETUP', `stream ${spec.name} is not usable by hookwarden:\n  - ${problems.join('\n  - ')}`);
  }
  const notes: string[] = [];
  if (spec.maxMsgsPerSubject && c.max_msgs_per_subject !== spec.maxMsgsPerSubject) {
    notes.push(`${spec.name}: max_msgs_per_subject is ${c.max_msgs_per_subject}, hookwarden would use ${spec.maxMsgsPerSubject}`);
  }
  if (spec.placementTag && !(c.placement?.tags ?? []).includes(spec.placementTag)) {
    notes.push(`${spec.name}: placement tags are [${(c.placement?.tags ?? []).join(', ')}], hookwarden would use [${spec.placementTag}]`);
  }
  if (spec.maxAgeMs && c.max_age !== nanos(spec.maxAgeMs)) {
    notes.push(`${spec.name}: max_age is ${c.max_age / 1e9} s, hookwarden would use ${spec.maxAgeMs / 1000} s`);
  }
  return notes;
}

function setupError(spec: StreamSpec, message: string, cause: unknown): JournalError {
  return new JournalError('EXH_JOURNAL_SETUP', `${message} (stream ${spec.name}, subject ${spec.subject})`, { cause });
}
