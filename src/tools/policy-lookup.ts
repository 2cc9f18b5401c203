/**
 * Finds archived policies by revision for replay and inspect: the archived
 * source is validated again into a PolicySet (cached per revision).
 */
import type { ResolvedPolicy } from '../domain/policy.types.js';
import type { PolicyArchive } from '../journal/policy-archive.js';
import type { PolicySet } from '../policy/policy-set.js';
import { validatePolicy } from '../policy/schema.js';

export class PolicyLookup {
  readonly #sets = new Map<string, PolicySet | undefined>();
  constructor(private readonly archive: PolicyArchive) {}

  /** Fetch (once) every revision in `revisions` so `policyOf` can answer synchronously. */
  async prefetch(revisions: Iterable<string>): Promise<void> {
    for (const rev of revisions) {
      if (this.#sets.has(rev)) continue;
      const source = await this.archive.get(rev).catch(() => undefined);
      const result = source === undefined ? undefined : validatePolicy(JSON.parse(source) as unknown);
      this.#sets.set(rev, result?.ok ? result.set : undefined);
    }
  }

  set(revision: string): PolicySet | undefined {
    return this.#sets.get(revision);
  }

  /** The named policy of a revision ("default" or a `policies[]` name). */
  policyOf = (revision: string, name: string): ResolvedPolicy | undefined => {
    const set = this.#sets.get(revision);
    if (!set) return undefined;
    if (name === set.default.name) return set.default;
    return set.entries.find((e) => e.name === name)?.policy;
  };
}
