/**
 * Forwarding during a rolling upgrade: an instance that meets a client
 * written by a newer machine version cannot fold that state, so it hands the
 * client's hooks to an instance that can. Every instance serves the subject
 * `<prefix>.forward.<machine-version>` (queue group: one of them answers);
 * the caller sends the version-neutral `HookEvent` as JSON and gets the
 * `Decision` back. No responder (no instance of that version is up) or no
 * answer within the deadline → the caller answers the configured fallback.
 *
 * A forwarded hook is never forwarded again (`Hw-Forwarded` header), so two
 * versions that cannot read each other's state cannot loop.
 */
import { headers, type Msg, type NatsConnection, type Subscription } from 'nats';
import type { Decision } from '../domain/decision.js';
import { isValuedEvent, type HookEvent, type NotificationEvent, type ValuedEvent } from '../domain/hook-event.js';
import type { Logger } from '../observability/logger.js';

/** The dispatcher side a forwarded hook is handed to (HookService). */
export interface ForwardTarget {
  decide(event: ValuedEvent, deadline: number, forwarded: true): Decision | Promise<Decision>;
  notify(event: NotificationEvent, forwarded: true): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The subject token of a machine version (`client-2.1` → `client-2_1`). */
export const versionToken = (machineVersion: string): string => machineVersion.replace(/[^A-Za-z0-9_-]/g, '_');

/** JSON of a hook event; byte payloads as `{ "$b64": … }`. */
export function encodeHookEvent(event: HookEvent): Uint8Array {
  return encoder.encode(
    JSON.stringify(event, (_k, v: unknown) => (v instanceof Uint8Array ? { $b64: Buffer.from(v).toString('base64') } : v)),
  );
}

export function decodeHookEvent(data: Uint8Array): HookEvent {
  return JSON.parse(decoder.decode(data), (_k, v: unknown) =>
    typeof v === 'object' && v !== null && typeof (v as { $b64?: unknown }).$b64 === 'string'
      ? Buffer.from((v as { $b64: string }).$b64, 'base64')
      : v,
  ) as HookEvent;
}

export class Forwarding {
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #log: Logger;
  #sub: Subscription | undefined;
  forwarded = 0;
  served = 0;

  constructor(nc: NatsConnection, prefix: string, log: Logger) {
    this.#nc = nc;
    this.#prefix = prefix;
    this.#log = log;
  }

  /** Serve hooks forwarded to this instance's machine version. */
  serve(machineVersion: string, target: ForwardTarget): void {
    this.#sub = this.#nc.subscribe(`${this.#prefix}.forward.${versionToken(machineVersion)}`, {
      queue: 'hookwarden-forward',
      callback: (err, m) => {
        if (!err) void this.#serveOne(m, target);
      },
    });
  }

  async #serveOne(m: Msg, target: ForwardTarget): Promise<void> {
    this.served++;
    try {
      const event = decodeHookEvent(m.data);
      const deadline = Number(m.headers?.get('Hw-Deadline')) || Date.now() + 1000;
      if (isValuedEvent(event)) {
        const d = await target.decide(event, deadline, true);
        m.respond(encoder.encode(JSON.stringify(d)));
      } else {
        target.notify(event as NotificationEvent, true);
        if (m.reply) m.respond(encoder.encode('{}'));
      }
    } catch (err) {
      this.#log.warn({ err }, 'a forwarded hook could not be served');
      if (m.reply) m.respond(encoder.encode(JSON.stringify({ error: (err as Error).message })));
    }
  }

  /** Hand a valued hook to an instance of `machineVersion`; rejects when none answers in time. */
  async decide(event: ValuedEvent, machineVersion: string, deadline: number): Promise<Decision> {
    this.forwarded++;
    const h = headers();
    h.set('Hw-Forwarded', '1');
    h.set('Hw-Deadline', String(deadline));
    const reply = await this.#nc.request(`${this.#prefix}.forward.${versionToken(machineVersion)}`, encodeHookEvent(event), {
      timeout: Math.max(1, deadline - Date.now()),
      headers: h,
    });
    const d = JSON.parse(decoder.decode(reply.data)) as Decision & { error?: string };
    if (d.error !== undefined || typeof d.outcome !== 'string') throw new Error(`the forwarded hook failed: ${d.error ?? 'no decision'}`);
    return d;
  }

  /** Hand a notification over (not awaited: EMQX already has its answer). */
  notify(event: NotificationEvent, machineVersion: string): void {
    this.forwarded++;
    const h = headers();
    h.set('Hw-Forwarded', '1');
    this.#nc.publish(`${this.#prefix}.forward.${versionToken(machineVersion)}`, encodeHookEvent(event), { headers: h });
  }

  close(): void {
    this.#sub?.unsubscribe();
  }
}
