/**
 * PURE: the per-client XState machine. Three parallel regions:
 * - `lifecycle`: idle (never seen) → connecting → connected → disconnected,
 *   robust to EMQX's interleavings (EXHOOK.md §6): a late hook of an older
 *   connection never undoes the newer connection;
 * - `session`: none, created, resumed, takenover, discarded, terminated;
 * - `standing`: ok, quarantined, banned. It answers the valued hooks
 *   (verdicts from `client.rules.ts`), and the decision is left in
 *   `context.last`.
 * An operator's override (`admin.override`, at the root) is kept in the
 * context and applied over the policy of every later valued hook.
 * No timers, no actors, no clock: time is the events' `at`. Guards and
 * actions are thin wrappers over pure functions (client.rules.ts,
 * client.update.ts, client.facts.ts) and never throw.
 */
import { and, assign, emit, enqueueActions, not, or, setup, stateIn } from 'xstate';
import { expiryEffect, facts, operatorEffect, violationEffect } from './client.facts.js';
import { clockOf, connectFlaps, recordViolation } from './client.rules.js';
import type { ClientContext, ClientFact, MachineEvent } from './client.types.js';
import { connOf, INITIAL_CONTEXT, updates, verdictOf } from './client.update.js';

export { INITIAL_CONTEXT } from './client.update.js';

/** Disconnect reasons that only an OLD connection reports (it was replaced); they never end the client's presence. */
export const REPLACED_REASONS: ReadonlySet<string> = new Set(['takenover', 'takeovered', 'discarded']);

const BLOCKED = {
  'client.authenticate': { actions: ['decide', 'emitRefusal'] },
  'client.authorize': { actions: ['decide', 'emitRefusal'] },
  'message.publish': { actions: ['denyPublish', 'emitRefusal'] },
} as const;

