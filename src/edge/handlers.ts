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
import { answerValued, type EdgeContext } from './valued-call.js';
import type { WireLoadedResponse, WireRequest, WireValuedResponse } from './wire.types.js';

type Rpc = { readonly valued: false; readonly decode: d.Decoder<NotificationEvent> } | { readonly valued: true; readonly decode: d.Decoder<ValuedEvent> };
const notify = (decode: d.Decoder<NotificationEvent>): Rpc => ({ valued: false, decode });
const valued = (decode: d.Decoder<ValuedEvent>): Rpc => ({ valued: true, decode });

const COMMON: Readonly<Record<string, Rpc>> = {
  OnClientConnect: notify(d.decodeClientConnect),
  OnClientConnack: notify(d.decodeClientConnack),
  OnClientConnected: notify(d.decodeClientConnected),
  OnClientDisconnected: notify(d.decodeClientDisconnected),
  OnClientAuthenticate: valued(d.decodeClientAuthenticate),
  OnClientSubscribe: notify(d.decodeClientSubscribe),
  OnClientUnsubscribe: notify(d.decodeClientUnsubscribe),
  OnSessionCreated: notify(d.decodeSessionCreated),
  OnSessionSubscribed: notify(d.decodeSessionSubscribed),
  OnSessionUnsubscribed: notify(d.decodeSessionUnsubscribed),
  OnSessionResumed: notify(d.decodeSessionResumed),
  OnSessionDiscarded: notify(d.decodeSessionDiscarded),
  OnSessionTerminated: notify(d.decodeSessionTerminated),
  OnMessagePublish: valued(d.decodeMessagePublish),
  OnMessageDelivered: notify(d.decodeMessageDelivered),
  OnMessageDropped: notify(d.decodeMessageDropped),
  OnMessageAcked: notify(d.decodeMessageAcked),
};
const V2_NAMES = { OnClientAuthorize: valued(d.decodeClientAuthorize), OnSessionTakenover: notify(d.decodeSessionTakenover) };

/** Every event RPC of a generation (all but OnProvider(Un)Loaded). */
export const RPCS: Readonly<Record<Generation, Readonly<Record<string, Rpc>>>> = {
  v1: { ...COMMON, OnClientCheckAcl: valued(d.decodeClientAuthorize), OnSessionTakeovered: notify(d.decodeSessionTakenover) },
  v2: { ...COMMON, ...V2_NAMES },
  v3: { ...COMMON, ...V2_NAMES },
};

const EMPTY_SUCCESS = Object.freeze({});

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

  const notification = (rpc: string, decode: d.Decoder<NotificationEvent>): handleUnaryCall<WireRequest, object> => (call, callback) => {
    const at = Date.now();
    callback(null, EMPTY_SUCCESS);
    const decoded = decode(call.request, at, generation);
    if (!decoded.ok) {
      log.warn({ rpc, generation, field: decoded.error.field }, `undecodable ${rpc} answered OK and dropped: ${decoded.error.problem}`);
      return;
    }
    try {
      dispatcher.notify(decoded.value);
    } catch (err) {
      log.error({ err, rpc }, 'dispatcher.notify threw');
    }
  };

  const valuedCall = (rpc: string, decode: d.Decoder<ValuedEvent>): handleUnaryCall<WireRequest, WireValuedResponse> => (call, callback) => {
    const decoded = decode(call.request, Date.now(), generation);
    if (!decoded.ok) {
      log.warn({ rpc, generation, field: decoded.error.field }, `undecodable ${rpc} refused: ${decoded.error.problem}`);
      callback({ code: status.INVALID_ARGUMENT, details: `${rpc}: ${decoded.error.problem}` });
      return;
    }
    answerValued(ctx, rpc, decoded.value, call, callback);
  };

  const impl: UntypedServiceImplementation = { OnProviderLoaded: onLoaded, OnProviderUnloaded: onUnloaded };
  for (const [rpc, spec] of Object.entries(RPCS[generation])) {
    impl[rpc] = spec.valued ? valuedCall(rpc, spec.decode) : notification(rpc, spec.decode);
  }
  return impl;
}
