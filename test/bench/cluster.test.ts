import { describe, expect, it } from 'vitest';
import { clusterConfig, firstSessionOf, parseClusterArgs, perThousand, sumSamples } from '../../bench/cluster-args.js';
import { buildFrameSet } from '../../bench/frames.js';
import { connectionOfCall, homeConnection, parseTargets, targetOfConnection } from '../../bench/routing.js';

/** A seeded generator in [0, 1) (mulberry32), so the spread checks are repeatable. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('cluster bench routing', () => {
  const CONNS = 9;
  const TARGETS = 3;
  const clients = buildFrameSet('mix', { clients: 300, publishesPerSession: 2 }).sessions;

  it('routing - connections spread round robin: 9 over 3 instances is 3 each', () => {
    const per = [0, 0, 0];
    for (let c = 0; c < CONNS; c += 1) per[targetOfConnection(c, TARGETS)]! += 1;
    expect(per).toEqual([3, 3, 3]);
    expect(targetOfConnection(5, 1)).toBe(0); // the single-target path: every connection to the one server
  });

  it('routing - affinity sends every call of a client to one instance, and the clients cover every instance', () => {
    const rand = seeded(1);
    const used = new Set<number>();
    for (const s of clients) {
      const home = homeConnection(s.clientid, CONNS);
      const instances = new Set(s.calls.map(() => targetOfConnection(connectionOfCall('affinity', home, CONNS, rand), TARGETS)));
      expect(instances.size).toBe(1);
      used.add([...instances][0]!);
    }
    expect(used).toEqual(new Set([0, 1, 2]));
  });

  it('routing - random spreads the calls of a client over all instances, about evenly', () => {
    const rand = seeded(7);
    const per = [0, 0, 0];
    let switches = 0;
    let calls = 0;
    for (const s of clients) {
      const home = homeConnection(s.clientid, CONNS);
      let last = -1;
      for (let k = 0; k < s.calls.length; k += 1) {
        const conn = connectionOfCall('random', home, CONNS, rand);
        expect(conn).toBeGreaterThanOrEqual(0);
        expect(conn).toBeLessThan(CONNS);
        const t = targetOfConnection(conn, TARGETS);
        per[t]! += 1;
        if (last >= 0 && t !== last) switches += 1;
        last = t;
        calls += 1;
      }
    }
    for (const n of per) expect(n / calls).toBeCloseTo(1 / 3, 1);
    // a call goes to another instance than the client's previous call about 2 times in 3
    expect(switches / (calls - clients.length)).toBeGreaterThan(0.6);
    expect(switches / (calls - clients.length)).toBeLessThan(0.73);
    expect(connectionOfCall('random', 0, CONNS, () => 0.999999999)).toBe(CONNS - 1);
  });

  it('routing - parses a target list', () => {
    expect(parseTargets('127.0.0.1:9000,localhost:9001')).toEqual([
      { host: '127.0.0.1', port: 9000 },
      { host: 'localhost', port: 9001 },
    ]);
    expect(() => parseTargets('127.0.0.1')).toThrow(/host:port/);
    expect(() => parseTargets('127.0.0.1:0')).toThrow(/host:port/);
  });
});

describe('cluster bench arguments', () => {
  it('args - defaults: all four configurations, 3 instances, 9 connections, 3 rounds of 5 s', () => {
    const a = parseClusterArgs([]);
    expect(a.configs).toEqual(['floor', 'one', 'affinity', 'random']);
    expect(a).toMatchObject({
      instances: 3,
      connections: 9,
      rounds: 3,
      durationMs: 5000,
      warmupMs: 3000,
      concurrency: 64,
      clients: 10_000,
      version: 'v2',
    });
    expect(a.nats).toBeUndefined();
  });

  it('args - --only keeps the canonical order, flags are checked', () => {
    const a = parseClusterArgs([
      '--only',
      'random,floor',
      '--rounds',
      '2',
      '--duration',
      '3',
      '--nats',
      'nats://127.0.0.1:4222',
      '--hookwarden-arg=--policy=x',
    ]);
    expect(a.configs).toEqual(['floor', 'random']);
    expect(a).toMatchObject({ rounds: 2, durationMs: 3000, nats: 'nats://127.0.0.1:4222', hookwardenArgs: ['--policy=x'] });
    expect(() => parseClusterArgs(['--only', 'mesh'])).toThrow(/unknown configuration "mesh"/);
    expect(() => parseClusterArgs(['--rounds', '0'])).toThrow(/--rounds/);
    expect(() => parseClusterArgs(['--instances', '1'])).toThrow(/--instances/);
    expect(() => parseClusterArgs(['--nats', 'nats://10.0.0.5:4222'])).toThrow(/loopback/);
    expect(() => parseClusterArgs(['--clients', '100', '--concurrency', '64'])).toThrow(/at least 128/);
    expect(() => parseClusterArgs(['--bogus'])).toThrow();
  });

  it('args - random runs use other client ids than affinity runs', () => {
    expect(clusterConfig('random', 3)).toMatchObject({ servers: 'many', routing: 'random', label: '3 instances, random' });
    expect(clusterConfig('affinity', 3)).toMatchObject({ servers: 'many', routing: 'affinity' });
    expect(firstSessionOf(clusterConfig('affinity', 3), 10_000)).toBe(0);
    expect(firstSessionOf(clusterConfig('random', 3), 10_000)).toBe(5000);
  });
});

describe('cluster bench metrics', () => {
  const TEXT = [
    '# HELP hookwarden_journal_conflicts_total Appends refused',
    '# TYPE hookwarden_journal_conflicts_total counter',
    'hookwarden_journal_conflicts_total 7',
    'hookwarden_journal_conflicts_total_extra 1000',
    'hookwarden_hook_calls_total{hook="client.connect",generation="v2"} 40',
    'hookwarden_hook_calls_total{hook="message.publish",generation="v2"} 360',
  ].join('\n');

  it('metrics - sums every label set of one metric, and nothing else', () => {
    expect(sumSamples(TEXT, 'hookwarden_hook_calls_total')).toBe(400);
    expect(sumSamples(TEXT, 'hookwarden_journal_conflicts_total')).toBe(7);
    expect(sumSamples(TEXT, 'hookwarden_journal_redone_total')).toBe(0);
    expect(perThousand(7, 400)).toBeCloseTo(17.5);
    expect(perThousand(3, 0)).toBe(0);
  });
});
