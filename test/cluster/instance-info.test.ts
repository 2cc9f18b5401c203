import { describe, expect, it } from 'vitest';
import { formatInstances, shardRanges, shortDuration } from '../../src/cluster/cluster-cli.js';
import { sumHookCounts } from '../../src/cluster/hook-counter.js';
import { instanceKey, isStale, liveInstances, parseInstanceInfo, ratePerSec, type InstanceInfo } from '../../src/cluster/instance-info.js';

const NOW = 1_800_000_000_000;
const info = (over: Partial<InstanceInfo> = {}): InstanceInfo => ({
  name: 'alpha',
  runId: 'a1b2c3d4e5f6',
  version: '0.1.0',
  machineVersion: 'client-2.1',
  schemaVersion: 1,
  host: 'h',
  pid: 1,
  startedAt: NOW - 125_000,
  lastSeen: NOW - 1500,
  heartbeatMs: 2000,
  ttlMs: 10_000,
  hookPort: 9000,
  load: { hooksPerSec: 12.5, valuedPerSec: 3, clients: 42, journalPending: 0, journalConflicts: 0 },
  emqxNodes: ['emqx@n1', 'emqx@n2'],
  shards: [0, 1, 2, 5],
  ...over,
});

describe('instance info', () => {
  it('instances - keys are KV-safe and unique per run', () => {
    expect(instanceKey('node-a', 'abc123')).toBe('node-a.abc123');
    expect(instanceKey('pod 7.example/x*', 'r1')).toBe('pod_7_example_x_.r1');
    expect(instanceKey('', 'r1')).toBe('_.r1');
    expect(instanceKey('a', 'r1')).not.toBe(instanceKey('a', 'r2'));
    expect(instanceKey('x'.repeat(200), 'r').length).toBeLessThanOrEqual(66);
  });

  it('instances - parse keeps known fields, ignores unknown ones, rejects junk', () => {
    const i = info();
    expect(parseInstanceInfo(JSON.stringify({ ...i, future: true }), 10_000)).toEqual(i);
    expect(parseInstanceInfo('not json', 10_000)).toBeUndefined();
    expect(parseInstanceInfo('[1,2]', 10_000)).toBeUndefined();
    expect(parseInstanceInfo(JSON.stringify({ name: 'x' }), 10_000)).toBeUndefined();
    const minimal = parseInstanceInfo(JSON.stringify({ name: 'x', runId: 'r', lastSeen: NOW, hookPort: 1 }), 7000);
    expect(minimal?.ttlMs).toBe(7000);
    expect(minimal?.load.clients).toBe(0);
    expect(minimal?.shards).toEqual([]);
  });

  it('instances - an entry is stale once its last heartbeat is older than its TTL', () => {
    expect(isStale(info({ lastSeen: NOW - 10_000 }), NOW)).toBe(false);
    expect(isStale(info({ lastSeen: NOW - 10_001 }), NOW)).toBe(true);
    const live = liveInstances([info({ name: 'b' }), info({ name: 'old', lastSeen: NOW - 60_000 }), info({ name: 'a' })], NOW);
    expect(live.map((i) => i.name)).toEqual(['a', 'b']);
  });

  it('instances - rates per second over the interval', () => {
    expect(ratePerSec(50, 2000)).toBe(25);
    expect(ratePerSec(1, 3000)).toBe(0.3);
    expect(ratePerSec(0, 2000)).toBe(0);
    expect(ratePerSec(5, 0)).toBe(0);
  });

  it('instances - the cluster table shows every column; none gives a clear message', () => {
    const out = formatInstances([info(), info({ name: 'beta', runId: 'ffff', emqxNodes: [], shards: [] })], 'hookwarden', NOW);
    const [header, alpha, beta] = out.split('\n');
    expect(header).toMatch(/^NAME\s+VERSION\s+MACHINE\s+AGE\s+SEEN\s+HOOKS\/S\s+VALUED\/S\s+CLIENTS\s+EMQX NODES\s+SHARDS$/);
    expect(alpha).toMatch(/^alpha\s+0\.1\.0\s+client-2\.1\s+2m\s+1s ago\s+12\.5\s+3\s+42\s+emqx@n1,emqx@n2\s+0-2,5$/);
    expect(beta).toMatch(/^beta\s+.*\s+-\s+-$/);
    expect(out).toContain('2 instances under prefix "hookwarden"');
    expect(formatInstances([], 'p1', NOW)).toContain('no hookwarden instances are announced under prefix "p1"');
    const twins = formatInstances([info({ runId: 'r1' }), info({ runId: 'r2', version: '0.2.0' })], 'p', NOW);
    expect(twins).toContain('alpha (r1)');
    expect(twins).toContain('2 different versions');
  });

  it('instances - short durations and shard ranges', () => {
    expect([
      shortDuration(850),
      shortDuration(12_400),
      shortDuration(300_000),
      shortDuration(7_200_000),
      shortDuration(2 * 86_400_000),
    ]).toEqual(['850ms', '12s', '5m', '2h', '2d']);
    expect(shardRanges([9, 0, 1, 2, 3, 7, 10, 3])).toBe('0-3,7,9-10');
    expect(shardRanges([])).toBe('');
  });

  it('instances - hook counts sum every meter cell; valued ones are authenticate, authorize and publish', () => {
    const cells = [
      { hook: 'client.connected', calls: 10 },
      { hook: 'client.authorize', calls: 4 },
      { hook: 'client.authorize', calls: 1 },
      { hook: 'message.publish', calls: 2 },
      { hook: 'client.authenticate', calls: 3 },
      { hook: 'message.delivered', calls: 7 },
    ];
    expect(sumHookCounts(cells)).toEqual({ hooks: 27, valued: 10 });
    expect(sumHookCounts([])).toEqual({ hooks: 0, valued: 0 });
  });
});
