/**
 * EMQX 5.0–5.3's side of the wire: the REFERENCE v2 proto (test/fixtures,
 * unchanged copy of e5.8.11) with its two `reserved 2` declarations turned
 * back into the fields 5.0–5.3 still had (`TopicFilter.qos = 2`,
 * `SubOpts.share = 2`). The recorded traces come from EMQX 5.3.2 and carry
 * both, so this is the client that replays them byte-faithfully. The
 * derived file is written to a temp dir; nothing in the fixtures changes.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EmqxClient } from '../support/emqx-client.js';

export const REFERENCE_V2 = fileURLToPath(new URL('../fixtures/reference-protos/exhook-v2.proto', import.meta.url));

let ctor: grpc.ServiceClientConstructor | undefined;

function constructor53(): grpc.ServiceClientConstructor {
  if (ctor) return ctor;
  const reference = readFileSync(REFERENCE_V2, 'utf8');
  const text = reference
    .replace('  reserved 2;\n  reserved "qos";', '  uint32 qos = 2;')
    .replace('  reserved 2;\n  reserved "share";', '  string share = 2;');
  if (text.includes('reserved')) throw new Error('the reference v2 proto changed: cannot derive the 5.0–5.3 variant');
  const file = join(mkdtempSync(join(tmpdir(), 'hookwarden-emqx53-')), 'exhook-v2-5.3.proto');
  writeFileSync(file, text);
  const def = protoLoader.loadSync(file, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { emqx: { exhook: { v2: { HookProvider: grpc.ServiceClientConstructor } } } };
  ctor = pkg.emqx.exhook.v2.HookProvider;
  return ctor;
}

export function emqx53Client(address: string): EmqxClient {
  const Ctor = constructor53();
  const client = new Ctor(address, grpc.credentials.createInsecure());
  return {
    call: <T>(rpc: string, request: object, timeoutMs = 5000) =>
      new Promise<T>((resolve, reject) => {
        const method = (client as unknown as Record<string, Function>)[rpc];
        if (typeof method !== 'function') return reject(new Error(`no rpc ${rpc}`));
        method.call(client, request, { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, reply: T) =>
          err ? reject(err) : resolve(reply),
        );
      }),
    close: () => client.close(),
  };
}
