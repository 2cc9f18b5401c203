/**
 * Answering one valued call (authenticate, authorize/check_acl, publish)
 * exactly once and never late. A synchronous decision is encoded at once, no
 * timer (the hot path). A promise races a timer set to
 *   deadline = min(at + deadlines.valuedMs, caller's grpc deadline − SAFETY_MARGIN_MS)
 * and loses to it with the configured fallback (`deadline.fallback`); a throw
 * or rejection answers the fallback too (`error.fallback`). EMQX's own timer
 * (request_timeout) therefore never fires because of us.
 */
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { decision, type Decision, type ReasonCode } from '../domain/decision.js';
import { clientIdOf, type ValuedEvent } from '../domain/hook-event.js';
import type { Dispatcher, EdgeOptions, HookMeter } from './edge.types.js';
import { encodeValued } from './encode.js';
import type { WireRequest, WireValuedResponse } from './wire.types.js';

/** What the edge's handlers share. */
export interface EdgeContext {
  readonly options: EdgeOptions;
  readonly dispatcher: Dispatcher;
  readonly log: Logger;
}

/** Time kept for encoding and the trip back before the caller's deadline, ms. */
export const SAFETY_MARGIN_MS = 50;

/** Epoch ms by which the answer is due. `caller` is grpc-js's deadline (Infinity when none was sent). */
export function deadlineFor(at: number, valuedMs: number, caller: Date | number): number {
  const callerMs = caller instanceof Date ? caller.getTime() : caller;
  return Math.min(at + valuedMs, callerMs - SAFETY_MARGIN_MS);
}

export function fallbackDecision(options: EdgeOptions, event: ValuedEvent, code: ReasonCode, detail: string): Decision {
  return decision(options.deadlines.fallback[event.type], { code, policy: '-', detail });
}

const isPromise = (x: unknown): x is Promise<Decision> =>
  typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';

type Call = ServerUnaryCall<WireRequest, WireValuedResponse>;

export function answerValued(
  ctx: EdgeContext,
  rpc: string,
  event: ValuedEvent,
  call: Call,
  callback: sendUnaryData<WireValuedResponse>,
  meter: HookMeter,
  /** `performance.now()` at arrival, for the latency histogram. */
  startedAt: number,
): void {
  const { options, log } = ctx;
  const deadline = deadlineFor(event.at, options.deadlines.valuedMs, call.getDeadline());
  const failed = (err: unknown): Decision => {
    log.error({ err, rpc, hook: event.type, clientid: clientIdOf(event) }, 'deciding failed; answered the configured fallback');
    return fallbackDecision(options, event, 'error.fallback', 'deciding failed; the configured fallback was answered');
  };
  let sent: Decision | undefined;
  const encode = (d: Decision): WireValuedResponse => {
    try {
      sent = d;
      return encodeValued(event, d, options.allowType);
    } catch (err) {
      sent = failed(err);
      return encodeValued(event, sent, options.allowType);
    }
  };
  const tell = (): void => {
    meter.done(startedAt);
    if (sent === undefined) return;
    meter.decided(sent);
    if (!options.answered) return;
    try {
      options.answered(event, sent);
    } catch (err) {
      log.error({ err, rpc }, 'the answered-decision listener failed');
    }
  };

  let pending: Decision | Promise<Decision>;
  try {
    pending = ctx.dispatcher.decide(event, deadline);
  } catch (err) {
    callback(null, encode(failed(err)));
    tell();
    return;
  }
  if (!isPromise(pending)) {
    callback(null, encode(pending));
    tell();
    return;
  }

  let done = false;
  const finish = (d: Decision): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    call.removeListener('cancelled', onCancelled);
    callback(null, encode(d));
    tell();
  };
  const onCancelled = (): void => {
    done = true;
    clearTimeout(timer);
    meter.cancelled();
  };
  const timer = setTimeout(
    () => {
      log.warn(
        { rpc, hook: event.type, clientid: clientIdOf(event), waitedMs: Date.now() - event.at },
        'no decision before the deadline; answered the configured fallback',
      );
      finish(
        fallbackDecision(
          options,
          event,
          'deadline.fallback',
          `no decision within ${deadline - event.at} ms; the configured fallback was answered`,
        ),
      );
    },
    Math.max(0, deadline - Date.now()),
  );
  call.once('cancelled', onCancelled);
  pending.then(finish, (err: unknown) => finish(failed(err)));
}
