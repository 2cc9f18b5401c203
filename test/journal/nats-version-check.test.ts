/**
 * checkNatsServer on a real connection: the version report and advisories are
 * logged once, a reconnect to the same server logs nothing new, and a server
 * without JetStream is refused with EXH_NATS_UNSUPPORTED.
 */
import { connect, type NatsConnection } from 'nats';
import { afterEach, describe, expect, it } from 'vitest';
import { checkNatsServer } from '../../src/journal/nats-version.js';
import { createLogger } from '../../src/observability/logger.js';
import { NatsServer } from '../support/nats-server.js';

interface Line {
  readonly level: string;
  readonly msg: string;
  readonly advisory?: string;
  readonly nats?: { readonly version: string };
}

function capture(): { log: ReturnType<typeof createLogger>; lines: Line[] } {
  const lines: Line[] = [];
  const log = createLogger('info', { write: (s: string) => lines.push(JSON.parse(s) as Line) });
  return { log, lines };
}

const servers: NatsServer[] = [];
const conns: NatsConnection[] = [];
afterEach(async () => {
  await Promise.all(conns.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.cleanup()));
});

describe('checkNatsServer', () => {
  it('reports the server once and its advisories once, across a reconnect', async () => {
    const nats = await NatsServer.start();
    servers.push(nats);
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
    conns.push(nc);
    const { log, lines } = capture();
    const advisories = checkNatsServer(nc, log);
    const report = lines.filter((l) => l.msg === 'NATS server');
    expect(report).toHaveLength(1);
    expect(report[0]?.nats?.version).toBe(nc.info?.version);
    const logged = lines.filter((l) => l.advisory).map((l) => `${l.level}:${l.advisory}`);
    expect(logged).toEqual(advisories.map((a) => `${a.level}:${a.code}`));

    const reconnected = (async () => {
      for await (const s of nc.status()) if (s.type === 'reconnect') return;
    })();
    await nats.restart();
    await reconnected;
    await nc.flush();
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.filter((l) => l.advisory).map((l) => `${l.level}:${l.advisory}`)).toEqual(logged);
  });

  it('refuses a server without JetStream, listing the fix', async () => {
    const plain = await NatsServer.start({ jetstream: false });
    servers.push(plain);
    const nc = await connect({ servers: plain.url });
    conns.push(nc);
    const { log, lines } = capture();
    let thrown: unknown;
    try {
      checkNatsServer(nc, log);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'EXH_NATS_UNSUPPORTED', message: expect.stringMatching(/without JetStream[\s\S]*-js/) });
    expect(lines.find((l) => l.advisory === 'jetstream-disabled')?.level).toBe('error');
  });
});
