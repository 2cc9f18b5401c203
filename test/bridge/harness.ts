/** Helpers for bridge tests against a real nats-server. */
import type { Msg, NatsConnection } from 'nats';

let n = 0;

/** A prefix and stream name no other test (or test process) uses. */
export function unique(): { prefix: string; stream: string } {
  n++;
  const tag = `${process.pid}_${n}_${Math.random().toString(36).slice(2, 6)}`;
  return { prefix: `hwb${tag}`, stream: `HWBRIDGE_${tag}` };
}

/** Poll `cond` every 10 ms; throw naming `what` after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every message on `subject`, in arrival order; subscribed (and confirmed by the server) before it returns. */
export async function collect(nc: NatsConnection, subject: string): Promise<{ msgs: Msg[]; stop: () => void }> {
  const msgs: Msg[] = [];
  const sub = nc.subscribe(subject, { callback: (err, m) => (err ? undefined : msgs.push(m)) });
  await nc.flush();
  return { msgs, stop: () => sub.unsubscribe() };
}

/** Bytes 0x00..0xFF, then `size` pseudo-random bytes. */
export const allBytes = (): Uint8Array => Uint8Array.from({ length: 256 }, (_, i) => i);
export function bigPayload(size: number): Uint8Array {
  const b = new Uint8Array(size);
  let x = 0x2545f491;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}
