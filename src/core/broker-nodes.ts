/**
 * The EMQX nodes that loaded us (OnProviderLoaded is sent by every node, and
 * again on every reload: idempotent by node name), for metrics and the admin API.
 */
import type { Generation } from '../domain/hook-event.js';
import type { ProviderLoaded, ProviderUnloaded } from '../edge/edge.types.js';

export interface BrokerNode {
  readonly node: string;
  readonly cluster: string;
  readonly version: string;
  readonly generation: Generation;
  readonly loadedAt: number;
  readonly loads: number;
  readonly unloadedAt?: number;
}

export class BrokerNodes {
  readonly #nodes = new Map<string, BrokerNode>();

  loaded(info: ProviderLoaded): void {
    const key = info.meta.node || `(unnamed ${info.generation} node)`;
    const prev = this.#nodes.get(key);
    this.#nodes.set(key, {
      node: key,
      cluster: info.meta.clusterName,
      version: info.broker.version || info.meta.version,
      generation: info.generation,
      loadedAt: info.at,
      loads: (prev?.loads ?? 0) + 1,
    });
  }

  unloaded(info: ProviderUnloaded): void {
    const key = info.meta.node || `(unnamed ${info.generation} node)`;
    const prev = this.#nodes.get(key);
    if (prev) this.#nodes.set(key, { ...prev, unloadedAt: info.at });
  }

  list(): BrokerNode[] {
    return [...this.#nodes.values()];
  }
}
