/**
 * PURE: the journal record of one hook. The shell passes what the step
 * produced; this picks the hook details worth keeping. Never the password;
 * the message payload only with the `payloads` opt-in.
 */
import type { Decision } from '../domain/decision.js';
import type { ClientInfo, ConnInfo, HookEvent, MessageInfo } from '../domain/hook-event.js';
import type { JournalFact, JournalRecord, RecordDetail, StoredInput } from './journal.js';

/** What the step of the client machine produced for this hook. */
export interface StepOutcome {
  readonly clientId: string;
  /** Name of the state after the step. */
  readonly state: string;
  readonly facts: readonly JournalFact[];
  readonly decision?: Decision;
  /** Connection identity (`connKeyOf`), when the hook has one. */
  readonly conn?: string;
  /** The machine input as stored (`storeInput`); kept by persistent journals for replay. */
  readonly input?: StoredInput;
}

export interface RecordOptions {
  /** Keep message payloads (base64). Off by default: payloads are the tenants' data. */
  readonly payloads?: boolean;
}

/** The journal record of `hook` after a step. */
export function recordOf(hook: HookEvent, outcome: StepOutcome, opts: RecordOptions = {}): JournalRecord {
  const detail = detailOf(hook, opts);
  return {
    clientId: outcome.clientId,
    at: hook.at,
    hook: hook.type,
    node: hook.meta.node,
    ...(outcome.conn !== undefined ? { conn: outcome.conn } : {}),
    state: outcome.state,
    facts: outcome.facts,
    ...(outcome.decision ? { decision: outcome.decision } : {}),
    ...(detail ? { detail } : {}),
    ...(outcome.input ? { input: outcome.input } : {}),
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The details of a hook (see docs/EVENTS.md for which hook fills which field); undefined when none. */
export function detailOf(hook: HookEvent, opts: RecordOptions = {}): RecordDetail | undefined {
  const d: Mutable<RecordDetail> = {};
  const who = (c: ClientInfo | ConnInfo): void => {
    if (c.username !== '') d.username = c.username;
    if (c.peerhost !== '') d.peerhost = c.peerhost;
  };
  const message = (m: MessageInfo): void => {
    d.topic = m.topic;
    d.qos = m.qos;
    d.size = m.payload.length;
    if (m.id !== '') d.messageId = m.id;
    if (opts.payloads) d.payload = Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength).toString('base64');
  };
  switch (hook.type) {
    case 'client.connect':
      who(hook.conn);
      d.protoName = hook.conn.protoName;
      d.protoVer = hook.conn.protoVer;
      d.keepalive = hook.conn.keepalive;
      break;
    case 'client.connack':
      who(hook.conn);
      d.resultCode = hook.resultCode;
      break;
    case 'client.connected':
    case 'client.authenticate':
      who(hook.client);
      break;
    case 'client.disconnected':
      who(hook.client);
      d.reason = hook.reason;
      break;
    case 'client.authorize':
      if (hook.client.username !== '') d.username = hook.client.username;
      d.action = hook.action;
      d.topic = hook.topic;
      break;
    case 'client.subscribe':
    case 'client.unsubscribe':
      d.filters = hook.filters.map((f) => ({ topic: f.topic, qos: f.qos }));
      break;
    case 'session.terminated':
      d.reason = hook.reason;
      break;
    case 'session.subscribed':
      d.topic = hook.topic;
      d.qos = hook.subopts.qos;
      break;
    case 'session.unsubscribed':
      d.topic = hook.topic;
      break;
    case 'message.publish':
      message(hook.message);
      break;
    case 'message.delivered':
    case 'message.acked':
      message(hook.message);
      if (hook.message.from !== '') d.from = hook.message.from;
      break;
    case 'message.dropped':
      message(hook.message);
      d.reason = hook.reason;
      break;
    case 'session.created':
    case 'session.resumed':
    case 'session.discarded':
    case 'session.takenover':
      break;
  }
  return Object.keys(d).length > 0 ? d : undefined;
}
