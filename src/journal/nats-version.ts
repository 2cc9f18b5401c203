/**
 * What the connected nats-server can be trusted with, read from its INFO
 * (`nc.info`: version, jetstream, cluster, headers) at start.
 *
 * `natsAdvisories` is PURE: server facts in, advisories out. The shell part
 * (`checkNatsServer`) logs the version report and each advisory once, and
 * refuses to start on an `error` advisory. Known defects (DISTRIBUTED.md §2):
 * - direct get (one-read client loads) exists from 2.9.0;
 * - conditional appends (`Nats-Expected-Last-Subject-Sequence`) and KV
 *   compare-and-set are not serialisable on replicated (R>1) streams before
 *   the fix of nats-server PR #4319 (issue #4320); treated as fixed from
 *   2.10.0, conservatively;
 * - both fences need message headers.
 */
import { Events, type NatsConnection } from 'nats';
import { AppError } from '../errors.js';
import type { Logger } from '../observability/logger.js';

/** The INFO fields this module reads (a subset of nats.js `ServerInfo`). */
export interface NatsServerFacts {
  readonly version?: string;
  readonly jetstream?: boolean;
  readonly headers?: boolean;
  /** Cluster name; absent on a server without routes. */
  readonly cluster?: string;
  readonly server_name?: string;
  readonly server_id?: string;
  readonly connect_urls?: readonly string[];
}

export type NatsAdvisoryCode =
  'jetstream-disabled' | 'headers-disabled' | 'version-unknown' | 'direct-get-unsupported' | 'replicated-cas-unsafe';

export interface NatsAdvisory {
  readonly code: NatsAdvisoryCode;
  /** `error`: hookwarden cannot run correctly on this server and refuses to start. */
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
}

