/**
 * PURE: the versioned event schema (docs/EVENTS.md, schemas/). A journal
 * record is stored as one CloudEvents 1.0 JSON document; the feed republishes
 * that document and, for records with a decision, one derived `decision.*`
 * event. Every name here is part of the public contract: adding optional
 * `data` fields keeps `.v1`; renaming, removing or changing the meaning of a
 * field needs a `.v2` type.
 */
import type { Decision, Outcome } from '../domain/decision.js';
import { RECORD_HOOKS, type RecordHook } from '../domain/admin-command.js';
import type { JournalEntry, JournalFact, JournalRecord, RecordDetail, StoredInput, StoredSnapshot } from './journal.js';

export const EVENT_TYPE_PREFIX = 'io.hookwarden';
export const SCHEMA_VERSION = 1;
export type Category = 'client' | 'session' | 'message' | 'decision' | 'admin';

/** Hook → `<category>.<name>` of its event (past tense: what happened). */
export const HOOK_KINDS = {
  'client.connect': ['client', 'connect_received'],
  'client.connack': ['client', 'connack_sent'],
  'client.connected': ['client', 'connected'],
  'client.disconnected': ['client', 'disconnected'],
  'client.authenticate': ['client', 'authentication_checked'],
  'client.authorize': ['client', 'authorization_checked'],
  'client.subscribe': ['client', 'subscribe_received'],
  'client.unsubscribe': ['client', 'unsubscribe_received'],
  'session.created': ['session', 'created'],
  'session.subscribed': ['session', 'subscribed'],
  'session.unsubscribed': ['session', 'unsubscribed'],
  'session.resumed': ['session', 'resumed'],
  'session.discarded': ['session', 'discarded'],
  'session.takenover': ['session', 'taken_over'],
  'session.terminated': ['session', 'terminated'],
  'message.publish': ['message', 'publish_checked'],
  'message.delivered': ['message', 'delivered'],
  'message.acked': ['message', 'acked'],
  'message.dropped': ['message', 'dropped'],
  // operator commands (src/admin/)
  'admin.ban': ['admin', 'banned'],
  'admin.unban': ['admin', 'unbanned'],
  'admin.quarantine': ['admin', 'quarantined'],
  'admin.release': ['admin', 'released'],
  'admin.override': ['admin', 'override_set'],
  'admin.clear_override': ['admin', 'override_cleared'],
} as const satisfies Record<RecordHook, readonly [Category, string]>;

/** Outcome → name of the derived decision event. */
export const DECISION_KINDS = { allow: 'allowed', deny: 'denied', ignore: 'ignored' } as const satisfies Record<Outcome, string>;

type HookKind = (typeof HOOK_KINDS)[RecordHook];
/** `<category>.<name>` of any event hookwarden emits, e.g. `client.connected`, `decision.denied`. */
export type FeedKind = `${HookKind[0]}.${HookKind[1]}` | `decision.${(typeof DECISION_KINDS)[Outcome]}`;

/** Every feed kind, hook events first. */
export const FEED_KINDS: readonly FeedKind[] = [
  ...RECORD_HOOKS.map((h) => `${HOOK_KINDS[h][0]}.${HOOK_KINDS[h][1]}` as FeedKind),
  ...Object.values(DECISION_KINDS).map((n) => `decision.${n}` as FeedKind),
];

/** The CloudEvent `type` of a kind: `io.hookwarden.<category>.<name>.v1`. */
export const eventType = (kind: FeedKind): string => `${EVENT_TYPE_PREFIX}.${kind}.v${SCHEMA_VERSION}`;

const KIND_OF_TYPE = new Map<string, FeedKind>(FEED_KINDS.map((k) => [eventType(k), k]));
const HOOK_OF_KIND = new Map<string, RecordHook>(RECORD_HOOKS.map((h) => [`${HOOK_KINDS[h][0]}.${HOOK_KINDS[h][1]}`, h]));

export const kindOfHook = (hook: RecordHook): FeedKind => `${HOOK_KINDS[hook][0]}.${HOOK_KINDS[hook][1]}` as FeedKind;

/** A CloudEvents 1.0 document in structured JSON mode. */
export interface CloudEvent<D> {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly time: string;
  /** The raw MQTT client id. */
  readonly subject: string;
  readonly datacontenttype: 'application/json';
  readonly data: D;
}

/** `data` of a hook event. */
export type HookEventData = RecordDetail & {
  readonly clientId: string;
  readonly at: number;
  readonly hook: RecordHook;
  readonly node: string;
  readonly conn?: string;
  readonly state: string;
  readonly decision?: Decision;
  readonly facts: readonly JournalFact[];
  /** The machine input (see JournalRecord.input). */
  readonly input?: StoredInput;
};

/** `data` of a derived `decision.*` event: the hook event's data without facts and payload, plus its id. */
export type DecisionEventData = Omit<HookEventData, 'facts' | 'payload' | 'decision'> & {
  readonly decision: Decision;
  /** `id` of the hook event this decision was made on. */
  readonly eventId: string;
};

