/**
 * Configuration: defaults < config file (YAML/JSON) < environment < flags.
 * The sole reader of process.env. Every problem is reported at once, each
 * naming the key and the fix; the result is frozen.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Outcome } from './domain/decision.js';
import type { HookName } from './domain/hook-event.js';
import { AppError } from './errors.js';
import { Secret } from './domain/secret.js';
import { FEED_KINDS } from './journal/events.js';
import { MAX_SHARDS } from './journal/client-key.js';
import { bridgeOptionProblems } from './bridge/config.js';
import { topicMatches } from './domain/topic.js';
import { parseDurationMs, parseSizeBytes } from './domain/units.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type MessageEventHook = 'message.delivered' | 'message.acked' | 'message.dropped';

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly tls?: { certFile: string; keyFile: string; caFile?: string; requireClientCert: boolean };
  readonly maxMessageBytes: number;
  readonly allowType: 'CONTINUE' | 'STOP_AND_RETURN';
  readonly deadlineMs: number;
  readonly fallback: { readonly 'client.authenticate': Outcome; readonly 'client.authorize': Outcome; readonly 'message.publish': Outcome };
  /** High-volume notification hooks to mount (none by default). */
  readonly messageEvents: readonly MessageEventHook[];
  /** Topic filters for message.* hooks; empty = all. */
  readonly messageTopics: readonly string[];
  /** Hooks never mounted, whatever the policy needs. */
  readonly excludeHooks: readonly HookName[];
  readonly policyFile?: string;
  readonly watchPolicy: boolean;
  readonly maxClients: number;
  readonly hotClients: number;
  readonly logLevel: LogLevel;
  readonly shutdownGraceMs: number;
  /** Instance name: CloudEvent `source`, NATS connection name (default: host name). */
  readonly instance?: string;
  /** Embedded journal files (`--data-dir`); none: memory only. */
  readonly dataDir?: string;
  /** Journal message payloads too (opt-in). */
  readonly journalPayloads: boolean;
  /** fdatasync period of the file journal, ms (0: before every acknowledgement). */
  readonly fsyncIntervalMs: number;
  /** NATS JetStream journal and event feed; absent: embedded. */
  readonly nats?: NatsConfig;
  /** MQTT topic filters whose allowed messages are bridged to NATS (needs `nats`). */
  readonly bridgeTopics: readonly string[];
  /** JetStream stream keeping bridged messages; none: core NATS publish. */
  readonly bridgeStream?: string;
  readonly bridgeMaxBacklog: number;
  readonly bridgeMaxBacklogBytes: number;
  /** What a valued hook gets while NATS cannot be reached (docs/CLUSTER.md §Degrade). */
  readonly degrade: {
    readonly 'client.authenticate': 'local' | 'deny';
    readonly 'client.authorize': 'local' | 'deny';
    readonly 'message.publish': 'local' | 'deny';
  };
  /** Local outbox for records made while NATS cannot be reached (default `<data-dir>/outbox`, else a temp dir). */
  readonly outboxDir?: string;
  readonly outboxMaxBytes: number;
  /** Membership heartbeat period, ms (with NATS; docs/CLUSTER.md). */
  readonly clusterHeartbeatMs: number;
  /** An instance whose entry is older than this is gone, ms (default max(10 s, 3 heartbeats)). */
  readonly clusterTtlMs: number;
  /** HTTP server for metrics, health and the admin API (`--http-port`); absent: none. */
  readonly httpPort?: number;
  readonly httpHost: string;
  /** Bearer token of the admin API (`--admin-token`, `--admin-token-file`). */
  readonly adminToken?: Secret;
  /** How long the NATS journal connection may be down before /readyz turns 503, ms. */
  readonly readyNatsGraceMs: number;
  /** EMQX 5 REST API to kick banned or quarantined clients (`--emqx-api-url`); absent: off. */
  readonly emqxApi?: { readonly url: string; readonly key: string; readonly secret: Secret };
}

export interface NatsConfig {
  readonly servers: readonly string[];
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  readonly credsFile?: string;
  readonly nkeySeedFile?: string;
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
  /** Subject prefix of journal, feed and bridge (default `hookwarden`). */
  readonly prefix: string;
  /** Journal shards, 1 – 64 (docs/CLUSTER.md §Shards). Absent: 1 for serve; replay and inspect use the streams' layout. */
  readonly shards?: number;
  /** JetStream placement tags for new journal streams: shard s goes to a server tagged `shardTags[s mod length]`. */
  readonly shardTags?: readonly string[];
  /** Publish the event feed (`<prefix>.events.…`). */
  readonly feed: boolean;
  /** Feed kinds left out, e.g. `message.publish_checked`, `message.delivered`, `message.acked`. */
  readonly feedExclude: readonly string[];
  /** Where the feed projector runs: `lease` (one instance of the cluster at a time), `always`, `never`. */
  readonly feedProject?: 'lease' | 'always' | 'never';
}

