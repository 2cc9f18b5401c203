import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import {
  HOOK_NAMES,
  type ClientInfo,
  type ConnInfo,
  type HookEvent,
  type HookName,
  type MessageInfo,
  type Meta,
} from '../../src/domain/hook-event.js';
import { Secret } from '../../src/domain/secret.js';
import {
  decodeEntry,
  encodeEntry,
  encodeRecord,
  eventType,
  FEED_KINDS,
  feedEventsOf,
  fromCloudEvent,
  toCloudEvent,
} from '../../src/journal/events.js';
import type { JournalEntry, JournalRecord } from '../../src/journal/journal.js';
import { recordOf } from '../../src/journal/record.js';
import { documentedProperties, loadSchemas, validate } from './json-schema-lite.js';
import { allow, deny, publish } from './records.js';

const schemas = loadSchemas(fileURLToPath(new URL('../../schemas', import.meta.url)));
const EVENT = 'urn:hookwarden:schema:event:v1';
const ENTRY = 'urn:hookwarden:schema:journal-entry:v1';

const meta: Meta = { node: 'emqx@10.0.0.1', version: '5.3.2', sysdescr: 'EMQX', clusterName: 'c1' };
const client: ClientInfo = {
  node: 'emqx@10.0.0.1',
  clientid: 'dev.1',
  username: 'alice',
  peerhost: '10.1.1.1',
  sockport: 1883,
  peerport: 50000,
  protocol: 'mqtt',
  mountpoint: '',
  isSuperuser: false,
  anonymous: false,
  cn: '',
  dn: '',
};
const conn: ConnInfo = {
  node: 'emqx@10.0.0.1',
  clientid: 'dev.1',
  username: 'alice',
  peerhost: '10.1.1.1',
  sockport: 1883,
  peerport: 50000,
  protoName: 'MQTT',
  protoVer: '5',
  keepalive: 60,
};
const message: MessageInfo = {
  id: 'A1',
  node: 'emqx@10.0.0.1',
  from: 'dev.1',
  topic: 't/1',
  qos: 1,
  payload: new TextEncoder().encode('secret-payload'),
  timestamp: '1700000000000',
  headers: { protocol: 'mqtt', peerhost: '10.1.1.1' },
};

/** One complete hook of each kind. */
function hookOf(type: HookName, at = 1_700_000_000_123): HookEvent {
  const base = { at, generation: 'v2' as const, meta };
  switch (type) {
    case 'client.connect':
      return { ...base, type, conn, props: [], userProps: [] };
    case 'client.connack':
      return { ...base, type, conn, resultCode: 'success', props: [], userProps: [] };
    case 'client.connected':
      return { ...base, type, client };
    case 'client.disconnected':
      return { ...base, type, client, reason: 'normal' };
    case 'client.authenticate':
      return { ...base, type, client, password: new Secret('hunter2'), result: false };
    case 'client.authorize':
      return { ...base, type, client, action: 'publish', topic: 't/1', result: true };
    case 'client.subscribe':
    case 'client.unsubscribe':
      return { ...base, type, client, filters: [{ topic: 't/#', qos: 1 }], props: [], userProps: [] };
    case 'session.created':
    case 'session.resumed':
    case 'session.discarded':
    case 'session.takenover':
      return { ...base, type, client };
    case 'session.terminated':
      return { ...base, type, client, reason: 'takenover' };
    case 'session.subscribed':
      return { ...base, type, client, topic: 't/#', subopts: { qos: 1, share: '', rh: 0, rap: 0, nl: 0 } };
    case 'session.unsubscribed':
      return { ...base, type, client, topic: 't/#' };
    case 'message.publish':
      return { ...base, type, message };
    case 'message.delivered':
    case 'message.acked':
      return { ...base, type, client: { ...client, clientid: 'sub.2' }, message };
    case 'message.dropped':
      return { ...base, type, message, reason: 'no_subscribers' };
  }
}

