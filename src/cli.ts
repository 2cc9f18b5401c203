/**
 * The `hookwarden` command. Parses argv, dispatches to a subcommand, and
 * returns the exit code (bin/hookwarden.js sets it).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AppError } from './errors.js';
import { VERSION } from './observability/version.js';

/** How to reach the journal's NATS servers: shared by serve, replay and inspect. */
const NATS_OPTIONS = {
  nats: { type: 'string' },
  'nats-user': { type: 'string' },
  'nats-password': { type: 'string' },
  'nats-token': { type: 'string' },
  'nats-creds': { type: 'string' },
  'nats-nkey': { type: 'string' },
  'nats-tls-ca': { type: 'string' },
  'nats-tls-cert': { type: 'string' },
  'nats-tls-key': { type: 'string' },
  'nats-prefix': { type: 'string' },
  'nats-shards': { type: 'string' },
  'nats-shard-tags': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

const SERVE_OPTIONS = {
  config: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  policy: { type: 'string' },
  'log-level': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-require-client-cert': { type: 'boolean' },
  'max-message-size': { type: 'string' },
  'answer-allow': { type: 'string' },
  deadline: { type: 'string' },
  'fallback-authenticate': { type: 'string' },
  'fallback-authorize': { type: 'string' },
  'fallback-publish': { type: 'string' },
  'message-events': { type: 'string' },
  'message-topics': { type: 'string' },
  'exclude-hooks': { type: 'string' },
  'policy-watch': { type: 'string' },
  'max-clients': { type: 'string' },
  'hot-clients': { type: 'string' },
  'shutdown-grace': { type: 'string' },
  instance: { type: 'string' },
  'data-dir': { type: 'string' },
  'journal-payloads': { type: 'string' },
  'fsync-interval': { type: 'string' },
  'degrade-authenticate': { type: 'string' },
  'degrade-authorize': { type: 'string' },
  'degrade-publish': { type: 'string' },
  'outbox-dir': { type: 'string' },
  'outbox-max-size': { type: 'string' },
  ...NATS_OPTIONS,
  feed: { type: 'string' },
  'feed-exclude': { type: 'string' },
  'feed-project': { type: 'string' },
  'bridge-topics': { type: 'string' },
  'bridge-stream': { type: 'string' },
  'bridge-max-backlog': { type: 'string' },
  'bridge-max-backlog-bytes': { type: 'string' },
  'cluster-heartbeat': { type: 'string' },
  'cluster-ttl': { type: 'string' },
  'http-port': { type: 'string' },
  'http-host': { type: 'string' },
  'admin-token': { type: 'string' },
  'admin-token-file': { type: 'string' },
  'ready-nats-grace': { type: 'string' },
  'emqx-api-url': { type: 'string' },
  'emqx-api-key': { type: 'string' },
  'emqx-api-secret': { type: 'string' },
  'emqx-api-secret-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const HELP = `hookwarden ${VERSION} — external hook processor for EMQX (ExHook v1, v2, v3 on one port)

Usage:
  hookwarden serve [options]          run the gRPC hook server (default port 9000, h2c)
  hookwarden check-policy FILE        validate a policy file; prints every error, exits 1 on any
  hookwarden hash-password            read a password on stdin, print a password_hash for policy users
  hookwarden replay  [journal]        rebuild every client from the journal; exit 1 on any difference
  hookwarden inspect CLIENTID [journal] [--last N] [--json]
                                      state, standing, policy, limits and last events of one client
  hookwarden cluster --nats URL [--json]
                                      the live hookwarden instances (docs/CLUSTER.md)
  hookwarden client show|override|clear-override|unban CLIENTID [--url URL] [--token T] [--json]
                                      a client's state; set or clear an override, lift a ban (admin API)
  hookwarden --version | --help

serve options (each also settable in the config file and by environment, see docs/CONFIG.md):
  --config FILE                 YAML/JSON configuration file          (HOOKWARDEN_CONFIG)
  --port N                      hook port, 0 = any free port (9000)   (HOOKWARDEN_PORT)
  --host ADDR                   listen address (0.0.0.0)              (HOOKWARDEN_HOST)
  --policy FILE                 policy file, hot-reloaded (none)      (HOOKWARDEN_POLICY)
  --log-level LEVEL             fatal|error|warn|info|debug|trace|silent (info)
  --tls-cert FILE --tls-key FILE [--tls-ca FILE --tls-require-client-cert]
                                serve TLS (EMQX https:// URLs); verify client certificates
  --deadline DURATION           internal deadline for valued hooks (1s)
  --fallback-authenticate|--fallback-authorize|--fallback-publish allow|deny|ignore
                                answer when the deadline passes or deciding fails (ignore)
  --answer-allow continue|stop  ValuedResponse type of an allow (continue)
  --message-events LIST         also mount message.delivered,message.acked,message.dropped
  --message-topics LIST         topic filters for message.* hooks (all)
  --max-clients N               clients tracked before the least recent is forgotten (1000000)
  --shutdown-grace DURATION     how long in-flight calls may finish on SIGTERM (10s)

HTTP: metrics, health, admin API (docs/OPERATIONS.md):
  --http-port N                 serve /metrics /healthz /readyz and /v1/… (none; 0 = any free port)
  --http-host ADDR              HTTP listen address (0.0.0.0)          (HOOKWARDEN_HTTP_HOST)
  --admin-token-file FILE       bearer token of the admin API /v1/…   (HOOKWARDEN_ADMIN_TOKEN_FILE)
  --admin-token TOKEN           the same, inline (visible in ps: prefer the file or HOOKWARDEN_ADMIN_TOKEN)
                                without a token the admin API answers only on a loopback --http-host
  --ready-nats-grace DURATION   NATS journal outage tolerated before /readyz says 503 (10s)

EMQX link: kick banned and quarantined clients through EMQX 5's REST API (docs/OPERATIONS.md):
  --emqx-api-url URL            e.g. http://emqx:18083 (off)          (HOOKWARDEN_EMQX_API_URL)
  --emqx-api-key KEY --emqx-api-secret-file FILE | --emqx-api-secret SECRET
                                an EMQX API key                       (HOOKWARDEN_EMQX_API_KEY, …_SECRET, …_SECRET_FILE)

journal (docs/EVENTS.md):
  --data-dir DIR                embedded journal on disk: state survives a restart (memory only)
  --nats URL[,URL…]             NATS JetStream journal + event feed instead (HOOKWARDEN_NATS)
  --nats-user U --nats-password P | --nats-token T | --nats-creds FILE | --nats-nkey FILE
  --nats-tls-ca FILE [--nats-tls-cert FILE --nats-tls-key FILE]
  --nats-prefix P               subject prefix (hookwarden)
  --nats-shards N               split the journal into N streams <PREFIX>_JOURNAL_0…N-1 (1; max 64;
                                fixed once records exist: docs/CLUSTER.md#shards)
  --nats-shard-tags LIST        placement tags spreading new shard streams over the servers
                                (shard s → tag s mod count; servers' server_tags), e.g. az:1,az:2
  --feed true|false             publish <prefix>.events.… (true with --nats)
  --feed-exclude LIST           feed kinds left out, e.g. message.publish_checked,message.delivered
  --feed-project lease|always|never
                                run the feed projector: one instance of the cluster at a time (lease)
  --degrade-authenticate|--degrade-authorize|--degrade-publish local|deny
                                while NATS cannot be reached: decide locally (records to the
                                outbox, flushed when NATS is back) or fail closed (local)
  --outbox-dir DIR              local outbox while NATS is away (<data-dir>/outbox, else a temp dir)
  --outbox-max-size SIZE        outbox bound; when full, valued hooks fail closed (64MB)
  --journal-payloads true       also journal message payloads (off)
  --bridge-topics LIST          MQTT filters whose messages are published to <prefix>.msg.… (docs/BRIDGE.md)
  --bridge-stream NAME          keep bridged messages in this JetStream stream

cluster (with --nats; docs/CLUSTER.md):
  --instance NAME               name announced in <prefix>-instances and journal source (host name)
  --cluster-heartbeat DURATION  how often this instance refreshes its entry (2s)
  --cluster-ttl DURATION        an entry older than this is gone (max(10s, 3 heartbeats))

  hookwarden replay  [--data-dir DIR | --nats URL]   rebuild every client from the journal, report differences
  hookwarden inspect CLIENTID [--data-dir DIR | --nats URL] [--last N]
                                with --nats both find the shard streams themselves (--nats-shards N to insist)
`;

/** Run the CLI; resolves to the exit code. `serve` resolves only when the server stops. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(HELP);
      return command === undefined ? 1 : 0;
    case '--version':
    case '-v':
    case 'version':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case 'serve':
      return serveCommand(rest);
    case 'check-policy':
      return checkPolicyCommand(rest);
    case 'hash-password':
      return hashPasswordCommand();
    case 'replay':
    case 'inspect':
      return journalCommand(command, rest);
    case 'cluster':
      return clusterCommand(rest);
    case 'client': {
      const { clientCommand } = await import('./admin/cli-client.js');
      return clientCommand(rest);
    }
    default:
      process.stderr.write(`hookwarden: unknown command "${command}". Run "hookwarden --help" for the list.\n`);
      return 2;
  }
}

async function serveCommand(args: readonly string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...args], options: SERVE_OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    process.stderr.write(`hookwarden serve: ${(err as Error).message}. Run "hookwarden --help".\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const { loadConfig } = await import('./config.js');
  const { serve } = await import('./main.js');
  let config;
  try {
    config = loadConfig(values);
  } catch (err) {
    process.stderr.write(`hookwarden: ${err instanceof AppError ? err.message : String(err)}\n`);
    return 2;
  }
  return serve(config);
}

const JOURNAL_OPTIONS = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  ...NATS_OPTIONS,
  last: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

/** `replay` and `inspect`: read the journal directly, as `serve` would open it (the event feed is not started). */
async function journalCommand(command: 'replay' | 'inspect', args: readonly string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...args], options: JOURNAL_OPTIONS, strict: true, allowPositionals: true }));
  } catch (err) {
    process.stderr.write(`hookwarden ${command}: ${(err as Error).message}. Run "hookwarden --help".\n`);
    return 2;
  }
  const clientId = positionals[0];
  if ((command === 'inspect' && (clientId === undefined || positionals.length > 1)) || (command === 'replay' && positionals.length > 0)) {
    process.stderr.write(
      `usage: hookwarden ${command === 'inspect' ? 'inspect CLIENTID' : 'replay'} [--data-dir DIR | --nats URL] [--json]\n`,
    );
    return 2;
  }
  const { json, last, ...flags } = values;
  const { loadConfig } = await import('./config.js');
  const { openStorage } = await import('./main.js');
  const { createLogger } = await import('./observability/logger.js');
  let config;
  try {
    config = loadConfig({ ...flags, 'log-level': 'silent' });
  } catch (err) {
    process.stderr.write(`hookwarden: ${err instanceof AppError ? err.message : String(err)}\n`);
    return 2;
  }
  if (!config.dataDir && !config.nats) {
    process.stderr.write(`hookwarden ${command}: give the journal to read: --data-dir DIR or --nats URL (as serve was given)\n`);
    return 2;
  }
  const storage = await openStorage(
    { ...config, ...(config.nats ? { nats: { ...config.nats, feed: false } } : {}) },
    createLogger('silent'),
  );
  try {
    if (command === 'replay') {
      const { replayJournal, formatReplay } = await import('./tools/replay.js');
      const report = await replayJournal(storage.journal, storage.archive);
      process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReplay(report)}\n`);
      return report.differenceCount === 0 ? 0 : 1;
    }
    const { inspectClient, formatInspect } = await import('./tools/inspect.js');
    const n = typeof last === 'string' ? Number(last) : 20;
    if (!Number.isInteger(n) || n < 0) {
      process.stderr.write('hookwarden inspect: --last takes a whole number\n');
      return 2;
    }
    const report = await inspectClient(storage.journal, storage.archive, clientId as string, n);
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatInspect(report)}\n`);
    return report.found ? 0 : 1;
  } finally {
    await storage.journal.close();
    await storage.nc?.close();
  }
}

