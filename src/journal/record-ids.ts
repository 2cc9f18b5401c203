/**
 * Record ids and the CloudEvent `source`. An id is `<boot>-<counter>`: a
 * random 64-bit boot tag per journal instance and a counter, so ids are
 * unique across instances and restarts without coordination. The id is also
 * the JetStream `Nats-Msg-Id`: a retry of the same record reuses it (dedup),
 * while another instance's record never shares it (no false dedup).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

export class RecordIds {
  readonly boot = randomBytes(8).toString('base64url');
  #n = 0;
  next(): string {
    return `${this.boot}-${(++this.#n).toString(36)}`;
  }
}

/** CloudEvent `source` of an instance: `/hookwarden/<instance>` (default: the host name). */
export const sourceOf = (instance?: string): string => `/hookwarden/${encodeURIComponent(instance ?? hostname())}`;
