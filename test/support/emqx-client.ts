/**
 * EMQX's side of the wire for tests: a gRPC client built from EMQX's OWN
 * reference protos (test/fixtures/reference-protos, copied unchanged from
 * EMQX), never from our copies, so a drift in protos/ fails the tests.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

export type GenerationName = 'v1' | 'v2' | 'v3';

const loaded = new Map<GenerationName, grpc.ServiceClientConstructor>();

function serviceOf(generation: GenerationName): grpc.ServiceClientConstructor {
  let ctor = loaded.get(generation);
  if (!ctor) {
    const file = fileURLToPath(new URL(`../fixtures/reference-protos/exhook-${generation}.proto`, import.meta.url));
    const def = protoLoader.loadSync(file, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      emqx: { exhook: Record<string, { HookProvider: grpc.ServiceClientConstructor }> };
    };
    const svc = pkg.emqx.exhook[generation];
    if (!svc) throw new Error(`no emqx.exhook.${generation} in ${file}`);
    ctor = svc.HookProvider;
    loaded.set(generation, ctor);
  }
  return ctor;
}

export interface EmqxClient {
  call<T = Record<string, unknown>>(rpc: string, request: object, timeoutMs?: number): Promise<T>;
  close(): void;
  /** The underlying grpc-js client (its channel's connectivity state, e.g.). */
  readonly grpc?: grpc.Client;
}

export function emqxClient(
  generation: GenerationName,
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ClientOptions = {},
): EmqxClient {
  const Ctor = serviceOf(generation);
  const client = new Ctor(address, credentials, options);
  return {
    call: <T>(rpc: string, request: object, timeoutMs = 5000) =>
      new Promise<T>((resolve, reject) => {
        const method = (client as unknown as Record<string, Function>)[rpc];
        if (typeof method !== 'function') return reject(new Error(`no rpc ${rpc} in ${generation}`));
        method.call(client, request, { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, reply: T) =>
          err ? reject(err) : resolve(reply),
        );
      }),
    close: () => client.close(),
    grpc: client,
  };
}
