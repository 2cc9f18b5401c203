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

/** A valid NATS subject token: non-empty, no whitespace, no `.`, `*` or `>`. */
export const isSubjectToken = (s: string): boolean => s.length > 0 && !/[\s.*>]/.test(s);

/** Subjects of one deployment, all under one prefix (default `hookwarden`). */
export interface SubjectNames {
  readonly prefix: string;
  /** Journal subject of one client: `<prefix>.journal.<key>`. */
  journal(clientId: string): string;
  /** Filter matching every journal subject: `<prefix>.journal.*`. */
  readonly journalAll: string;
  /** Feed subject: `<prefix>.events.<category>.<name>.<key>` (exactly five tokens with a one-token prefix). */
  feed(category: string, name: string, clientId: string): string;
  /** Filter matching every feed subject: `<prefix>.events.>`. */
  readonly feedAll: string;
}

/**
 * The subject names for a prefix. The prefix is one or more valid tokens
 * (`hookwarden`, `acme.hookwarden`); the default gives feed subjects of
 * exactly five tokens.
 */
export function subjectNames(prefix = 'hookwarden'): SubjectNames {
  if (!prefix.split('.').every(isSubjectToken)) {
    throw new TypeError(`invalid subject prefix ${JSON.stringify(prefix)}: use dot-separated tokens without spaces, '*' or '>'`);
  }
  return {
    prefix,
    journal: (clientId) => `${prefix}.journal.${clientKey(clientId)}`,
    journalAll: `${prefix}.journal.*`,
    feed: (category, name, clientId) => `${prefix}.events.${category}.${name}.${clientKey(clientId)}`,
    feedAll: `${prefix}.events.>`,
  };
}
