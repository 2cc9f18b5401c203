/**
 * One test-owned nats-server per test file, a plain connection to it, and
 * the journals a test opens, closed after each test:
 *
 *   const nats = natsFixture();
 *   it('…', async () => { const j = nats.track(await NatsJournal.open({ connect: { servers: nats.url } })); … });
 */
import { connect, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { NatsServer } from './nats-server.js';

export interface NatsFixture {
  readonly server: NatsServer;
  readonly nc: NatsConnection;
  readonly url: string;
  /** Close `closable` after the current test. */
  track<T extends { close(): Promise<unknown> }>(closable: T): T;
  /** A tag unique to this file and call (stream names, prefixes). */
  tag(): string;
}

export function natsFixture(): NatsFixture {
  let server: NatsServer | undefined;
  let nc: NatsConnection | undefined;
  let n = 0;
  const open: { close(): Promise<unknown> }[] = [];
  beforeAll(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.cleanup();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close().catch(() => undefined)));
  });
  const need = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('natsFixture: used outside a test');
    return v;
  };
  return {
    get server() {
      return need(server);
    },
    get nc() {
      return need(nc);
    },
    get url() {
      return need(server).url;
    },
    track: (closable) => {
      open.push(closable);
      return closable;
    },
    tag: () => `${process.pid}_${++n}`,
  };
}
