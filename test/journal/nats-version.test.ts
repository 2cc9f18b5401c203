import { describe, expect, it } from 'vitest';
import { compareSemver, natsAdvisories, parseSemver, type NatsServerFacts } from '../../src/journal/nats-version.js';

const server = (over: Partial<NatsServerFacts> = {}): NatsServerFacts => ({
  version: '2.10.29',
  jetstream: true,
  headers: true,
  server_name: 'nats-1',
  ...over,
});
const codes = (info: NatsServerFacts, replicas?: number): string[] =>
  natsAdvisories(info, replicas === undefined ? {} : { journalReplicas: replicas }).map((a) => `${a.level}:${a.code}`);

describe('parseSemver', () => {
  it.each([
    ['2.9.10', [2, 9, 10]],
    ['v2.10.0', [2, 10, 0]],
    ['2.10.0-beta.3', [2, 10, 0]],
    ['2.11.0-RC.1+abc', [2, 11, 0]],
    ['2.9', [2, 9, 0]],
    [' 2.12.1 ', [2, 12, 1]],
  ])('%s', (text, [major, minor, patch]) => {
    expect(parseSemver(text)).toEqual({ major, minor, patch });
  });

  it.each(['', 'latest', '2', 'x.y.z', '2.9.10.1'])('rejects %j', (text) => {
    expect(parseSemver(text)).toBeUndefined();
  });

  it('orders numerically, not as text', () => {
    const v = (s: string) => parseSemver(s)!;
    expect(compareSemver(v('2.10.0'), v('2.9.25'))).toBeGreaterThan(0);
    expect(compareSemver(v('2.9.9'), v('2.9.10'))).toBeLessThan(0);
    expect(compareSemver(v('3.0.0'), v('2.99.99'))).toBeGreaterThan(0);
    expect(compareSemver(v('2.10.0'), v('v2.10.0-rc.1'))).toBe(0);
  });
});

describe('natsAdvisories', () => {
  it('has nothing to say about a JetStream server at or after the fix, clustered or not', () => {
    expect(natsAdvisories(server())).toEqual([]);
    expect(natsAdvisories(server({ cluster: 'hookwarden', version: '2.10.0' }))).toEqual([]);
    expect(natsAdvisories(server({ cluster: 'hookwarden', version: '2.11.4' }), { journalReplicas: 3 })).toEqual([]);
  });

  it('refuses a server without JetStream, naming the fix', () => {
    for (const info of [server({ jetstream: false }), server({ jetstream: undefined })]) {
      const [a] = natsAdvisories(info);
      expect(a).toMatchObject({ code: 'jetstream-disabled', level: 'error' });
      expect(a?.message).toMatch(/-js/);
      expect(a?.message).toMatch(/nats-1/);
    }
  });

  it('refuses a server with headers disabled (both fences are headers)', () => {
    expect(codes(server({ headers: false }))).toEqual(['error:headers-disabled']);
    expect(codes(server({ headers: undefined }))).toEqual([]);
  });

  it('on 2.9.x: informs when alone, warns in a cluster, refuses a replicated journal', () => {
    expect(codes(server({ version: '2.9.10' }))).toEqual(['info:replicated-cas-unsafe']);
    expect(codes(server({ version: '2.9.25', cluster: 'c1' }))).toEqual(['warn:replicated-cas-unsafe']);
    expect(codes(server({ version: '2.9.25', cluster: 'c1' }), 1)).toEqual(['warn:replicated-cas-unsafe']);
    expect(codes(server({ version: '2.9.10', cluster: 'c1' }), 3)).toEqual(['error:replicated-cas-unsafe']);
    const [warn] = natsAdvisories(server({ version: '2.9.10', cluster: 'c1' }));
    expect(warn?.message).toMatch(/PR #4319/);
    expect(warn?.message).toMatch(/Nats-Expected-Last-Subject-Sequence/);
    expect(warn?.message).toMatch(/2\.10\.0 or later/);
    expect(warn?.message).toMatch(/cluster c1/);
  });

  it('pre-releases of 2.10.0 count as 2.10.0', () => {
    expect(codes(server({ version: '2.10.0-beta.56', cluster: 'c1' }))).toEqual([]);
  });

  it('before 2.9.0: refuses, direct get is missing', () => {
    expect(codes(server({ version: '2.8.4' }))).toEqual(['error:direct-get-unsupported', 'info:replicated-cas-unsafe']);
    const [a] = natsAdvisories(server({ version: '2.8.4' }));
    expect(a?.message).toMatch(/direct get/);
  });

  it('warns once about an unreadable version and skips the version checks', () => {
    expect(codes(server({ version: 'nightly', cluster: 'c1' }))).toEqual(['warn:version-unknown']);
    expect(codes(server({ version: undefined }))).toEqual(['warn:version-unknown']);
  });

  it('lists errors before warnings before notes', () => {
    const list = natsAdvisories({ version: '2.8.0', jetstream: false, headers: false, cluster: 'c' });
    expect(list.map((a) => a.level)).toEqual(['error', 'error', 'error', 'warn']);
    expect(list.map((a) => a.code)).toEqual(['jetstream-disabled', 'headers-disabled', 'direct-get-unsupported', 'replicated-cas-unsafe']);
  });
});