export type HookwardenEvent = CloudEvent<HookEventData>;
export type DecisionEvent = CloudEvent<DecisionEventData>;

let isoAt = Number.NaN;
let isoText = '';
/** RFC 3339 time of an epoch-ms instant; the last one is remembered (records of one millisecond share it). */
const iso = (at: number): string => {
  if (at !== isoAt) {
    isoText = new Date(Number.isFinite(at) && Math.abs(at) < 8.64e15 ? at : 0).toISOString();
    isoAt = at;
  }
  return isoText;
};

/** The CloudEvent of a record. `id` must be unique per record (it is the dedup key). */
export function toCloudEvent(record: JournalRecord, id: string, source: string): HookwardenEvent {
  const data: HookEventData = {
    clientId: record.clientId,
    at: record.at,
    hook: record.hook,
    node: record.node,
    ...(record.conn !== undefined ? { conn: record.conn } : {}),
    state: record.state,
    ...record.detail,
    ...(record.decision ? { decision: record.decision } : {}),
    facts: record.facts,
    ...(record.input ? { input: record.input } : {}),
  };
  return {
    specversion: '1.0',
    id,
    source,
    type: eventType(kindOfHook(record.hook)),
    time: iso(record.at),
    subject: record.clientId,
    datacontenttype: 'application/json',
    data,
  };
}

const DETAIL_KEYS = [
  'username',
  'peerhost',
  'protoName',
  'protoVer',
  'keepalive',
  'resultCode',
  'reason',
  'action',
  'topic',
  'filters',
  'qos',
  'size',
  'messageId',
  'from',
  'payload',
] as const satisfies readonly (keyof RecordDetail)[];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The record of a stored hook event; undefined when the document is not a
 * hookwarden hook event this version understands (readers skip those: a
 * newer writer may add types).
 */
export function fromCloudEvent(ev: unknown): { record: JournalRecord; id: string; source: string } | undefined {
  if (!isObj(ev) || ev.specversion !== '1.0' || typeof ev.id !== 'string' || typeof ev.source !== 'string') return undefined;
  const kind = typeof ev.type === 'string' ? KIND_OF_TYPE.get(ev.type) : undefined;
  const hook = kind ? HOOK_OF_KIND.get(kind) : undefined;
  const d = ev.data;
  if (!hook || !isObj(d)) return undefined;
  if (typeof d.clientId !== 'string' || typeof d.at !== 'number' || typeof d.node !== 'string' || typeof d.state !== 'string')
    return undefined;
  if (!Array.isArray(d.facts)) return undefined;
  const detail: Obj = {};
  let hasDetail = false;
  for (const k of DETAIL_KEYS) {
    if (d[k] !== undefined) {
      detail[k] = d[k];
      hasDetail = true;
    }
  }
  const record: JournalRecord = {
    clientId: d.clientId,
    at: d.at,
    hook,
    node: d.node,
    ...(typeof d.conn === 'string' ? { conn: d.conn } : {}),
    state: d.state,
    facts: d.facts as JournalFact[],
    ...(isObj(d.decision) ? { decision: d.decision as unknown as Decision } : {}),
    ...(hasDetail ? { detail: detail as RecordDetail } : {}),
    ...(isObj(d.input) && typeof d.input.type === 'string' && typeof d.input.at === 'number'
      ? { input: d.input as unknown as StoredInput }
      : {}),
  };
  return { record, id: ev.id, source: ev.source };
}

const TYPE_OF_HOOK = new Map<string, string>(RECORD_HOOKS.map((h) => [h, eventType(kindOfHook(h))]));

/**
 * Hot path: the stored entry of a record, serialized directly. Byte for byte
 * `encodeEntry(toCloudEvent(record, id, source), snapshot, seq)` (a test
 * holds them equal) without building the envelope objects.
 * `sourceJson` is `JSON.stringify(source)`, computed once per journal.
 */
export function encodeRecord(
  record: JournalRecord,
  id: string,
  sourceJson: string,
  snapshot: StoredSnapshot | undefined,
  seq?: number,
): string {
  const head = seq === undefined ? '{"v":1,"event":' : `{"v":1,"seq":${seq},"event":`;
  return `${head}${encodeEvent(record, id, sourceJson)}${encodeSnapshotTail(snapshot)}}`;
}

/** The CloudEvent JSON of a record (`toCloudEvent`, serialized directly). */
export function encodeEvent(record: JournalRecord, id: string, sourceJson: string): string {
  const data: Record<string, unknown> = { clientId: record.clientId, at: record.at, hook: record.hook, node: record.node };
  if (record.conn !== undefined) data.conn = record.conn;
  data.state = record.state;
  const detail = record.detail;
  if (detail) for (const k in detail) data[k] = detail[k as keyof RecordDetail];
  if (record.decision) data.decision = record.decision;
  data.facts = record.facts;
  if (record.input) data.input = record.input;
  return `{"specversion":"1.0","id":${JSON.stringify(id)},"source":${sourceJson},"type":"${TYPE_OF_HOOK.get(record.hook) ?? ''}","time":"${iso(record.at)}","subject":${JSON.stringify(record.clientId)},"datacontenttype":"application/json","data":${JSON.stringify(data)}}`;
}

