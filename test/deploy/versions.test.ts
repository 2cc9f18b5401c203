/**
 * One NATS version for everything deploy/ ships, stated in deploy/nats/VERSION,
 * and one the start-up check (src/journal/nats-version.ts) has nothing to warn
 * about in a cluster.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NATS_REPLICATED_CAS_FIXED, compareSemver, natsAdvisories, parseSemver } from '../../src/journal/nats-version.js';
import { NATS_VERSION, ROOT, compose, read } from './support.js';

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [relative(ROOT, join(dir, f))]));
const shipped = [...files(join(ROOT, 'deploy')), 'docs/OPERATIONS.md', 'README.md'];

describe('NATS version', () => {
  it('deploy/nats/VERSION is one exact version', () => {
    expect(read('deploy/nats/VERSION')).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('every NATS image reference in deploy/ and the operations docs is that version', () => {
    const refs = shipped.flatMap((f) => [...read(f).matchAll(/\bnats:(\d+\.\d+\.\d+)/g)].map((m) => [f, m[1]]));
    const tags = [...read('deploy/k8s/nats-values.yaml').matchAll(/^\s*tag:\s*(\S+)/gm)].map((m) => ['nats-values', m[1]]);
    expect(refs.length).toBeGreaterThanOrEqual(3); // compose anchor, OPERATIONS.md
    expect(tags).toEqual([['nats-values', `${NATS_VERSION}-alpine`]]);
    for (const [file, v] of refs) expect(v, file).toBe(NATS_VERSION);
  });

  it('is at or after the replicated compare-and-set fix, so a clustered start has no advisory', () => {
    expect(compareSemver(parseSemver(NATS_VERSION)!, NATS_REPLICATED_CAS_FIXED)).toBeGreaterThanOrEqual(0);
    expect(
      natsAdvisories({ version: NATS_VERSION, jetstream: true, headers: true, cluster: 'hookwarden' }, { journalReplicas: 3 }),
    ).toEqual([]);
  });
});

describe('EMQX version', () => {
  it('the compose image is the one the operations docs name', () => {
    const image = compose().services.emqx?.image ?? '';
    expect(image).toMatch(/^emqx\/emqx:5\.8\.\d+$/);
    const named = [...read('docs/OPERATIONS.md').matchAll(/emqx\/emqx:(\d+\.\d+\.\d+)/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(0);
    for (const v of named) expect(`emqx/emqx:${v}`).toBe(image);
  });
});
