import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedJournal } from '../../src/journal/embedded-journal.js';

const viteNode = join(dirname(createRequire(import.meta.url).resolve('vite-node/package.json')), 'vite-node.mjs');
const child = fileURLToPath(new URL('./fixtures/append-child.ts', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('embedded journal crash', () => {
  it('embedded journal - every durable append acknowledged before kill -9 is there after reopening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hw-crash-'));
    dirs.push(dir);
    const proc = spawn(process.execPath, [viteNode, child, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked = new Map<string, number[]>();
    let out = '';
    let err = '';
    proc.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.once('exit', (_code, signal) => resolve(signal)));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child did not ack enough in time:\n${err}`)), 20_000);
        proc.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const lines = out.split('\n');
          out = lines.pop() ?? '';
          for (const line of lines) {
            const m = /^ack (\w) (\d+)$/.exec(line);
            if (!m?.[1]) continue;
            acked.set(m[1], [...(acked.get(m[1]) ?? []), Number(m[2])]);
          }
          if ((acked.get('a')?.length ?? 0) >= 300) {
            clearTimeout(timer);
            resolve();
          }
        });
        proc.once('exit', () => reject(new Error(`child exited early:\n${err}`)));
      });
    } finally {
      proc.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');

    const j = await EmbeddedJournal.open({ dataDir: dir });
    try {
      const stored = new Map<string, number[]>();
      for await (const e of j.readAll()) stored.set(e.record.clientId, [...(stored.get(e.record.clientId) ?? []), e.seq]);
      for (const [c, seqs] of acked) {
        const have = new Set(stored.get(c));
        expect(
          seqs.filter((s) => !have.has(s)),
          `acked but lost for ${c}`,
        ).toEqual([]);
        const all = stored.get(c) ?? [];
        expect([...all].sort((x, y) => x - y)).toEqual(all); // per-client order
        expect(new Set(all).size).toBe(all.length); // no duplicates
      }
      const lastA = Math.max(...(acked.get('a') ?? [0]));
      const loaded = await j.load('a');
      expect(loaded?.seq).toBeGreaterThanOrEqual(lastA);
      expect(loaded?.snapshot?.packed).toMatch(/^a@\d+$/);
      // the journal keeps working after the crash
      const newest = (await j.recent('a', 1))[0];
      expect(newest?.record.clientId).toBe('a');
      if (newest) expect((await j.append(newest.record))?.seq).toBeGreaterThan(lastA);
    } finally {
      await j.close();
    }
  });
});
