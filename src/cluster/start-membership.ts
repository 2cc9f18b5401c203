/** Membership as the composition root wires it: the figures come from the running parts. */
import type { NatsConnection } from 'nats';
import type { Registry } from '../actors/registry.js';
import type { Config } from '../config.js';
import type { BrokerNodes } from '../core/broker-nodes.js';
import type { JournalPort } from '../journal/journal.js';
import type { Logger } from '../observability/logger.js';
import { sumHookCounts, type CountedCell } from './hook-counter.js';
import { Membership } from './membership.js';

export interface MembershipParts {
  readonly config: Pick<Config, 'instance' | 'clusterHeartbeatMs' | 'clusterTtlMs'> & { readonly nats: { readonly prefix: string } };
  readonly nc: NatsConnection;
  readonly hookPort: number;
  readonly httpPort?: number;
  /** The edge's meter cells (`Metrics.hooks.cells()`): hook calls counted by the edge. */
  readonly hookCells: () => Iterable<CountedCell>;
  readonly nodes: BrokerNodes;
  readonly registry: Registry;
  readonly journal: JournalPort;
  readonly log: Logger;
}

/** Start announcing this instance (never throws on a NATS failure: it is logged and retried). */
export function startMembership(p: MembershipParts): Promise<Membership> {
  return Membership.start({
    nc: p.nc,
    prefix: p.config.nats.prefix,
    ...(p.config.instance ? { name: p.config.instance } : {}),
    hookPort: p.hookPort,
    ...(p.httpPort !== undefined ? { httpPort: p.httpPort } : {}),
    heartbeatMs: p.config.clusterHeartbeatMs,
    ttlMs: p.config.clusterTtlMs,
    log: p.log.child({ component: 'membership' }),
    sources: {
      hooks: () => sumHookCounts(p.hookCells()),
      clients: () => {
        const s = p.registry.stats();
        return s.hot + s.cold + s.pinned;
      },
      journal: () => {
        const s = p.journal.stats();
        return { pending: s.pending, conflicts: s.conflicts };
      },
      emqxNodes: () =>
        p.nodes
          .list()
          .filter((n) => n.unloadedAt === undefined)
          .map((n) => n.node),
    },
  });
}