export const DEFAULTS: Config = Object.freeze({
  host: '0.0.0.0',
  port: 9000,
  maxMessageBytes: 16 * 1024 * 1024,
  allowType: 'CONTINUE',
  deadlineMs: 1000,
  fallback: { 'client.authenticate': 'ignore', 'client.authorize': 'ignore', 'message.publish': 'ignore' } as Config['fallback'],
  messageEvents: [],
  messageTopics: [],
  excludeHooks: [],
  watchPolicy: true,
  maxClients: 1_000_000,
  hotClients: 20_000,
  logLevel: 'info',
  shutdownGraceMs: 10_000,
  journalPayloads: false,
  fsyncIntervalMs: 1000,
  bridgeTopics: [],
  bridgeMaxBacklog: 10_000,
  bridgeMaxBacklogBytes: 64 * 1024 * 1024,
  degrade: { 'client.authenticate': 'local', 'client.authorize': 'local', 'message.publish': 'local' } as Config['degrade'],
  outboxMaxBytes: 64 * 1024 * 1024,
  clusterHeartbeatMs: 2000,
  clusterTtlMs: 10_000,
  httpHost: '0.0.0.0',
  readyNatsGraceMs: 10_000,
});

/** Flags as the CLI parsed them (already split into name → value). */
export type Flags = Readonly<Record<string, string | boolean | undefined>>;

