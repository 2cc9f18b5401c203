/**
 * Shared parts of the end-to-end tests: a real `hookwarden serve` child,
 * driven over gRPC the way EMQX drives it (reference protos, EMQX-shaped
 * requests, a 5 s per-call deadline), with every answer recorded, and the
 * checks that hold the journal to what was answered.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stateName, unpackSnapshot } from '../../machines/client/client.step.js';
import type { Outcome } from '../../src/domain/decision.js';
import type { HookName } from '../../src/domain/hook-event.js';
import type { JournalEntry, JournalPort } from '../../src/journal/journal.js';
import { emqxClient, type EmqxClient } from '../support/emqx-client.js';
import { META, clientinfo, conninfo, message, type Who } from '../support/emqx-shapes.js';
import { startServe, type Hookwarden } from '../support/process.js';

/** EMQX's own budget for one hook call (request_timeout default 5 s). */
export const GRPC_DEADLINE_MS = 5000;
export const BURST = 3;

/**
 * All three valued hooks mounted and deciding: authenticate allows, the ACL
 * allows publishing under `devices/<clientid>/` and denies the rest, and the
 * message bucket holds 3 tokens refilled at 1 per minute (no refill within a test).
 */
export const POLICY = [
  'default:',
  '  authenticate: allow',
  `  limits: { messages_rate: "1/m", messages_burst: ${BURST} }`,
  '  acl:',
  '    - { permission: allow, action: publish, topics: ["devices/${clientid}/#"] }',
  '    - { permission: deny, action: all, topics: ["#"] }',
  '  no_match: deny',
  '',
].join('\n');

/** A temp dir with `policy.yaml`; `cleanup()` removes it. */
export function workDir(tag: string): { dir: string; policyFile: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `hw-e2e-${tag}-`));
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  return { dir, policyFile, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `cond` every 50 ms until it holds or `timeoutMs` passed; its last value. */
export async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond() && Date.now() < end) await sleep(50);
  return cond();
}

/** One hook call of a client's script. */
export interface Step {
  readonly hook: HookName;
  readonly rpc: string;
  readonly valued: boolean;
  /** The gRPC request, EMQX-shaped, for one client. */
  readonly request: (w: Who) => object;
  readonly topic?: string;
}

export const steps = {
  connect: (): Step => ({
    hook: 'client.connect',
    rpc: 'OnClientConnect',
    valued: false,
    request: (w) => ({ conninfo: conninfo(w), props: [], meta: META }),
  }),
  authenticate: (): Step => ({
    hook: 'client.authenticate',
    rpc: 'OnClientAuthenticate',
    valued: true,
    request: (w) => ({ clientinfo: clientinfo(w), result: false, meta: META }),
  }),
  sessionCreated: (): Step => ({
    hook: 'session.created',
    rpc: 'OnSessionCreated',
    valued: false,
    request: (w) => ({ clientinfo: clientinfo(w), meta: META }),
  }),
  connected: (): Step => ({
    hook: 'client.connected',
    rpc: 'OnClientConnected',
    valued: false,
    request: (w) => ({ clientinfo: clientinfo(w), meta: META }),
  }),
  connack: (): Step => ({
    hook: 'client.connack',
    rpc: 'OnClientConnack',
    valued: false,
    request: (w) => ({ conninfo: conninfo(w), result_code: 'success', props: [], meta: META }),
  }),
  authorize: (topic: string): Step => ({
    hook: 'client.authorize',
    rpc: 'OnClientAuthorize',
    valued: true,
    topic,
    request: (w) => ({ clientinfo: clientinfo(w), type: 'PUBLISH', topic, result: true, meta: META }),
  }),
  publish: (topic: string): Step => ({
    hook: 'message.publish',
    rpc: 'OnMessagePublish',
    valued: true,
    topic,
    request: (w) => ({ message: message(w, topic, 'x', 1), meta: META }),
  }),
  disconnected: (): Step => ({
    hook: 'client.disconnected',
    rpc: 'OnClientDisconnected',
    valued: false,
    request: (w) => ({ clientinfo: clientinfo(w), reason: 'normal', meta: META }),
  }),
};

