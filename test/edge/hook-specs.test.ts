import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HOOK_NAMES, type HookName } from '../../src/domain/hook-event.js';
import { hookSpecsFor, unknownHooks, wireHookName } from '../../src/edge/hook-specs.js';

/** The hook points each generation's EMQX accepts (EXHOOK.md §2); anything else fails the whole load. */
const V1_KNOWN = new Set([
  'client.connect', 'client.connack', 'client.connected', 'client.disconnected', 'client.authenticate', 'client.check_acl',
  'client.subscribe', 'client.unsubscribe', 'session.created', 'session.subscribed', 'session.unsubscribed', 'session.resumed',
  'session.discarded', 'session.takeovered', 'session.terminated', 'message.publish', 'message.delivered', 'message.acked', 'message.dropped',
]);
const V2_KNOWN = new Set([...V1_KNOWN].map((n) => (n === 'client.check_acl' ? 'client.authorize' : n === 'session.takeovered' ? 'session.takenover' : n)));
const KNOWN = { v1: V1_KNOWN, v2: V2_KNOWN, v3: V2_KNOWN } as const;

describe('edge hook specs', () => {
  it('edge hook specs - v1 spells authorize and takenover the 4.x way, v2/v3 keep our names', () => {
    expect(wireHookName('client.authorize', 'v1')).toBe('client.check_acl');
    expect(wireHookName('session.takenover', 'v1')).toBe('session.takeovered');
    expect(wireHookName('client.authorize', 'v2')).toBe('client.authorize');
    expect(wireHookName('session.takenover', 'v3')).toBe('session.takenover');
    expect(wireHookName('message.publish', 'v1')).toBe('message.publish');
  });

  it('edge hook specs - topics only on message.* hooks, empty filters removed', () => {
    const specs = hookSpecsFor({ hooks: ['client.connect', 'message.publish', 'message.dropped'], messageTopics: ['t/#', '', 'a/+'] }, 'v2');
    expect(specs).toEqual([
      { name: 'client.connect', topics: [] },
      { name: 'message.publish', topics: ['t/#', 'a/+'] },
      { name: 'message.dropped', topics: ['t/#', 'a/+'] },
    ]);
  });

  it('edge hook specs - for any mount, every generation gets only names it knows, each once, never empty', () => {
    const anyHook = fc.oneof(fc.constantFrom(...HOOK_NAMES), fc.constantFrom('', 'client.check_acl', 'bogus.hook', 'session.takeovered'));
    fc.assert(
      fc.property(fc.array(anyHook, { maxLength: 40 }), fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }), (hooks, topics) => {
        const mount = { hooks: hooks as HookName[], messageTopics: topics };
        for (const g of ['v1', 'v2', 'v3'] as const) {
          const specs = hookSpecsFor(mount, g);
          const names = specs.map((s) => s.name);
          expect(new Set(names).size).toBe(names.length);
          for (const s of specs) {
            expect(KNOWN[g].has(s.name)).toBe(true);
            if (!s.name.startsWith('message.')) expect(s.topics).toEqual([]);
            for (const t of s.topics) expect(t).not.toBe('');
          }
          const wanted = new Set(hooks.filter((h) => (HOOK_NAMES as readonly string[]).includes(h)));
          expect(specs.length).toBe(wanted.size);
        }
        expect(unknownHooks(mount)).toEqual(hooks.filter((h) => !(HOOK_NAMES as readonly string[]).includes(h)));
      }),
      { numRuns: 200 },
    );
  });
});
