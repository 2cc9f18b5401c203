/**
 * PURE: MQTT topic ⇄ NATS subject for bridged messages.
 *
 * Every MQTT level becomes exactly one NATS token under `<prefix>.msg.`:
 * `sensors/a/temp` → `hookwarden.msg.sensors.a.temp`. MQTT allows in a level
 * what NATS forbids in a token, so the mapping escapes, reversibly:
 *
 * - an empty level (`a//b`, a leading or trailing `/`) → the token `%`;
 * - in a non-empty level, each character that NATS forbids or that could
 *   confuse it, and `%` itself, → `%XX` per UTF-8 byte, upper-case hex:
 *   `%` → `%25`, `.` → `%2E`, `*` → `%2A`, `>` → `%3E`, space → `%20`, every
 *   other whitespace (JS `\s`, e.g. tab `%09`, U+00A0 `%C2%A0`), every C0
 *   control (`%00`–`%1F`) and DEL (`%7F`).
 * - everything else (letters, digits, `-`, `_`, `$`, `+`, `#`, any other
 *   Unicode) stays as it is.
 *
 * The lone `%` cannot come from escaping (an escape is always `%` + two hex
 * digits), so the empty-level marker is unambiguous. Decoding accepts only
 * canonical tokens (those `encode` produces) and so is the exact inverse.
 * Topics are well-formed Unicode (MQTT forbids lone surrogates).
 */

/** The token of an empty MQTT level. */
export const EMPTY_LEVEL = '%';

/**
 * Longest subject the bridge publishes, in UTF-8 bytes. nats-server rejects a
 * protocol line over `max_control_line` (default 4096 bytes) and closes the
 * connection; the line also holds the verb, a reply inbox and two sizes.
 */
export const MAX_SUBJECT_BYTES = 3900;

const NEEDS_ESCAPE = /[%.*>\s\u0000-\u001f\u007f]/gu;
const ESCAPES = /(?:%[0-9A-F]{2})+/g;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // keep a U+FEFF level;

const hex = (b: number): string => `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
const escapeChar = (c: string): string => Array.from(encoder.encode(c), hex).join('');

/** The token of one MQTT level. */
export function escapeLevel(level: string): string {
  if (level === '') return EMPTY_LEVEL;
  return level.replace(NEEDS_ESCAPE, escapeChar);
}

/** The MQTT level of one token, or undefined when the token is not one `escapeLevel` produces. */
export function unescapeToken(token: string): string | undefined {
  if (token === EMPTY_LEVEL) return '';
  let level: string;
  try {
    level = token.replace(ESCAPES, (run) => decoder.decode(Uint8Array.from(run.slice(1).split('%'), (h) => parseInt(h, 16))));
  } catch {
    return undefined; // escapes that are not UTF-8
  }
  return escapeLevel(level) === token ? level : undefined;
}

/** The subject prefix of bridged messages: `<prefix>.msg`. */
export const messageSubjectRoot = (prefix: string): string => `${prefix}.msg`;

/** The filter matching every bridged message: `<prefix>.msg.>`. */
export const messageSubjectFilter = (prefix: string): string => `${messageSubjectRoot(prefix)}.>`;

/** The subject of an MQTT topic: `<prefix>.msg.` + one escaped token per level. */
export function topicToSubject(prefix: string, topic: string): string {
  return `${messageSubjectRoot(prefix)}.${topic.split('/').map(escapeLevel).join('.')}`;
}

/** The MQTT topic of a bridged subject, or undefined when `subject` is not one `topicToSubject(prefix, …)` produces. */
export function subjectToTopic(prefix: string, subject: string): string | undefined {
  const root = `${messageSubjectRoot(prefix)}.`;
  if (!subject.startsWith(root) || subject.length === root.length) return undefined;
  const levels: string[] = [];
  for (const token of subject.slice(root.length).split('.')) {
    const level = unescapeToken(token);
    if (level === undefined) return undefined;
    levels.push(level);
  }
  return levels.join('/');
}

/** Whether a subject fits the server's protocol line (see MAX_SUBJECT_BYTES). */
export const subjectFits = (subject: string): boolean =>
  subject.length * 3 <= MAX_SUBJECT_BYTES || Buffer.byteLength(subject, 'utf8') <= MAX_SUBJECT_BYTES;
