/**
 * The event feed as a NATS user sees it, from a real `hookwarden serve
 * --nats` child driven the EMQX way: one client's connect → publish →
 * disconnect session arrives as CloudEvents in order on
 * `<prefix>.events.<category>.<name>.<client-key>`, each decision followed by
 * its `decision.*` event carrying the reason code (docs/EVENTS.md §5).
 */
import { streamName } from '../../src/journal/nats-journal.js';
import { fileURLToPath } from 'node:url';
import { AckPolicy, connect, type JsMsg, type Msg, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clientKey } from '../../src/journal/client-key.js';
import { loadSchemas, validate } from '../journal/json-schema-lite.js';
import { NatsServer } from '../support/nats-server.js';
import { startServe, type Hookwarden } from '../support/process.js';
import { BURST, Driver, connectSteps, sleep, steps, stopChild, until, workDir, type Step } from './e2e-support.js';

const schemas = loadSchemas(fileURLToPath(new URL('../../schemas', import.meta.url)));

let nats: NatsServer | undefined;
let nc: NatsConnection | undefined;
const started: Hookwarden[] = [];
const drivers: Driver[] = [];
const cleanups: (() => void)[] = [];
beforeAll(async () => {
  nats = await NatsServer.start();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await nats?.cleanup();
});
afterEach(async () => {
  for (const d of drivers.splice(0)) d.close();
  await Promise.all(started.splice(0).map(stopChild));
  for (const c of cleanups.splice(0)) c();
});

interface FeedEvent {
  readonly specversion: string;
  readonly id: string;
  readonly type: string;
  readonly subject: string;
  readonly data: {
    readonly clientId: string;
    readonly hook: string;
    readonly state: string;
    readonly eventId?: string;
    readonly topic?: string;
    readonly decision?: { readonly outcome: string; readonly reason: { readonly code: string; readonly policy: string } };
  };
}

/** The session of the client under test, and what the feed must show for each step (hook event, then decision event). */
function session(id: string): { script: Step[]; expected: string[] } {
  const own = `devices/${id}/t`;
  const script = [
    ...connectSteps(),
    steps.authorize(own),
    steps.authorize(`forbidden/${id}`),
    ...Array.from({ length: BURST + 1 }, () => steps.publish(own)),
    steps.disconnected(),
  ];
  const expected = [
    'client.connect_received',
    'client.authentication_checked',
    'decision.allowed authn.policy',
    'session.created',
    'client.connected',
    'client.connack_sent',
    'client.authorization_checked',
    'decision.allowed acl.rule',
    'client.authorization_checked',
    'decision.denied acl.rule',
    ...Array.from({ length: BURST }, () => ['message.publish_checked', 'decision.allowed limit.ok']).flat(),
    'message.publish_checked',
    'decision.denied limit.messages_rate',
    'client.disconnected',
  ];
  return { script, expected };
}

/** `<category>.<name>` plus, on decision events, the reason code. */
const shape = (ev: FeedEvent): string => {
  const kind = ev.type.replace(/^io\.hookwarden\./, '').replace(/\.v1$/, '');
  return kind.startsWith('decision.') ? `${kind} ${ev.data.decision?.reason.code}` : kind;
};

