/**
 * Composition root: build every part from the configuration, open the hook
 * port only once everything is ready, and shut down gracefully.
 */
import { hostname } from 'node:os';
import type { Config, NatsConfig } from './config.js';
import type { NatsConnectOptions } from './journal/nats-connect.js';
import { MessageBridge } from './bridge/bridge.js';
import { resolveBridgeOptions } from './bridge/config.js';
import { AppError } from './errors.js';
import type { Decision } from './domain/decision.js';
import type { ValuedEvent } from './domain/hook-event.js';
import { Registry } from './actors/registry.js';
import { HookService } from './core/hook-service.js';
import type { DegradeOptions } from './core/client-writer.js';
import { Outbox } from './core/outbox.js';
import { Forwarding } from './cluster/forwarding.js';
import { sourceOf } from './journal/record-ids.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountFor } from './core/mount.js';
import { startEdge, type Edge } from './edge/server.js';
import { openJournal } from './journal/open-journal.js';
import { ShardedJournal } from './journal/sharded-journal.js';
import type { JournalPort } from './journal/journal.js';
import type { FeedKind } from './journal/events.js';
import { connectNats } from './journal/nats-connect.js';
import { checkNatsServer } from './journal/nats-version.js';
import { FilePolicyArchive, MemoryPolicyArchive, NatsPolicyArchive, type PolicyArchive } from './journal/policy-archive.js';
import type { PolicySet } from './policy/policy-set.js';
import { Secret } from './domain/secret.js';
import type { NatsConnection } from 'nats';
import { MACHINE_VERSION } from '../machines/client/client.step.js';
import { createLogger, type Logger } from './observability/logger.js';
import { PolicyStore } from './policy/store.js';
import { CredentialChecker } from './policy/users.js';
import type { Membership } from './cluster/membership.js';
import { startMembership } from './cluster/start-membership.js';
import type { HttpRoute } from './http/route.js';
import { adminRoutes } from './admin/routes.js';
import { EmqxLink } from './admin/emqx-link.js';
import type { HttpServer } from './http/server.js';
import type { Health } from './observability/health.js';
import type { Metrics } from './observability/metrics.js';
import { Operations } from './observability/operations.js';

export interface Running {
  readonly port: number;
  readonly service: HookService;
  readonly policies: PolicyStore;
  readonly registry: Registry;
  readonly journal: JournalPort;
  readonly log: Logger;
  /** This instance's entry in `<prefix>-instances` and the list of live instances (with NATS only). */
  readonly membership?: Membership;
  readonly metrics: Metrics;
  readonly health: Health;
  /** The HTTP server (`--http-port`): its bound port and `routes()`. */
  readonly http?: HttpServer;
  readonly httpPort?: number;
  /** Stop accepting, finish in-flight calls (bounded by the grace period), release everything. */
  stop(): Promise<void>;
}

