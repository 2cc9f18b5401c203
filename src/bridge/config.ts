/**
 * PURE: the bridge's configuration, its defaults and its validation. Every
 * problem is reported at once, each naming the key and the fix; the caller
 * (src/config.ts) decides where the options come from.
 */
import { topicFilterProblem } from '../domain/topic.js';
import { isSubjectToken } from '../journal/client-key.js';

/** The `bridge` section of the configuration (docs/BRIDGE.md). */
export interface BridgeOptions {
  /** MQTT topic filters selecting the messages to bridge (`sensors/#`, `alerts/+/critical`). */
  topics: string[];
  /** Subject prefix: messages go to `<prefix>.msg.<escaped levels>` (default `hookwarden`). */
  prefix?: string;
  /** JetStream stream to keep bridged messages in (created if missing); absent: core NATS publish. */
  stream?: string;
  /** Most messages held (waiting or in flight) before new ones are dropped (default 10 000). */
  maxBacklog?: number;
  /** Most payload bytes held before new messages are dropped (default 64 MiB). */
  maxBacklogBytes?: number;
}

/** `BridgeOptions` with every default filled in. */
export interface ResolvedBridgeOptions {
  readonly topics: readonly string[];
  readonly prefix: string;
  readonly stream?: string;
  readonly maxBacklog: number;
  readonly maxBacklogBytes: number;
}

export const BRIDGE_DEFAULTS = {
  prefix: 'hookwarden',
  maxBacklog: 10_000,
  maxBacklogBytes: 64 * 1024 * 1024,
} as const;

const STREAM_NAME = /^[^\s.*>/\\]+$/;
const MAX_STREAM_NAME = 255;

/** Where each option lives in the configuration file (docs/CONFIG.md); problems name these keys. */
export const BRIDGE_KEYS: Readonly<Record<keyof BridgeOptions, string>> = {
  topics: 'bridge.topics',
  prefix: 'nats.prefix',
  stream: 'bridge.stream',
  maxBacklog: 'bridge.max_backlog',
  maxBacklogBytes: 'bridge.max_backlog_bytes',
};

/** One problem: the key, what is wrong, how to fix it (the shape of src/config.ts's ConfigIssue). */
export interface BridgeOptionProblem {
  readonly key: string;
  readonly message: string;
  readonly fix: string;
}

/** `"<key>: <message> (fix: <fix>)"`. */
export const formatProblem = (p: BridgeOptionProblem): string => `${p.key}: ${p.message} (fix: ${p.fix})`;

/**
 * Every problem of `o`, empty when valid. `keys` renames keys (e.g. for an
 * environment variable or a flag); by default they are BRIDGE_KEYS.
 */
export function bridgeOptionProblems(o: BridgeOptions, keys: Partial<Record<keyof BridgeOptions, string>> = {}): BridgeOptionProblem[] {
  const problems: BridgeOptionProblem[] = [];
  const bad = (k: keyof BridgeOptions, suffix: string, message: string, fix: string): void => {
    problems.push({ key: `${keys[k] ?? BRIDGE_KEYS[k]}${suffix}`, message, fix });
  };
  if (!Array.isArray(o.topics) || o.topics.length === 0) {
    bad('topics', '', 'no topic filter given, so nothing would be bridged', 'list MQTT topic filters, e.g. ["sensors/#"]');
  } else {
    o.topics.forEach((t, i) => {
      if (typeof t !== 'string') return bad('topics', `[${i}]`, `${JSON.stringify(t)} is not a string`, 'write the filter as a string');
      const problem = topicFilterProblem(t);
      if (problem) return bad('topics', `[${i}]`, `${JSON.stringify(t)}: ${problem}`, 'use a valid MQTT topic filter such as "sensors/#"');
      if (t.startsWith('$share/') || t.startsWith('$queue/')) {
        bad(
          'topics',
          `[${i}]`,
          `${JSON.stringify(t)} is a shared subscription`,
          'give the plain filter without $share/<group>/ or $queue/',
        );
      }
    });
  }
  if (o.prefix !== undefined && (typeof o.prefix !== 'string' || !o.prefix.split('.').every(isSubjectToken))) {
    bad(
      'prefix',
      '',
      `${JSON.stringify(o.prefix)} is not a NATS subject prefix`,
      'use dot-separated tokens without spaces, "*" or ">", e.g. "hookwarden"',
    );
  }
  if (o.stream !== undefined && (typeof o.stream !== 'string' || !STREAM_NAME.test(o.stream) || o.stream.length > MAX_STREAM_NAME)) {
    bad(
      'stream',
      '',
      `${JSON.stringify(o.stream)} is not a JetStream stream name`,
      `use letters, digits, "-" or "_" (no spaces, ".", "*", ">", "/", "\\"), at most ${MAX_STREAM_NAME} characters, or leave it out for core NATS`,
    );
  }
  for (const k of ['maxBacklog', 'maxBacklogBytes'] as const) {
    const v = o[k];
    if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) {
      bad(k, '', `${JSON.stringify(v)} is not a positive integer`, `give a whole number ≥ 1 (default ${BRIDGE_DEFAULTS[k]})`);
    }
  }
  return problems;
}

/** Fill in the defaults. Call after `bridgeOptionProblems` returned no problem. */
export function resolveBridgeOptions(o: BridgeOptions): ResolvedBridgeOptions {
  return {
    topics: [...o.topics],
    prefix: o.prefix ?? BRIDGE_DEFAULTS.prefix,
    ...(o.stream !== undefined ? { stream: o.stream } : {}),
    maxBacklog: o.maxBacklog ?? BRIDGE_DEFAULTS.maxBacklog,
    maxBacklogBytes: o.maxBacklogBytes ?? BRIDGE_DEFAULTS.maxBacklogBytes,
  };
}
