/**
 * A client's shard: FNV-1a-32 of its key token mod N, checked against the
 * published FNV test vectors and against nats-server's own
 * `{{partition(N,1)}}` subject mapping (DISTRIBUTED.md §2.1) on a test-owned
 * server. Also the layout rule that refuses a shard count the streams disagree with.
 */
import fc from 'fast-check';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientKey, fnv1a32, MAX_SHARDS, shardOf, shardOfKey, subjectNames } from '../../src/journal/client-key.js';
import { JournalError } from '../../src/journal/journal-errors.js';
import { resolveShards, type JournalLayout } from '../../src/journal/shard-layout.js';
import { NatsServer } from '../support/nats-server.js';
import { NASTY_IDS } from './records.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('shard of a client', () => {
  it('shard-key - FNV-1a-32 matches the reference test vectors', () => {
    // Fowler/Noll/Vo reference values for FNV-1a, 32 bits
    expect(fnv1a32(bytes(''))).toBe(0x811c9dc5);
    expect(fnv1a32(bytes('a'))).toBe(0xe40c292c);
    expect(fnv1a32(bytes('foobar'))).toBe(0xbf9cf968);
  });

  it('shard-key - the shard is FNV-1a-32 of the key token mod N; one shard is always 0', () => {
    // known values, also what nats-server 2.9.10 mapped these tokens to with {{partition(4,1)}}
    expect(shardOfKey('c2Vuc29yLjE3', 4)).toBe(0); // "sensor.17"
    expect(shardOfKey('_', 4)).toBe(2); // ""
    expect(shardOfKey('YQ', 4)).toBe(3); // "a"
    expect(shardOfKey('Zm9vYmFy', 4)).toBe(0); // "foobar"
    expect(shardOf('sensor.17', 4)).toBe(0);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), fc.integer({ min: 1, max: MAX_SHARDS }), (id, n) => {
        const s = shardOf(id, n);
        expect(s).toBe(fnv1a32(bytes(clientKey(id))) % n);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThan(n);
        if (n === 1) expect(s).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('shard-key - sharded journal subjects carry the shard token; unsharded ones are unchanged', () => {
    expect(subjectNames('hookwarden').journal('a')).toBe('hookwarden.journal.YQ');
    expect(subjectNames('hookwarden').journalAll).toBe('hookwarden.journal.*');
    const s3 = subjectNames('hookwarden', 3);
    expect(s3.journal('a')).toBe('hookwarden.journal.3.YQ');
    expect(s3.journalAll).toBe('hookwarden.journal.3.*');
    expect(s3.feed('client', 'connected', 'a')).toBe('hookwarden.events.client.connected.YQ');
    expect(() => subjectNames('hookwarden', MAX_SHARDS)).toThrow(/invalid shard/);
  });

  it('shard-key - the spread over 8 shards is even enough for 4000 ids', () => {
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 4000; i++) counts[shardOf(`device-${i}`, 8)]! += 1;
    for (const c of counts) expect(c).toBeGreaterThan(400); // 500 expected each
  });
});

describe('shard-key against nats-server', () => {
  let server: NatsServer;
  beforeAll(async () => {
    // the server computes the partition itself: shard-in.<key> → shard-out.<partition>.<key>
    server = await NatsServer.start({
      jetstream: false,
      config: `mappings = {
  "p4.in.*": "p4.out.{{partition(4,1)}}.{{wildcard(1)}}"
  "p7.in.*": "p7.out.{{partition(7,1)}}.{{wildcard(1)}}"
  "p64.in.*": "p64.out.{{partition(64,1)}}.{{wildcard(1)}}"
}
`,
    });
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it("shard-key - shardOf equals the server's {{partition(N,1)}} mapping for N = 4, 7, 64", async () => {
    const nc = await connect({ servers: server.url });
    try {
      const ids = [...NASTY_IDS, 'sensor.17', 'x'.repeat(49), ...Array.from({ length: 60 }, (_, i) => `dev/${i}/ü`)];
      for (const n of [4, 7, 64]) {
        const got = new Map<string, number>();
        const sub = nc.subscribe(`p${n}.out.*.*`, {
          callback: (_e, m) => {
            const [, , shard, key] = m.subject.split('.');
            got.set(key as string, Number(shard));
          },
        });
        for (const id of ids) nc.publish(`p${n}.in.${clientKey(id)}`);
        await nc.flush();
        const until = Date.now() + 3000;
        while (got.size < new Set(ids.map(clientKey)).size && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
        sub.unsubscribe();
        for (const id of ids) expect(got.get(clientKey(id)), `${JSON.stringify(id)} with ${n} shards`).toBe(shardOf(id, n));
      }
    } finally {
      await nc.close();
    }
  });
});

describe('shard layout', () => {
  const layout = (unsharded: number | undefined, shards: Record<number, number>): JournalLayout => ({
    ...(unsharded !== undefined ? { unsharded: { name: 'HW_JOURNAL', messages: unsharded } } : {}),
    shards: new Map(Object.entries(shards).map(([i, m]) => [Number(i), { name: `HW_JOURNAL_${i}`, messages: m }])),
  });
  const refusal = (l: JournalLayout, n: number | undefined): string => {
    try {
      resolveShards(l, 'hw', n);
    } catch (err) {
      expect(err).toBeInstanceOf(JournalError);
      expect((err as JournalError).code).toBe('EXH_JOURNAL_SETUP');
      return (err as Error).message;
    }
    return 'accepted';
  };

  it('shard-layout - a new deployment takes the configured count; tools read the count the streams have', () => {
    expect(resolveShards(layout(undefined, {}), 'hw', 4)).toBe(4);
    expect(resolveShards(layout(undefined, {}), 'hw', undefined)).toBe(1);
    expect(resolveShards(layout(5, {}), 'hw', undefined)).toBe(1);
    expect(resolveShards(layout(undefined, { 0: 3, 1: 0, 2: 9, 3: 1 }), 'hw', undefined)).toBe(4);
    expect(resolveShards(layout(undefined, { 0: 3, 1: 0, 2: 9, 3: 1 }), 'hw', 4)).toBe(4);
    expect(resolveShards(layout(0, { 0: 3, 1: 0 }), 'hw', 2)).toBe(2); // an empty unsharded stream holds nothing to lose
    expect(resolveShards(layout(undefined, { 0: 0, 1: 0 }), 'hw', 4)).toBe(4); // streams without records: nothing moves
  });

  it('shard-layout - a count that disagrees with streams holding records is refused, naming the key and the fix', () => {
    const toOne = refusal(layout(undefined, { 0: 3, 1: 0, 2: 9, 3: 1 }), 1);
    expect(toOne).toMatch(/sharded into 4 streams/);
    expect(toOne).toMatch(/nats\.shards \(--nats-shards N, HOOKWARDEN_NATS_SHARDS\) is 1: set it to 4/);
    expect(toOne).toMatch(/docs\/CLUSTER\.md#shards/);
    expect(refusal(layout(7, {}), 4)).toMatch(
      /not sharded \(stream HW_JOURNAL holds 7 records\), but nats\.shards .* is 4: remove the setting/,
    );
    expect(refusal(layout(undefined, { 0: 1, 1: 1 }), 4)).toMatch(/sharded into 2 streams .* is 4: .*set it back to 2/);
    expect(refusal(layout(2, { 0: 1 }), undefined)).toMatch(/pass --nats-shards to choose/);
    expect(refusal(layout(undefined, {}), 65)).toMatch(/from 1 to 64/);
  });
});