export interface ConfigIssue {
  readonly key: string;
  readonly message: string;
  readonly fix: string;
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const OUTCOMES: readonly Outcome[] = ['allow', 'deny', 'ignore'];
const DEGRADE_MODES = ['local', 'deny'] as const;
const MESSAGE_EVENTS: readonly MessageEventHook[] = ['message.delivered', 'message.acked', 'message.dropped'];

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Map of every accepted key: file path, env var, flag (exported for the deploy manifests' tests). */
export const KEYS = {
  host: { file: 'listen.host', env: 'HOOKWARDEN_HOST', flag: 'host' },
  port: { file: 'listen.port', env: 'HOOKWARDEN_PORT', flag: 'port' },
  tlsCert: { file: 'tls.cert_file', env: 'HOOKWARDEN_TLS_CERT_FILE', flag: 'tls-cert' },
  tlsKey: { file: 'tls.key_file', env: 'HOOKWARDEN_TLS_KEY_FILE', flag: 'tls-key' },
  tlsCa: { file: 'tls.ca_file', env: 'HOOKWARDEN_TLS_CA_FILE', flag: 'tls-ca' },
  tlsRequire: { file: 'tls.require_client_cert', env: 'HOOKWARDEN_TLS_REQUIRE_CLIENT_CERT', flag: 'tls-require-client-cert' },
  maxMessage: { file: 'max_message_size', env: 'HOOKWARDEN_MAX_MESSAGE_SIZE', flag: 'max-message-size' },
  allow: { file: 'answer.allow', env: 'HOOKWARDEN_ANSWER_ALLOW', flag: 'answer-allow' },
  deadline: { file: 'deadline.valued', env: 'HOOKWARDEN_DEADLINE', flag: 'deadline' },
  fbAuthn: { file: 'deadline.fallback.authenticate', env: 'HOOKWARDEN_FALLBACK_AUTHENTICATE', flag: 'fallback-authenticate' },
  fbAuthz: { file: 'deadline.fallback.authorize', env: 'HOOKWARDEN_FALLBACK_AUTHORIZE', flag: 'fallback-authorize' },
  fbPub: { file: 'deadline.fallback.publish', env: 'HOOKWARDEN_FALLBACK_PUBLISH', flag: 'fallback-publish' },
  msgEvents: { file: 'hooks.message_events', env: 'HOOKWARDEN_MESSAGE_EVENTS', flag: 'message-events' },
  msgTopics: { file: 'hooks.message_topics', env: 'HOOKWARDEN_MESSAGE_TOPICS', flag: 'message-topics' },
  exclude: { file: 'hooks.exclude', env: 'HOOKWARDEN_EXCLUDE_HOOKS', flag: 'exclude-hooks' },
  policy: { file: 'policy.file', env: 'HOOKWARDEN_POLICY', flag: 'policy' },
  watch: { file: 'policy.watch', env: 'HOOKWARDEN_POLICY_WATCH', flag: 'policy-watch' },
  maxClients: { file: 'registry.max_clients', env: 'HOOKWARDEN_MAX_CLIENTS', flag: 'max-clients' },
  hotClients: { file: 'registry.hot_clients', env: 'HOOKWARDEN_HOT_CLIENTS', flag: 'hot-clients' },
  logLevel: { file: 'log.level', env: 'HOOKWARDEN_LOG_LEVEL', flag: 'log-level' },
  grace: { file: 'shutdown.grace', env: 'HOOKWARDEN_SHUTDOWN_GRACE', flag: 'shutdown-grace' },
  instance: { file: 'instance', env: 'HOOKWARDEN_INSTANCE', flag: 'instance' },
  dataDir: { file: 'journal.data_dir', env: 'HOOKWARDEN_DATA_DIR', flag: 'data-dir' },
  payloads: { file: 'journal.payloads', env: 'HOOKWARDEN_JOURNAL_PAYLOADS', flag: 'journal-payloads' },
  fsync: { file: 'journal.fsync_interval', env: 'HOOKWARDEN_FSYNC_INTERVAL', flag: 'fsync-interval' },
  dgAuthn: { file: 'degrade.authenticate', env: 'HOOKWARDEN_DEGRADE_AUTHENTICATE', flag: 'degrade-authenticate' },
  dgAuthz: { file: 'degrade.authorize', env: 'HOOKWARDEN_DEGRADE_AUTHORIZE', flag: 'degrade-authorize' },
  dgPub: { file: 'degrade.publish', env: 'HOOKWARDEN_DEGRADE_PUBLISH', flag: 'degrade-publish' },
  outboxDir: { file: 'outbox.dir', env: 'HOOKWARDEN_OUTBOX_DIR', flag: 'outbox-dir' },
  outboxMax: { file: 'outbox.max_size', env: 'HOOKWARDEN_OUTBOX_MAX_SIZE', flag: 'outbox-max-size' },
  natsServers: { file: 'nats.servers', env: 'HOOKWARDEN_NATS', flag: 'nats' },
  natsUser: { file: 'nats.user', env: 'HOOKWARDEN_NATS_USER', flag: 'nats-user' },
  natsPass: { file: 'nats.password', env: 'HOOKWARDEN_NATS_PASSWORD', flag: 'nats-password' },
  natsToken: { file: 'nats.token', env: 'HOOKWARDEN_NATS_TOKEN', flag: 'nats-token' },
  natsCreds: { file: 'nats.creds_file', env: 'HOOKWARDEN_NATS_CREDS', flag: 'nats-creds' },
  natsNkey: { file: 'nats.nkey_file', env: 'HOOKWARDEN_NATS_NKEY', flag: 'nats-nkey' },
  natsCa: { file: 'nats.tls.ca_file', env: 'HOOKWARDEN_NATS_TLS_CA_FILE', flag: 'nats-tls-ca' },
  natsCert: { file: 'nats.tls.cert_file', env: 'HOOKWARDEN_NATS_TLS_CERT_FILE', flag: 'nats-tls-cert' },
  natsKey: { file: 'nats.tls.key_file', env: 'HOOKWARDEN_NATS_TLS_KEY_FILE', flag: 'nats-tls-key' },
  natsPrefix: { file: 'nats.prefix', env: 'HOOKWARDEN_NATS_PREFIX', flag: 'nats-prefix' },
  natsShards: { file: 'nats.shards', env: 'HOOKWARDEN_NATS_SHARDS', flag: 'nats-shards' },
  natsShardTags: { file: 'nats.shard_tags', env: 'HOOKWARDEN_NATS_SHARD_TAGS', flag: 'nats-shard-tags' },
  feed: { file: 'feed.enabled', env: 'HOOKWARDEN_FEED', flag: 'feed' },
  feedExclude: { file: 'feed.exclude', env: 'HOOKWARDEN_FEED_EXCLUDE', flag: 'feed-exclude' },
  feedProject: { file: 'feed.project', env: 'HOOKWARDEN_FEED_PROJECT', flag: 'feed-project' },
  bridgeTopics: { file: 'bridge.topics', env: 'HOOKWARDEN_BRIDGE_TOPICS', flag: 'bridge-topics' },
  bridgeStream: { file: 'bridge.stream', env: 'HOOKWARDEN_BRIDGE_STREAM', flag: 'bridge-stream' },
  bridgeBacklog: { file: 'bridge.max_backlog', env: 'HOOKWARDEN_BRIDGE_MAX_BACKLOG', flag: 'bridge-max-backlog' },
  bridgeBacklogBytes: { file: 'bridge.max_backlog_bytes', env: 'HOOKWARDEN_BRIDGE_MAX_BACKLOG_BYTES', flag: 'bridge-max-backlog-bytes' },
  clusterHeartbeat: { file: 'cluster.heartbeat', env: 'HOOKWARDEN_CLUSTER_HEARTBEAT', flag: 'cluster-heartbeat' },
  clusterTtl: { file: 'cluster.ttl', env: 'HOOKWARDEN_CLUSTER_TTL', flag: 'cluster-ttl' },
  httpPort: { file: 'http.port', env: 'HOOKWARDEN_HTTP_PORT', flag: 'http-port' },
  httpHost: { file: 'http.host', env: 'HOOKWARDEN_HTTP_HOST', flag: 'http-host' },
  adminToken: { file: 'http.admin_token', env: 'HOOKWARDEN_ADMIN_TOKEN', flag: 'admin-token' },
  adminTokenFile: { file: 'http.admin_token_file', env: 'HOOKWARDEN_ADMIN_TOKEN_FILE', flag: 'admin-token-file' },
  readyNatsGrace: { file: 'health.ready_nats_grace', env: 'HOOKWARDEN_READY_NATS_GRACE', flag: 'ready-nats-grace' },
  emqxApiUrl: { file: 'emqx.api_url', env: 'HOOKWARDEN_EMQX_API_URL', flag: 'emqx-api-url' },
  emqxApiKey: { file: 'emqx.api_key', env: 'HOOKWARDEN_EMQX_API_KEY', flag: 'emqx-api-key' },
  emqxApiSecret: { file: 'emqx.api_secret', env: 'HOOKWARDEN_EMQX_API_SECRET', flag: 'emqx-api-secret' },
  emqxApiSecretFile: { file: 'emqx.api_secret_file', env: 'HOOKWARDEN_EMQX_API_SECRET_FILE', flag: 'emqx-api-secret-file' },
} as const;
type Key = keyof typeof KEYS;

/** Every file key, for unknown-key detection. */
const FILE_KEYS = new Set<string>(Object.values(KEYS).map((k) => k.file));
const FILE_SECTIONS = new Set(
  [...FILE_KEYS]
    .filter((k) => k.includes('.'))
    .flatMap((k) => {
      const parts = k.split('.');
      return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('.'));
    }),
);

function flatten(obj: Raw, prefix: string, out: Map<string, unknown>, issues: ConfigIssue[]): void {
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (FILE_KEYS.has(path)) out.set(path, v);
    else if (FILE_SECTIONS.has(path) && isObj(v)) flatten(v, path, out, issues);
    else
      issues.push({
        key: path,
        message: `unknown configuration key "${path}"`,
        fix: `remove it; known keys: ${[...FILE_KEYS].sort().join(', ')}`,
      });
  }
}

