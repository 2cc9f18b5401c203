/**
 * Model-based paths: `xstate/graph` enumerates the shortest path to every
 * (abstract) state of the machine over a small event sample; each path is
 * replayed through `step` (the system under test: fast path, clock ticks,
 * interpreter), which must land on the same abstract state as the model, on
 * exactly the snapshot XState's `transition()` gives for the same events, and
 * obey the assertions of each state.
 */
import { describe, expect, it } from 'vitest';
import { transition } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { clientMachine, initialSnapshot, packSnapshot, stateName, step, type ClientSnapshot } from '../../machines/client/client.step.js';
import type { ClientEvent, MachineEvent } from '../../machines/client/client.types.js';
import { A, aPolicy, B, ev, T0 } from './support.js';

const FAR = T0 + 1e9;
const policy = aPolicy({
  name: 'model',
  limits: { maxPayload: 100 },
  flapping: { maxCount: 1, windowMs: 1e9, banMs: 1e9 },
  quarantine: { maxViolations: 0, windowMs: 1e9, durationMs: 1e9 },
});
const deny = { permission: 'deny' as const, rule: 0, detail: 'deny all' };

// One sample per kind: times are fixed, bans and quarantines never run out (no clock ticks in the model).
const SAMPLE: readonly ClientEvent[] = [
  ev.connect(T0, A, policy),
  ev.connect(T0 + 1, B, policy),
  ev.authenticate(T0 + 2, 'ok', policy),
  ev.connected(T0 + 3, A, policy),
  ev.connected(T0 + 4, B, policy),
  ev.connack(T0 + 5, true, A),
  ev.connack(T0 + 6, false, B),
  ev.disconnected(T0 + 7, 'normal', A),
  ev.disconnected(T0 + 8, 'takenover', A),
  ev.session('session.created', T0 + 9, A),
  ev.session('session.resumed', T0 + 10, B),
  ev.session('session.discarded', T0 + 11, A),
  ev.session('session.takenover', T0 + 12, A),
  ev.terminated(T0 + 13, '{shutdown,normal}', A),
  ev.authorize(T0 + 14, 'publish', 'x', deny, policy),
  ev.publish(T0 + 15, 10, policy),
  ev.ban(T0 + 16, FAR),
  ev.unban(T0 + 17),
  ev.quarantine(T0 + 18, FAR),
  ev.release(T0 + 19),
  ev.override(T0 + 20, { shadow: true, limits: { maxPayload: 50 } }),
  ev.clearOverride(T0 + 21),
];

const label = (k: string): string => (k === A ? 'A' : k === B ? 'B' : k === '' ? '-' : '?');

/** The abstraction the graph is built on: state value, which connection is current/live, and the counts that steer transitions. */
const serialize = (s: ClientSnapshot): string => {
  const c = s.context;
  return JSON.stringify([
    s.value,
    label(c.conn),
    label(c.live),
    c.fresh,
    c.banKind,
    c.connects.length,
    c.violations.length,
    c.override !== null,
  ]);
};

const model = createTestModel(clientMachine, {
  events: SAMPLE as MachineEvent[],
  // Events the sample lacks come as bare `{ type }` (no time): leave them out, with the internal tick.
  filterEvents: (_s, e) => typeof (e as { at?: unknown }).at === 'number' && e.type !== 'clock.tick',
  serializeState: (s) => serialize(s),
});

const probePublish = (s: ClientSnapshot) => step(s, ev.publish(T0 + 100, 1, policy)).decision;

describe('client machine - model-based paths', () => {
  const paths = model.getShortestPaths();

  it('client machine - the model reaches every state of every region', () => {
    const seen = new Set<string>();
    for (const p of paths) {
      const v = p.state.value as Record<string, string>;
      for (const [region, state] of Object.entries(v)) seen.add(`${region}.${state}`);
    }
    for (const s of ['idle', 'connecting', 'connected', 'disconnected']) expect(seen).toContain(`lifecycle.${s}`);
    for (const s of ['none', 'created', 'resumed', 'takenover', 'discarded', 'terminated']) expect(seen).toContain(`session.${s}`);
    for (const s of ['ok', 'quarantined', 'banned']) expect(seen).toContain(`standing.${s}`);
    expect(paths.length).toBeGreaterThan(50);
  });

  for (const path of paths) {
    it(`client machine - path ${path.description}`, async () => {
      let sut = initialSnapshot();
      let ref = initialSnapshot();
      let checked = 0;
      const same = (state: ClientSnapshot): void => {
        checked++;
        expect(serialize(sut)).toBe(serialize(state));
        expect(packSnapshot(sut)).toBe(packSnapshot(ref));
      };
      await model.testPath(path, {
        events: Object.fromEntries(
          SAMPLE.map((e) => [
            e.type,
            ({ event }: { event: MachineEvent }) => {
              sut = step(sut, event as ClientEvent).next;
              ref = transition(clientMachine, ref, event)[0];
            },
          ]),
        ),
        // One key per standing: exactly one matches every state (a `*` key would only run when none does).
        states: {
          'standing.banned': (state: ClientSnapshot) => {
            same(state);
            expect(stateName(sut)).toBe('banned');
            expect(probePublish(sut)?.reason.code).toMatch(/^banned\./);
          },
          'standing.quarantined': (state: ClientSnapshot) => {
            same(state);
            expect(stateName(sut)).toBe('quarantined');
            expect(probePublish(sut)?.reason.code).toBe('quarantined');
          },
          'standing.ok': (state: ClientSnapshot) => {
            same(state);
            expect(probePublish(sut)?.outcome).toBe('allow');
            expect(stateName(sut)).toBe((sut.value as { lifecycle: string }).lifecycle);
          },
        },
      });
      expect(checked).toBe(path.steps.length);
    });
  }
});
