/**
 * Composition root: build every part from the configuration, open the hook
 * port only once everything is ready, and shut down gracefully.
 */
import type { Config } from './config.js';
import { Registry } from './actors/registry.js';
import { HookService } from './core/hook-service.js';
import { mountFor } from './core/mount.js';
import { startEdge, type Edge } from './edge/server.js';
import { openJournal } from './journal/open-journal.js';
import { MACHINE_VERSION } from '../machines/client/client.step.js';
import { createLogger, type Logger } from './observability/logger.js';
import { PolicyStore } from './policy/store.js';
import { CredentialChecker } from './policy/users.js';

export interface Running {
  readonly port: number;
  readonly service: HookService;
  readonly policies: PolicyStore;
  readonly registry: Registry;
  readonly log: Logger;
  /** Stop accepting, finish in-flight calls (bounded by the grace period), release everything. */
  stop(): Promise<void>;
}

/** Start hookwarden; resolves once the hook port is open and answering. */
export async function start(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Running> {
  const policies = await PolicyStore.open(config.policyFile, log);
  if (config.watchPolicy && config.policyFile) policies.watch();
  const registry = new Registry({ maxClients: config.maxClients, hotClients: config.hotClients, now: Date.now });
  const journal = await openJournal({ machineVersion: MACHINE_VERSION });
  const credentials = new CredentialChecker({ users: () => policies.current().users });
  const service = new HookService({ registry, journal, policies: () => policies.current(), credentials, log });

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

  const edge: Edge = await startEdge(
    {
      host: config.host,
      port: config.port,
      ...(config.tls ? { tls: config.tls } : {}),
      allowType: config.allowType,
      deadlines: { valuedMs: config.deadlineMs, fallback: config.fallback },
      maxMessageBytes: config.maxMessageBytes,
      mount: () => {
        mountedNeeds = policies.current().needs;
        return mountFor({
          needs: mountedNeeds,
          messageEvents: config.messageEvents,
          messageTopics: config.messageTopics,
          excludeHooks: config.excludeHooks,
        });
      },
    },
    service,
    log,
  );
  const sweeper = setInterval(() => registry.sweep(), 60_000);
  sweeper.unref();
  log.info({ port: edge.port, host: config.host, tls: Boolean(config.tls), policy: config.policyFile ?? null }, 'hookwarden listening');

  let stopping: Promise<void> | undefined;
  return {
    port: edge.port,
    service,
    policies,
    registry,
    log,
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(sweeper);
        await edge.close(config.shutdownGraceMs);
        await policies.close();
        await journal.close();
        log.info('hookwarden stopped');
        log.flush();
      })()),
  };
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
