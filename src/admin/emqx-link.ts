/**
 * The EMQX link (`--emqx-api-url`, optional): when a client is banned or
 * quarantined (an operator's command, or the machine's own ban on a decision:
 * the `ClientBanned` / `ClientQuarantined` facts), tell EMQX 5 through its
 * REST API, so a connected client does not keep a session the ban would
 * refuse at its next check:
 *
 *   DELETE /api/v5/clients/{clientid}/authorization/cache   (its cached ACL verdicts)
 *   DELETE /api/v5/clients/{clientid}                       (kick it)
 *
 * with HTTP basic auth `key:secret` (an EMQX API key). The cache goes first:
 * if the kick fails, the client's next publish or subscribe is at least
 * checked again. A 404 means the client is not connected (nothing to do).
 *
 * Never on the hook path: `onFacts` only queues (bounded; beyond it a kick is
 * dropped and counted); a few workers call EMQX with a per-request timeout
 * and a bounded number of retries (network errors, timeouts, 429 and 5xx).
 * Every outcome is counted (`stats()`) and failures are logged.
 */
import type { ClientFact } from '../../machines/client/client.types.js';
import type { Secret } from '../domain/secret.js';
import type { Logger } from '../observability/logger.js';

export interface EmqxLinkOptions {
  /** EMQX's dashboard/API base URL, e.g. `http://emqx:18083` (a trailing `/api/v5` is accepted). */
  readonly url: string;
  readonly key: string;
  readonly secret: Secret;
  readonly log: Logger;
  /** Per request (default 2000 ms). */
  readonly timeoutMs?: number;
  /** Attempts per request, first included (default 3). */
  readonly attempts?: number;
  /** Delay before the first retry, doubled each time (default 250 ms). */
  readonly backoffMs?: number;
  /** Clients waiting to be kicked (default 1000). */
  readonly maxQueue?: number;
  /** Requests in flight at once (default 4). */
  readonly concurrency?: number;
}

export interface EmqxLinkStats {
  readonly url: string;
  /** Clients kicked (EMQX answered 204). */
  readonly kicked: number;
  /** Kicks of clients EMQX did not know (404: not connected). */
  readonly notConnected: number;
  /** Authorization caches cleared. */
  readonly cachesCleared: number;
  /** Requests that failed after their last attempt. */
  readonly failed: number;
  /** Retries made. */
  readonly retries: number;
  /** Kicks dropped because the queue was full. */
  readonly dropped: number;
  readonly queued: number;
  readonly inFlight: number;
}

type Counters = { -readonly [K in keyof Omit<EmqxLinkStats, 'url' | 'queued' | 'inFlight'>]: number };

const TRIGGERS: ReadonlySet<string> = new Set(['ClientBanned', 'ClientQuarantined']);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

export class EmqxLink {
  readonly #o: Required<Omit<EmqxLinkOptions, 'secret' | 'log'>> & { readonly log: Logger };
  readonly #base: string;
  readonly #auth: string;
  readonly #queue = new Set<string>();
  readonly #counters: Counters = { kicked: 0, notConnected: 0, cachesCleared: 0, failed: 0, retries: 0, dropped: 0 };
  readonly #running = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  #closed = false;

  constructor(o: EmqxLinkOptions) {
    this.#o = {
      timeoutMs: 2000,
      attempts: 3,
      backoffMs: 250,
      maxQueue: 1000,
      concurrency: 4,
      ...o,
      log: o.log.child({ component: 'emqx-link' }),
    };
    this.#base = o.url.replace(/\/+$/, '').replace(/\/api\/v5$/, '');
    this.#auth = `Basic ${Buffer.from(`${o.key}:${o.secret.reveal()}`).toString('base64')}`;
  }

  /** Give to `HookService` (`onFacts`): a ban or quarantine fact queues a kick. Never throws, never waits. */
  readonly onFacts = (clientId: string, facts: readonly ClientFact[]): void => {
    for (const f of facts) if (TRIGGERS.has(f.type)) return this.kick(clientId);
  };

  /** Queue clearing the client's authorization cache and kicking it. */
  kick(clientId: string): void {
    if (this.#closed || this.#queue.has(clientId)) return;
    if (this.#queue.size >= this.#o.maxQueue) {
      this.#counters.dropped++;
      this.#o.log.warn({ clientId, queued: this.#queue.size }, 'EMQX link queue full: kick dropped');
      return;
    }
    this.#queue.add(clientId);
    this.#pump();
  }

  stats(): EmqxLinkStats {
    return { url: this.#base, ...this.#counters, queued: this.#queue.size, inFlight: this.#running.size };
  }

  /** Stop taking kicks and drop the queue; wait for the requests in flight at most `graceMs`, then abort them. */
  async close(graceMs = 2000): Promise<void> {
    this.#closed = true;
    this.#queue.clear();
    await Promise.race([Promise.allSettled([...this.#running]), sleep(graceMs)]);
    this.#abort.abort();
  }

  #pump(): void {
    while (this.#running.size < this.#o.concurrency && this.#queue.size > 0) {
      const clientId = this.#queue.values().next().value as string;
      this.#queue.delete(clientId);
      const run = this.#kickNow(clientId).finally(() => {
        this.#running.delete(run);
        this.#pump();
      });
      this.#running.add(run);
    }
  }

  async #kickNow(clientId: string): Promise<void> {
    const path = `/api/v5/clients/${encodeURIComponent(clientId)}`;
    const cache = await this.#call(`${path}/authorization/cache`, clientId);
    if (cache === 'ok') this.#counters.cachesCleared++;
    if (cache === 'not_found') {
      this.#counters.notConnected++;
      return; // not connected here: nothing to kick
    }
    // the key is refused, or we are closing: the kick cannot do better (after a 5xx or a timeout it may)
    if (cache === 'refused' || this.#closed) return;
    const kick = await this.#call(path, clientId);
    if (kick === 'ok') {
      this.#counters.kicked++;
      this.#o.log.info({ clientId }, 'EMQX kicked the banned client');
    } else if (kick === 'not_found') this.#counters.notConnected++;
  }

  /** One DELETE with retries: 'ok', 'not_found', or (logged and counted) 'refused' (4xx) or 'failed'. */
  async #call(path: string, clientId: string): Promise<'ok' | 'not_found' | 'refused' | 'failed'> {
    let why = '';
    let refused = false;
    for (let attempt = 1; attempt <= this.#o.attempts && !this.#closed; attempt++) {
      if (attempt > 1) {
        this.#counters.retries++;
        await sleep(this.#o.backoffMs * 2 ** (attempt - 2));
      }
      try {
        const res = await fetch(`${this.#base}${path}`, {
          method: 'DELETE',
          headers: { authorization: this.#auth, accept: 'application/json' },
          signal: AbortSignal.any([AbortSignal.timeout(this.#o.timeoutMs), this.#abort.signal]),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return 'ok';
        if (res.status === 404) return 'not_found';
        why = `HTTP ${res.status}`;
        refused = res.status !== 429 && res.status < 500;
        if (refused) break; // 400, 401, 403: retrying cannot help
      } catch (err) {
        why = (err as Error).name === 'TimeoutError' ? `no answer within ${this.#o.timeoutMs} ms` : (err as Error).message;
      }
    }
    this.#counters.failed++;
    this.#o.log.warn(
      { clientId, path, why },
      why.startsWith('HTTP 401') || why.startsWith('HTTP 403')
        ? 'EMQX refused the API key: check --emqx-api-key and --emqx-api-secret'
        : 'EMQX API call failed',
    );
    return refused ? 'refused' : 'failed';
  }
}