/**
 * Build the configuration. `configFile` is read when given (flag `--config`
 * or HOOKWARDEN_CONFIG). Throws AppError EXH_CONFIG_INVALID listing every issue.
 */
export function loadConfig(flags: Flags, env: NodeJS.ProcessEnv = process.env): Config {
  const issues: ConfigIssue[] = [];
  const file = new Map<string, unknown>();
  const configFile = str(flags.config) ?? env.HOOKWARDEN_CONFIG;
  if (configFile) {
    try {
      const parsed: unknown = parseYaml(readFileSync(configFile, 'utf8'));
      if (parsed !== null && parsed !== undefined) {
        if (isObj(parsed)) flatten(parsed, '', file, issues);
        else issues.push({ key: '(file)', message: `${configFile} is not a mapping`, fix: 'write "key: value" pairs, see docs/CONFIG.md' });
      }
    } catch (err) {
      issues.push({
        key: '(file)',
        message: `cannot read config file ${configFile}: ${(err as Error).message}`,
        fix: 'check the path given by --config or HOOKWARDEN_CONFIG and its YAML syntax',
      });
    }
  }
  const get = (key: Key): { value: unknown; from: string } | undefined => {
    const spec = KEYS[key];
    const f = flags[spec.flag];
    if (f !== undefined) return { value: f, from: `--${spec.flag}` };
    const e = env[spec.env];
    if (e !== undefined && e !== '') return { value: e, from: spec.env };
    if (file.has(spec.file)) return { value: file.get(spec.file), from: spec.file };
    return undefined;
  };
  const p = new Parser(issues, get);
  const certFile = p.string('tlsCert');
  const keyFile = p.string('tlsKey');
  const caFile = p.string('tlsCa');
  const requireClientCert = p.bool('tlsRequire') ?? false;
  if ((certFile === undefined) !== (keyFile === undefined))
    issues.push({
      key: 'tls',
      message: 'tls needs both cert_file and key_file',
      fix: 'set both tls.cert_file and tls.key_file (or neither for plaintext h2c)',
    });
  if (requireClientCert && !caFile)
    issues.push({ key: 'tls.require_client_cert', message: 'require_client_cert needs a CA to verify against', fix: 'set tls.ca_file' });
  const allow = p.oneOf('allow', ['continue', 'stop'] as const);
  const nats = natsConfig(p, issues);
  const bridgeTopics = p.list('bridgeTopics', (s) => s.length > 0, 'MQTT topic filters such as "sensors/#"') ?? DEFAULTS.bridgeTopics;
  if (bridgeTopics.length > 0 && !nats)
    issues.push({
      key: 'bridge.topics',
      message: 'the message bridge publishes to NATS, but no NATS server is configured',
      fix: 'set nats.servers (--nats URL) or remove bridge.topics',
    });
  const bridgeStream = p.string('bridgeStream');
  const instance = p.string('instance');
  const dataDir = p.string('dataDir');
  const config: Config = {
    host: p.string('host') ?? DEFAULTS.host,
    port: p.int('port', 0, 65535) ?? DEFAULTS.port,
    ...(certFile && keyFile ? { tls: { certFile, keyFile, ...(caFile ? { caFile } : {}), requireClientCert } } : {}),
    maxMessageBytes: p.size('maxMessage') ?? DEFAULTS.maxMessageBytes,
    allowType: allow === undefined ? DEFAULTS.allowType : allow === 'stop' ? 'STOP_AND_RETURN' : 'CONTINUE',
    deadlineMs: p.duration('deadline', 1, 4900) ?? DEFAULTS.deadlineMs,
    fallback: {
      'client.authenticate': p.oneOf('fbAuthn', OUTCOMES) ?? DEFAULTS.fallback['client.authenticate'],
      'client.authorize': p.oneOf('fbAuthz', OUTCOMES) ?? DEFAULTS.fallback['client.authorize'],
      'message.publish': p.oneOf('fbPub', OUTCOMES) ?? DEFAULTS.fallback['message.publish'],
    },
    messageEvents:
      (p.list('msgEvents', (s) => (MESSAGE_EVENTS as readonly string[]).includes(s), MESSAGE_EVENTS.join(', ')) as MessageEventHook[]) ??
      DEFAULTS.messageEvents,
    messageTopics: p.list('msgTopics', (s) => s.length > 0, 'MQTT topic filters such as "t/#"') ?? DEFAULTS.messageTopics,
    excludeHooks:
      (p.list('exclude', (s) => s.includes('.'), 'hook names such as client.connack') as HookName[] | undefined) ?? DEFAULTS.excludeHooks,
    ...(p.string('policy') ? { policyFile: p.string('policy') as string } : {}),
    watchPolicy: p.bool('watch') ?? DEFAULTS.watchPolicy,
    maxClients: p.int('maxClients', 1, 100_000_000) ?? DEFAULTS.maxClients,
    hotClients: p.int('hotClients', 1, 10_000_000) ?? DEFAULTS.hotClients,
    logLevel: p.oneOf('logLevel', LOG_LEVELS) ?? DEFAULTS.logLevel,
    shutdownGraceMs: p.duration('grace', 0, 600_000) ?? DEFAULTS.shutdownGraceMs,
    ...(instance ? { instance } : {}),
    ...(dataDir ? { dataDir } : {}),
    journalPayloads: p.bool('payloads') ?? DEFAULTS.journalPayloads,
    fsyncIntervalMs: p.duration('fsync', 0, 60_000) ?? DEFAULTS.fsyncIntervalMs,
    ...(nats ? { nats } : {}),
    degrade: {
      'client.authenticate': p.oneOf('dgAuthn', DEGRADE_MODES) ?? DEFAULTS.degrade['client.authenticate'],
      'client.authorize': p.oneOf('dgAuthz', DEGRADE_MODES) ?? DEFAULTS.degrade['client.authorize'],
      'message.publish': p.oneOf('dgPub', DEGRADE_MODES) ?? DEFAULTS.degrade['message.publish'],
    },
    ...(p.string('outboxDir') ? { outboxDir: p.string('outboxDir') as string } : {}),
    outboxMaxBytes: p.size('outboxMax') ?? DEFAULTS.outboxMaxBytes,
    bridgeTopics,
    ...(bridgeStream ? { bridgeStream } : {}),
    bridgeMaxBacklog: p.int('bridgeBacklog', 1, 10_000_000) ?? DEFAULTS.bridgeMaxBacklog,
    bridgeMaxBacklogBytes: p.size('bridgeBacklogBytes') ?? DEFAULTS.bridgeMaxBacklogBytes,
    ...clusterTiming(p, issues),
    ...httpConfig(p, issues),
    ...emqxApiConfig(p, issues),
  };
  if (config.bridgeTopics.length > 0 && config.nats) {
    issues.push(
      ...bridgeOptionProblems({
        topics: [...config.bridgeTopics],
        prefix: config.nats.prefix,
        ...(config.bridgeStream ? { stream: config.bridgeStream } : {}),
        maxBacklog: config.bridgeMaxBacklog,
        maxBacklogBytes: config.bridgeMaxBacklogBytes,
      }),
    );
    const uncovered =
      config.messageTopics.length === 0 ? [] : config.bridgeTopics.filter((t) => !config.messageTopics.some((f) => topicMatches(f, t)));
    if (uncovered.length > 0)
      issues.push({
        key: 'hooks.message_topics',
        message: `EMQX sends message.publish only for hooks.message_topics, which do not cover the bridged ${uncovered.join(', ')}`,
        fix: 'add the bridge topics to hooks.message_topics, or leave hooks.message_topics empty',
      });
  }
  if (issues.length > 0) {
    throw new AppError('EXH_CONFIG_INVALID', `invalid configuration:\n${formatIssues(issues)}`);
  }
  return Object.freeze(config);
}

