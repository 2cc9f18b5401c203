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

/** Fallback answers each instance logged, per `clientid|hook`. */
export function loggedFallbacks(instances: readonly Instance[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const i of instances) {
    for (const line of i.hw.lines) {
      if (!line.includes('answered the configured fallback')) continue;
      const rec = JSON.parse(line) as { clientid?: string; hook?: string };
      const k = `${rec.clientid}|${rec.hook}`;
      out.set(k, (out.get(k) ?? 0) + 1);
    }
  }
  return out;
}

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

const keyOf = (clientId: string, key: string | undefined): string => `${clientId}|${key}`;

/**
 * The journal held to the answers (empty when all hold):
 * - per client, record ids are unique (records of one NATS batch share a stream sequence, not an id);
 * - no call is journaled twice (a fork or a duplicate redo);
 * - per client, calls are journaled in the order they were sent;
 * - every answered decision is journaled with the answered outcome, except
 *   fallbacks: an authorize IGNORE, or a publish deny hookwarden logged as a
 *   fallback (counted per client).
 */
export function journalProblems(calls: readonly CallRecord[], entries: readonly JournalEntry[], fallbacks: Map<string, number>): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  const byKey = new Map<string, JournalEntry[]>();
  for (const e of entries) {
    if (ids.has(e.id)) problems.push(`${e.record.clientId}: record id ${e.id} appears twice`);
    ids.add(e.id);
    const k = recordKey(e);
    if (k !== undefined) byKey.set(keyOf(e.record.clientId, k), [...(byKey.get(keyOf(e.record.clientId, k)) ?? []), e]);
  }
  for (const [k, es] of byKey)
    if (es.length > 1)
      problems.push(`call ${k} journaled ${es.length} times: ${es.map((e) => `${e.seq}:${e.record.decision?.outcome}`).join(', ')}`);
  const nOf = new Map(calls.filter((c) => c.key !== undefined).map((c) => [keyOf(c.clientId, c.key), c.n]));
  const lastN = new Map<string, number>();
  for (const e of entries) {
    const n = nOf.get(keyOf(e.record.clientId, recordKey(e)));
    if (n === undefined) continue;
    const prev = lastN.get(e.record.clientId) ?? -1;
    if (n <= prev) problems.push(`${e.record.clientId}: call #${n} journaled after call #${prev}`);
    lastN.set(e.record.clientId, n);
  }
  const unexplained = new Map<string, CallRecord[]>();
  for (const c of calls) {
    if (c.outcome === undefined || c.key === undefined || isAuthorizeFallback(c)) continue;
    const e = byKey.get(keyOf(c.clientId, c.key))?.[0];
    if (e?.record.decision?.outcome === c.outcome) continue;
    const k = `${c.clientId}|${c.hook}`;
    if (!(c.hook === 'message.publish' && c.outcome === 'deny')) {
      problems.push(
        `${c.clientId} #${c.n} ${c.hook} on ${c.instance}: answered ${c.outcome} in ${c.ms} ms, journal has ${e?.record.decision?.outcome ?? 'nothing'}`,
      );
    } else unexplained.set(k, [...(unexplained.get(k) ?? []), c]);
  }
  for (const [k, cs] of unexplained) {
    const logged = fallbacks.get(k) ?? 0;
    if (cs.length > logged)
      problems.push(
        `${k}: ${cs.length} publishes answered deny without a deny record, ${logged} fallbacks logged: ${cs.map((c) => `#${c.n}@${c.instance} ${c.ms}ms`).join(', ')}`,
      );
  }
  return problems;
}

/**
 * The rate bound per client, for every window between two allowed publishes
 * (allowed ≤ burst + rate·w + 1): from the driver (w from the first one's
 * send to the last one's answer, which can only widen it) and from the
 * journal's allowed records (w between their arrival times `at`).
 */
export function rateProblems(calls: readonly CallRecord[], entries: readonly JournalEntry[]): string[] {
  const problems: string[] = [];
  const check = (who: string, xs: readonly { from: number; to: number }[]): void => {
    for (let i = 0; i < xs.length; i++) {
      for (let j = xs.length - 1; j > i; j--) {
        const w = ((xs[j] as { to: number }).to - (xs[i] as { from: number }).from) / 1000;
        if (j - i + 1 > BURST + RATE * w + 1) {
          problems.push(`${who}: ${j - i + 1} publishes allowed within ${w.toFixed(3)} s`);
          return;
        }
      }
    }
  };
  const clients = new Set([...calls.map((c) => c.clientId), ...entries.map((e) => e.record.clientId)]);
  for (const id of clients) {
    const mine = calls.filter((c) => c.clientId === id && c.hook === 'message.publish' && c.outcome === 'allow');
    check(
      `${id} (answers)`,
      mine.sort((x, y) => x.sentAt - y.sentAt).map((c) => ({ from: c.sentAt, to: c.at })),
    );
    const recs = entries.filter(
      (e) => e.record.clientId === id && e.record.hook === 'message.publish' && e.record.decision?.outcome === 'allow',
    );
    check(
      `${id} (journal)`,
      recs
        .map((e) => e.record.at)
        .sort((x, y) => x - y)
        .map((at) => ({ from: at, to: at })),
    );
  }
  return problems;
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

/** A client's calls, journal records and instance log lines, for a failure report. */
export function clientTrace(
  clientId: string,
  calls: readonly CallRecord[],
  entries: readonly JournalEntry[],
  instances: readonly Instance[],
): string {
  const nOf = new Map(calls.filter((c) => c.clientId === clientId && c.key !== undefined).map((c) => [c.key, c.n]));
  const t0 = calls.find((c) => c.clientId === clientId)?.sentAt ?? 0;
  return [
    `calls of ${clientId} (ms after its first call):`,
    ...calls
      .filter((c) => c.clientId === clientId)
      .map((c) => `  #${c.n} ${c.hook} +${c.sentAt - t0} ${c.ms}ms ${c.instance} ${c.outcome ?? c.failed ?? '-'}`),
    'journal:',
    ...entries
      .filter((e) => e.record.clientId === clientId)
      .map(
        (e) =>
          `  seq ${e.seq} ${e.id} ${e.source} ${e.record.hook} call #${nOf.get(recordKey(e)) ?? '?'} at +${e.record.at - t0} ${e.record.decision?.outcome ?? ''}`,
      ),
    'logs:',
    ...instances.flatMap((i) => i.hw.lines.filter((l) => l.includes(`"${clientId}"`)).map((l) => `  ${i.name} ${l}`)),
  ].join('\n');
}

/** Warnings and errors the instances logged between `from` and `to` (epoch ms), for a failure report. */
export function warnings(instances: readonly Instance[], from: number, to: number): string[] {
  return instances.flatMap((i) =>
    i.hw.lines
      .filter((l) => l.includes('"level":"warn"') || l.includes('"level":"error"'))
      .filter((l) => {
        const t = Date.parse((JSON.parse(l) as { time?: string }).time ?? '');
        return t >= from && t <= to;
      })
      .map((l) => `${i.name} ${l}`),
  );
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
