/** Builders of journal records for the journal tests. */
import type { Decision } from '../../src/domain/decision.js';
import type { HookName } from '../../src/domain/hook-event.js';
import type { JournalRecord } from '../../src/journal/journal.js';

export const allow: Decision = { outcome: 'allow', reason: { code: 'acl.rule', policy: 'default', rule: 'acl[0]', detail: 'rule 0 allows' } };
export const deny: Decision = {
  outcome: 'deny',
  reason: { code: 'limit.messages_rate', policy: 'default', rule: 'messages_rate', detail: 'over 10/s', values: { limit: 10, tokens: 0 } },
};

/** A notification record (no decision). */
export function note(clientId: string, at: number, hook: HookName = 'client.connected', state = 'connected'): JournalRecord {
  return { clientId, at, hook, node: 'emqx@10.0.0.1', conn: `emqx@10.0.0.1|10.1.1.1|${40000 + (at % 1000)}`, state, facts: [] };
}

/** A valued record: a publish checked with a decision. */
export function publish(clientId: string, at: number, decision: Decision = allow, topic = 't/1'): JournalRecord {
  return {
    clientId,
    at,
    hook: 'message.publish',
    node: 'emqx@10.0.0.1',
    state: 'connected',
    facts: decision.outcome === 'deny' ? [{ type: 'PublishThrottled', at, topic }] : [],
    decision,
    detail: { topic, qos: 1, size: 5, messageId: `m${at}` },
  };
}

/** Ids that stress subject encoding. */
export const NASTY_IDS = ['a.b', 'x*y', 'gt>', 'with space', 'ünïcødé', '', 'z'.repeat(300), '$SYS/weird', 'h'];