/** Membership heartbeat and TTL; the TTL must outlast at least two heartbeats. */
function clusterTiming(p: Parser, issues: ConfigIssue[]): Pick<Config, 'clusterHeartbeatMs' | 'clusterTtlMs'> {
  const clusterHeartbeatMs = p.duration('clusterHeartbeat', 100, 60_000) ?? DEFAULTS.clusterHeartbeatMs;
  const clusterTtlMs = p.duration('clusterTtl', 300, 600_000) ?? Math.max(DEFAULTS.clusterTtlMs, 3 * clusterHeartbeatMs);
  if (clusterTtlMs < 2 * clusterHeartbeatMs)
    issues.push({
      key: 'cluster.ttl',
      message: `${clusterTtlMs} ms is shorter than two heartbeats (cluster.heartbeat ${clusterHeartbeatMs} ms): live instances would flicker out`,
      fix: `set cluster.ttl to at least ${3 * clusterHeartbeatMs}ms (3 heartbeats), or shorten cluster.heartbeat`,
    });
  return { clusterHeartbeatMs, clusterTtlMs };
}

/** The HTTP server (metrics, health, admin API) and its admin token, read from the token file when given. */
function httpConfig(p: Parser, issues: ConfigIssue[]): Pick<Config, 'httpPort' | 'httpHost' | 'adminToken' | 'readyNatsGraceMs'> {
  const httpPort = p.int('httpPort', 0, 65535);
  let token = p.string('adminToken');
  const tokenFile = p.string('adminTokenFile');
  if (token !== undefined && tokenFile !== undefined)
    issues.push({
      key: 'http.admin_token',
      message: 'both admin_token and admin_token_file are set',
      fix: 'keep one (the file keeps the token out of ps and the environment)',
    });
  else if (tokenFile !== undefined) {
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
      if (token === '')
        issues.push({
          key: 'http.admin_token_file',
          message: `${tokenFile} is empty`,
          fix: 'write the token into it, e.g. openssl rand -hex 32',
        });
    } catch (err) {
      issues.push({
        key: 'http.admin_token_file',
        message: `cannot read ${tokenFile}: ${(err as Error).message}`,
        fix: 'check the path and that hookwarden may read it',
      });
    }
  }
  return {
    ...(httpPort !== undefined ? { httpPort } : {}),
    httpHost: p.string('httpHost') ?? DEFAULTS.httpHost,
    ...(token ? { adminToken: new Secret(token) } : {}),
    readyNatsGraceMs: p.duration('readyNatsGrace', 0, 600_000) ?? DEFAULTS.readyNatsGraceMs,
  };
}

