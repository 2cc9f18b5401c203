import { describe, expect, it } from 'vitest';
import { LIFECYCLE_HOOKS, mountFor } from '../../src/core/mount.js';

const none = { authenticate: false, authorize: false, publish: false };

describe('mount', () => {
  it('mount - with no policy only the lifecycle hooks, never client.authenticate', () => {
    const m = mountFor({ needs: none, messageEvents: [], messageTopics: [], excludeHooks: [] });
    expect(m.hooks).toEqual([...LIFECYCLE_HOOKS]);
    expect(m.hooks).not.toContain('client.authenticate');
    expect(m.hooks).not.toContain('client.authorize');
    expect(m.hooks).not.toContain('message.publish');
  });

  it('mount - valued hooks follow what the policy needs; message events and excludes follow config', () => {
    const m = mountFor({
      needs: { authenticate: true, authorize: true, publish: true },
      messageEvents: ['message.dropped'],
      messageTopics: ['t/#'],
      excludeHooks: ['client.connack'],
    });
    expect(m.hooks).toContain('client.authenticate');
    expect(m.hooks).toContain('client.authorize');
    expect(m.hooks).toContain('message.publish');
    expect(m.hooks).toContain('message.dropped');
    expect(m.hooks).not.toContain('client.connack');
    expect(m.messageTopics).toEqual(['t/#']);
    expect(new Set(m.hooks).size).toBe(m.hooks.length);
  });
});
