/** Calls and journal reads shared by the in-process cluster tests (several harnesses, one NATS). */
import type { NatsConnection } from 'nats';
import { decodeEntries } from '../../src/journal/events.js';
import { META, clientinfo, message, type ValuedReply, type Who } from './emqx-shapes.js';
import type { Harness } from './in-process.js';

/** One of the instances, at random (an L7 balancer). */
export const pickOf = (instances: readonly Harness[]): Harness => instances[Math.floor(Math.random() * instances.length)] as Harness;

export const publishVia = (h: Harness, w: Who, i: number) =>
  h.client.call<ValuedReply>('OnMessagePublish', { message: message(w, `t/${i}`, `m${i}`, 1), meta: META });

export const authorizeVia = (h: Harness, w: Who) =>
  h.client.call<ValuedReply>('OnClientAuthorize', { clientinfo: clientinfo(w), type: 'PUBLISH', topic: 't/1', result: true, meta: META });

/** Every record of a client in one journal stream, in stream order, with its message's sequence. */
export async function recordsInStream(
  nc: NatsConnection,
  stream: string,
  clientId: string,
): Promise<{ seq: number; at: number; hook: string; id: string }[]> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(stream);
  const out: { seq: number; at: number; hook: string; id: string }[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined);
    if (!m) continue;
    for (const e of decodeEntries(new TextDecoder().decode(m.data), seq) ?? []) {
      if (e.record.clientId === clientId) out.push({ seq, at: e.record.at, hook: e.record.hook, id: e.id });
    }
  }
  return out;
}
