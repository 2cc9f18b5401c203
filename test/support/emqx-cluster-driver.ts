/**
 * Several EMQX nodes in front of several hookwarden instances, the way EMQX's
 * exhook client behaves (DISTRIBUTED.md §1): each node keeps a pool of gRPC
 * connections (one HTTP/2 connection each), a client's hooks go over the pool
 * connection picked by a hash of its client id (`key_dispatch`), each call has
 * a 5 s deadline, and a call that errors or runs out of time counts as
 * `failed_action` (deny). When a connection breaks, the pool re-dials it after
 * a short delay to the balancer address, modelled as the next instance that
 * accepts TCP connections; calls for that connection wait for the re-dial
 * within their deadline. Every call is recorded with its send time and latency.
 */
import { connectivityState } from '@grpc/grpc-js';
import { connect as tcpConnect } from 'node:net';
import type { Outcome } from '../../src/domain/decision.js';
import type { HookName } from '../../src/domain/hook-event.js';
import { outcomeOf, sleep, type Step } from '../e2e/e2e-support.js';
import { emqxClient, type EmqxClient } from './emqx-client.js';
import type { Who } from './emqx-shapes.js';

/** EMQX's request_timeout default. */
export const EMQX_DEADLINE_MS = 5000;

export interface Target {
  readonly name: string;
  readonly port: number;
}

/** One call as EMQX saw it. */
export interface CallRecord {
  readonly clientId: string;
  /** The client's call number (0, 1, …), in sending order. */
  readonly n: number;
  readonly hook: HookName;
  readonly valued: boolean;
  /** What identifies the call in its journal record: the authorize topic or the publish's message id. */
  readonly key?: string;
  /** EMQX node and pool connection, e.g. `emqx1@test/2`. */
  readonly conn: string;
  /** The instance the call was sent to. */
  readonly instance: string;
  /** Epoch ms: handed to the driver; reply (or failure) received. */
  readonly sentAt: number;
  readonly at: number;
  readonly ms: number;
  /** Time spent waiting for the pool connection to be re-dialed. */
  readonly waitedMs: number;
  /** Valued and answered: the outcome the reply encodes (a publish IGNORE reads as allow). */
  readonly outcome?: Outcome;
  /** Set when the call failed: EMQX applies failed_action (deny). */
  readonly failed?: string;
}

export type Route = 'affinity' | 'random' | { readonly instance: string };

class PoolConn {
  target: Target;
  client: EmqxClient;
  /** Pending re-dial: calls wait for it. */
  redial: Promise<void> | undefined;

  constructor(
    readonly label: string,
    target: Target,
  ) {
    this.target = target;
    this.client = PoolConn.open(target);
  }

  static open(t: Target): EmqxClient {
    // a private subchannel pool: every pool connection is its own HTTP/2 connection
    return emqxClient('v2', `127.0.0.1:${t.port}`, undefined, { 'grpc.use_local_subchannel_pool': 1 });
  }
}

/** A pool connection found broken: when, and which instance it pointed at. */
export interface LostConnection {
  readonly conn: string;
  readonly instance: string;
  readonly at: number;
  /** How it was noticed: the connection closed, or a call on it failed. */
  readonly by: 'closed' | 'call';
}