/** connect → authenticate → session.created → connected → connack: the EMQX 5 order. */
export const connectSteps = (): Step[] => [
  steps.connect(),
  steps.authenticate(),
  steps.sessionCreated(),
  steps.connected(),
  steps.connack(),
];

/**
 * Client `i`'s script: the connect sequence, one allowed and one denied
 * authorize, `i % 6` publishes (so some exceed the burst of 3) and, for every
 * fourth client, a disconnect.
 */
export function scriptOf(clientId: string, i: number): Step[] {
  const own = `devices/${clientId}/t`;
  return [
    ...connectSteps(),
    steps.authorize(own),
    steps.authorize(`forbidden/${clientId}`),
    ...Array.from({ length: i % 6 }, () => steps.publish(own)),
    ...(i % 4 === 0 ? [steps.disconnected()] : []),
  ];
}

/** One answer received from hookwarden. */
export interface Answer {
  readonly clientId: string;
  readonly hook: HookName;
  /** Position of the step in the client's script. */
  readonly index: number;
  /** Valued hooks: the outcome the reply encodes (a publish IGNORE reads as `allow`). */
  readonly outcome?: Outcome;
  /** What identifies this call in its journal record: the authorize topic or the publish's message id. */
  readonly key?: string;
  /** ms from sending the call to receiving its reply. */
  readonly ms: number;
  /** Epoch ms the reply arrived. */
  readonly at: number;
}

interface ValuedReply {
  readonly type?: string;
  readonly bool_result?: boolean;
  readonly message?: { readonly headers?: Record<string, string> };
}

/**
 * The outcome a reply encodes (docs/EDGE.md): authenticate/authorize
 * CONTINUE|STOP + bool → allow/deny, IGNORE → ignore; publish IGNORE →
 * allow, STOP_AND_RETURN with allow_publish "false" → deny.
 */
export function outcomeOf(hook: HookName, reply: ValuedReply): Outcome {
  if (hook === 'message.publish') {
    if (reply.type === 'IGNORE') return 'allow';
    if (reply.type === 'STOP_AND_RETURN' && reply.message?.headers?.allow_publish === 'false') return 'deny';
    throw new Error(`unexpected publish reply ${JSON.stringify(reply)}`);
  }
  if (reply.type === 'IGNORE') return 'ignore';
  if (reply.bool_result === true) return 'allow';
  if (reply.bool_result === false) return 'deny';
  throw new Error(`unexpected ${hook} reply ${JSON.stringify(reply)}`);
}

/** The authorize topic or the publish's message id of a request, as its journal record keeps them (`detail.topic`, `detail.messageId`). */
function keyOf(request: object): string | undefined {
  const r = request as { topic?: unknown; message?: { id?: unknown } };
  if (typeof r.message?.id === 'string') return r.message.id;
  return typeof r.topic === 'string' ? r.topic : undefined;
}

/** The call key of a journal record (see `keyOf`). */
export const recordKey = (e: JournalEntry): string | undefined =>
  e.record.hook === 'message.publish'
    ? e.record.detail?.messageId
    : e.record.hook === 'client.authorize'
      ? e.record.detail?.topic
      : undefined;

/** An EMQX-like caller that records every reply. */
export class Driver {
  readonly client: EmqxClient;
  readonly answers: Answer[] = [];
  /** Calls that got no reply (an error: the server went away, a deadline). */
  readonly failures: { clientId: string; hook: HookName; index: number; key?: string; error: string; ms: number }[] = [];
  inFlight = 0;
  #onAnswer: ((a: Answer) => void) | undefined;

  constructor(port: number) {
    this.client = emqxClient('v2', `127.0.0.1:${port}`);
  }

  onAnswer(fn: (a: Answer) => void): void {
    this.#onAnswer = fn;
  }

