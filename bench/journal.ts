/**
 * Journal append latency: embedded (memory, file) and NATS JetStream.
 *
 *   npm run build && node dist/bench/journal.js            # starts a nats-server (PATH or NATS_SERVER_BIN)
 *   NATS_URL=nats://127.0.0.1:4222 node dist/bench/journal.js
 *
 * Prints p50/p99/max of single appends (awaited one by one: the latency a
 * valued hook adds), then of concurrent appends (64 clients, one append
 * each in flight: what group commit / pipelining gives), and load().
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedJournal } from '../src/journal/embedded-journal.js';
import type { JournalPort, JournalRecord } from '../src/journal/journal.js';
import { NatsJournal } from '../src/journal/nats-journal.js';
import { NatsServer } from '../test/support/nats-server.js';

const record = (clientId: string, at: number): JournalRecord => ({
  clientId,
  at,
  hook: 'message.publish',
  node: 'emqx@10.0.0.1',
  state: 'connected',
  facts: [],
  decision: { outcome: 'allow', reason: { code: 'acl.rule', policy: 'default', rule: 'acl[0]', detail: 'rule 0 allows' } },
  detail: { topic: 'sensors/dev-1/temp', qos: 1, size: 120, messageId: '0005F1A2B3C4D5E6' },
});
const SNAPSHOT = JSON.stringify({ v: 1, s: 'connected', tat: 1_700_000_000_000, subs: ['a/#', 'b/+'], conn: 'emqx@10.0.0.1|10.1.1.1|50000' });

function summary(name: string, samplesNs: number[], wallMs?: number): void {
  const s = [...samplesNs].sort((a, b) => a - b);
  const q = (p: number): string => ((s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0) / 1000).toFixed(1);
  const rate = wallMs ? `  ${Math.round((s.length / wallMs) * 1000).toLocaleString('en')} appends/s` : '';
  process.stdout.write(`${name.padEnd(44)} n=${String(s.length).padStart(6)}  p50 ${q(0.5).padStart(7)} µs  p99 ${q(0.99).padStart(7)} µs  max ${q(1).padStart(8)} µs${rate}\n`);
}

async function sequential(j: JournalPort, n: number, snapshot: boolean): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const p = j.append(record('seq-client', i), snapshot ? { snapshot: SNAPSHOT } : {});
    if (p) await p;
    out.push(Number(process.hrtime.bigint() - t));
  }
  return out;
}

async function concurrent(j: JournalPort, clients: number, perClient: number): Promise<{ samples: number[]; wallMs: number }> {
  const samples: number[] = [];
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; i < perClient; i++) {
        const t = process.hrtime.bigint();
        const p = j.append(record(`client-${c}`, i), { snapshot: SNAPSHOT });
        if (p) await p;
        samples.push(Number(process.hrtime.bigint() - t));
      }
    }),
  );
  return { samples, wallMs: Date.now() - t0 };
}

async function loads(j: JournalPort, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await j.load(`client-${i % 64}`);
    out.push(Number(process.hrtime.bigint() - t));
  }
  return out;
}

async function bench(name: string, j: JournalPort, n: number): Promise<void> {
  await sequential(j, Math.min(2000, n), true); // warm-up
  summary(`${name}: one durable append at a time`, await sequential(j, n, true));
  const c = await concurrent(j, 64, Math.ceil(n / 64));
  summary(`${name}: 64 clients concurrently`, c.samples, c.wallMs);
  summary(`${name}: load()`, await loads(j, Math.min(n, 5000)));
}

const dir = mkdtempSync(join(tmpdir(), 'hw-bench-journal-'));
try {
  const memory = await EmbeddedJournal.open({ machineVersion: 'client-1.1' });
  await bench('memory', memory, 50_000);
  await memory.close();

  const file = await EmbeddedJournal.open({ dataDir: dir, machineVersion: 'client-1.1' });
  await bench('file (fdatasync every 1 s)', file, 20_000);
  await file.close();

  const strict = await EmbeddedJournal.open({ dataDir: join(dir, 'strict'), machineVersion: 'client-1.1', fsyncIntervalMs: 0 });
  summary('file (fdatasync before ack): one at a time', await sequential(strict, 2000, true));
  const sc = await concurrent(strict, 64, 50);
  summary('file (fdatasync before ack): 64 clients', sc.samples, sc.wallMs);
  await strict.close();

  const server = process.env.NATS_URL ? undefined : await NatsServer.start();
  try {
    const nats = await NatsJournal.open({
      connect: { servers: process.env.NATS_URL ?? (server as NatsServer).url },
      stream: `HW_BENCH_${process.pid}`,
      prefix: `hwbench${process.pid}`,
      machineVersion: 'client-1.1',
    });
    await bench('nats R1 file stream', nats, 10_000);
    await nats.close();
  } finally {
    await server?.cleanup();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
