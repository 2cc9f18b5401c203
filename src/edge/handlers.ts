/**
 * The HookProvider implementation for one generation: which RPC is a
 * notification and which is valued, and how each is answered.
 *
 * - Notifications: EmptySuccess goes out FIRST, then the event is decoded and
 *   handed to `dispatcher.notify` (a throw is logged, never escapes). An
 *   undecodable notification is still answered OK (EMQX ignores the reply)
 *   and logged at warn with the RPC name, never with the request.
 * - Valued: decode; an undecodable request gets INVALID_ARGUMENT naming the
 *   field (EMQX then applies its `failed_action`); otherwise valued-call.ts.
 * - OnProviderLoaded: idempotent; `dispatcher.providerLoaded`, then the hook
 *   specs from `options.mount`. OnProviderUnloaded: EmptySuccess.
 */
import { status, type handleUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Generation, NotificationEvent, ValuedEvent } from '../domain/hook-event.js';
import * as d from './decode.js';
import { decodeProviderLoaded, decodeProviderUnloaded } from './decode-provider.js';
import { hookSpecsFor, unknownHooks } from './hook-specs.js';
import type { HookMeter } from './edge.types.js';
import { answerValued, type EdgeContext } from './valued-call.js';
import type { WireLoadedResponse, WireRequest, WireValuedResponse } from './wire.types.js';

type Rpc =
  | { readonly hook: NotificationEvent['type']; readonly valued: false; readonly decode: d.Decoder<NotificationEvent> }
  | { readonly hook: ValuedEvent['type']; readonly valued: true; readonly decode: d.Decoder<ValuedEvent> };
const notify = (hook: NotificationEvent['type'], decode: d.Decoder<NotificationEvent>): Rpc => ({ hook, valued: false, decode });
const valued = (hook: ValuedEvent['type'], decode: d.Decoder<ValuedEvent>): Rpc => ({ hook, valued: true, decode });

const COMMON: Readonly<Record<string, Rpc>> = {
  OnClientConnect: notify('client.connect', d.decodeClientConnect),
  OnClientConnack: notify('client.connack', d.decodeClientConnack),
  OnClientConnected: notify('client.connected', d.decodeClientConnected),
  OnClientDisconnected: notify('client.disconnected', d.decodeClientDisconnected),
  OnClientAuthenticate: valued('client.authenticate', d.decodeClientAuthenticate),
  OnClientSubscribe: notify('client.subscribe', d.decodeClientSubscribe),
  OnClientUnsubscribe: notify('client.unsubscribe', d.decodeClientUnsubscribe),
  OnSessionCreated: notify('session.created', d.decodeSessionCreated),
  OnSessionSubscribed: notify('session.subscribed', d.decodeSessionSubscribed),
  OnSessionUnsubscribed: notify('session.unsubscribed', d.decodeSessionUnsubscribed),
  OnSessionResumed: notify('session.resumed', d.decodeSessionResumed),
  OnSessionDiscarded: notify('session.discarded', d.decodeSessionDiscarded),
  OnSessionTerminated: notify('session.terminated', d.decodeSessionTerminated),
  OnMessagePublish: valued('message.publish', d.decodeMessagePublish),
  OnMessageDelivered: notify('message.delivered', d.decodeMessageDelivered),
  OnMessageDropped: notify('message.dropped', d.decodeMessageDropped),
  OnMessageAcked: notify('message.acked', d.decodeMessageAcked),
};
const V2_NAMES = {
  OnClientAuthorize: valued('client.authorize', d.decodeClientAuthorize),
  OnSessionTakenover: notify('session.takenover', d.decodeSessionTakenover),
};

/** Every event RPC of a generation (all but OnProvider(Un)Loaded). */
export const RPCS: Readonly<Record<Generation, Readonly<Record<string, Rpc>>>> = {
  v1: {
    ...COMMON,
    OnClientCheckAcl: valued('client.authorize', d.decodeClientAuthorize),
    OnSessionTakeovered: notify('session.takenover', d.decodeSessionTakenover),
  },
  v2: { ...COMMON, ...V2_NAMES },
  v3: { ...COMMON, ...V2_NAMES },
};