/** The EMQX link: an http(s) URL and an API key with its secret (or secret file), all or nothing. */
function emqxApiConfig(p: Parser, issues: ConfigIssue[]): Pick<Config, 'emqxApi'> {
  const url = p.string('emqxApiUrl');
  const key = p.string('emqxApiKey');
  let secret = p.string('emqxApiSecret');
  const secretFile = p.string('emqxApiSecretFile');
  const issue = (k: string, message: string, fix: string): Pick<Config, 'emqxApi'> => {
    issues.push({ key: k, message, fix });
    return {};
  };
  if (secret !== undefined && secretFile !== undefined)
    return issue('emqx.api_secret', 'both api_secret and api_secret_file are set', 'keep one');
  if (secretFile !== undefined) {
    try {
      secret = readFileSync(secretFile, 'utf8').trim();
    } catch (err) {
      return issue(
        'emqx.api_secret_file',
        `cannot read ${secretFile}: ${(err as Error).message}`,
        'check the path and that hookwarden may read it',
      );
    }
  }
  if (url === undefined) {
    if (key !== undefined || secret !== undefined)
      return issue(
        'emqx.api_url',
        'an EMQX API key is set but no API URL',
        'set emqx.api_url (--emqx-api-url http://EMQX:18083) or remove the key',
      );
    return {};
  }
  if (!/^https?:\/\/[^\s/]+/.test(url))
    return issue('emqx.api_url', `${JSON.stringify(url)} is not an http(s) URL`, 'write e.g. http://emqx:18083');
  if (!key || !secret)
    return issue(
      'emqx.api_key',
      'the EMQX link needs an API key and its secret',
      'create an API key in EMQX (Dashboard → System → API Key) and set emqx.api_key and emqx.api_secret (or emqx.api_secret_file)',
    );
  return { emqxApi: { url, key, secret: new Secret(secret) } };
}

