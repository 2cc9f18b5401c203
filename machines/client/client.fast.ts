/**
 * PURE: the frequent, simple transitions stepped without the XState
 * interpreter, which costs ~20-30 µs per event on this parallel machine:
 * - targetless and fact-free: delivered, acked, dropped; an allowed publish,
 *   authorize or authenticate in `standing.ok`; the CONNACK of the connection
 *   already connected;
 * - the lifecycle and session hooks of a normal connect/disconnect
 *   (client.fast-lifecycle.ts), which move one region and emit one fact.
 *
 * It is not a second implementation: it takes the transition the machine's
 * own guard order selects for these events (every earlier guard is false in
 * the cases taken, anything else returns undefined and goes to the
 * interpreter), applies the machine's own update functions (client.update.ts)
 * the way XState's `assign` does (`Object.assign({}, context, partial)`) and
 * builds the facts with the machine's own fact functions (client.facts.ts)
 * from the context at that point of the action list, as `emit` does.
 * test/machines/client.step.test.ts and client.fast.test.ts check it against
 * the interpreter (and that every branch runs); client.paths.test.ts against
 * XState's `transition()`.
 */
import type { SnapshotFrom } from 'xstate';
import type { clientMachine } from './client.machine.js';
import type { ClientEvent, ClientFact } from './client.types.js';
import { assignPatch, updates, verdictOf } from './client.update.js';
import { lifecycleStep } from './client.fast-lifecycle.js';

type Snapshot = SnapshotFrom<typeof clientMachine>;

/** A fast step's outcome (the decision of a valued hook is `next.context.last`). */
export interface FastResult {
  readonly next: Snapshot;
  readonly facts: readonly ClientFact[];
}

type Value = { readonly lifecycle?: string; readonly standing?: string };
const inOk = (s: Snapshot): boolean => (s.value as Value).standing === 'ok';

const NO_FACTS: readonly ClientFact[] = Object.freeze([]);

/** The outcome when `event` takes one of the fast transitions, else undefined (use the interpreter). */
export function fastStep(snapshot: Snapshot, event: ClientEvent): FastResult | undefined {
  const ctx = snapshot.context;
  let patch;
  switch (event.type) {
    case 'message.delivered':
      patch = updates.countDelivered(ctx, event);
      break;
    case 'message.acked':
      patch = updates.countAcked(ctx, event);
      break;
    case 'message.dropped':
      patch = updates.countDropped(ctx, event);
      break;
    case 'message.publish':
    case 'client.authorize':
    case 'client.authenticate': {
      if (!inOk(snapshot)) return undefined;
      const v = verdictOf(ctx, event);
      if (!v || v.outcome === 'deny' || v.violation !== undefined) return undefined;
      patch = event.type === 'message.publish' ? updates.allowPublish(ctx, event) : updates.decide(ctx, event);
      break;
    }
    case 'client.connack':
      // lifecycle.connected: [connackSucceeded and isCurrentConn] -> touch
      if ((snapshot.value as Value).lifecycle === 'connected' && event.success && event.conn === ctx.conn) {
        patch = updates.touch(ctx, event);
        break;
      }
      return lifecycleStep(snapshot, event);
    default:
      return lifecycleStep(snapshot, event);
  }
  return { next: { ...snapshot, context: assignPatch(ctx, patch) }, facts: NO_FACTS };
}
