/**
 * One decoder per request kind: the decoded request of any generation into
 * exactly one `HookEvent`, stamped with `at` and `generation`. Validation
 * returns a `Decoded` value and never throws. Only a missing sub-message the
 * event cannot exist without (`conninfo`, `clientinfo`, `message`) or an
 * authorize `type` we do not know is an error; empty strings are data (EMQX
 * sends `clientid=""` on `client.connect` before it assigns one).
 */
import type {
  ClientAuthenticate,
  ClientAuthorize,
  ClientConnack,
  ClientConnect,
  ClientConnected,
  ClientDisconnected,
  ClientSubscribe,
  Generation,
  MessageDelivery,
  MessageDropped,
  MessagePublish,
  SessionEvent,
  SessionSubscribed,
  SessionTerminated,
  SessionUnsubscribed,
} from '../domain/hook-event.js';
import { Secret } from '../domain/secret.js';
import { clientOf, connOf, filtersOf, messageOf, metaOf, propsOf, suboptsOf } from './decode-parts.js';
import type { WireRequest } from './wire.types.js';

/** Why a request cannot become an event; `field` names the proto field. */
export interface DecodeError {
  readonly field: string;
  readonly problem: string;
}

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: DecodeError };

const missing = (field: string): { readonly ok: false; readonly error: DecodeError } =>
  Object.freeze({ ok: false, error: Object.freeze({ field, problem: `required field "${field}" is missing` }) });
const NO_CONNINFO = missing('conninfo');
const NO_CLIENTINFO = missing('clientinfo');
const NO_MESSAGE = missing('message');

const ok = <T>(value: T): Decoded<T> => ({ ok: true, value });

/** A decoder: request, arrival time (epoch ms), generation → one event or an error. */
export type Decoder<E> = (req: WireRequest, at: number, generation: Generation) => Decoded<E>;

export const decodeClientConnect: Decoder<ClientConnect> = (r, at, generation) =>
  r.conninfo
    ? ok({ type: 'client.connect', at, generation, meta: metaOf(r.meta), conn: connOf(r.conninfo), props: propsOf(r.props), userProps: propsOf(r.user_props) })
    : NO_CONNINFO;

export const decodeClientConnack: Decoder<ClientConnack> = (r, at, generation) =>
  r.conninfo
    ? ok({
        type: 'client.connack',
        at,
        generation,
        meta: metaOf(r.meta),
        conn: connOf(r.conninfo),
        resultCode: r.result_code ?? '',
        props: propsOf(r.props),
        userProps: propsOf(r.user_props),
      })
    : NO_CONNINFO;

export const decodeClientConnected: Decoder<ClientConnected> = (r, at, generation) =>
  r.clientinfo ? ok({ type: 'client.connected', at, generation, meta: metaOf(r.meta), client: clientOf(r.clientinfo) }) : NO_CLIENTINFO;

export const decodeClientDisconnected: Decoder<ClientDisconnected> = (r, at, generation) =>
  r.clientinfo
    ? ok({ type: 'client.disconnected', at, generation, meta: metaOf(r.meta), client: clientOf(r.clientinfo), reason: r.reason ?? '' })
    : NO_CLIENTINFO;

/** The plaintext password leaves the wire shape only inside a `Secret`. */
export const decodeClientAuthenticate: Decoder<ClientAuthenticate> = (r, at, generation) =>
  r.clientinfo
    ? ok({
        type: 'client.authenticate',
        at,
        generation,
        meta: metaOf(r.meta),
        client: clientOf(r.clientinfo),
        password: new Secret(r.clientinfo.password),
        result: r.result ?? false,
      })
    : NO_CLIENTINFO;

/**
 * v2/v3 `OnClientAuthorize` and v1 `OnClientCheckAcl`. proto-loader turns an
 * enum number it does not know into the number itself; we accept the numbers
 * of the two known values and refuse anything else rather than guess.
 */