const CLUSTER_OPTIONS = {
  config: { type: 'string' },
  ...NATS_OPTIONS,
  json: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

/** `cluster`: the live instances announced in `<prefix>-instances` (src/cluster/cluster-cli.ts). */
async function clusterCommand(args: readonly string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...args], options: CLUSTER_OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    process.stderr.write(
      `hookwarden cluster: ${(err as Error).message}. Usage: hookwarden cluster --nats URL [--nats-prefix P] [--json]\n`,
    );
    return 2;
  }
  const { runClusterCommand } = await import('./cluster/cluster-cli.js');
  return runClusterCommand(values);
}

async function checkPolicyCommand(args: readonly string[]): Promise<number> {
  const file = args[0];
  if (!file || args.length > 1) {
    process.stderr.write('usage: hookwarden check-policy FILE\n');
    return 2;
  }
  const { checkPolicyFile, formatErrors } = await import('./policy/check.js');
  const result = await checkPolicyFile(file);
  if (result.errors.length > 0) {
    process.stderr.write(`${file}: ${result.errors.length} error(s)\n${formatErrors(result.errors)}\n`);
    return 1;
  }
  process.stdout.write(`${file}: ok. ${result.summary}\n`);
  return 0;
}

async function hashPasswordCommand(): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (!password) {
    process.stderr.write('hookwarden hash-password: give the password on stdin, e.g. printf %s "$PW" | hookwarden hash-password\n');
    return 2;
  }
  const { hashPassword } = await import('./policy/users.js');
  process.stdout.write(`${await hashPassword(password)}\n`);
  return 0;
}
