/**
 * The "floor": a grpc-js HookProvider for v1, v2 and v3 that does nothing.
 * Notifications get EmptySuccess, valued hooks IGNORE, OnProviderLoaded the
 * full hook list. It is what any grpc-js ExHook server costs at least, so
 * hookwarden is measured against it.
 *
 *   node dist/bench/floor-server.js [PORT] [HOST]     (PORT 0 = any free port)
 *
 * Prints `listening <port>` once bound; exits on SIGTERM/SIGINT.
 */
import * as grpc from '@grpc/grpc-js';
import { fileURLToPath } from 'node:url';
import { EXHOOK_VERSIONS, HOOKS_V2, VALUED_RPCS, hookName, loadExhook, type ExhookVersion } from './exhook-proto.js';

type AnyHandler = grpc.handleUnaryCall<unknown, unknown>;

function handlersFor(version: ExhookVersion, service: grpc.ServiceDefinition): grpc.UntypedServiceImplementation {
  const loaded = { hooks: HOOKS_V2.map((h) => ({ name: hookName(h, version), topics: [] as string[] })) };
  const empty: AnyHandler = (_call, callback) => callback(null, {});
  const ignore: AnyHandler = (_call, callback) => callback(null, { type: 'IGNORE' });
  const onLoaded: AnyHandler = (_call, callback) => callback(null, loaded);
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const rpc of Object.keys(service)) {
    handlers[rpc] = rpc === 'OnProviderLoaded' ? onLoaded : VALUED_RPCS.has(rpc) ? ignore : empty;
  }
  return handlers;
}

export interface FloorServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Start the floor on host:port (port 0 = any free port). */
export async function startFloor(port: number, host = '127.0.0.1'): Promise<FloorServer> {
  const server = new grpc.Server();
  for (const version of EXHOOK_VERSIONS) {
    const { service } = loadExhook(version);
    const def = service as unknown as grpc.ServiceDefinition;
    server.addService(def, handlersFor(version, def));
  }
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
}

async function cli(argv: readonly string[]): Promise<void> {
  const port = Number(argv[0] ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write('usage: floor-server [PORT] [HOST]\n');
    process.exitCode = 2;
    return;
  }
  const floor = await startFloor(port, argv[1] ?? '127.0.0.1');
  process.stdout.write(`listening ${floor.port}\n`);
  const stop = (): void => {
    void floor.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  cli(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`floor-server: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
