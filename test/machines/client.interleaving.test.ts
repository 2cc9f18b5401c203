/**
 * The interleavings EMQX really sends when a client id connects twice
 * (traces 04a / 04b, EMQX 5.3.2: no peerport, so both connections have the
 * same `conn` key), and a takeover from another node whose old hooks arrive
 * late.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { initialSnapshot, stateName, step, type ClientSnapshot } from '../../machines/client/client.step.js';
import type { ClientEvent, ClientFact } from '../../machines/client/client.types.js';
import { aPolicy, ev, run, T0 } from './support.js';

interface Hook {
  readonly rpc: string;
  readonly t: string;
  readonly node: string;
  readonly clientid: string;
  readonly peerhost: string;
  readonly sockport: number;
  readonly peerport: number;
  readonly reason: string;
  readonly topic: string;
  readonly result_code: string;
}

const policy = aPolicy();
const load = (name: string): Hook[] =>
  readFileSync(new URL(`./fixtures/${name}.jsonl`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Hook);

/** The machine event of a recorded hook (what src/core does for a decoded hook). */
function toEvent(h: Hook): ClientEvent | undefined {
  const at = Date.parse(h.t);
  const conn = `${h.node}|${h.peerhost}|${h.peerport || h.sockport}`;
  switch (h.rpc) {
    case 'OnClientConnect':
      return { type: 'client.connect', conn, at, policy };
    case 'OnClientAuthenticate':
      return { type: 'client.authenticate', conn, at, policy, credentials: 'ok' };
    case 'OnClientConnected':
      return { type: 'client.connected', conn, at, policy };
    case 'OnClientConnack':
      return { type: 'client.connack', conn, at, success: h.result_code === 'success' };
    case 'OnClientDisconnected':
      return { type: 'client.disconnected', conn, at, reason: h.reason };
    case 'OnSessionCreated':
      return { type: 'session.created', conn, at };
    case 'OnSessionResumed':
      return { type: 'session.resumed', conn, at };
    case 'OnSessionDiscarded':
      return { type: 'session.discarded', conn, at };
    case 'OnSessionTakenover':
      return { type: 'session.takenover', conn, at };
    case 'OnSessionTerminated':
      return { type: 'session.terminated', conn, at, reason: h.reason };
    case 'OnSessionSubscribed':
      return { type: 'session.subscribed', conn, at, topic: h.topic };
    case 'OnMessagePublish':
      return { type: 'message.publish', at, topic: h.topic, bytes: 1, qos: 1, policy };
    case 'OnMessageDelivered':
      return { type: 'message.delivered', at };
    case 'OnMessageAcked':
      return { type: 'message.acked', at };
    default:
      return undefined; // client.subscribe: the session hooks carry the filters
  }
}

/** Replays a trace per client id; returns each client's states and facts in order. */
function replay(hooks: readonly Hook[]): Map<string, { states: string[]; facts: ClientFact[]; snapshot: ClientSnapshot }> {
  const clients = new Map<string, { states: string[]; facts: ClientFact[]; snapshot: ClientSnapshot }>();
  for (const h of hooks) {
    const e = toEvent(h);
    if (!e) continue;
    const c = clients.get(h.clientid) ?? { states: [], facts: [], snapshot: initialSnapshot() };
    const r = step(c.snapshot, e);
    clients.set(h.clientid, { states: [...c.states, stateName(r.next)], facts: [...c.facts, ...r.facts], snapshot: r.next });
  }
  return clients;
}

