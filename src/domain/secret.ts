import { inspect } from 'node:util';

/**
 * A value that must never reach a log, a journal or a JSON document: the
 * plaintext MQTT password EMQX sends in `OnClientAuthenticate`.
 * `JSON.stringify`, `String()` and `util.inspect` all print `[redacted]`;
 * only `reveal()` gives the value, and only the credential check calls it.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The plaintext; call only where the value is verified. */
  reveal(): string {
    return this.#value;
  }
  get isEmpty(): boolean {
    return this.#value.length === 0;
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}
