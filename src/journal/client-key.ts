/**
 * PURE: names derived from a client id. An MQTT client id may hold `.`, `*`,
 * `>`, spaces or any Unicode, none of which may appear in one NATS subject
 * token (nor in a KV key), so every id is mapped to exactly one safe token:
 *
 * - `""`                     → `_`
 * - UTF-8 bytes ≤ 48         → base64url of the bytes, unpadded (≤ 64 chars)
 * - longer ids               → `h` + base64url(sha256(bytes)) **padded** (45 chars)
 *
 * The three forms cannot collide: an unpadded base64url string never has
 * length 1 or length ≡ 1 (mod 4) and never holds `=`, while `_` has length 1
 * and the hashed form has length 45 and ends in `=`. The raw id always
 * travels in the payload (`subject` of the CloudEvent), so nothing is lost.
 *
 * Sharding (docs/CLUSTER.md §Shards): with N > 1 shards a client lives in
 * shard `FNV-1a-32(key bytes) mod N`, the same number nats-server's subject
 * mapping `{{partition(N,1)}}` computes for the token, and its journal subject
 * is `<prefix>.journal.<shard>.<key>`.
 */
import { createHash } from 'node:crypto';

/** Ids up to this many UTF-8 bytes are encoded reversibly; longer ones are hashed. */
export const MAX_PLAIN_ID_BYTES = 48;

/** The token-safe key of a client id (see the module comment). */
export function clientKey(clientId: string): string {
  if (clientId === '') return '_';
  const bytes = Buffer.from(clientId, 'utf8');
  if (bytes.length <= MAX_PLAIN_ID_BYTES) return bytes.toString('base64url');
  return `h${createHash('sha256').update(bytes).digest('base64url')}=`;
}

/** The client id of a plain key; undefined for a hashed key (only the payload has the id). */
export function clientIdOfKey(key: string): string | undefined {
  if (key === '_') return '';
  if (key.length === 45 && key.startsWith('h') && key.endsWith('=')) return undefined;
  return Buffer.from(key, 'base64url').toString('utf8');
}

/** FNV-1a, 32 bits (offset basis 2166136261, prime 16777619), as nats-server's `partition` mapping uses it. */
export function fnv1a32(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** Most shards a deployment may have (`nats.shards`). */
export const MAX_SHARDS = 64;

/** The shard of a client key: FNV-1a-32 of the token's bytes mod `shards` (= `{{partition(shards,1)}}`); 0 with one shard. */
export const shardOfKey = (key: string, shards: number): number => (shards <= 1 ? 0 : fnv1a32(Buffer.from(key, 'utf8')) % shards);

/** The shard of a client id (see `shardOfKey`). */
export const shardOf = (clientId: string, shards: number): number => (shards <= 1 ? 0 : shardOfKey(clientKey(clientId), shards));

/** A valid NATS subject token: non-empty, no whitespace, no `.`, `*` or `>`. */
export const isSubjectToken = (s: string): boolean => s.length > 0 && !/[\s.*>]/.test(s);

/** Subjects of one deployment, all under one prefix (default `hookwarden`). */
export interface SubjectNames {
  readonly prefix: string;
  /** The shard these journal names belong to (undefined: unsharded). */
  readonly shard?: number;
  /** Journal subject of one client: `<prefix>.journal.<key>` (sharded: `<prefix>.journal.<shard>.<key>`). */
  journal(clientId: string): string;
  /** Filter matching every journal subject: `<prefix>.journal.*` (sharded: `<prefix>.journal.<shard>.*`). */
  readonly journalAll: string;
  /** Feed subject: `<prefix>.events.<category>.<name>.<key>` (exactly five tokens with a one-token prefix). */
  feed(category: string, name: string, clientId: string): string;
  /** Filter matching every feed subject: `<prefix>.events.>`. */
  readonly feedAll: string;
}

/**
 * The subject names for a prefix. The prefix is one or more valid tokens
 * (`hookwarden`, `acme.hookwarden`); the default gives feed subjects of
 * exactly five tokens. With `shard`, the journal names are those of that
 * shard (the caller routes each client to its shard, `shardOf`).
 */
export function subjectNames(prefix = 'hookwarden', shard?: number): SubjectNames {
  if (!prefix.split('.').every(isSubjectToken)) {
    throw new TypeError(`invalid subject prefix ${JSON.stringify(prefix)}: use dot-separated tokens without spaces, '*' or '>'`);
  }
  if (shard !== undefined && !(Number.isInteger(shard) && shard >= 0 && shard < MAX_SHARDS)) {
    throw new TypeError(`invalid shard ${shard}: a whole number from 0 to ${MAX_SHARDS - 1}`);
  }
  const journal = shard === undefined ? `${prefix}.journal` : `${prefix}.journal.${shard}`;
  return {
    prefix,
    ...(shard !== undefined ? { shard } : {}),
    journal: (clientId) => `${journal}.${clientKey(clientId)}`,
    journalAll: `${journal}.*`,
    feed: (category, name, clientId) => `${prefix}.events.${category}.${name}.${clientKey(clientId)}`,
    feedAll: `${prefix}.events.>`,
  };
}