  /** One call; resolves to the answer, or undefined when the call failed. */
  async call(w: Who, step: Step, index: number): Promise<Answer | undefined> {
    const request = step.request(w);
    const key = keyOf(request);
    const t0 = Date.now();
    this.inFlight++;
    try {
      const reply = await this.client.call<ValuedReply>(step.rpc, request, GRPC_DEADLINE_MS);
      const at = Date.now();
      const a: Answer = {
        clientId: w.clientid,
        hook: step.hook,
        index,
        ...(key !== undefined ? { key } : {}),
        ms: at - t0,
        at,
        ...(step.valued ? { outcome: outcomeOf(step.hook, reply) } : {}),
      };
      this.answers.push(a);
      this.#onAnswer?.(a);
      return a;
    } catch (err) {
      this.failures.push({
        clientId: w.clientid,
        hook: step.hook,
        index,
        ...(key !== undefined ? { key } : {}),
        error: (err as Error).message,
        ms: Date.now() - t0,
      });
      return undefined;
    } finally {
      this.inFlight--;
    }
  }

  /** Run a script in order, stopping at the first failed call; resolves to the number of steps answered. */
  async run(w: Who, script: readonly Step[], startIndex = 0): Promise<number> {
    for (let i = 0; i < script.length; i++) {
      const step = script[i] as Step;
      if (!(await this.call(w, step, startIndex + i))) return i;
    }
    return script.length;
  }

  valuedOf(clientId: string): Answer[] {
    return this.answers.filter((a) => a.clientId === clientId && a.outcome !== undefined).sort((x, y) => x.index - y.index);
  }

  close(): void {
    this.client.close();
  }
}

