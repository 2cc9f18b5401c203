/**
 * A durable subscriber of hookwarden's event feed (docs/EVENTS.md §Feed).
 *
 *   npm run build
 *   node dist/examples/feed-subscriber.js [NATS_URL] [FILTER] [DURABLE] [FEED_STREAM]
 *   node dist/examples/feed-subscriber.js nats://127.0.0.1:4222 'hookwarden.events.decision.denied.>' deny-audit
 *
 * Creates (or reuses) a durable pull consumer on the feed stream, prints one
 * line per CloudEvent and acknowledges it. Stop it and start it again: it
 * continues after the last acknowledged event, with no gap and no
 * duplicate. Ctrl-C stops it cleanly.
 */
import { AckPolicy, connect, DeliverPolicy, type ConsumerMessages } from 'nats';

interface FeedEvent {
  readonly id: string;
  readonly type: string;
  readonly time: string;
  readonly subject: string;
  readonly data: { readonly hook?: string; readonly decision?: { readonly outcome: string; readonly reason: { readonly code: string; readonly detail: string } } };
}

const [url = 'nats://127.0.0.1:4222', filter = 'hookwarden.events.>', durable = 'feed-example', stream = 'HOOKWARDEN_FEED'] = process.argv.slice(2);

const nc = await connect({ servers: url, name: `hookwarden-feed-${durable}`, maxReconnectAttempts: -1, pingInterval: 2000 });
const jsm = await nc.jetstreamManager();
const existing = await jsm.consumers.info(stream, durable).catch(() => undefined);
if (existing && existing.config.filter_subject !== filter) {
  process.stderr.write(`consumer ${durable} exists with filter ${existing.config.filter_subject}; pick another durable name or delete it (nats consumer rm ${stream} ${durable})\n`);
  process.exit(2);
}
if (!existing) {
  await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: filter });
}
const consumer = await nc.jetstream().consumers.get(stream, durable);
process.stderr.write(`reading ${stream} ${filter} as ${durable} from ${url} (Ctrl-C to stop)\n`);

let messages: ConsumerMessages | undefined;
let stopping = false;
process.once('SIGINT', () => {
  stopping = true;
  messages?.stop();
});

while (!stopping) {
  messages = await consumer.consume({ max_messages: 256 });
  for await (const m of messages) {
    const ev = m.json<FeedEvent>();
    const d = ev.data.decision;
    const verdict = d ? ` ${d.outcome} (${d.reason.code}: ${d.reason.detail})` : '';
    process.stdout.write(`${ev.time} ${ev.type} ${JSON.stringify(ev.subject)}${verdict}\n`);
    m.ack();
  }
}
await nc.drain();
