/**
 * PURE: which hooks OnProviderLoaded mounts. Every mounted hook adds a
 * blocking round trip to the MQTT client's path, and on EMQX ≤ 5.8 an IGNORE
 * to authenticate denies anonymous clients, so only what the configuration
 * needs is mounted.
 */
import type { HookName } from '../domain/hook-event.js';
import type { HookMount } from '../edge/edge.types.js';

/** The lifecycle hooks the client machine is driven by; always mounted. */
export const LIFECYCLE_HOOKS = [
  'client.connect',
  'client.connack',
  'client.connected',
  'client.disconnected',
  'session.created',
  'session.subscribed',
  'session.unsubscribed',
  'session.resumed',
  'session.discarded',
  'session.takenover',
  'session.terminated',
] as const satisfies readonly HookName[];

export interface MountInputs {
  /** Which valued hooks the policy needs (PolicySet.needs). */
  readonly needs: { readonly authenticate: boolean; readonly authorize: boolean; readonly publish: boolean };
  readonly messageEvents: readonly HookName[];
  readonly messageTopics: readonly string[];
  readonly excludeHooks: readonly HookName[];
  /** The message bridge needs every publish it may bridge. */
  readonly bridge?: boolean;
}

export function mountFor(m: MountInputs): HookMount {
  const hooks: HookName[] = [...LIFECYCLE_HOOKS];
  if (m.needs.authenticate) hooks.push('client.authenticate');
  if (m.needs.authorize) hooks.push('client.authorize');
  if (m.needs.publish || m.bridge) hooks.push('message.publish');
  hooks.push(...m.messageEvents);
  const excluded = new Set(m.excludeHooks);
  return { hooks: [...new Set(hooks)].filter((h) => !excluded.has(h)), messageTopics: m.messageTopics };
}
