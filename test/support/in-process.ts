/**
 * hookwarden started in this process on an ephemeral loopback port, with a
 * policy written to a temp dir, and an EMQX-like client (reference protos).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { DEFAULTS, type Config } from '../../src/config.js';
import { start, type Running } from '../../src/main.js';
import { createLogger } from '../../src/observability/logger.js';
import { emqxClient, type EmqxClient, type GenerationName } from './emqx-client.js';

export interface Harness {
  readonly running: Running;
  readonly client: EmqxClient;
  readonly dir: string;
  readonly policyFile: string | undefined;
  /** Every JSON log line written so far. */
  readonly logs: string[];
  writePolicy(text: string): void;
  close(): Promise<void>;
}

export async function startHarness(
  opts: { policy?: string; generation?: GenerationName; config?: Partial<Config> } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'hw-scenario-'));
  const policyFile = opts.policy === undefined ? undefined : join(dir, 'policy.yaml');
  if (policyFile && opts.policy !== undefined) writeFileSync(policyFile, opts.policy);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(line);
      cb();
    },
  });
  const config: Config = {
    ...DEFAULTS,
    host: '127.0.0.1',
    port: 0,
    shutdownGraceMs: 2000,
    ...(policyFile ? { policyFile } : {}),
    ...opts.config,
  };
  const running = await start(config, createLogger('info', sink));
  const client = emqxClient(opts.generation ?? 'v2', `127.0.0.1:${running.port}`);
  return {
    running,
    client,
    dir,
    policyFile,
    logs,
    writePolicy: (text) => {
      if (!policyFile) throw new Error('started without a policy file');
      writeFileSync(policyFile, text);
    },
    close: async () => {
      client.close();
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
