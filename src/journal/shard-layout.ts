/**
 * Which journal layout a deployment already has, and whether the configured
 * shard count agrees with it (docs/CLUSTER.md §Shards).
 *
 * A client's shard is `FNV-1a-32(key) mod N`, so changing N moves almost
 * every client to another stream: their history would be left behind. The
 * journal therefore refuses to start when streams holding records disagree
 * with `nats.shards`; `replay` and `inspect` use the layout they find.
 *
 * The layout is read from the streams that capture `<prefix>.journal.>`
 * (by subject, whatever their names): `<prefix>.journal.*` is the unsharded
 * journal, `<prefix>.journal.<i>.*` shard i.
 */
import type { JetStreamManager } from 'nats';
import { MAX_SHARDS } from './client-key.js';
import { JournalError } from './journal-errors.js';

export interface FoundStream {
  readonly name: string;
  readonly messages: number;
}

export interface JournalLayout {
  /** The stream capturing `<prefix>.journal.*`, if any. */
  readonly unsharded?: FoundStream;
  /** Shard streams by shard number. */
  readonly shards: ReadonlyMap<number, FoundStream>;
}

/** The journal streams under a prefix (one stream listing). */
export async function findLayout(jsm: JetStreamManager, prefix: string): Promise<JournalLayout> {
  const base = `${prefix}.journal`;
  const shards = new Map<number, FoundStream>();
  let unsharded: FoundStream | undefined;
  try {
    for await (const info of jsm.streams.list(`${base}.>`)) {
      const found = { name: info.config.name, messages: info.state.messages };
      for (const subject of info.config.subjects ?? []) {
        if (subject === `${base}.*`) unsharded = found;
        const m = subject.startsWith(`${base}.`) ? /^(\d+)\.\*$/.exec(subject.slice(base.length + 1)) : null;
        if (m) shards.set(Number(m[1]), found);
      }
    }
  } catch (err) {
    throw new JournalError(
      'EXH_JOURNAL_SETUP',
      `cannot list the journal streams under ${base}.> (to check the shard layout): ${(err as Error).message}; allow the NATS user $JS.API.STREAM.LIST`,
      { cause: err },
    );
  }
  return { ...(unsharded ? { unsharded } : {}), shards };
}

/** The shard count the streams were made for: 1 unsharded (or nothing yet), else the highest shard + 1. */
export const layoutShards = (layout: JournalLayout): number => (layout.shards.size === 0 ? 1 : Math.max(...layout.shards.keys()) + 1);

const holding = (layout: JournalLayout): { sharded: number; unsharded: number } => ({
  sharded: [...layout.shards.values()].reduce((s, f) => s + f.messages, 0),
  unsharded: layout.unsharded?.messages ?? 0,
});

const FIX_KEY = 'nats.shards (--nats-shards N, HOOKWARDEN_NATS_SHARDS)';

/**
 * PURE: the shard count to use. `configured` undefined (replay, inspect): the layout found.
 * Throws `EXH_JOURNAL_SETUP` naming the key and the fix when streams holding records disagree.
 */
export function resolveShards(layout: JournalLayout, prefix: string, configured: number | undefined): number {
  const found = layoutShards(layout);
  const held = holding(layout);
  if (configured === undefined) {
    if (held.sharded > 0 && held.unsharded > 0) {
      throw new JournalError(
        'EXH_JOURNAL_SETUP',
        `the journal under prefix "${prefix}" has both an unsharded stream (${layout.unsharded?.name}) and ${layout.shards.size} shard streams holding records: pass --nats-shards to choose (1 reads ${layout.unsharded?.name})`,
      );
    }
    return held.unsharded > 0 ? 1 : found;
  }
  if (!Number.isInteger(configured) || configured < 1 || configured > MAX_SHARDS) {
    throw new JournalError('EXH_JOURNAL_SETUP', `${FIX_KEY} must be a whole number from 1 to ${MAX_SHARDS}, got ${configured}`);
  }
  const migrate = 'or move the records to the new layout first (docs/CLUSTER.md#shards)';
  if (configured === 1 && held.sharded > 0) {
    throw new JournalError(
      'EXH_JOURNAL_SETUP',
      `the journal under prefix "${prefix}" is sharded into ${found} streams (${names(layout)}) holding ${held.sharded} records, but ${FIX_KEY} is 1: set it to ${found}, ${migrate}`,
    );
  }
  if (configured > 1 && held.unsharded > 0) {
    throw new JournalError(
      'EXH_JOURNAL_SETUP',
      `the journal under prefix "${prefix}" is not sharded (stream ${layout.unsharded?.name} holds ${held.unsharded} records), but ${FIX_KEY} is ${configured}: remove the setting (or set 1), ${migrate}`,
    );
  }
  if (configured > 1 && held.sharded > 0 && found !== configured) {
    throw new JournalError(
      'EXH_JOURNAL_SETUP',
      `the journal under prefix "${prefix}" is sharded into ${found} streams (${names(layout)}) holding ${held.sharded} records, but ${FIX_KEY} is ${configured}: a client's shard depends on the count, so set it back to ${found}, ${migrate}`,
    );
  }
  return configured;
}

function names(layout: JournalLayout): string {
  const list = [...layout.shards.entries()].sort(([a], [b]) => a - b).map(([, f]) => f.name);
  return list.length <= 3 ? list.join(', ') : `${list[0]} … ${list.at(-1)}`;
}