function natsConfig(p: Parser, issues: ConfigIssue[]): NatsConfig | undefined {
  const servers = p.list(
    'natsServers',
    (s) => /^(nats|tls|wss?):\/\/[^\s]+$/.test(s) || /^[\w.-]+:\d+$/.test(s),
    'NATS URLs such as nats://127.0.0.1:4222',
  );
  const rest = {
    user: p.string('natsUser'),
    pass: p.string('natsPass'),
    token: p.string('natsToken'),
    credsFile: p.string('natsCreds'),
    nkeySeedFile: p.string('natsNkey'),
    caFile: p.string('natsCa'),
    certFile: p.string('natsCert'),
    keyFile: p.string('natsKey'),
    prefix: p.string('natsPrefix'),
    shards: p.int('natsShards', 1, MAX_SHARDS),
    shardTags: p.list('natsShardTags', (s) => /^[^\s,]+$/.test(s), "placement tags as in the servers' server_tags, e.g. az:1,az:2,az:3"),
    feed: p.bool('feed'),
    feedExclude: p.list('feedExclude', (s) => (FEED_KINDS as readonly string[]).includes(s), `feed kinds (${FEED_KINDS.join(', ')})`),
    feedProject: p.oneOf('feedProject', ['lease', 'always', 'never'] as const),
  };
  if (!servers || servers.length === 0) {
    if (Object.values(rest).some((v) => v !== undefined))
      issues.push({
        key: 'nats',
        message: 'NATS options are set but no server is',
        fix: 'set nats.servers (--nats nats://HOST:PORT) or remove the nats options',
      });
    return undefined;
  }
  if (rest.prefix !== undefined && !/^[A-Za-z0-9_-]+$/.test(rest.prefix))
    issues.push({
      key: 'nats.prefix',
      message: `"${rest.prefix}" is not one subject token`,
      fix: 'use letters, digits, "-" and "_" only, e.g. hookwarden',
    });
  if ((rest.certFile === undefined) !== (rest.keyFile === undefined))
    issues.push({
      key: 'nats.tls',
      message: 'a client certificate needs both cert_file and key_file',
      fix: 'set both nats.tls.cert_file and nats.tls.key_file',
    });
  const tls =
    rest.caFile || rest.certFile
      ? {
          ...(rest.caFile ? { caFile: rest.caFile } : {}),
          ...(rest.certFile ? { certFile: rest.certFile } : {}),
          ...(rest.keyFile ? { keyFile: rest.keyFile } : {}),
        }
      : undefined;
  return {
    servers,
    ...(rest.user ? { user: rest.user } : {}),
    ...(rest.pass ? { pass: rest.pass } : {}),
    ...(rest.token ? { token: rest.token } : {}),
    ...(rest.credsFile ? { credsFile: rest.credsFile } : {}),
    ...(rest.nkeySeedFile ? { nkeySeedFile: rest.nkeySeedFile } : {}),
    ...(tls ? { tls } : {}),
    prefix: rest.prefix ?? 'hookwarden',
    ...(rest.shards !== undefined ? { shards: rest.shards } : {}),
    ...(rest.shardTags && rest.shardTags.length > 0 ? { shardTags: rest.shardTags } : {}),
    feed: rest.feed ?? true,
    feedExclude: rest.feedExclude ?? [],
    feedProject: rest.feedProject ?? 'lease',
  };
}

