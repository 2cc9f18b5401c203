/**
 * PURE: the journaled copy of a machine input. The resolved policy object is
 * replaced by a reference `"<revision>:<name>"` (policies are archived by
 * revision), so a record stays small and replay can re-step it exactly.
 */
import type { ClientEvent } from '../../machines/client/client.types.js';
import type { ResolvedPolicy } from '../domain/policy.types.js';
import type { StoredInput } from '../journal/journal.js';

export function storeInput(e: ClientEvent, revision: string): StoredInput {
  if (!('policy' in e)) return e as unknown as StoredInput;
  const { policy, ...rest } = e;
  return { ...rest, policy: `${revision}:${policy.name}` };
}

/** Splits a policy reference into revision and policy name. */
export function parsePolicyRef(ref: string): { revision: string; name: string } | undefined {
  const i = ref.indexOf(':');
  return i <= 0 ? undefined : { revision: ref.slice(0, i), name: ref.slice(i + 1) };
}

/**
 * The machine input of a stored one; `policyOf` finds a policy by revision
 * and name. Undefined when the input names a policy that cannot be found.
 */
export function restoreInput(
  s: StoredInput,
  policyOf: (revision: string, name: string) => ResolvedPolicy | undefined,
): ClientEvent | undefined {
  if (s.policy === undefined) return s as unknown as ClientEvent;
  const ref = parsePolicyRef(s.policy);
  const policy = ref && policyOf(ref.revision, ref.name);
  if (!policy) return undefined;
  return { ...s, policy } as unknown as ClientEvent;
}