/** Run `jobs` with at most `concurrency` at a time. */
export async function pool<T>(jobs: readonly (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const out: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await (jobs[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  return out;
}

/** Every retained record, grouped per client in journal order. */
export async function readJournal(journal: JournalPort): Promise<{ all: JournalEntry[]; byClient: Map<string, JournalEntry[]> }> {
  const all: JournalEntry[] = [];
  for await (const e of journal.readAll()) all.push(e);
  const byClient = new Map<string, JournalEntry[]>();
  for (const e of all) {
    const list = byClient.get(e.record.clientId) ?? [];
    list.push(e);
    byClient.set(e.record.clientId, list);
  }
  return { all, byClient };
}

/** Describe a mismatch for an assertion message. */
const show = (xs: readonly { hook: string; outcome?: string | undefined }[]): string =>
  xs.map((x) => `${x.hook}:${x.outcome ?? '-'}`).join(', ');

/**
 * The crash checks for one client (empty when all hold):
 * - the client's records are exactly a prefix of its script, in order;
 * - every answered valued step is among them with the answered outcome;
 * - at most the one step in flight at the kill is journaled past the last answer.
 */
export function crashProblems(
  clientId: string,
  script: readonly Step[],
  answered: readonly Answer[],
  records: readonly JournalEntry[],
): string[] {
  const problems: string[] = [];
  const hooks = records.map((e) => e.record.hook);
  const prefix = script.slice(0, hooks.length).map((s) => s.hook);
  if (hooks.join() !== prefix.join())
    problems.push(`${clientId}: journal [${hooks.join(', ')}] is not a prefix of its script [${prefix.join(', ')}]`);
  // records of one NATS batch message share its position; ids tell records apart
  const seqs = records.map((e) => e.seq);
  if (seqs.some((s, i) => i > 0 && s < (seqs[i - 1] as number))) problems.push(`${clientId}: positions decreasing: ${seqs.join(',')}`);
  if (new Set(records.map((e) => e.id)).size !== records.length) problems.push(`${clientId}: a record id appears twice`);
  for (const a of answered) {
    if (a.outcome === undefined) continue;
    const rec = records[a.index]?.record;
    if (!rec) problems.push(`${clientId}: answered ${a.hook}#${a.index} (${a.outcome}) is not in the journal (${records.length} records)`);
    else if (rec.hook !== a.hook || rec.decision?.outcome !== a.outcome)
      problems.push(`${clientId}: answered ${a.hook}#${a.index}=${a.outcome}, journal has ${rec.hook}=${rec.decision?.outcome ?? '-'}`);
  }
  const lastAnswered = Math.max(-1, ...answered.map((a) => a.index));
  if (records.length > lastAnswered + 2)
    problems.push(
      `${clientId}: ${records.length} records but only ${lastAnswered + 1} steps answered: ${show(records.map((e) => ({ hook: e.record.hook, outcome: e.record.decision?.outcome })))}`,
    );
  return problems;
}

/** The state name a record's attached snapshot restores to. */
export const snapshotState = (e: JournalEntry): string | undefined =>
  e.snapshot ? stateName(unpackSnapshot(e.snapshot.packed)) : undefined;

/** The state a client must be in after the first `n` steps of a script produced by `scriptOf`. */
export function expectedState(script: readonly Step[], n: number): string {
  let state = 'idle';
  for (const s of script.slice(0, n)) {
    if (s.hook === 'client.connect') state = 'connecting';
    else if (s.hook === 'client.connected') state = 'connected';
    else if (s.hook === 'client.disconnected') state = 'disconnected';
  }
  return state;
}

/** Allowed publishes a client's records show. */
export const allowedPublishes = (records: readonly JournalEntry[]): number =>
  records.filter((e) => e.record.hook === 'message.publish' && e.record.decision?.outcome === 'allow').length;

/**
 * Drive `clients` scripts with `concurrency` at a time against `hw` and
 * SIGKILL it from inside the answer callback once `killAfter` valued answers
 * arrived (so calls are still in flight). Resolves when every script ended.
 */
export async function loadAndKill(opts: {
  readonly hw: Hookwarden;
  readonly driver: Driver;
  readonly ids: readonly string[];
  readonly scripts: ReadonlyMap<string, readonly Step[]>;
  readonly concurrency: number;
  readonly killAfter: number;
}): Promise<{ inFlightAtKill: number; killedAt: number }> {
  const { hw, driver } = opts;
  let valued = 0;
  let killed: { inFlightAtKill: number; killedAt: number } | undefined;
  driver.onAnswer((a) => {
    if (a.outcome !== undefined) valued++;
    if (!killed && valued >= opts.killAfter) {
      hw.child.kill('SIGKILL');
      killed = { inFlightAtKill: driver.inFlight - 1, killedAt: Date.now() };
    }
  });
  const exited = new Promise<void>((resolve) =>
    hw.child.exitCode !== null || hw.child.signalCode !== null ? resolve() : hw.child.once('exit', () => resolve()),
  );
  await pool(
    opts.ids.map((id) => () => driver.run({ clientid: id, username: `u-${id}` }, opts.scripts.get(id) ?? [])),
    opts.concurrency,
  );
  if (!killed) {
    hw.child.kill('SIGKILL');
    throw new Error(`the load ended after ${valued} valued answers, before the kill threshold ${opts.killAfter}`);
  }
  await exited;
  return killed;
}

/** Spawn `serve` and time it until its first valued answer. */
export async function restartAndTime(
  args: readonly string[],
  probe: (driver: Driver) => Promise<unknown>,
): Promise<{ hw: Hookwarden; driver: Driver; listeningMs: number; firstAnswerMs: number }> {
  const t0 = Date.now();
  const hw = await startServe(args);
  const listeningMs = Date.now() - t0;
  const driver = new Driver(hw.port);
  await probe(driver);
  return { hw, driver, listeningMs, firstAnswerMs: Date.now() - t0 };
}

/** Stop a child unless it already exited (process.ts's `stop` waits forever on one killed by a signal). */
export async function stopChild(hw: Hookwarden): Promise<void> {
  if (hw.child.exitCode !== null || hw.child.signalCode !== null) return;
  await hw.stop('SIGKILL');
}
