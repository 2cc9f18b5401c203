/** `nats.shards` and `nats.shard_tags`: file, environment and flag; bounds; they need a NATS server. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HELP } from '../../src/cli.js';
import { loadConfig } from '../../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'hw-shards-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('config nats.shards', () => {
  it('config - nats.shards from file, env and flag; absent means unset (serve takes 1, tools the streams)', () => {
    const f = join(dir, 'c.yaml');
    writeFileSync(f, 'nats:\n  servers: nats://127.0.0.1:4222\n  shards: 6\n  shard_tags: [zone:0, zone:1, zone:2]\n');
    expect(loadConfig({ config: f }, {}).nats).toMatchObject({ shards: 6, shardTags: ['zone:0', 'zone:1', 'zone:2'] });
    expect(loadConfig({ config: f }, { HOOKWARDEN_NATS_SHARDS: '3' }).nats?.shards).toBe(3);
    expect(loadConfig({ config: f, 'nats-shards': '2' }, { HOOKWARDEN_NATS_SHARDS: '3' }).nats?.shards).toBe(2);
    expect(loadConfig({ nats: 'nats://127.0.0.1:4222', 'nats-shard-tags': 'a:1,b:2' }, {}).nats?.shardTags).toEqual(['a:1', 'b:2']);
    const plain = loadConfig({ nats: 'nats://127.0.0.1:4222' }, {}).nats;
    expect(plain?.shards).toBeUndefined();
    expect(plain?.shardTags).toBeUndefined();
  });

  it('config - a shard count outside 1..64, or shards without a NATS server, is an issue naming the key', () => {
    for (const bad of ['0', '65', 'four', '2.5']) {
      expect(() => loadConfig({ nats: 'nats://127.0.0.1:4222', 'nats-shards': bad }, {})).toThrow(
        /nats-shards.*whole number from 1 to 64/s,
      );
    }
    expect(() => loadConfig({ 'nats-shards': '4' }, {})).toThrow(/NATS options are set but no server is/);
  });

  it('config - the shard keys are documented in docs/CONFIG.md and the CLI help', () => {
    const doc = readFileSync(new URL('../../docs/CONFIG.md', import.meta.url), 'utf8');
    for (const s of ['`nats.shards`', '`nats.shard_tags`', '`HOOKWARDEN_NATS_SHARDS`', '`HOOKWARDEN_NATS_SHARD_TAGS`'])
      expect(doc).toContain(s);
    expect(HELP).toContain('--nats-shards N');
    expect(HELP).toContain('--nats-shard-tags LIST');
  });
});
