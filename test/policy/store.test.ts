import { mkdtemp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { createLogger } from '../../src/observability/logger.js';
import { EMPTY_POLICY_SET, type PolicySet } from '../../src/policy/policy-set.js';
import { PolicyStore } from '../../src/policy/store.js';

const V1 = 'default:\n  limits: { messages_rate: "1/s" }\n';
const V2 = 'default:\n  limits: { messages_rate: "2/s" }\n';
const V3 = 'default:\n  limits: { messages_rate: "3/s" }\n';
const BAD = 'default:\n  limits: { messages_rate: "fast", max_payload: "huge" }\n';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('info', { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

/** Poll `cond` every 20 ms for at most `ms`. */
async function waitFor(cond: () => boolean, ms = 3000): Promise<boolean> {
  for (let waited = 0; waited <= ms; waited += 20) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

const rateOf = (s: PolicySet): number | undefined => s.default.limits.messagesRate?.count;

describe('policy store', () => {
  let dir: string;
  const stores: PolicyStore[] = [];
  const open = async (file: string | undefined, log = capture().log, options = { debounceMs: 50, pollMs: 0 }) => {
    const s = await PolicyStore.open(file, log, options);
    stores.push(s);
    return s;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hookwarden-policy-'));
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('policy store - without a file: the empty policy; watch and reload do nothing', async () => {
    const store = await open(undefined);
    expect(store.current()).toBe(EMPTY_POLICY_SET);
    store.watch();
    expect(await store.reload()).toEqual({ ok: true, revision: EMPTY_POLICY_SET.revision, changed: false });
  });

  it('policy store - an invalid or missing file refuses to open, listing every error', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, BAD);
    const err = await PolicyStore.open(file, capture().log).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('EXH_POLICY_INVALID');
    expect((err as AppError).message).toMatch(/2 error\(s\)/);
    expect((err as AppError).message).toMatch(/line 2: default\.limits\.messages_rate/);
    expect((err as AppError).message).toMatch(/default\.limits\.max_payload/);
    await expect(PolicyStore.open(join(dir, 'absent.yaml'), capture().log)).rejects.toThrow(/ENOENT/);
  });

  it('policy store - reload applies a valid change and tells the listeners', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, V1);
    const store = await open(file);
    const before = store.current();
    const seen: [number | undefined, number | undefined][] = [];
    store.onChange((set, previous) => seen.push([rateOf(set), rateOf(previous)]));
    expect(await store.reload()).toEqual({ ok: true, revision: before.revision, changed: false });
    await writeFile(file, V2);
    const r = await store.reload();
    expect(r).toEqual({ ok: true, revision: store.current().revision, changed: true });
    expect(rateOf(store.current())).toBe(2);
    expect(seen).toEqual([[2, 1]]);
  });

  it('policy store - an invalid file is refused, logged with every error, and the running policy stays', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, V1);
    const { log, lines } = capture();
    const store = await open(file, log);
    let changes = 0;
    store.onChange(() => changes++);
    await writeFile(file, BAD);
    const r = await store.reload();
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toEqual(['default.limits.messages_rate', 'default.limits.max_payload']);
    expect(rateOf(store.current())).toBe(1);
    expect(changes).toBe(0);
    const refusal = lines.find((l) => l.level === 'error');
    expect(refusal?.msg).toMatch(/policy file refused \(2 error\(s\)\); the running policy stays/);
    expect(refusal?.running).toBe(store.current().revision);
  });

  it('policy store - watch: an editor writing a new file and renaming it into place', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, V1);
    const store = await open(file);
    store.watch();
    await new Promise((r) => setTimeout(r, 50));
    await writeFile(join(dir, '.policy.yaml.swp'), V2);
    await rename(join(dir, '.policy.yaml.swp'), file);
    expect(await waitFor(() => rateOf(store.current()) === 2)).toBe(true);
  });

  it('policy store - watch: a Kubernetes ConfigMap ..data symlink swap', async () => {
    // /dir/policy.yaml -> ..data/policy.yaml ; ..data -> ..2024_01 (as the kubelet lays it out)
    await mkdir(join(dir, '..2024_01'));
    await writeFile(join(dir, '..2024_01', 'policy.yaml'), V1);
    await symlink('..2024_01', join(dir, '..data'));
    await symlink(join('..data', 'policy.yaml'), join(dir, 'policy.yaml'));
    const store = await open(join(dir, 'policy.yaml'));
    expect(rateOf(store.current())).toBe(1);
    store.watch();
    await new Promise((r) => setTimeout(r, 50));
    // the kubelet writes a new timestamped dir, points ..data_tmp at it, renames it over ..data, removes the old dir
    await mkdir(join(dir, '..2024_02'));
    await writeFile(join(dir, '..2024_02', 'policy.yaml'), V2);
    await symlink('..2024_02', join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
    await rm(join(dir, '..2024_01'), { recursive: true });
    expect(await waitFor(() => rateOf(store.current()) === 2)).toBe(true);
    // and a second swap still works (the watch follows the new target)
    await mkdir(join(dir, '..2024_03'));
    await writeFile(join(dir, '..2024_03', 'policy.yaml'), V3);
    await symlink('..2024_03', join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
    expect(await waitFor(() => rateOf(store.current()) === 3)).toBe(true);
  });

  it('policy store - watch: a bad write is refused once, the fix after it is applied', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, V1);
    const { log, lines } = capture();
    const store = await open(file, log);
    store.watch();
    await new Promise((r) => setTimeout(r, 50));
    await writeFile(file, BAD);
    expect(await waitFor(() => lines.some((l) => l.level === 'error'))).toBe(true);
    expect(rateOf(store.current())).toBe(1);
    await writeFile(file, V3);
    expect(await waitFor(() => rateOf(store.current()) === 3)).toBe(true);
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
  });

  it('policy store - the backup poll picks up a change when no event is seen', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, V1);
    // a debounce far longer than the test: only the poll can apply the change in time
    const polled = await open(file, capture().log, { debounceMs: 60_000, pollMs: 100 });
    polled.watch();
    await writeFile(file, V2);
    expect(await waitFor(() => rateOf(polled.current()) === 2)).toBe(true);
  });

  it('policy store - re-saving the same content changes nothing; close stops watching', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, V1);
    const store = await open(file);
    let changes = 0;
    store.onChange(() => changes++);
    store.watch();
    await writeFile(file, `# a comment only\n${V1}`);
    await new Promise((r) => setTimeout(r, 300));
    expect(changes).toBe(0);
    await store.close();
    await writeFile(file, V2);
    await new Promise((r) => setTimeout(r, 300));
    expect(rateOf(store.current())).toBe(1);
  });
});
