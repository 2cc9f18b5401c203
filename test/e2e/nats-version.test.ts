/**
 * The NATS version check at start, against the real nats-server of this
 * machine (Debian ships 2.9.x): `hookwarden serve --nats` logs the server's
 * version and features, warns once about replicated compare-and-set on a
 * 2.9 cluster (DISTRIBUTED.md §2.2), and refuses a server without JetStream.
 */
import { execFileSync } from 'node:child_process';
import { connect } from 'nats';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseSemver, compareSemver, NATS_REPLICATED_CAS_FIXED } from '../../src/journal/nats-version.js';
import { NatsServer, natsServerBinary, startCluster, type NatsCluster } from '../support/nats-server.js';
import { runCli, startServe, type Hookwarden } from '../support/process.js';

interface LogLine {
  readonly level?: string;
  readonly msg?: string;
  readonly advisory?: string;
  readonly advisories?: readonly string[];
  readonly nats?: { readonly version: string | null; readonly jetstream: boolean; readonly cluster: string | null };
}

const installed = (/v?(\d+\.\d+\.\d+)/.exec(execFileSync(natsServerBinary(), ['--version'], { encoding: 'utf8' })) ?? [])[1] ?? '';
const beforeFix = compareSemver(parseSemver(installed)!, NATS_REPLICATED_CAS_FIXED) < 0;
const prefix = (): string => `t${Math.random().toString(36).slice(2, 10)}`;
const parsed = (lines: readonly string[]): LogLine[] =>
  lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as LogLine];
    } catch {
      return [];
    }
  });

/** A fresh cluster elects its JetStream meta leader after the servers are ready: wait for it (bounded). */
async function jetStreamReady(urls: readonly string[], timeoutMs = 20_000): Promise<void> {
  const nc = await connect({ servers: [...urls] });
  try {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        await (await nc.jetstreamManager({ timeout: 1000 })).getAccountInfo();
        return;
      } catch (err) {
        if (Date.now() > end) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    await nc.close();
  }
}

const children: Hookwarden[] = [];
const servers: NatsServer[] = [];
let cluster: NatsCluster | undefined;
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
  await Promise.all(servers.splice(0).map((s) => s.cleanup()));
});
afterAll(async () => {
  await cluster?.cleanup();
});

describe(`NATS version check at start (nats-server ${installed})`, () => {
  it('reports the version and features of a single server, with the note for 2.9', async () => {
    const nats = await NatsServer.start();
    servers.push(nats);
    const hw = await startServe(['--nats', nats.url, '--nats-prefix', prefix()]);
    children.push(hw);
    const log = parsed(hw.lines);
    const report = log.find((l) => l.msg === 'NATS server');
    expect(report?.nats).toMatchObject({ version: installed, jetstream: true, cluster: null });
    expect(report?.advisories).toEqual(beforeFix ? ['replicated-cas-unsafe'] : []);
    const notes = log.filter((l) => l.advisory === 'replicated-cas-unsafe');
    expect(notes.map((l) => l.level)).toEqual(beforeFix ? ['info'] : []);
    // the report comes before the port opens
    expect(log.findIndex((l) => l.msg === 'NATS server')).toBeLessThan(log.findIndex((l) => l.msg === 'hookwarden listening'));
  });

  it('warns once, naming the fix, when the servers are a cluster', async () => {
    cluster = await startCluster(3);
    await jetStreamReady(cluster.urls);
    const hw = await startServe(['--nats', cluster.urls.join(','), '--nats-prefix', prefix()]);
    children.push(hw);
    const log = parsed(hw.lines);
    const report = log.find((l) => l.msg === 'NATS server');
    expect(report?.nats?.cluster).toMatch(/^hwc/);
    const warnings = log.filter((l) => l.advisory === 'replicated-cas-unsafe');
    if (beforeFix) {
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.level).toBe('warn');
      expect(warnings[0]?.msg).toMatch(/not serialisable on replicated \(R>1\) streams.*PR #4319/);
      expect(warnings[0]?.msg).toMatch(/2\.10\.0 or later/);
    } else {
      expect(warnings).toEqual([]);
    }
  });

  it('refuses to start on a server without JetStream, saying how to enable it', async () => {
    const plain = await NatsServer.start({ jetstream: false });
    servers.push(plain);
    const r = await runCli(['serve', '--port', '0', '--host', '127.0.0.1', '--nats', plain.url, '--nats-prefix', prefix()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/without JetStream/);
    expect(r.stderr).toMatch(/-js/);
    const fatal = parsed(r.stdout.split('\n')).find((l) => l.level === 'fatal');
    expect(fatal?.msg).toBe('hookwarden could not start');
    expect(r.stdout).not.toMatch(/hookwarden listening/);
  });
});
