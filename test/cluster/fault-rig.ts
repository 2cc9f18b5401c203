/**
 * The parts of the cluster fault tests (faults.test.ts): three `hookwarden
 * serve` children on one NATS deployment, a steady load through the
 * EMQX-like driver, and the checks that hold the answers and the journal to
 * the cluster's promises (rate bound, one record per answered decision, no
 * fork, order).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JournalEntry } from '../../src/journal/journal.js';
import { connect } from 'nats';
import { openJournal } from '../../src/journal/open-journal.js';
import { readJournal, recordKey, sleep, steps, stopChild } from '../e2e/e2e-support.js';
import type { CallRecord, EmqxClusterDriver, Route, Target } from '../support/emqx-cluster-driver.js';
import { startServe, type Hookwarden } from '../support/process.js';

export const RATE = 5;
export const BURST = 5;
/** hookwarden's internal deadline for valued hooks (`--deadline`). */
export const DEADLINE_MS = 1000;

const POLICY = [
  'default:',
  '  authenticate: allow',
  `  limits: { messages_rate: "${RATE}/s", messages_burst: ${BURST} }`,
  '  acl:',
  '    - { permission: allow, action: all, topics: ["#"] }',
  '',
].join('\n');

const INSTANCES = ['i1', 'i2', 'i3'] as const;

export interface Instance extends Target {
  readonly hw: Hookwarden;
  readonly httpPort: number;
}

/** The HTTP port a `serve` child logged. */
function httpPortOf(hw: Hookwarden): number {
  for (const line of hw.lines) {
    try {
      const rec = JSON.parse(line) as { msg?: string; port?: number };
      if (rec.msg === 'HTTP server listening' && typeof rec.port === 'number') return rec.port;
    } catch {
      /* not JSON */
    }
  }
  throw new Error(`no HTTP port in the log:\n${hw.lines.join('\n')}`);
}

/**
 * Three instances `i1…i3` on `urls` under `prefix`. A publish that gets no
 * decision is answered deny (`--fallback-publish deny`, so a fallback never
 * loosens the rate bound); authorize keeps the default fallback `ignore`,
 * which the allow-all ACL never decides, so it marks a fallback on the wire.
 */
export async function startInstances(urls: readonly string[], prefix: string, started: Hookwarden[]): Promise<Instance[]> {
  const dir = mkdtempSync(join(tmpdir(), 'hw-faults-'));
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  try {
    return await Promise.all(
      INSTANCES.map(async (name) => {
        const hw = await startServe([
          ...['--nats', urls.join(','), '--nats-prefix', prefix, '--instance', name, '--deadline', `${DEADLINE_MS}ms`],
          ...['--policy', policyFile, '--policy-watch', 'false', '--fallback-publish', 'deny', '--feed', 'false'],
          ...['--http-port', '0', '--http-host', '127.0.0.1'],
        ]);
        started.push(hw);
        return { name, port: hw.port, hw, httpPort: httpPortOf(hw) };
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true }); // read at start; no watch
  }
}

export const stopAll = (started: Hookwarden[]): Promise<unknown> => Promise.all(started.splice(0).map(stopChild));

/** Remove the instances' default outbox directories (`<tmp>/hookwarden-<prefix>-<instance>`, kept while NATS is away). */
export function removeOutboxes(prefix: string): void {
  for (const name of INSTANCES) rmSync(join(tmpdir(), `hookwarden-${prefix}-${name}`), { recursive: true, force: true });
}

let topicNo = 0;

/** Connect every client (connect, authenticate, session.created, connected, connack), a few at a time. */
export async function connectAll(driver: EmqxClusterDriver, ids: readonly string[], route: Route): Promise<void> {
  const script = [steps.connect(), steps.authenticate(), steps.sessionCreated(), steps.connected(), steps.connack()];
  await Promise.all(
    ids.map(async (id) => {
      for (const s of script) await driver.call(id, s, route);
    }),
  );
}

/**
 * Each client, one call at a time like an MQTT client's channel, repeats an
 * authorize of a fresh topic (always allowed by the ACL) and two publishes
 * (allowed while the rate allows), `pauseMs` apart, until `stop()`.
 */
export function startLoad(driver: EmqxClusterDriver, ids: readonly string[], route: Route, pauseMs = 50): { stop: () => Promise<void> } {
  let stopped = false;
  const loops = ids.map(async (id) => {
    for (let k = 0; !stopped; k++) {
      await driver.call(id, k % 3 === 0 ? steps.authorize(`t/${id}/${++topicNo}`) : steps.publish(`t/${id}`), route);
      await sleep(pauseMs);
    }
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** The valued calls that got an answer. */
export const answered = (calls: readonly CallRecord[]): CallRecord[] => calls.filter((c) => c.outcome !== undefined);

/** An authorize answered IGNORE: the fallback (the ACL allows everything). */
export const isAuthorizeFallback = (c: CallRecord): boolean => c.hook === 'client.authorize' && c.outcome === 'ignore';

/** Every retained record of `ids`, in journal order. */
export async function journalOf(urls: readonly string[], prefix: string, ids: readonly string[]): Promise<JournalEntry[]> {
  const journal = await openJournal({ nats: { connect: { servers: [...urls] }, prefix } });
  try {
    const mine = new Set(ids);
    return (await readJournal(journal)).all.filter((e) => mine.has(e.record.clientId));
  } finally {
    await journal.close();
  }
}

/** Poll `read` until `problems` of it is empty or `timeoutMs` passed; the last value and its problems. */
export async function settled<T>(
  read: () => Promise<T>,
  problems: (t: T) => string[],
  timeoutMs = 8000,
): Promise<{ value: T; problems: string[] }> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let value: T;
    try {
      value = await read();
    } catch (err) {
      // e.g. JetStream still electing its meta leader after a node came back
      if (Date.now() > end) throw err;
      await sleep(400);
      continue;
    }
    const p = problems(value);
    if (p.length === 0 || Date.now() > end) return { value, problems: p };
    await sleep(400);
  }
}

/** p50 / max of some figures, rounded. */
export function spread(xs: readonly number[]): { n: number; p50: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: Math.round(s[Math.floor(s.length / 2)] ?? 0), max: Math.round(s[s.length - 1] ?? 0) };
}

/** Per node of a NATS cluster (monitoring URLs): the names of its hookwarden journal connections. */
export async function journalConnections(monitorUrls: readonly string[]): Promise<string[][]> {
  return Promise.all(
    monitorUrls.map(async (u) => {
      const connz = (await (await fetch(`${u}/connz?limit=1024`)).json()) as { connections?: { name?: string }[] };
      return (connz.connections ?? []).map((c) => c.name ?? '').filter((n) => /^hookwarden-.*-journal$/.test(n));
    }),
  );
}

/**
 * A fresh NATS cluster elects its JetStream meta leader after every node is
 * ready; `serve` refuses to start before that. Wait until JetStream answers.
 */
export async function jetStreamReady(urls: readonly string[], timeoutMs = 20_000): Promise<void> {
  const nc = await connect({ servers: [...urls] });
  try {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        await (await nc.jetstreamManager({ timeout: 1000 })).getAccountInfo();
        return;
      } catch (err) {
        if (Date.now() > end) throw err;
        await sleep(200);
      }
    }
  } finally {
    await nc.close();
  }
}
