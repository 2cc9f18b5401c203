/** Builders shared by the client-machine tests. */
import type { AclVerdict, Credentials, ResolvedPolicy } from '../../src/domain/policy.types.js';
import { initialSnapshot, step, type ClientSnapshot, type StepResult } from '../../machines/client/client.step.js';
import type { ClientEvent, ClientFact, ConnKey, LimitsOverride } from '../../machines/client/client.types.js';

export const T0 = 1_700_000_000_000;
export const A: ConnKey = 'emqx@n1|10.0.0.1|40001';
export const B: ConnKey = 'emqx@n2|10.0.0.1|40002';

export const aPolicy = (over: Partial<ResolvedPolicy> = {}): ResolvedPolicy => ({
  name: 'test',
  mode: 'enforce',
  authenticate: 'allow',
  limits: {},
  acl: [],
  noMatch: 'allow',
  ...over,
});

export const ev = {
  connect: (at: number, conn = A, policy = aPolicy()): ClientEvent => ({ type: 'client.connect', conn, at, policy }),
  authenticate: (at: number, credentials: Credentials = 'ok', policy = aPolicy(), conn = A): ClientEvent => ({
    type: 'client.authenticate',
    conn,
    at,
    policy,
    credentials,
  }),
  connected: (at: number, conn = A, policy = aPolicy()): ClientEvent => ({ type: 'client.connected', conn, at, policy }),
  connack: (at: number, success = true, conn = A): ClientEvent => ({ type: 'client.connack', conn, at, success }),
  disconnected: (at: number, reason = 'normal', conn = A): ClientEvent => ({ type: 'client.disconnected', conn, at, reason }),
  session: (
    type: 'session.created' | 'session.resumed' | 'session.discarded' | 'session.takenover',
    at: number,
    conn = A,
  ): ClientEvent => ({ type, conn, at }),
  terminated: (at: number, reason = '{shutdown,normal}', conn = A): ClientEvent => ({ type: 'session.terminated', conn, at, reason }),
  subscribed: (at: number, topic: string, conn = A): ClientEvent => ({ type: 'session.subscribed', conn, at, topic }),
  unsubscribed: (at: number, topic: string, conn = A): ClientEvent => ({ type: 'session.unsubscribed', conn, at, topic }),
  authorize: (
    at: number,
    action: 'publish' | 'subscribe',
    topic: string,
    acl: AclVerdict = { permission: 'allow', rule: 0, detail: `allow ${action} "#" matched ${topic}` },
    policy = aPolicy(),
    conn = A,
  ): ClientEvent => ({ type: 'client.authorize', conn, at, action, topic, acl, policy }),
  publish: (at: number, bytes = 10, policy = aPolicy(), topic = 't/1'): ClientEvent => ({
    type: 'message.publish',
    topic,
    bytes,
    qos: 1,
    at,
    policy,
  }),
  delivered: (at: number): ClientEvent => ({ type: 'message.delivered', at }),
  acked: (at: number): ClientEvent => ({ type: 'message.acked', at }),
  dropped: (at: number): ClientEvent => ({ type: 'message.dropped', at }),
  ban: (at: number, untilAt: number, reason = 'abuse'): ClientEvent => ({ type: 'admin.ban', at, untilAt, reason }),
  unban: (at: number): ClientEvent => ({ type: 'admin.unban', at }),
  quarantine: (at: number, untilAt: number, reason = 'review'): ClientEvent => ({ type: 'admin.quarantine', at, untilAt, reason }),
  release: (at: number): ClientEvent => ({ type: 'admin.release', at }),
  override: (at: number, over: { limits?: LimitsOverride; shadow?: boolean } = {}, reason = 'tuning'): ClientEvent => ({
    type: 'admin.override',
    at,
    reason,
    ...over,
  }),
  clearOverride: (at: number): ClientEvent => ({ type: 'admin.clear_override', at }),
};

/** The normal connect sequence of a new session (EXHOOK.md §6). */
export const connectSequence = (at: number, conn = A, policy = aPolicy()): ClientEvent[] => [
  ev.connect(at, conn, policy),
  ev.authenticate(at + 1, 'ok', policy, conn),
  ev.session('session.created', at + 2, conn),
  ev.connected(at + 3, conn, policy),
  ev.connack(at + 4, true, conn),
];

/** Folds events through `step` (or another stepper), keeping every result. */
export function run(
  events: readonly ClientEvent[],
  from: ClientSnapshot = initialSnapshot(),
  stepper: (s: ClientSnapshot, e: ClientEvent) => StepResult = step,
): { snapshot: ClientSnapshot; results: StepResult[] } {
  let snapshot = from;
  const results: StepResult[] = [];
  for (const e of events) {
    const r = stepper(snapshot, e);
    results.push(r);
    snapshot = r.next;
  }
  return { snapshot, results };
}

export const factTypes = (facts: readonly ClientFact[]): string[] => facts.map((f) => f.type);