export const clientMachine = setup({
  types: {
    context: {} as ClientContext,
    events: {} as MachineEvent,
    emitted: {} as ClientFact,
  },
  guards: {
    denies: ({ context, event }) => verdictOf(context, event)?.outcome === 'deny',
    violates: ({ context, event }) => verdictOf(context, event)?.violation !== undefined,
    violationQuarantines: ({ context, event }) => {
      const v = verdictOf(context, event);
      if (!v?.violation || (event.type !== 'client.authorize' && event.type !== 'message.publish')) return false;
      return recordViolation(context, event.policy, v.violation, clockOf(context, event.at), event.at).quarantineUntil > 0;
    },
    connectFlaps: ({ context, event }) =>
      event.type === 'client.connect' && connectFlaps(context, event.policy, clockOf(context, event.at)),
    replacedReason: ({ event }) => event.type === 'client.disconnected' && REPLACED_REASONS.has(event.reason),
    isCurrentConn: ({ context, event }) => connOf(event) === context.conn,
    fromOlderLive: ({ context, event }) => connOf(event) !== context.conn && connOf(event) === context.live,
    connackSucceeded: ({ event }) => event.type === 'client.connack' && event.success,
    hasLive: ({ context }) => context.live !== '',
    sessionIsFresh: ({ context }) => context.fresh,
    banActiveNow: ({ context, event }) => context.bannedUntil > clockOf(context, event.at),
    quarantineActiveNow: ({ context, event }) => context.quarantinedUntil > clockOf(context, event.at),
    hasOverride: ({ context }) => context.override !== null,
    untilPassed: ({ context, event }) =>
      (event.type === 'admin.ban' || event.type === 'admin.quarantine') && !(event.untilAt > clockOf(context, event.at)),
  },
  actions: {
    touch: assign(({ context, event }) => updates.touch(context, event)),
    emitStale: emit(({ context, event }) => facts.stale(context, event)),
    // lifecycle
    acceptConnect: assign(({ context, event }) => updates.acceptConnect(context, event)),
    emitConnecting: emit(({ context, event }) => facts.connecting(context, event)),
    emitFlappingBan: emit(({ context, event }) => facts.flappingBan(context, event)),
    banForFlapping: assign(({ context, event }) => updates.banForFlapping(context, event)),
    becomeConnected: assign(({ context, event }) => updates.becomeConnected(context, event)),
    emitConnected: emit(({ context, event }) => facts.connected(context, event)),
    becomeDisconnected: assign(({ context, event }) => updates.becomeDisconnected(context, event)),
    emitDisconnected: emit(({ context, event }) => facts.disconnected(context, event)),
    dropLive: assign(({ context, event }) => updates.dropLive(context, event)),
    emitOlderClosed: emit(({ context, event }) => facts.olderClosed(context, event)),
    backToLive: assign(({ context, event }) => updates.backToLive(context, event)),
    markRefused: assign(({ context, event }) => updates.markRefused(context, event)),
    emitRefused: emit(({ context, event }) => facts.refused(context, event)),
    // session
    sessionBegan: assign(({ context, event }) => updates.sessionBegan(context, event)),
    emitSessionBegan: emit(({ context, event }) => facts.sessionBegan(context, event)),
    emitSessionEnded: emit(({ context, event }) => facts.sessionEnded(context, event)),
    sessionTerminated: assign(({ context, event }) => updates.sessionTerminated(context, event)),
    emitTerminated: emit(({ context, event }) => facts.terminated(context, event)),
    subscribe: assign(({ context, event }) => updates.subscribe(context, event)),
    unsubscribe: assign(({ context, event }) => updates.unsubscribe(context, event)),
    emitSubscription: emit(({ context, event }) => facts.subscription(context, event)),
    // counters
    countDelivered: assign(({ context, event }) => updates.countDelivered(context, event)),
    countAcked: assign(({ context, event }) => updates.countAcked(context, event)),
    countDropped: assign(({ context, event }) => updates.countDropped(context, event)),
    // valued hooks
    decide: assign(({ context, event }) => updates.decide(context, event)),
    allowPublish: assign(({ context, event }) => updates.allowPublish(context, event)),
    denyPublish: assign(({ context, event }) => updates.denyPublish(context, event)),
    emitRefusal: emit(({ context, event }) => facts.refusal(context, event)),
    recordViolation: enqueueActions(({ context, event, enqueue }) => {
      const r = violationEffect(context, event);
      for (const f of r.facts) enqueue.emit(f);
      enqueue.assign(r.patch);
    }),
    // operator and clock
    operator: enqueueActions(({ context, event, enqueue }) => {
      const r = operatorEffect(context, event);
      for (const f of r.facts) enqueue.emit(f);
      enqueue.assign(r.patch);
    }),
    expire: enqueueActions(({ context, event, enqueue }) => {
      const r = expiryEffect(context, event);
      for (const f of r.facts) enqueue.emit(f);
      enqueue.assign(r.patch);
    }),
  },
}).createMachine({
  id: 'client',
  type: 'parallel',
  context: INITIAL_CONTEXT,
  on: {
    'message.delivered': { actions: 'countDelivered' },
    'message.acked': { actions: 'countAcked' },
    'message.dropped': { actions: 'countDropped' },
    'session.subscribed': { actions: ['subscribe', 'emitSubscription'] },
    'session.unsubscribed': { actions: ['unsubscribe', 'emitSubscription'] },
    // The operator's override: applied to every later valued hook (client.rules.ts effectivePolicy).
    'admin.override': { actions: 'operator' },
    'admin.clear_override': [{ guard: 'hasOverride', actions: 'operator' }, { actions: ['touch', 'emitStale'] }],
  },
  states: {
    lifecycle: {
      initial: 'idle',
      on: {
        'client.connect': { target: '.connecting', actions: ['acceptConnect', 'emitConnecting'] },
      },
      states: {
        idle: {
          on: {
            'client.connected': { target: 'connected', actions: ['becomeConnected', 'emitConnected'] },
            'client.connack': [
              { guard: 'connackSucceeded', target: 'connected', actions: ['becomeConnected', 'emitConnected'] },
              { target: 'disconnected', actions: ['markRefused', 'emitRefused'] },
            ],
            'client.disconnected': [
              { guard: 'replacedReason', actions: ['touch', 'emitOlderClosed'] },
              { target: 'disconnected', actions: ['becomeDisconnected', 'emitDisconnected'] },
            ],
          },
        },
        connecting: {
          on: {
            'client.connected': [
              { guard: 'fromOlderLive', actions: ['touch', 'emitStale'] },
              { target: 'connected', actions: ['becomeConnected', 'emitConnected'] },
            ],
            'client.connack': [
              { guard: not('isCurrentConn'), actions: ['touch', 'emitStale'] },
              { guard: 'connackSucceeded', target: 'connected', actions: ['becomeConnected', 'emitConnected'] },
              { guard: 'hasLive', target: 'connected', actions: ['backToLive', 'emitRefused'] },
              { target: 'disconnected', actions: ['markRefused', 'emitRefused'] },
            ],
            // Only a connected connection reports a disconnect: while the newest
            // is still connecting, any disconnect is an older connection's.
            'client.disconnected': { actions: ['dropLive', 'emitOlderClosed'] },
          },
        },
        connected: {
          on: {
            'client.connected': { actions: ['touch', 'emitStale'] },
            'client.connack': [
              { guard: and(['connackSucceeded', 'isCurrentConn']), actions: 'touch' },
              { actions: ['touch', 'emitStale'] },
            ],
            'client.disconnected': [
              { guard: 'replacedReason', actions: ['touch', 'emitOlderClosed'] },
              { guard: 'isCurrentConn', target: 'disconnected', actions: ['becomeDisconnected', 'emitDisconnected'] },
              { actions: ['touch', 'emitStale'] },
            ],
          },
        },
        disconnected: {
          on: {
            'client.connected': { target: 'connected', actions: ['becomeConnected', 'emitConnected'] },
            'client.connack': [
              { guard: 'connackSucceeded', target: 'connected', actions: ['becomeConnected', 'emitConnected'] },
              { actions: ['markRefused', 'emitRefused'] },
            ],
            'client.disconnected': [
              { guard: 'replacedReason', actions: ['touch', 'emitOlderClosed'] },
              { actions: ['touch', 'emitStale'] },
            ],
          },
        },
      },
    },
    session: {
      initial: 'none',
      on: {
        'session.created': { target: '.created', actions: ['sessionBegan', 'emitSessionBegan'] },
        'session.resumed': { target: '.resumed', actions: ['sessionBegan', 'emitSessionBegan'] },
        // Always the OLD connection's: it never undoes the newest connection's session.
        'session.discarded': [
          { guard: 'sessionIsFresh', actions: ['touch', 'emitSessionEnded'] },
          { target: '.discarded', actions: ['touch', 'emitSessionEnded'] },
        ],
        'session.takenover': [
          { guard: 'sessionIsFresh', actions: ['touch', 'emitSessionEnded'] },
          { target: '.takenover', actions: ['touch', 'emitSessionEnded'] },
        ],
        // A session ends after its connection's disconnect: while connected, a
        // termination is an older connection's.
        'session.terminated': [
          {
            guard: or([
              stateIn({ lifecycle: 'connected' }),
              and([stateIn({ lifecycle: 'connecting' }), 'sessionIsFresh']),
              and([stateIn({ lifecycle: 'disconnected' }), not('isCurrentConn')]),
            ]),
            actions: ['touch', 'emitStale'],
          },
          { target: '.terminated', actions: ['sessionTerminated', 'emitTerminated'] },
        ],
      },
      states: { none: {}, created: {}, resumed: {}, takenover: {}, discarded: {}, terminated: {} },
    },
    standing: {
      initial: 'ok',
      on: {
        // Runs after the lifecycle region's `acceptConnect` (regions act in
        // document order), so the window already holds this connect.
        'client.connect': { guard: 'connectFlaps', target: '.banned', actions: ['emitFlappingBan', 'banForFlapping'] },
        'admin.ban': [
          { guard: 'untilPassed', actions: ['touch', 'emitStale'] },
          { target: '.banned', actions: 'operator' },
        ],
        'admin.unban': [
          { guard: and(['banActiveNow', 'quarantineActiveNow']), target: '.quarantined', actions: 'operator' },
          { guard: 'banActiveNow', target: '.ok', actions: 'operator' },
          { actions: ['touch', 'emitStale'] },
        ],
        'admin.quarantine': [
          { guard: 'untilPassed', actions: ['touch', 'emitStale'] },
          { guard: 'banActiveNow', actions: 'operator' },
          { target: '.quarantined', actions: 'operator' },
        ],
        'admin.release': [
          { guard: and(['quarantineActiveNow', not('banActiveNow')]), target: '.ok', actions: 'operator' },
          { guard: 'quarantineActiveNow', actions: 'operator' },
          { actions: ['touch', 'emitStale'] },
        ],
        // Sent by `step` when a ban or quarantine has run out by event time.
        'clock.tick': [
          { guard: 'banActiveNow', target: '.banned', actions: 'expire' },
          { guard: 'quarantineActiveNow', target: '.quarantined', actions: 'expire' },
          { target: '.ok', actions: 'expire' },
        ],
      },
      states: {
        ok: {
          on: {
            'client.authenticate': [{ guard: 'denies', actions: ['decide', 'emitRefusal'] }, { actions: 'decide' }],
            'client.authorize': [
              { guard: 'violationQuarantines', target: 'quarantined', actions: ['decide', 'emitRefusal', 'recordViolation'] },
              { guard: 'violates', actions: ['decide', 'emitRefusal', 'recordViolation'] },
              { guard: 'denies', actions: ['decide', 'emitRefusal'] },
              { actions: 'decide' },
            ],
            'message.publish': [
              { guard: 'violationQuarantines', target: 'quarantined', actions: ['denyPublish', 'emitRefusal', 'recordViolation'] },
              { guard: 'violates', actions: ['denyPublish', 'emitRefusal', 'recordViolation'] },
              { guard: 'denies', actions: ['denyPublish', 'emitRefusal'] },
              { actions: 'allowPublish' },
            ],
          },
        },
        // Blocked: every valued hook is denied (the verdict explains the ban or quarantine).
        quarantined: { on: BLOCKED },
        banned: { on: BLOCKED },
      },
    },
  },
});

export type ClientMachine = typeof clientMachine;
