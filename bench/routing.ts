/**
 * PURE: how the load generator spreads calls over its connections and its
 * connections over several servers (the cluster benchmark, bench/cluster.ts).
 *
 * - Connection `i` goes to target `i % targets` (round robin), so the
 *   connections spread evenly when their count is a multiple of the targets.
 * - `affinity`: every call of a client goes over one connection, chosen by a
 *   hash of the client id, as EMQX's grpc-erl hash pool does; a client's
 *   calls therefore all reach one server.
 * - `random`: every call picks a connection at random (an L7 balancer in
 *   front of the servers): consecutive calls of a client land on different
 *   servers.
 */

export type Routing = 'affinity' | 'random';
export const ROUTINGS: readonly Routing[] = ['affinity', 'random'];

/** A server the generator loads. */
export interface Target {
  readonly host: string;
  readonly port: number;
}

/** 32-bit FNV-1a of a string's UTF-16 code units. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i += 1) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Index of the target that connection `conn` is opened to. */
export const targetOfConnection = (conn: number, targets: number): number => conn % Math.max(1, targets);

/** The connection that carries all calls of `clientid` under `affinity`. */
export const homeConnection = (clientid: string, connections: number): number => fnv1a(clientid) % Math.max(1, connections);

/**
 * The connection of one call: the client's home connection under `affinity`,
 * a uniformly random one under `random` (`rand` returns [0, 1), like Math.random).
 */
export function connectionOfCall(routing: Routing, home: number, connections: number, rand: () => number): number {
  if (routing === 'affinity') return home;
  return Math.min(connections - 1, Math.floor(rand() * connections));
}

/** Parse `host:port[,host:port…]` (loopback checks are the generator's). */
export function parseTargets(list: string): Target[] {
  const out: Target[] = [];
  for (const part of list.split(',').map((s) => s.trim())) {
    const m = /^(.+):(\d{1,5})$/.exec(part);
    const port = Number(m?.[2]);
    if (!m?.[1] || port < 1 || port > 65535) throw new Error(`not host:port: "${part}"`);
    out.push({ host: m[1], port });
  }
  return out;
}
