import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFloor, type FloorServer } from '../../bench/floor-server.js';
import { loadExhook } from '../../bench/exhook-proto.js';
import { buildFrameSet } from '../../bench/frames.js';
import { bucketOf, Histogram, quantileUs, valueOf } from '../../bench/histogram.js';
import { runLoad } from '../../bench/load.js';
import { providerLoaded } from '../../bench/probe.js';

// Short bounded runs: these check that the generator counts and classifies calls, not how fast anything is.
const SHORT = { host: '127.0.0.1', concurrency: 8, connections: 2, warmupMs: 50, durationMs: 300 } as const;

describe('load generator', () => {
  let floor: FloorServer;
  beforeAll(async () => {
    floor = await startFloor(0);
  });
  afterAll(async () => {
    await floor.close();
  });

  it('load - the floor mounts all 19 hooks in each version spelling', async () => {
    const v2 = await providerLoaded(floor.port, 'v2');
    expect(v2).toHaveLength(19);
    expect(v2).toContain('client.authorize');
    const v1 = await providerLoaded(floor.port, 'v1');
    expect(v1).toContain('client.check_acl');
    expect(v1).toContain('session.takeovered');
  });

  for (const client of ['raw', 'node'] as const) {
    it(`load - the ${client} client runs the mix against the floor with no errors`, async () => {
      const set = buildFrameSet('mix', { clients: 40, publishesPerSession: 2 });
      const r = await runLoad(set, { ...SHORT, port: floor.port, client });
      expect(r.fatal).toBeUndefined();
      expect(r.calls).toBeGreaterThan(0);
      expect(r.errors).toBe(0);
      expect(r.latency.total).toBe(r.calls);
    });
  }

  it('load - counts non-OK grpc-status replies as errors by kind', async () => {
    const { service } = loadExhook('v2');
    const server = new grpc.Server();
    server.addService(service as unknown as grpc.ServiceDefinition, {
      OnMessagePublish: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'no' }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    try {
      const r = await runLoad(buildFrameSet('publish', { clients: 20 }), { ...SHORT, port });
      expect(r.calls).toBeGreaterThan(0);
      expect(r.errors).toBe(r.calls);
      expect(r.errorKinds).toEqual({ [`grpc-status ${grpc.status.RESOURCE_EXHAUSTED}`]: r.calls });
    } finally {
      server.forceShutdown();
    }
  });

  it('load - refuses targets other than loopback', async () => {
    await expect(runLoad(buildFrameSet('publish', { clients: 2 }), { ...SHORT, host: '10.1.2.3', port: 1, concurrency: 1 })).rejects.toThrow(/loopback/);
  });
});

describe('histogram', () => {
  it('histogram - every value lands in a bucket whose middle is within 0.8 %', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (us) => {
        const mid = valueOf(bucketOf(us));
        return us < 256 ? mid === us : Math.abs(mid - us) / us <= 1 / 128;
      }),
    );
  });

  it('histogram - quantiles of 1..10000 µs', () => {
    const h = new Histogram();
    for (let us = 1; us <= 10_000; us += 1) h.record(us);
    const d = h.data();
    expect(quantileUs(d, 0.5) / 5000).toBeCloseTo(1, 1);
    expect(quantileUs(d, 0.99) / 9900).toBeCloseTo(1, 1);
    expect(d.maxUs).toBe(10_000);
    expect(quantileUs(new Histogram().data(), 0.99)).toBe(0);
  });
});