describe('feed (end to end)', () => {
  it('feed e2e - a NATS subscriber sees one client’s connect → publish → disconnect in order, on five-token subjects, decisions with their reason codes', async () => {
    const conn = nc as NatsConnection;
    const wd = workDir('feed');
    cleanups.push(wd.cleanup);
    const prefix = `hwfeed${process.pid}`;
    const feedStream = streamName(prefix, 'FEED');
    const live: Msg[] = [];
    const sub = conn.subscribe(`${prefix}.events.>`, { callback: (_err, m) => live.push(m) });
    await conn.flush();
    const hw = await startServe([
      '--nats',
      (nats as NatsServer).url,
      '--nats-prefix',
      prefix,
      '--policy',
      wd.policyFile,
      '--policy-watch',
      'false',
    ]);
    started.push(hw);
    const driver = new Driver(hw.port);
    drivers.push(driver);

    // the client under test has a dot in its id (not allowed in a subject token); a bystander interleaves
    const id = 'sensor.17';
    const { script, expected } = session(id);
    const bystander = session('bystander');
    await Promise.all([driver.run({ clientid: id, username: 'alice' }, script), driver.run({ clientid: 'bystander' }, bystander.script)]);
    expect(driver.failures).toEqual([]);
    const publishes = driver.valuedOf(id).filter((a) => a.hook === 'message.publish');
    expect(publishes.map((a) => a.outcome)).toEqual([...Array.from({ length: BURST }, () => 'allow'), 'deny']);

    const key = clientKey(id);
    const mine = (): Msg[] => live.filter((m) => m.subject.endsWith(`.${key}`));
    expect(await until(() => mine().length >= expected.length && live.length >= 2 * expected.length, 10_000), 'feed events arrived').toBe(
      true,
    );
    await sleep(300); // nothing more may follow
    sub.unsubscribe();

    for (const m of live) {
      const tokens = m.subject.split('.');
      expect(tokens, m.subject).toHaveLength(5);
      expect(tokens[0]).toBe(prefix);
      expect(tokens[1]).toBe('events');
      const ev = m.json<FeedEvent>();
      expect(`${tokens[2]}.${tokens[3]}`).toBe(ev.type.replace(/^io\.hookwarden\./, '').replace(/\.v1$/, ''));
      expect(tokens[4]).toBe(clientKey(ev.subject));
      expect(validate(schemas, 'urn:hookwarden:schema:event:v1', ev)).toEqual([]);
      expect(m.headers?.get('Content-Type')).toBe('application/cloudevents+json');
    }
    const events = mine().map((m) => m.json<FeedEvent>());
    expect(events.map(shape)).toEqual(expected);
    expect(events.every((e) => e.subject === id && e.data.clientId === id)).toBe(true);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    // journal order: the feed carries each record's journal position
    const seqs = mine().map((m) => Number(m.headers?.get('Hw-Journal-Seq')));
    expect(seqs.every((s, i) => i === 0 || s >= (seqs[i - 1] as number))).toBe(true);
    // each decision event follows its hook event and points at it
    events.forEach((e, i) => {
      if (!e.type.startsWith('io.hookwarden.decision.')) return;
      const hookEvent = events[i - 1] as FeedEvent;
      expect(e.data.eventId).toBe(hookEvent.id);
      expect(e.id).toBe(`${hookEvent.id}/decision`);
      expect(e.data.decision).toEqual(hookEvent.data.decision);
      expect(e.data.hook).toBe(hookEvent.data.hook);
    });
    const denied = events.find((e) => e.type === 'io.hookwarden.decision.denied.v1' && e.data.hook === 'message.publish');
    expect(denied?.data.decision).toMatchObject({ outcome: 'deny', reason: { code: 'limit.messages_rate', policy: 'default' } });
    expect(events.at(-1)?.data.state).toBe('disconnected');
    expect(events.find((e) => e.data.hook === 'client.connected')?.data.state).toBe('connected');
    // the bystander's events are its own, in its own order
    expect(live.filter((m) => m.subject.endsWith(`.${clientKey('bystander')}`)).map((m) => shape(m.json<FeedEvent>()))).toEqual(
      bystander.expected,
    );

    // a durable JetStream consumer on the feed stream gets the same sequence, nothing more
    const jsm = await conn.jetstreamManager();
    await jsm.consumers.add(feedStream, {
      durable_name: 'e2e',
      ack_policy: AckPolicy.Explicit,
      filter_subject: `${prefix}.events.*.*.${key}`,
    });
    const consumer = await conn.jetstream().consumers.get(feedStream, 'e2e');
    // asks for more than expected: the fetch ends at its expiry, so extra events would show
    const stored: JsMsg[] = [];
    for await (const m of await consumer.fetch({ max_messages: expected.length + 5, expires: 2000 })) {
      m.ack();
      stored.push(m);
    }
    expect(stored.map((m) => shape(m.json<FeedEvent>()))).toEqual(expected);
    expect((await jsm.consumers.info(feedStream, 'e2e')).num_pending, 'nothing left in the feed stream').toBe(0);
  }, 40_000);
});
