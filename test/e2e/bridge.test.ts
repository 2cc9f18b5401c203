/**
 * The message bridge through a real hookwarden: allowed publishes arrive on
 * `<prefix>.msg.…` byte-exact; a publish the policy dropped never does.
 */
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServer } from '../support/nats-server.js';
import { META, message, type Who } from '../support/emqx-shapes.js';
import { startHarness, type Harness } from '../support/in-process.js';

let nats: NatsServer;
let h: Harness;
let nc: NatsConnection;
const prefix = `hwbr${process.pid}`;

beforeAll(async () => {
  nats = await NatsServer.start();
  h = await startHarness({
    policy: 'default:\n  limits: { messages_rate: "1/m", messages_burst: 2 }\n',
    config: {
      nats: { servers: [nats.url], prefix, feed: false, feedExclude: [] },
      bridgeTopics: ['sensors/#'],
      watchPolicy: false,
    },
  });
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  await nc?.close();
  await h?.close();
  await nats?.cleanup();
});

describe('bridge through hookwarden', () => {
  it('bridge e2e - allowed messages arrive byte-exact on escaped subjects, dropped ones never', async () => {
    const got: { subject: string; data: Uint8Array }[] = [];
    const sub = nc.subscribe(`${prefix}.msg.>`, { callback: (_e, m) => got.push({ subject: m.subject, data: m.data }) });
    await nc.flush();
    const w: Who = { clientid: 'dev-1', username: 'u' };
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const answers = [];
    answers.push(await h.client.call<{ type: string }>('OnMessagePublish', { message: message(w, 'sensors/a.b/t', binary), meta: META }));
    answers.push(
      await h.client.call<{ type: string }>('OnMessagePublish', { message: message(w, 'sensors/empty', Buffer.alloc(0)), meta: META }),
    );
    answers.push(await h.client.call<{ type: string }>('OnMessagePublish', { message: message(w, 'sensors/dropped', 'no'), meta: META }));
    answers.push(
      await h.client.call<{ type: string }>('OnMessagePublish', { message: message({ clientid: 'dev-2' }, 'other/t', 'x'), meta: META }),
    );
    expect(answers.map((a) => a.type)).toEqual(['IGNORE', 'IGNORE', 'STOP_AND_RETURN', 'IGNORE']);
    for (let i = 0; i < 50 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    sub.unsubscribe();
    expect(got.map((g) => g.subject)).toEqual([`${prefix}.msg.sensors.a%2Eb.t`, `${prefix}.msg.sensors.empty`]);
    expect(Buffer.from(got[0]?.data ?? []).equals(binary)).toBe(true);
    expect(got[1]?.data.length).toBe(0);
  });
});