/** FNV-1a, 32 bits: a stable hash of a client id (EMQX uses erlang:phash2; any stable hash does). */
export function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Whether something accepts TCP connections on 127.0.0.1:port (within 300 ms). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(300, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export class EmqxClusterDriver {
  readonly calls: CallRecord[] = [];
  readonly lost: LostConnection[] = [];
  readonly nodes: readonly string[];
  readonly #pools: PoolConn[][];
  readonly #targets: readonly Target[];
  readonly #redialDelayMs: number;
  readonly #n = new Map<string, number>();
  #closed = false;

  /** `nodes` EMQX nodes, each a pool of `poolSize` connections spread round-robin over `targets`. */
  constructor(targets: readonly Target[], opts: { nodes?: number; poolSize?: number; redialDelayMs?: number } = {}) {
    const nodes = opts.nodes ?? 2;
    const poolSize = opts.poolSize ?? 4;
    this.#targets = targets;
    this.#redialDelayMs = opts.redialDelayMs ?? 300;
    this.nodes = Array.from({ length: nodes }, (_, i) => `emqx${i + 1}@test`);
    this.#pools = this.nodes.map((node, i) =>
      Array.from({ length: poolSize }, (_, j) => new PoolConn(`${node}/${j}`, targets[(i * poolSize + j) % targets.length] as Target)),
    );
    for (const c of this.#pools.flat()) this.#watch(c);
  }

  /** The EMQX node a client is attached to. */
  nodeOf(clientId: string): string {
    return this.nodes[hash(`node:${clientId}`) % this.nodes.length] as string;
  }

  /** The instance a client's affinity connection points at now. */
  instanceOf(clientId: string): string {
    return this.#affine(clientId).target.name;
  }

  /** Where each pool connection points now. */
  targets(): Record<string, string> {
    return Object.fromEntries(this.#pools.flat().map((c) => [c.label, c.target.name]));
  }

  #affine(clientId: string): PoolConn {
    const pool = this.#pools[this.nodes.indexOf(this.nodeOf(clientId))] as PoolConn[];
    return pool[hash(clientId) % pool.length] as PoolConn;
  }

  #pick(clientId: string, route: Route): PoolConn {
    if (route === 'affinity') return this.#affine(clientId);
    const all = this.#pools.flat();
    if (route === 'random') return all[Math.floor(Math.random() * all.length)] as PoolConn;
    const on = all.find((c) => c.target.name === route.instance && !c.redial);
    if (!on) throw new Error(`no pool connection points at ${route.instance}`);
    return on;
  }

  /** One hook call; a failed call is recorded as failed_action (only a malformed reply throws). */
  async call(clientId: string, step: Step, route: Route = 'affinity'): Promise<CallRecord> {
    const n = this.#n.get(clientId) ?? 0;
    this.#n.set(clientId, n + 1);
    const w: Who = { clientid: clientId, username: `u-${clientId}`, node: this.nodeOf(clientId) };
    const request = step.request(w);
    const key = keyOf(request);
    const conn = this.#pick(clientId, route);
    const sentAt = Date.now();
    const base = { clientId, n, hook: step.hook, valued: step.valued, conn: conn.label, sentAt, ...(key !== undefined ? { key } : {}) };
    if (conn.redial) await Promise.race([conn.redial, sleep(EMQX_DEADLINE_MS)]);
    const waitedMs = Date.now() - sentAt;
    const target = conn.target;
    const record = (extra: { outcome?: Outcome; failed?: string }): CallRecord => {
      const at = Date.now();
      const r: CallRecord = { ...base, instance: target.name, at, ms: at - sentAt, waitedMs, ...extra };
      this.calls.push(r);
      return r;
    };
    if (conn.redial || waitedMs >= EMQX_DEADLINE_MS) return record({ failed: 'no connection within the deadline' });
    let reply: Parameters<typeof outcomeOf>[1];
    try {
      reply = await conn.client.call<typeof reply>(step.rpc, request, EMQX_DEADLINE_MS - waitedMs);
    } catch (err) {
      const e = err as { code?: number; message?: string };
      // DEADLINE_EXCEEDED (4) is a slow answer; anything else is a broken connection: re-dial it
      if (e.code !== 4 && conn.target === target) this.#lost(conn, 'call');
      return record({ failed: e.message ?? String(err) });
    }
    // a reply EMQX could not read throws here: the test fails loudly
    return record(step.valued ? { outcome: outcomeOf(step.hook, reply) } : {});
  }

  /**
   * Watch a connection's state like EMQX's pool worker watches its socket:
   * READY → anything else but SHUTDOWN means the connection broke.
   */
  #watch(conn: PoolConn): void {
    const client = conn.client;
    const channel = client.grpc?.getChannel();
    if (!channel) throw new Error('the EMQX client does not expose its grpc-js client');
    let state = channel.getConnectivityState(true); // connect at once, as the pool does
    const next = (): void =>
      channel.watchConnectivityState(state, Infinity, () => {
        if (this.#closed || conn.client !== client) return;
        const now = channel.getConnectivityState(false);
        if (now === connectivityState.SHUTDOWN) return;
        if (state === connectivityState.READY && now !== connectivityState.READY) this.#lost(conn, 'closed');
        state = now;
        next();
      });
    next();
  }

  /** A broken connection: re-dial it after the delay, to the first instance that accepts, starting with its own. */
  #lost(conn: PoolConn, by: LostConnection['by']): void {
    if (conn.redial || this.#closed) return;
    this.lost.push({ conn: conn.label, instance: conn.target.name, at: Date.now(), by });
    conn.redial = (async () => {
      const start = this.#targets.findIndex((t) => t === conn.target);
      for (;;) {
        await sleep(this.#redialDelayMs);
        if (this.#closed) return;
        for (let k = 0; k < this.#targets.length; k++) {
          const t = this.#targets[(start + k) % this.#targets.length] as Target;
          if (!(await accepts(t.port))) continue;
          if (t !== conn.target) {
            conn.client.close();
            conn.client = PoolConn.open(t);
            conn.target = t;
            this.#watch(conn);
          }
          return;
        }
      }
    })().finally(() => (conn.redial = undefined));
  }

  close(): void {
    this.#closed = true;
    for (const c of this.#pools.flat()) c.client.close();
  }
}

/** The authorize topic or the publish's message id of a request (the journal keeps them in `detail`). */
function keyOf(request: object): string | undefined {
  const r = request as { topic?: unknown; message?: { id?: unknown } };
  if (typeof r.message?.id === 'string') return r.message.id;
  return typeof r.topic === 'string' ? r.topic : undefined;
}
