/**
 * Content-addressed archive of every policy that decided something: records
 * refer to their policy as `"<revision>:<name>"`, and `hookwarden replay`
 * fetches the policy source (canonical JSON) by revision to re-step them.
 * Adapters: memory, a `policies/` folder in the data dir, a NATS KV bucket.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageType, type KV, type NatsConnection } from 'nats';

export interface PolicyArchive {
  /** Store a policy source under its revision (idempotent). */
  put(revision: string, source: string): Promise<void>;
  get(revision: string): Promise<string | undefined>;
}

const REVISION = /^[0-9a-f]{64}$/;
const checked = (revision: string): string => {
  if (!REVISION.test(revision)) throw new RangeError(`not a policy revision: ${JSON.stringify(revision)}`);
  return revision;
};

export class MemoryPolicyArchive implements PolicyArchive {
  readonly #map = new Map<string, string>();
  async put(revision: string, source: string): Promise<void> {
    this.#map.set(checked(revision), source);
  }
  async get(revision: string): Promise<string | undefined> {
    return this.#map.get(revision);
  }
}

export class FilePolicyArchive implements PolicyArchive {
  readonly #dir: string;
  constructor(dataDir: string) {
    this.#dir = join(dataDir, 'policies');
  }
  async put(revision: string, source: string): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const file = join(this.#dir, `${checked(revision)}.json`);
    const tmp = `${file}.tmp-${process.pid}`;
    await writeFile(tmp, source);
    await rename(tmp, file);
  }
  async get(revision: string): Promise<string | undefined> {
    try {
      return await readFile(join(this.#dir, `${checked(revision)}.json`), 'utf8');
    } catch {
      return undefined;
    }
  }
}

export class NatsPolicyArchive implements PolicyArchive {
  private constructor(private readonly kv: KV) {}

  /** Opens (creating if needed) the file-backed KV bucket `<prefix>-policies`. */
  static async open(nc: NatsConnection, prefix = 'hookwarden', timeoutMs = 2000): Promise<NatsPolicyArchive> {
    const js = nc.jetstream({ timeout: timeoutMs });
    const kv = await js.views.kv(`${prefix}-policies`, { history: 1, storage: StorageType.File });
    return new NatsPolicyArchive(kv);
  }
  async put(revision: string, source: string): Promise<void> {
    const existing = await this.kv.get(checked(revision));
    if (existing && existing.operation === 'PUT') return;
    await this.kv.put(revision, new TextEncoder().encode(source));
  }
  async get(revision: string): Promise<string | undefined> {
    const e = await this.kv.get(checked(revision));
    return e && e.operation === 'PUT' ? new TextDecoder().decode(e.value) : undefined;
  }
}