const EMPTY_SUCCESS = Object.freeze({});

/** The meter of an edge started without metrics. */
const NO_METER: HookMeter = { done: () => undefined, decided: () => undefined, cancelled: () => undefined, undecodable: () => undefined };

export function hookProviderHandlers(generation: Generation, ctx: EdgeContext): UntypedServiceImplementation {
  const { dispatcher, options, log } = ctx;

  const onLoaded: handleUnaryCall<WireRequest, WireLoadedResponse> = (call, callback) => {
    const loaded = decodeProviderLoaded(call.request, Date.now(), generation);
    try {
      dispatcher.providerLoaded(loaded);
    } catch (err) {
      log.error({ err, generation }, 'dispatcher.providerLoaded threw; loading anyway');
    }
    let hooks;
    try {
      const mount = options.mount(loaded);
      const unknown = unknownHooks(mount);
      if (unknown.length > 0) log.warn({ generation, unknown }, 'mount lists hooks EMQX does not know; left out');
      hooks = hookSpecsFor(mount, generation);
    } catch (err) {
      log.error({ err, generation }, 'computing the hooks to mount failed; EMQX will retry the load');
      callback({ code: status.INTERNAL, details: 'hookwarden could not compute its hook list; see its log' });
      return;
    }
    const { node, version, clusterName } = loaded.meta;
    log.info({ generation, node, version, clusterName, uptime: loaded.broker.uptime, hooks: hooks.map((h) => h.name) }, 'loaded by EMQX');
    callback(null, { hooks });
  };

  const onUnloaded: handleUnaryCall<WireRequest, object> = (call, callback) => {
    callback(null, EMPTY_SUCCESS);
    const unloaded = decodeProviderUnloaded(call.request, Date.now(), generation);
    log.info({ generation, node: unloaded.meta.node }, 'unloaded by EMQX');
    try {
      dispatcher.providerUnloaded(unloaded);
    } catch (err) {
      log.error({ err, generation }, 'dispatcher.providerUnloaded threw');
    }
  };

  const notification =
    (rpc: string, decode: d.Decoder<NotificationEvent>, meter: HookMeter): handleUnaryCall<WireRequest, object> =>
    (call, callback) => {
      const startedAt = performance.now();
      const at = Date.now();
      callback(null, EMPTY_SUCCESS);
      const decoded = decode(call.request, at, generation);
      if (!decoded.ok) {
        meter.undecodable();
        log.warn({ rpc, generation, field: decoded.error.field }, `undecodable ${rpc} answered OK and dropped: ${decoded.error.problem}`);
        return;
      }
      try {
        dispatcher.notify(decoded.value);
      } catch (err) {
        log.error({ err, rpc }, 'dispatcher.notify threw');
      }
      meter.done(startedAt);
    };

  const valuedCall =
    (rpc: string, decode: d.Decoder<ValuedEvent>, meter: HookMeter): handleUnaryCall<WireRequest, WireValuedResponse> =>
    (call, callback) => {
      const startedAt = performance.now();
      const decoded = decode(call.request, Date.now(), generation);
      if (!decoded.ok) {
        meter.undecodable();
        log.warn({ rpc, generation, field: decoded.error.field }, `undecodable ${rpc} refused: ${decoded.error.problem}`);
        callback({ code: status.INVALID_ARGUMENT, details: `${rpc}: ${decoded.error.problem}` });
        return;
      }
      answerValued(ctx, rpc, decoded.value, call, callback, meter, startedAt);
    };

  const impl: UntypedServiceImplementation = { OnProviderLoaded: onLoaded, OnProviderUnloaded: onUnloaded };
  for (const [rpc, spec] of Object.entries(RPCS[generation])) {
    const meter = options.meters?.meter(spec.hook, generation) ?? NO_METER;
    impl[rpc] = spec.valued ? valuedCall(rpc, spec.decode, meter) : notification(rpc, spec.decode, meter);
  }
  return impl;
}
