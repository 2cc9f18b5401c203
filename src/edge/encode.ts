/**
 * `Decision` → `ValuedResponse`, the only answers EMQX folds into its result.
 *
 * authenticate / authorize (check_acl in v1):
 *   allow  → { type: allowType, bool_result: true }   (CONTINUE by default: later servers still have their say)
 *   deny   → { type: STOP_AND_RETURN, bool_result: false }
 *   ignore → { type: IGNORE } with no value (EMQX keeps its running result)
 * `bool_result: false` is an own property of the reply object, so protobufjs
 * writes field 3 = 0 on the wire: a oneof member is present even when false,
 * and EMQX treats CONTINUE/STOP without a value as IGNORE.
 *
 * message.publish:
 *   allow / ignore → { type: IGNORE }: EMQX publishes its own record unchanged (cheap: no echo)
 *   deny → { type: STOP_AND_RETURN, message: the WHOLE message, headers.allow_publish = "false" }
 * EMQX copies qos, topic and payload from the reply unconditionally, so the
 * echo must be complete. EMQX 4.3 has no `headers` (v1 field 8 arrived in
 * 4.4): it cannot drop a message; a deny there publishes it unchanged.
 *
 * A shadowed deny (policy in shadow mode) is answered like an allow.
 */
import type { Decision, Outcome } from '../domain/decision.js';
import type { MessageInfo, ValuedEvent } from '../domain/hook-event.js';
import type { EdgeOptions } from './edge.types.js';
import type { WireValuedResponse } from './wire.types.js';

export type AllowType = EdgeOptions['allowType'];

const ALLOW_CONTINUE: WireValuedResponse = Object.freeze({ type: 'CONTINUE', bool_result: true });
const ALLOW_STOP: WireValuedResponse = Object.freeze({ type: 'STOP_AND_RETURN', bool_result: true });
const DENY: WireValuedResponse = Object.freeze({ type: 'STOP_AND_RETURN', bool_result: false });
const IGNORE: WireValuedResponse = Object.freeze({ type: 'IGNORE' });

/** The outcome actually answered: a shadowed deny goes out as an allow. */
export const answeredOutcome = (d: Decision): Outcome => (d.shadowed && d.outcome === 'deny' ? 'allow' : d.outcome);

/** authenticate and authorize: a bool, or IGNORE without a value. */
export function encodeBool(d: Decision, allowType: AllowType): WireValuedResponse {
  switch (answeredOutcome(d)) {
    case 'allow':
      return allowType === 'STOP_AND_RETURN' ? ALLOW_STOP : ALLOW_CONTINUE;
    case 'deny':
      return DENY;
    default:
      return IGNORE;
  }
}

/** message.publish: IGNORE, or the whole message echoed with allow_publish = "false". */
export function encodePublish(message: MessageInfo, d: Decision): WireValuedResponse {
  if (answeredOutcome(d) !== 'deny') return IGNORE;
  return {
    type: 'STOP_AND_RETURN',
    message: {
      node: message.node,
      id: message.id,
      qos: message.qos,
      from: message.from,
      topic: message.topic,
      payload: message.payload,
      timestamp: message.timestamp,
      headers: { ...message.headers, allow_publish: 'false' },
    },
  };
}

/** The reply to one valued event. */
export const encodeValued = (event: ValuedEvent, d: Decision, allowType: AllowType): WireValuedResponse =>
  event.type === 'message.publish' ? encodePublish(event.message, d) : encodeBool(d, allowType);