describe('client machine - interleavings', () => {
  it('client machine - 04a clean start: the old connection is discarded, the client stays present', () => {
    const dup = replay(load('04a-same-clientid-clean-start-discard')).get('dup-04a-same-clientid-clean-start-discard');
    expect(dup).toBeDefined();
    if (!dup) return;
    // connect … connected, subscribe, then the second connection until its own normal close.
    expect(dup.states).toEqual([
      'connecting',
      'connecting',
      'connecting',
      'connected',
      'connected',
      'connected',
      'connecting', // second connect
      'connecting', // authenticate
      'connecting', // old disconnected(discarded): presence continues
      'connecting', // old session.discarded
      'connecting', // new session.created
      'connected',
      'connected',
      'connected',
      'connected', // delivered
      'connected', // acked
      'disconnected', // new connection closes normally
      'disconnected', // its session terminates
    ]);
    const types = dup.facts.map((f) => f.type);
    expect(types).toContain('OlderConnectionClosed');
    expect(dup.facts.find((f) => f.type === 'SessionDiscarded')).toMatchObject({ current: true });
    expect(types).not.toContain('StaleEventIgnored');
    expect(dup.snapshot.value).toMatchObject({ lifecycle: 'disconnected', session: 'terminated' });
    expect(dup.snapshot.context.counters).toMatchObject({ connects: 2, delivered: 1, acked: 1 });
  });

  it('client machine - 04b persistent session: taken over, never undone by the old connection', () => {
    const dup = replay(load('04b-same-clientid-clean-session-false-takeover')).get(
      'dup-04b-same-clientid-clean-session-false-takeover',
    );
    expect(dup).toBeDefined();
    if (!dup) return;
    const second = dup.states.slice(6);
    expect(second.slice(0, 4)).toEqual(['connecting', 'connecting', 'connecting', 'connecting']); // connect, auth, resumed, old disconnected(takenover)
    // Present throughout, until the new connection's own normal disconnect (the last hook).
    expect(second.slice(0, -1).every((s) => s === 'connecting' || s === 'connected')).toBe(true);
    expect(dup.states.at(-1)).toBe('disconnected');
    // The old session's takeover arrives after the new session resumed: it does not undo it.
    expect(dup.facts.find((f) => f.type === 'SessionTakenOver')).toMatchObject({ current: false });
    expect(dup.snapshot.value).toMatchObject({ lifecycle: 'disconnected', session: 'resumed' });
    expect(dup.snapshot.context.subscriptions).toEqual(['tk/#']);
  });

  it('client machine - the publisher of 04a is tracked as its own client', () => {
    const pub = replay(load('04a-same-clientid-clean-start-discard')).get('pub-tk');
    expect(pub?.states.at(-1)).toBe('disconnected');
    expect(pub?.snapshot.context.counters.publishesAllowed).toBe(1);
  });

  it('client machine - a takeover from another node whose old hooks arrive late', () => {
    const oldConn = 'emqx@n1|10.0.0.9|50001';
    const newConn = 'emqx@n2|10.0.0.9|50002';
    const { results, snapshot } = run([
      ev.connect(T0, oldConn),
      ev.authenticate(T0 + 1, 'ok', policy, oldConn),
      ev.session('session.created', T0 + 2, oldConn),
      ev.connected(T0 + 3, oldConn),
      ev.connack(T0 + 4, true, oldConn),
      // The client reconnects to node n2; n1's hooks for the old connection lag behind.
      ev.connect(T0 + 100, newConn),
      ev.authenticate(T0 + 101, 'ok', policy, newConn),
      ev.session('session.resumed', T0 + 102, newConn),
      ev.connected(T0 + 103, newConn),
      ev.connack(T0 + 104, true, newConn),
      ev.disconnected(T0 + 105, 'takenover', oldConn),
      ev.session('session.takenover', T0 + 106, oldConn),
      ev.disconnected(T0 + 107, 'tcp_closed', oldConn),
      ev.terminated(T0 + 108, '{shutdown,tcp_closed}', oldConn),
    ]);
    expect(stateName(snapshot)).toBe('connected');
    expect(snapshot.value).toMatchObject({ session: 'resumed' });
    expect(snapshot.context.conn).toBe(newConn);
    const late = results.slice(10).flatMap((r) => r.facts.map((f) => f.type));
    expect(late).toEqual(['OlderConnectionClosed', 'SessionTakenOver', 'StaleEventIgnored', 'StaleEventIgnored']);
    // The new connection still ends the presence normally.
    const end = step(snapshot, ev.disconnected(T0 + 200, 'normal', newConn));
    expect(stateName(end.next)).toBe('disconnected');
  });
});