const encodeSnapshotTail = (snapshot: StoredSnapshot | undefined): string =>
  snapshot ? `,"snapshot":{"machineVersion":${JSON.stringify(snapshot.machineVersion)},"packed":${JSON.stringify(snapshot.packed)}}` : '';

/**
 * A batch entry: several records of ONE client stored as one NATS message
 * (`{ v, events: [...], snapshot? }`), oldest first; the snapshot is the
 * client's state after the last of them. `events` are `encodeEvent` strings.
 * A batch of one is written as a plain entry (`encodeRecord`).
 */
export function encodeBatch(events: readonly string[], snapshot: StoredSnapshot | undefined): string {
  return `{"v":1,"events":[${events.join(',')}]${encodeSnapshotTail(snapshot)}}`;
}

/** The stored form of one record: `{ v, seq?, event, snapshot? }` (schemas/journal-entry.v1.json). */
export interface StoredEntry {
  readonly v: typeof SCHEMA_VERSION;
  /** Present in file segments; NATS keeps it as the stream sequence. */
  readonly seq?: number;
  readonly event: HookwardenEvent;
  readonly snapshot?: StoredSnapshot;
}

/** Serialize one entry (one line of a segment file, or one NATS message body). */
export function encodeEntry(event: HookwardenEvent, snapshot: StoredSnapshot | undefined, seq?: number): string {
  const entry: StoredEntry = {
    v: SCHEMA_VERSION,
    ...(seq !== undefined ? { seq } : {}),
    event,
    ...(snapshot ? { snapshot } : {}),
  };
  return JSON.stringify(entry);
}

/** Parse one stored entry; `seq` overrides the stored one (NATS). Undefined when unreadable or of an unknown type. */
export function decodeEntry(text: string, seq?: number): JournalEntry | undefined {
  const all = decodeEntries(text, seq);
  return all?.length === 1 ? all[0] : undefined;
}

/**
 * Parse a stored message: a plain entry (one record) or a batch entry
 * (several records of one client, all at position `seq`; the snapshot goes
 * with the last). Undefined when unreadable; records of types this version
 * does not know are left out (a newer writer may add types).
 */
export function decodeEntries(text: string, seq?: number): JournalEntry[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObj(parsed) || parsed.v !== SCHEMA_VERSION) return undefined; // a newer schema: not ours to read
  const position = seq ?? parsed.seq;
  if (typeof position !== 'number') return undefined;
  const s = parsed.snapshot;
  const snapshot =
    isObj(s) && typeof s.packed === 'string' && typeof s.machineVersion === 'string'
      ? { machineVersion: s.machineVersion, packed: s.packed }
      : undefined;
  const docs = Array.isArray(parsed.events) ? (parsed.events as unknown[]) : parsed.event !== undefined ? [parsed.event] : [];
  const out: JournalEntry[] = [];
  docs.forEach((doc, i) => {
    const ev = fromCloudEvent(doc);
    if (!ev) return;
    const last = i === docs.length - 1;
    out.push({ seq: position, id: ev.id, source: ev.source, record: ev.record, ...(snapshot && last ? { snapshot } : {}) });
  });
  return out.length > 0 ? out : undefined;
}

/** One event the feed publishes for a journal entry. */
export interface FeedEvent {
  readonly kind: FeedKind;
  readonly category: Category;
  readonly name: string;
  readonly event: HookwardenEvent | DecisionEvent;
}

/**
 * The feed events of a journal entry, in order: the hook event, then (if it
 * carries a decision) the derived decision event; kinds in `exclude` are left out.
 */
export function feedEventsOf(entry: JournalEntry, exclude: ReadonlySet<string> = new Set()): FeedEvent[] {
  const { record } = entry;
  const [category, name] = HOOK_KINDS[record.hook];
  const out: FeedEvent[] = [];
  const hookEvent = toCloudEvent(record, entry.id, entry.source);
  const kind = `${category}.${name}` as FeedKind;
  if (!exclude.has(kind)) out.push({ kind, category, name, event: hookEvent });
  const dname = record.decision ? (DECISION_KINDS as Record<string, string | undefined>)[record.decision.outcome] : undefined;
  if (record.decision && dname !== undefined) {
    const dkind = `decision.${dname}` as FeedKind;
    if (!exclude.has(dkind)) {
      const { facts: _facts, payload: _payload, decision: _decision, ...rest } = hookEvent.data;
      const data: DecisionEventData = { ...rest, decision: record.decision, eventId: entry.id };
      out.push({
        kind: dkind,
        category: 'decision',
        name: dname,
        event: { ...hookEvent, id: `${entry.id}/decision`, type: eventType(dkind), data },
      });
    }
  }
  return out;
}