/** Start hookwarden; resolves once the hook port is open and answering. */
export async function start(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Running> {
  const policies = await PolicyStore.open(config.policyFile, log);
  let storage: Awaited<ReturnType<typeof openStorage>>;
  let bridged: Awaited<ReturnType<typeof openBridge>>;
  try {
    // serve: an unset shard count is 1 (replay and inspect read the layout the streams have)
    storage = await openStorage(config.nats ? { ...config, nats: { ...config.nats, shards: config.nats.shards ?? 1 } } : config, log);
    await storage.archive.put(policies.current().revision, policies.current().source);
  } catch (err) {
    await policies.close();
    throw err;
  }
  try {
    bridged = await openBridge(config, log);
  } catch (err) {
    await policies.close();
    await storage.journal.close();
    await storage.nc?.close();
    throw err;
  }
  const { journal, archive, nc } = storage;
  const ops = new Operations(config, { journal, policies, ...(nc ? { nc } : {}), ...(bridged ? { bridge: bridged } : {}) });
  policies.onChange((set) => {
    archive
      .put(set.revision, set.source)
      .catch((err: unknown) => log.warn({ err, revision: set.revision }, 'could not archive the policy'));
  });
  if (config.watchPolicy && config.policyFile) policies.watch();
  const registry = new Registry({
    maxClients: config.maxClients,
    hotClients: config.hotClients,
    now: Date.now,
    onForget: (id) => journal.forget(id),
  });
  const credentials = new CredentialChecker({ users: () => policies.current().users });
  const emqxLink = config.emqxApi ? new EmqxLink({ ...config.emqxApi, log }) : undefined; // kicks banned clients (docs/OPERATIONS.md)
  const forwarding = nc && config.nats ? new Forwarding(nc, config.nats.prefix, log.child({ component: 'forwarding' })) : undefined;
  const service = new HookService({
    registry,
    journal: ops.metered(journal),
    policies: () => policies.current(),
    credentials,
    log,
    record: { payloads: config.journalPayloads },
    ...(emqxLink ? { onFacts: emqxLink.onFacts } : {}),
    ...(config.nats ? { degrade: degradeOptions(config, config.nats) } : {}),
    ...(forwarding ? { forwarding } : {}),
  });
  forwarding?.serve(MACHINE_VERSION, service);
  ops.health.degradedBy(() => (service.degrade.degraded ? 'nats-unreachable: deciding locally, records in the outbox' : false));
  ops.metrics.attach({ outboxDepth: () => service.degrade.outbox, ...(emqxLink ? { emqxLink: () => emqxLink.stats() } : {}) });
  ops.attach({ registry, nodes: service.nodes, writer: () => service.writerCounters });

  let mountedNeeds = policies.current().needs;
  policies.onChange((set) => {
    const n = set.needs;
    if (n.authenticate !== mountedNeeds.authenticate || n.authorize !== mountedNeeds.authorize || n.publish !== mountedNeeds.publish) {
      log.warn(
        { needs: n, mounted: mountedNeeds },
        'the new policy needs a different set of valued hooks: EMQX learns them only on its next OnProviderLoaded; reload the exhook server in EMQX to apply',
      );
    }
  });

  const closeStorage = async (): Promise<void> => {
    forwarding?.close();
    if (bridged) {
      log.info(await bridged.bridge.close({ drainMs: 2000 }), 'message bridge stopped');
      await bridged.bnc.drain().catch(() => undefined);
    }
    await policies.close();
    await journal.close();
    await nc?.drain().catch(() => undefined);
  };
  let edge: Edge;
  try {
    edge = await startEdge(
      {
        host: config.host,
        port: config.port,
        ...(config.tls ? { tls: config.tls } : {}),
        allowType: config.allowType,
        deadlines: { valuedMs: config.deadlineMs, fallback: config.fallback },
        maxMessageBytes: config.maxMessageBytes,
        meters: ops.metrics.hooks,
        health: ops.health,
        mount: () => {
          mountedNeeds = policies.current().needs;
          return mountFor({
            needs: mountedNeeds,
            messageEvents: config.messageEvents,
            messageTopics: config.messageTopics,
            excludeHooks: config.excludeHooks,
            bridge: bridged !== undefined,
          });
        },
        answered: (e: ValuedEvent, d: Decision) => {
          service.answered(e, d);
          if (bridged && e.type === 'message.publish') bridged.bridge.offer(e, d);
        },
      },
      service,
      log,
    );
  } catch (err) {
    await closeStorage();
    throw err;
  }
  const membership =
    nc && config.nats
      ? await startMembership({
          config: { ...config, nats: config.nats },
          nc,
          hookPort: edge.port,
          hookCells: () => ops.metrics.hooks.cells(),
          nodes: service.nodes,
          registry,
          journal,
          log,
        })
      : undefined;
  if (membership && journal instanceof ShardedJournal) membership.setShards(() => journal.activeShards());
  // The HTTP server's routes: metrics and health, then the admin API (src/admin/).
  const routes: HttpRoute[] = [
    ...ops.routes(),
    ...adminRoutes({
      service,
      registry,
      journal,
      archive,
      policies,
      instance: config.instance ?? hostname(),
      ...(membership ? { listInstances: () => membership.list() } : {}),
      ...(emqxLink ? { emqxLink: () => emqxLink.stats() } : {}),
    }),
  ];
  let http: HttpServer | undefined;
  try {
    http = await ops.startHttp(routes, log);
  } catch (err) {
    await membership?.stop();
    await edge.close(0);
    await ops.close();
    await closeStorage();
    throw err;
  }
  if (http && membership) {
    membership.setHttpPort(http.port);
    await membership.announce(); // the entry names the HTTP port before "listening" is logged
  }
  const sweeper = setInterval(() => registry.sweep(), 60_000);
  sweeper.unref();
  log.info({ port: edge.port, host: config.host, tls: Boolean(config.tls), policy: config.policyFile ?? null }, 'hookwarden listening');

  let stopping: Promise<void> | undefined;
  return {
    port: edge.port,
    service,
    policies,
    registry,
    journal,
    log,
    ...(membership ? { membership } : {}),
    metrics: ops.metrics,
    health: ops.health,
    ...(http ? { http, httpPort: http.port } : {}),
    stop: () =>
      (stopping ??= (async () => {
        ops.stopping(); // /readyz 503 and gRPC health NOT_SERVING while in-flight calls finish
        clearInterval(sweeper);
        await membership?.stop(); // first: other instances and `hookwarden cluster` see it gone at once
        await edge.close(config.shutdownGraceMs);
        await emqxLink?.close();
        await ops.close();
        await service.flushOutbox().catch(() => undefined); // a last try while the journal is open
        service.stopWriter();
        await closeStorage();
        log.info('hookwarden stopped');
        log.flush();
      })()),
  };
}

/** Degrade rules and the outbox for a NATS journal. */
function degradeOptions(config: Config, n: NatsConfig): Omit<DegradeOptions, 'entryOf'> {
  const dir =
    config.outboxDir ??
    (config.dataDir
      ? join(config.dataDir, 'outbox')
      : join(tmpdir(), `hookwarden-${n.prefix}-${(config.instance ?? hostname()).replace(/[^\w.-]/g, '_')}`));
  return {
    outbox: new Outbox({ dir, maxBytes: config.outboxMaxBytes }),
    modes: config.degrade,
    sourceJson: JSON.stringify(sourceOf(config.instance)),
    machineVersion: MACHINE_VERSION,
  };
}

/** Connection options for one purpose (journal, bridge); each purpose has its own connection. */
export function natsOptions(n: NatsConfig, instance: string | undefined, purpose: string): NatsConnectOptions {
  return {
    servers: n.servers,
    name: `hookwarden${instance ? `-${instance}` : ''}-${purpose}`,
    ...(n.user ? { user: n.user } : {}),
    ...(n.pass ? { pass: new Secret(n.pass) } : {}),
    ...(n.token ? { token: new Secret(n.token) } : {}),
    ...(n.credsFile ? { credsFile: n.credsFile } : {}),
    ...(n.nkeySeedFile ? { nkeySeedFile: n.nkeySeedFile } : {}),
    ...(n.tls ? { tls: n.tls } : {}),
  };
}

/** The message bridge, on its own NATS connection so large payloads never queue before journal acks. */
async function openBridge(config: Config, log: Logger): Promise<{ bridge: MessageBridge; bnc: NatsConnection } | undefined> {
  if (!config.nats || config.bridgeTopics.length === 0) return undefined;
  const bnc = await connectNats(natsOptions(config.nats, config.instance, 'bridge'));
  try {
    const bridge = await MessageBridge.open(
      bnc,
      resolveBridgeOptions({
        topics: [...config.bridgeTopics],
        prefix: config.nats.prefix,
        ...(config.bridgeStream ? { stream: config.bridgeStream } : {}),
        maxBacklog: config.bridgeMaxBacklog,
        maxBacklogBytes: config.bridgeMaxBacklogBytes,
      }),
      { log: log.child({ component: 'bridge' }) },
    );
    log.info({ topics: config.bridgeTopics, stream: config.bridgeStream ?? null }, 'message bridge on');
    return { bridge, bnc };
  } catch (err) {
    await bnc.close();
    throw new AppError('EXH_STARTUP', `the message bridge could not start: ${(err as Error).message}`, { cause: err });
  }
}

/** The journal (and the NATS connection and policy archive that go with it) the configuration asks for. */
export async function openStorage(
  config: Pick<Config, 'nats' | 'dataDir' | 'instance' | 'fsyncIntervalMs'>,
  log: Logger,
): Promise<{ journal: JournalPort; archive: PolicyArchive; nc?: NatsConnection }> {
  const common = {
    machineVersion: MACHINE_VERSION,
    ...(config.instance ? { instance: config.instance } : {}),
    onError: (err: Error, clientId: string, dropped: readonly unknown[]) =>
      log.warn({ err, clientId, dropped: dropped.length }, 'journal could not store notification records'),
    onBackgroundError: (err: Error, what: string) => log.warn({ err, what }, 'journal background work failed'),
  };
  if (config.nats) {
    const n = config.nats;
    const nc = await connectNats(natsOptions(n, config.instance, 'journal'));
    try {
      checkNatsServer(nc, log); // version report; refuses a server without JetStream (DISTRIBUTED.md §2.2)
      const journal = await openJournal({
        ...common,
        nats: {
          connection: nc,
          prefix: n.prefix,
          ...(n.shards !== undefined ? { shards: n.shards } : {}),
          ...(n.shardTags ? { shardTags: n.shardTags } : {}),
          ...(n.feed
            ? {
                feed: {
                  exclude: n.feedExclude as FeedKind[],
                  project: (n.feedProject ?? 'lease') === 'lease' ? 'lease' : n.feedProject === 'always',
                },
              }
            : {}),
        },
      });
      const archive = await NatsPolicyArchive.open(nc, n.prefix);
      const shards = journal instanceof ShardedJournal ? journal.shards.length : 1;
      log.info({ servers: n.servers, prefix: n.prefix, feed: n.feed, shards }, 'journal: NATS JetStream');
      return { journal, archive, nc };
    } catch (err) {
      await nc.close();
      throw err;
    }
  }
  const journal = await openJournal({
    ...common,
    ...(config.dataDir ? { dataDir: config.dataDir, fsyncIntervalMs: config.fsyncIntervalMs } : {}),
  });
  log.info({ dataDir: config.dataDir ?? null }, config.dataDir ? 'journal: files' : 'journal: memory');
  return { journal, archive: config.dataDir ? new FilePolicyArchive(config.dataDir) : new MemoryPolicyArchive() };
}

/** `hookwarden serve`: run until SIGTERM/SIGINT; SIGHUP reloads the policy. Resolves to the exit code. */
export async function serve(config: Config): Promise<number> {
  const log = createLogger(config.logLevel);
  let running: Running;
  try {
    running = await start(config, log);
  } catch (err) {
    log.fatal({ err }, 'hookwarden could not start');
    log.flush();
    process.stderr.write(`hookwarden: ${(err as Error).message}\n`);
    return 1;
  }
  const onHup = (): void => {
    void running.policies.reload();
  };
  process.on('SIGHUP', onHup);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal }, 'shutting down');
  process.off('SIGHUP', onHup);
  const hardStop = setTimeout(() => {
    log.error('shutdown took too long; exiting');
    log.flush();
    process.exit(1);
  }, config.shutdownGraceMs + 5000);
  hardStop.unref();
  await running.stop();
  return 0;
}
