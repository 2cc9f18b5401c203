/**
 * Where every tracked client's state lives.
 *
 * Three tiers, all bounded:
 * - `hot`: recently active clients as live snapshots (`LRUCache`, `hotClients`);
 * - `cold`: idle clients as compact packed strings (`LRUCache`, `maxClients`);
 *   the least recently used are forgotten when full;
 * - `pinned`: clients evicted from `cold` while a ban or quarantine was still
 *   active. They are never forgotten before it expires (swept by `sweep`).
 * A client with work in flight stays in `busy` and is never evicted mid-step.
 */
import { LRUCache } from 'lru-cache';
import { initialSnapshot, isForgettable, packSnapshot, unpackSnapshot, type ClientSnapshot } from '../../machines/client/client.step.js';
import { ClientEntry, type EntryHooks } from './client-entry.js';

export interface RegistryOptions {
  readonly maxClients: number;
  readonly hotClients: number;
  /** The shell's clock, used only to decide whether an evicted ban has expired. */
  readonly now: () => number;
  /** Told when a client is forgotten (the journal drops what memory holds on it). */
  readonly onForget?: (clientId: string) => void;
}

export interface RegistryStats {
  readonly hot: number;
  readonly cold: number;
  readonly pinned: number;
  readonly busy: number;
  readonly evictions: number;
}

export class Registry {
  readonly #hot: LRUCache<string, ClientEntry>;
  readonly #cold: LRUCache<string, string>;
  readonly #pinned = new Map<string, string>();
  readonly #busy = new Map<string, ClientEntry>();
  readonly #now: () => number;
  readonly #onForget: ((clientId: string) => void) | undefined;
  #evictions = 0;

  constructor(options: RegistryOptions) {
    this.#now = options.now;
    this.#onForget = options.onForget;
    this.#cold = new LRUCache<string, string>({
      max: options.maxClients,
      dispose: (packed, id, reason) => {
        if (reason !== 'evict') return;
        const snapshot = unpackSnapshot(packed);
        if (!isForgettable(snapshot, this.#now())) this.#pinned.set(id, packed);
        else {
          this.#evictions++;
          this.#onForget?.(id);
        }
      },
    });
    this.#hot = new LRUCache<string, ClientEntry>({
      max: options.hotClients,
      dispose: (entry, id, reason) => {
        if (reason === 'evict' || reason === 'delete') this.#park(id, entry);
      },
    });
  }

  /** The live entry of a client, loading it from the cold tiers or creating it. */
  entry(clientId: string): ClientEntry {
    const busy = this.#busy.get(clientId);
    if (busy) return busy;
    let entry = this.#hot.get(clientId);
    if (entry) return entry;
    const packed = this.#cold.get(clientId) ?? this.#pinned.get(clientId);
    entry = new ClientEntry(clientId, packed === undefined ? initialSnapshot() : unpackSnapshot(packed), this.#hooks);
    entry.fresh = packed === undefined;
    if (packed !== undefined) {
      this.#cold.delete(clientId);
      this.#pinned.delete(clientId);
    }
    this.#hot.set(clientId, entry);
    return entry;
  }

  /** Snapshot of a client without loading it into the hot tier (admin, inspect). */
  peek(clientId: string): ClientSnapshot | undefined {
    const live = this.#busy.get(clientId) ?? this.#hot.peek(clientId);
    if (live) return live.snapshot;
    const packed = this.#cold.peek(clientId) ?? this.#pinned.get(clientId);
    return packed === undefined ? undefined : unpackSnapshot(packed);
  }

  /** Entries with queued work stay in `busy`, so eviction cannot lose a step. */
  readonly #hooks: EntryHooks = {
    busy: (entry) => {
      this.#busy.set(entry.clientId, entry);
    },
    settled: (entry) => {
      this.#busy.delete(entry.clientId);
      if (entry.parked) {
        entry.parked = false;
        this.#cold.set(entry.clientId, packSnapshot(entry.snapshot));
      }
    },
  };

  #park(id: string, entry: ClientEntry): void {
    if (entry.pending > 0) {
      entry.parked = true; // packed when its mailbox drains
      return;
    }
    this.#cold.set(id, packSnapshot(entry.snapshot));
  }

  /** Forget pinned clients whose ban or quarantine has expired. Returns how many. */
  sweep(): number {
    const at = this.#now();
    let n = 0;
    for (const [id, packed] of this.#pinned) {
      if (isForgettable(unpackSnapshot(packed), at)) {
        this.#pinned.delete(id);
        this.#onForget?.(id);
        n++;
      }
    }
    this.#evictions += n;
    return n;
  }

  stats(): RegistryStats {
    return {
      hot: this.#hot.size,
      cold: this.#cold.size,
      pinned: this.#pinned.size,
      busy: this.#busy.size,
      evictions: this.#evictions,
    };
  }

  /** Every tracked client id (hot, cold, pinned), for replay checks and tests. */
  *clientIds(): IterableIterator<string> {
    const seen = new Set<string>();
    for (const id of this.#busy.keys()) if (!seen.has(id)) (seen.add(id), yield id);
    for (const id of this.#hot.keys()) if (!seen.has(id)) (seen.add(id), yield id);
    for (const id of this.#cold.keys()) if (!seen.has(id)) (seen.add(id), yield id);
    for (const id of this.#pinned.keys()) if (!seen.has(id)) (seen.add(id), yield id);
  }
}
