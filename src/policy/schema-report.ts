/**
 * PURE: collecting validation errors. Every error names its key path
 * (`policies[1].limits.messages_rate`), what is wrong and the fix, with the
 * line number when the source can say; all errors are kept, not just the
 * first.
 */

/** One problem in a policy file. `path` is "" for the file as a whole. */
export interface PolicyError {
  readonly path: string;
  readonly message: string;
  readonly fix: string;
  readonly line?: number;
}

/** A key path: map keys and list indexes. */
export type Path = readonly (string | number)[];

/** Finds the 1-based line of a key path in the source, when it can. */
export type Locate = (path: Path) => number | undefined;

export type Raw = Readonly<Record<string, unknown>>;
export const isMapping = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

export function formatPath(path: Path): string {
  let s = '';
  for (const seg of path) s += typeof seg === 'number' ? `[${seg}]` : s === '' ? seg : `.${seg}`;
  return s;
}

export class Report {
  readonly errors: PolicyError[] = [];
  readonly #locate: Locate | undefined;

  constructor(locate?: Locate) {
    this.#locate = locate;
  }

  /** Record a problem; returns undefined so validators can `return r.error(...)`. */
  error(path: Path, message: string, fix: string): undefined {
    const line = this.#locate?.(path);
    this.errors.push(line === undefined ? { path: formatPath(path), message, fix } : { path: formatPath(path), message, fix, line });
    return undefined;
  }

  /**
   * Refuse keys of `obj` not in `allowed`, suggesting the closest allowed key;
   * `hints` gives a specific fix for keys that belong elsewhere.
   */
  keys(obj: Raw, path: Path, allowed: readonly string[], hints: Readonly<Record<string, string>> = {}): void {
    for (const key of Object.keys(obj)) {
      if (allowed.includes(key)) continue;
      const hint = hints[key];
      const close = closest(key, allowed);
      const fix = hint ?? (close ? `did you mean "${close}"? Keys allowed here: ${allowed.join(', ')}` : `remove it; keys allowed here: ${allowed.join(', ')}`);
      this.error([...path, key], `unknown key "${key}"`, fix);
    }
  }
}

const norm = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');

/** The allowed word closest to `word` (same letters ignoring case/`_`/`-`, or within a few edits), if any. */
export function closest(word: string, allowed: readonly string[]): string | undefined {
  const w = norm(word);
  let best: string | undefined;
  let bestDist = Infinity;
  for (const a of allowed) {
    const d = norm(a) === w ? 0 : editDistance(w, norm(a));
    if (d < bestDist) {
      best = a;
      bestDist = d;
    }
  }
  const limit = Math.max(1, Math.floor(Math.max(w.length, 3) / 3));
  return bestDist <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return Infinity;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

/** `value` as one of `allowed`, or an error naming the choices (with a suggestion). */
export function oneOf<T extends string>(r: Report, value: unknown, path: Path, allowed: readonly T[], note = ''): T | undefined {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  const close = typeof value === 'string' ? closest(value, allowed) : undefined;
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
  return r.error(path, `${shown} is not one of ${allowed.join(', ')}${note}`, close ? `did you mean "${close}"?` : `use one of: ${allowed.join(', ')}`);
}