export const formatIssues = (issues: readonly ConfigIssue[]): string =>
  issues.map((i) => `  - ${i.key}: ${i.message}. Fix: ${i.fix}`).join('\n');

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

class Parser {
  constructor(
    private readonly issues: ConfigIssue[],
    private readonly get: (key: Key) => { value: unknown; from: string } | undefined,
  ) {}

  private bad(from: string, message: string, fix: string): undefined {
    this.issues.push({ key: from, message, fix });
    return undefined;
  }

  string(key: Key): string | undefined {
    const v = this.get(key);
    if (!v) return undefined;
    if (typeof v.value === 'string') return v.value === '' ? undefined : v.value;
    return this.bad(v.from, `expected a string, got ${JSON.stringify(v.value)}`, 'quote the value');
  }

  int(key: Key, min: number, max: number): number | undefined {
    const v = this.get(key);
    if (!v) return undefined;
    const n = typeof v.value === 'number' ? v.value : typeof v.value === 'string' && /^\d+$/.test(v.value) ? Number(v.value) : NaN;
    if (!Number.isInteger(n) || n < min || n > max)
      return this.bad(
        v.from,
        `expected a whole number from ${min} to ${max}, got ${JSON.stringify(v.value)}`,
        `use e.g. ${min === 0 ? max : min}`,
      );
    return n;
  }

  bool(key: Key): boolean | undefined {
    const v = this.get(key);
    if (!v) return undefined;
    if (v.value === true || v.value === 'true' || v.value === '1') return true;
    if (v.value === false || v.value === 'false' || v.value === '0') return false;
    return this.bad(v.from, `expected true or false, got ${JSON.stringify(v.value)}`, 'use true or false');
  }

  oneOf<T extends string>(key: Key, allowed: readonly T[]): T | undefined {
    const v = this.get(key);
    if (!v) return undefined;
    if (typeof v.value === 'string' && (allowed as readonly string[]).includes(v.value)) return v.value as T;
    return this.bad(v.from, `expected one of ${allowed.join(' | ')}, got ${JSON.stringify(v.value)}`, `use ${allowed[0]}`);
  }

  duration(key: Key, minMs: number, maxMs: number): number | undefined {
    const v = this.get(key);
    if (!v) return undefined;
    const ms =
      typeof v.value === 'number'
        ? v.value
        : typeof v.value === 'string'
          ? /^0+(ms|s|m|h)?$/.test(v.value.trim())
            ? 0
            : parseDurationMs(v.value)
          : undefined;
    if (ms === undefined || ms < minMs || ms > maxMs)
      return this.bad(
        v.from,
        `expected a duration from ${minMs}ms to ${maxMs}ms, got ${JSON.stringify(v.value)}`,
        'use e.g. "500ms", "1s" or "2m"',
      );
    return ms;
  }

  size(key: Key): number | undefined {
    const v = this.get(key);
    if (!v) return undefined;
    const n = typeof v.value === 'number' ? v.value : typeof v.value === 'string' ? parseSizeBytes(v.value) : undefined;
    if (n === undefined || n < 1024)
      return this.bad(v.from, `expected a size of at least 1KB, got ${JSON.stringify(v.value)}`, 'use e.g. "16MB" or "512KB"');
    return n;
  }

  list(key: Key, ok: (s: string) => boolean, expected: string): string[] | undefined {
    const v = this.get(key);
    if (!v) return undefined;
    const items = Array.isArray(v.value)
      ? v.value
      : typeof v.value === 'string'
        ? v.value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : null;
    if (!items || !items.every((s): s is string => typeof s === 'string' && ok(s)))
      return this.bad(
        v.from,
        `expected a list of ${expected}, got ${JSON.stringify(v.value)}`,
        `use a YAML list or a comma-separated string of ${expected}`,
      );
    return items;
  }
}
