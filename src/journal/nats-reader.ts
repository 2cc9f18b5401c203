/**
 * Reading the NATS journal: the newest record of a client (one direct get
 * `last_by_subj`) and ranges of records (an ordered consumer, stopped at a
 * known end sequence, with a bounded wait).
 */
import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type StoredMsg } from 'nats';
import { decodeEntries } from './events.js';
import type { JournalEntry } from './journal.js';
import { JournalError } from './journal-errors.js';

/** nats.js 2.29 has direct get on the manager object but not in its interface type. */
interface DirectGet {
  getMessage(stream: string, query: { last_by_subj: string }): Promise<StoredMsg>;
}

function directGetOf(jsm: JetStreamManager): DirectGet {
  const direct = (jsm as JetStreamManager & { direct?: DirectGet }).direct;
  if (!direct || typeof direct.getMessage !== 'function') {
    throw new JournalError('EXH_JOURNAL_SETUP', 'this nats.js has no direct get API: use the nats package 2.29');
  }
  return direct;
}

const decoder = new TextDecoder();

export class NatsJournalReader {
  readonly #js: JetStreamClient;
  readonly #direct: DirectGet;
  readonly #stream: string;
  readonly #idleMs: number;

  constructor(js: JetStreamClient, jsm: JetStreamManager, stream: string, apiTimeoutMs: number) {
    this.#js = js;
    this.#direct = directGetOf(jsm);
    this.#stream = stream;
    this.#idleMs = Math.max(2000, apiTimeoutMs * 3);
  }

  /** The newest message on `subject` (its last record, decoded when readable); undefined when there is none. */
  async last(subject: string): Promise<{ seq: number; entry: JournalEntry | undefined; ids: string[] } | undefined> {
    try {
      const m = await this.#direct.getMessage(this.#stream, { last_by_subj: subject });
      const entries = decodeEntries(decoder.decode(m.data), m.seq) ?? [];
      return { seq: m.seq, entry: entries.at(-1), ids: entries.map((e) => e.id) };
    } catch (err) {
      if ((err as { code?: unknown }).code === '404') return undefined;
      throw new JournalError('EXH_JOURNAL_WRITE', `cannot read ${subject} from stream ${this.#stream}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** A subject's records up to message `endSeq`, keeping the newest `limit` records. */
  async history(subject: string, endSeq: number, limit: number): Promise<JournalEntry[]> {
    const out: JournalEntry[] = [];
    for await (const e of this.follow(subject, 0, endSeq)) {
      out.push(e);
      if (out.length > limit) out.shift();
    }
    return out;
  }

  /** Stored entries on `filter` from `fromSeq` to `endSeq`; gives up after an idle period. */
  async *follow(filter: string, fromSeq: number, endSeq: number): AsyncGenerator<JournalEntry> {
    const oc = await this.#js.consumers.get(this.#stream, {
      filterSubjects: filter,
      ...(fromSeq > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromSeq } : {}),
    });
    const iter = await oc.consume({ max_messages: 512 });
    let idle: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => void iter.stop(), this.#idleMs);
    };
    arm();
    try {
      for await (const m of iter) {
        arm();
        const entries = decodeEntries(decoder.decode(m.data), m.seq);
        if (entries) yield* entries;
        if (m.seq >= endSeq || m.info.pending === 0) break;
      }
    } finally {
      clearTimeout(idle);
      iter.stop(); // not close(): after a break nobody drains the queue that would settle it
    }
  }
}
