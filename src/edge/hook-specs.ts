/**
 * `HookMount` (our v2/v3 hook names) → the `hooks` of a LoadedResponse in the
 * spelling of the calling generation. EMQX refuses the WHOLE load if one name
 * is unknown or empty (`unknown_hookpoint`), so only names from the known
 * list ever leave here, each once; `topics` go only on `message.*` hooks
 * (EMQX ignores them elsewhere; an empty list means all topics).
 */
import { HOOK_NAMES, type Generation, type HookName } from '../domain/hook-event.js';
import type { HookMount } from './edge.types.js';
import type { WireHookSpec } from './wire.types.js';

const KNOWN: ReadonlySet<string> = new Set(HOOK_NAMES);

/** v1 (EMQX 4.x) spells two hook points differently. */
const V1_NAMES: Readonly<Partial<Record<HookName, string>>> = {
  'client.authorize': 'client.check_acl',
  'session.takenover': 'session.takeovered',
};

/** A hook's name as the given generation knows it. */
export const wireHookName = (hook: HookName, generation: Generation): string =>
  generation === 'v1' ? (V1_NAMES[hook] ?? hook) : hook;

const isMessageHook = (hook: HookName): boolean => hook.startsWith('message.');

/**
 * The hook specs to answer OnProviderLoaded with. Unknown names (a bad
 * configuration) are dropped rather than sent, duplicates are sent once and
 * empty topic filters are removed.
 */
export function hookSpecsFor(mount: HookMount, generation: Generation): WireHookSpec[] {
  const topics = mount.messageTopics.filter((t) => typeof t === 'string' && t.length > 0);
  const seen = new Set<string>();
  const specs: WireHookSpec[] = [];
  for (const hook of mount.hooks) {
    if (!KNOWN.has(hook) || seen.has(hook)) continue;
    seen.add(hook);
    specs.push({ name: wireHookName(hook, generation), topics: isMessageHook(hook) ? topics : [] });
  }
  return specs;
}

/** Mount entries hookSpecsFor drops (for a warning at load time). */
export const unknownHooks = (mount: HookMount): string[] => mount.hooks.filter((h) => !KNOWN.has(h));