const VALUED = new Set<HookName>(['client.authenticate', 'client.authorize', 'message.publish']);
const recordFor = (type: HookName, payloads = false): JournalRecord =>
  recordOf(
    hookOf(type),
    {
      clientId: type === 'message.delivered' || type === 'message.acked' ? 'sub.2' : 'dev.1',
      state: 'connected',
      facts: type === 'client.connected' ? [{ type: 'ClientConnected', at: 1, conn: 'x' }] : [],
      ...(VALUED.has(type) ? { decision: type === 'message.publish' ? deny : allow } : {}),
      conn: 'emqx@10.0.0.1|10.1.1.1|50000',
    },
    { payloads },
  );

describe('events', () => {
  it('events - every hook becomes a CloudEvents 1.0 document that validates against schemas/', () => {
    for (const type of HOOK_NAMES) {
      const ev = toCloudEvent(recordFor(type), 'boot-1', '/hookwarden/test');
      expect(validate(schemas, EVENT, ev), type).toEqual([]);
      expect(ev).toMatchObject({ specversion: '1.0', datacontenttype: 'application/json', time: '2023-11-14T22:13:20.123Z' });
      const entry = JSON.parse(encodeEntry(ev, { machineVersion: 'client-1.1', packed: '{"s":1}' }, 7)) as unknown;
      expect(validate(schemas, ENTRY, entry), type).toEqual([]);
    }
    // the checker is not vacuous
    const ev = toCloudEvent(recordFor('message.publish'), 'i', 's');
    expect(validate(schemas, EVENT, { ...ev, type: 'io.hookwarden.message.published.v1' })).not.toEqual([]);
    expect(validate(schemas, EVENT, { ...ev, data: { ...ev.data, qos: 3 } })).not.toEqual([]);
    expect(validate(schemas, EVENT, { ...ev, type: 'io.hookwarden.decision.denied.v1' })).toContain('/data: missing eventId');
  });

  it('events - the schema lists exactly the event types the code emits, and documents every data field', () => {
    const schema = schemas.get(EVENT) as { properties: { type: { enum: string[] } } };
    expect(schema.properties.type.enum).toEqual(FEED_KINDS.map(eventType));
    const hookFields = new Set(documentedProperties(schemas, EVENT, 'hookData'));
    const decisionFields = new Set(documentedProperties(schemas, EVENT, 'decisionData'));
    for (const type of HOOK_NAMES) {
      const r = recordFor(type, true);
      const entry: JournalEntry = { seq: 1, id: 'b-1', source: '/hookwarden/t', record: r };
      for (const fe of feedEventsOf(entry)) {
        const fields = fe.category === 'decision' ? decisionFields : hookFields;
        for (const k of Object.keys(fe.event.data)) expect(fields.has(k), `${fe.kind}.${k}`).toBe(true);
        expect(validate(schemas, EVENT, fe.event)).toEqual([]);
      }
    }
  });

  it('events - passwords are never journaled; payloads only with the opt-in', () => {
    const authn = JSON.stringify(toCloudEvent(recordFor('client.authenticate'), 'i', 's'));
    expect(authn).not.toContain('hunter2');
    const off = toCloudEvent(recordFor('message.publish'), 'i', 's');
    expect(off.data).toMatchObject({ topic: 't/1', qos: 1, size: 14, messageId: 'A1' });
    expect(JSON.stringify(off)).not.toContain('payload');
    const on = toCloudEvent(recordFor('message.publish', true), 'i', 's');
    expect(Buffer.from(on.data.payload ?? '', 'base64').toString()).toBe('secret-payload');
  });

  it('events - a stored entry decodes back to the same record, id, source and snapshot', () => {
    const arbRecord = fc.record({
      clientId: fc.string({ unit: 'grapheme', maxLength: 40 }),
      at: fc.integer({ min: 0, max: 4_102_444_800_000 }),
      hook: fc.constantFrom(...HOOK_NAMES),
      node: fc.string({ maxLength: 20 }),
      state: fc.constantFrom('connected', 'banned', 'offline'),
      facts: fc.array(fc.record({ type: fc.constantFrom('ClientBanned', 'PublishThrottled'), at: fc.nat() }), { maxLength: 3 }),
      decision: fc.option(fc.constantFrom(allow, deny), { nil: undefined }),
      topic: fc.option(fc.string({ maxLength: 30 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(arbRecord, fc.option(fc.string(), { nil: undefined }), fc.nat(), (a, packed, seq) => {
        const record: JournalRecord = {
          clientId: a.clientId,
          at: a.at,
          hook: a.hook,
          node: a.node,
          state: a.state,
          facts: a.facts,
          ...(a.decision ? { decision: a.decision } : {}),
          ...(a.topic !== undefined ? { detail: { topic: a.topic } } : {}),
        };
        const snap = packed === undefined ? undefined : { machineVersion: 'client-2.0', packed };
        const line = encodeEntry(toCloudEvent(record, 'boot-x', '/hookwarden/a'), snap, seq + 1);
        expect(line).not.toContain('\n');
        // the hot-path encoder writes exactly the same bytes
        expect(encodeRecord(record, 'boot-x', JSON.stringify('/hookwarden/a'), snap, seq + 1)).toBe(line);
        expect(encodeRecord(record, 'boot-x', JSON.stringify('/hookwarden/a'), snap)).toBe(
          encodeEntry(toCloudEvent(record, 'boot-x', '/hookwarden/a'), snap),
        );
        const back = decodeEntry(line);
        expect(back).toEqual({ seq: seq + 1, id: 'boot-x', source: '/hookwarden/a', record, ...(snap ? { snapshot: snap } : {}) });
      }),
      { numRuns: 300 },
    );
  });

  it('events - the hot-path encoder matches the reference one for every hook with full details', () => {
    for (const type of HOOK_NAMES) {
      const r = recordFor(type, true);
      expect(encodeRecord(r, 'i-1', '"/s"', { machineVersion: 'v"1', packed: 'p"q' }, 5)).toBe(
        encodeEntry(toCloudEvent(r, 'i-1', '/s'), { machineVersion: 'v"1', packed: 'p"q' }, 5),
      );
    }
  });

  it('events - unknown types, other versions and malformed documents are skipped, not misread', () => {
    const ev = toCloudEvent(publish('c', 5), 'i', 's');
    expect(fromCloudEvent({ ...ev, type: 'io.hookwarden.message.publish_checked.v2' })).toBeUndefined();
    expect(fromCloudEvent({ ...ev, specversion: '0.3' })).toBeUndefined();
    expect(fromCloudEvent({ ...ev, data: { ...ev.data, at: 'x' } })).toBeUndefined();
    expect(decodeEntry('{"v":1,"seq":3,"event":')).toBeUndefined();
    expect(decodeEntry(encodeEntry(ev, undefined))).toBeUndefined(); // no position anywhere
    expect(decodeEntry(encodeEntry(ev, undefined), 9)?.seq).toBe(9);
    // a newer writer's extra fields are ignored
    const extended = { v: 1, seq: 4, event: { ...ev, extattr: 'x', data: { ...ev.data, newField: 1 } } };
    expect(decodeEntry(JSON.stringify(extended))?.record).toEqual(publish('c', 5));
  });

  it('events - the feed gets the hook event then its decision event; kinds can be excluded', () => {
    const entry: JournalEntry = { seq: 12, id: 'b-7', source: '/hookwarden/a', record: publish('dev.1', 10, deny) };
    const all = feedEventsOf(entry);
    expect(all.map((f) => f.kind)).toEqual(['message.publish_checked', 'decision.denied']);
    const d = all[1]?.event;
    expect(d).toMatchObject({ id: 'b-7/decision', type: 'io.hookwarden.decision.denied.v1', subject: 'dev.1' });
    expect(d?.data).toMatchObject({ eventId: 'b-7', decision: deny, topic: 't/1', hook: 'message.publish' });
    expect(d?.data).not.toHaveProperty('facts');
    expect(feedEventsOf(entry, new Set(['message.publish_checked'])).map((f) => f.kind)).toEqual(['decision.denied']);
    expect(feedEventsOf(entry, new Set(['decision.denied', 'message.publish_checked']))).toEqual([]);
  });
});