export const decodeClientAuthorize: Decoder<ClientAuthorize> = (r, at, generation) => {
  if (!r.clientinfo) return NO_CLIENTINFO;
  const t = r.type ?? 'PUBLISH';
  const action = t === 'PUBLISH' || t === 0 ? 'publish' : t === 'SUBSCRIBE' || t === 1 ? 'subscribe' : undefined;
  if (action === undefined) {
    return { ok: false, error: { field: 'type', problem: `unknown authorize type ${String(t)} (known: PUBLISH=0, SUBSCRIBE=1)` } };
  }
  return ok({
    type: 'client.authorize',
    at,
    generation,
    meta: metaOf(r.meta),
    client: clientOf(r.clientinfo),
    action,
    topic: r.topic ?? '',
    result: r.result ?? false,
  });
};

const subscription =
  (type: ClientSubscribe['type']): Decoder<ClientSubscribe> =>
  (r, at, generation) =>
    r.clientinfo
      ? ok({
          type,
          at,
          generation,
          meta: metaOf(r.meta),
          client: clientOf(r.clientinfo),
          filters: filtersOf(r.topic_filters),
          props: propsOf(r.props),
          userProps: propsOf(r.user_props),
        })
      : NO_CLIENTINFO;
export const decodeClientSubscribe = subscription('client.subscribe');
/** 5.3.2 always sends `topic_filters: []` here; only session.unsubscribed carries the filter. */
export const decodeClientUnsubscribe = subscription('client.unsubscribe');

const session =
  (type: SessionEvent['type']): Decoder<SessionEvent> =>
  (r, at, generation) =>
    r.clientinfo ? ok({ type, at, generation, meta: metaOf(r.meta), client: clientOf(r.clientinfo) }) : NO_CLIENTINFO;
export const decodeSessionCreated = session('session.created');
export const decodeSessionResumed = session('session.resumed');
export const decodeSessionDiscarded = session('session.discarded');
/** v2/v3 `OnSessionTakenover` and v1 `OnSessionTakeovered`. */
export const decodeSessionTakenover = session('session.takenover');

export const decodeSessionTerminated: Decoder<SessionTerminated> = (r, at, generation) =>
  r.clientinfo
    ? ok({ type: 'session.terminated', at, generation, meta: metaOf(r.meta), client: clientOf(r.clientinfo), reason: r.reason ?? '' })
    : NO_CLIENTINFO;

export const decodeSessionSubscribed: Decoder<SessionSubscribed> = (r, at, generation) =>
  r.clientinfo
    ? ok({
        type: 'session.subscribed',
        at,
        generation,
        meta: metaOf(r.meta),
        client: clientOf(r.clientinfo),
        topic: r.topic ?? '',
        subopts: suboptsOf(r.subopts),
      })
    : NO_CLIENTINFO;

export const decodeSessionUnsubscribed: Decoder<SessionUnsubscribed> = (r, at, generation) =>
  r.clientinfo
    ? ok({ type: 'session.unsubscribed', at, generation, meta: metaOf(r.meta), client: clientOf(r.clientinfo), topic: r.topic ?? '' })
    : NO_CLIENTINFO;

export const decodeMessagePublish: Decoder<MessagePublish> = (r, at, generation) =>
  r.message ? ok({ type: 'message.publish', at, generation, meta: metaOf(r.meta), message: messageOf(r.message) }) : NO_MESSAGE;

const delivery =
  (type: MessageDelivery['type']): Decoder<MessageDelivery> =>
  (r, at, generation) => {
    if (!r.clientinfo) return NO_CLIENTINFO;
    if (!r.message) return NO_MESSAGE;
    return ok({ type, at, generation, meta: metaOf(r.meta), client: clientOf(r.clientinfo), message: messageOf(r.message) });
  };
export const decodeMessageDelivered = delivery('message.delivered');
export const decodeMessageAcked = delivery('message.acked');

export const decodeMessageDropped: Decoder<MessageDropped> = (r, at, generation) =>
  r.message
    ? ok({ type: 'message.dropped', at, generation, meta: metaOf(r.meta), message: messageOf(r.message), reason: r.reason ?? '' })
    : NO_MESSAGE;