export interface Semver {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** First release with direct get (`allow_direct`), which every client load uses. */
export const NATS_DIRECT_GET_SINCE: Semver = { major: 2, minor: 9, patch: 0 };
/** First release treated as carrying the fix of nats-server PR #4319 (serialisable conditional writes on R>1). */
export const NATS_REPLICATED_CAS_FIXED: Semver = { major: 2, minor: 10, patch: 0 };

/** `2.9.10`, `v2.10.0-beta.3`, `2.11.0-RC.1+build` → numbers; a pre-release counts as its release. undefined if unreadable. */
export function parseSemver(version: string): Semver | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$/.exec(version.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

export function compareSemver(a: Semver, b: Semver): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

const show = (v: Semver): string => `${v.major}.${v.minor}.${v.patch}`;

/**
 * Advisories for a server, most severe first. `journalReplicas` is the replica
 * count hookwarden would give its streams and buckets (1 today).
 */
export function natsAdvisories(info: NatsServerFacts, opts: { readonly journalReplicas?: number } = {}): NatsAdvisory[] {
  const out: NatsAdvisory[] = [];
  const who = `nats-server ${info.server_name ?? info.server_id ?? '?'} ${info.version ?? '(no version)'}`;
  const fixed = show(NATS_REPLICATED_CAS_FIXED);
  if (info.jetstream !== true) {
    out.push({
      code: 'jetstream-disabled',
      level: 'error',
      message: `${who} runs without JetStream; the journal, the event feed and the policy archive need it. Fix: start nats-server with -js (or "jetstream {}" in its configuration; Helm chart: config.jetstream.enabled=true)`,
    });
  }
  if (info.headers === false) {
    out.push({
      code: 'headers-disabled',
      level: 'error',
      message: `${who} has message headers disabled; appends are fenced with Nats-Expected-Last-Subject-Sequence and Nats-Msg-Id headers. Fix: remove no_header_support from its configuration`,
    });
  }
  const version = info.version === undefined ? undefined : parseSemver(info.version);
  if (!version) {
    out.push({
      code: 'version-unknown',
      level: 'warn',
      message: `${who}: cannot read the server version; the version checks (direct get ${show(NATS_DIRECT_GET_SINCE)}+, replicated compare-and-set ${fixed}+) were skipped`,
    });
    return sortBySeverity(out);
  }
  if (compareSemver(version, NATS_DIRECT_GET_SINCE) < 0) {
    out.push({
      code: 'direct-get-unsupported',
      level: 'error',
      message: `${who} is older than ${show(NATS_DIRECT_GET_SINCE)}: loading a client is one direct get (allow_direct), which this server lacks. Fix: upgrade nats-server to ${fixed} or later`,
    });
  }
  if (compareSemver(version, NATS_REPLICATED_CAS_FIXED) < 0) {
    const defect =
      `conditional appends (Nats-Expected-Last-Subject-Sequence) and KV compare-and-set are not serialisable on replicated (R>1) streams ` +
      `before the fix of nats-server PR #4319 (issue #4320; taken as fixed from ${fixed})`;
    const replicas = opts.journalReplicas ?? 1;
    if (replicas > 1) {
      out.push({
        code: 'replicated-cas-unsafe',
        level: 'error',
        message: `${who}: ${defect}, so a journal with ${replicas} replicas could fork a client's history. Fix: upgrade nats-server to ${fixed} or later, or keep 1 replica`,
      });
    } else if (info.cluster) {
      out.push({
        code: 'replicated-cas-unsafe',
        level: 'warn',
        message: `${who} (cluster ${info.cluster}): ${defect}. hookwarden keeps its streams and buckets at 1 replica; do not raise their replicas before upgrading nats-server to ${fixed} or later`,
      });
    } else {
      out.push({
        code: 'replicated-cas-unsafe',
        level: 'info',
        message: `${who}: ${defect}; upgrade to ${fixed} or later before clustering NATS with replicated streams`,
      });
    }
  }
  return sortBySeverity(out);
}

const RANK = { error: 0, warn: 1, info: 2 } as const;
const sortBySeverity = (list: NatsAdvisory[]): NatsAdvisory[] => list.sort((a, b) => RANK[a.level] - RANK[b.level]);

/** Log each advisory not in `reported` yet (by level and code), at its level. */
function logAdvisories(advisories: readonly NatsAdvisory[], log: Logger, reported: Set<string>): void {
  for (const a of advisories) {
    const key = `${a.level}:${a.code}`;
    if (reported.has(key)) continue;
    reported.add(key);
    log[a.level]({ advisory: a.code }, a.message);
  }
}

function facts(nc: NatsConnection): NatsServerFacts {
  return nc.info ?? {};
}

/**
 * At start: log the server's version and features, and its advisories (each
 * once for this connection, whatever the reconnects).
 * Throws AppError EXH_NATS_UNSUPPORTED listing every `error` advisory. After a
 * reconnect (possibly to another server of a mixed-version cluster during an
 * upgrade) the new server is checked too; its errors are logged, not thrown.
 */
export function checkNatsServer(nc: NatsConnection, log: Logger, opts: { readonly journalReplicas?: number } = {}): NatsAdvisory[] {
  const info = facts(nc);
  const advisories = natsAdvisories(info, opts);
  log.info(
    {
      nats: {
        server: info.server_name ?? info.server_id ?? null,
        version: info.version ?? null,
        jetstream: info.jetstream === true,
        cluster: info.cluster ?? null,
        peers: info.connect_urls?.length ?? 0,
      },
      advisories: advisories.map((a) => a.code),
    },
    'NATS server',
  );
  const reported = new Set<string>();
  logAdvisories(advisories, log, reported);
  const errors = advisories.filter((a) => a.level === 'error');
  if (errors.length > 0) {
    throw new AppError(
      'EXH_NATS_UNSUPPORTED',
      `the NATS server cannot carry hookwarden's journal:\n  - ${errors.map((e) => e.message).join('\n  - ')}`,
    );
  }
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === Events.Reconnect) logAdvisories(natsAdvisories(facts(nc), opts), log, reported);
    }
  })().catch(() => undefined);
  return advisories;
}
