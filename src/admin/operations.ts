/**
 * The operator's actions behind the admin API, as sequences of the client
 * machine's admin events (`HookService.command`): each event is planned in
 * the client's mailbox from its current state, stepped, and journaled
 * durably before the call returns, so it holds on every instance that loads
 * the client from the shared journal.
 *
 * - override: `limits` and `shadow` given replace those of the current
 *   override (the others stay); `ban` / `quarantine` start an operator's ban
 *   or quarantine lasting that long from now.
 * - clear override: removes the override and lifts the operator's own ban
 *   and quarantine (not a flapping ban nor a quarantine earned by violations).
 * - unban: lifts any ban and any quarantine.
 */
import type { ClientSnapshot } from '../../machines/client/client.step.js';
import { clockOf, MAX_UNTIL } from '../../machines/client/client.rules.js';
import type { AdminEvent, ClientContext } from '../../machines/client/client.types.js';
import type { CommandResult, HookService } from '../core/hook-service.js';
import type { OverrideRequest } from './requests.js';

export interface Applied {
  readonly command: AdminEvent['type'];
  readonly facts: readonly string[];
}

export interface CommandOutcome {
  readonly applied: readonly Applied[];
  /** The client's context after everything (read in its mailbox). */
  readonly context: ClientContext;
}

type Plan = (snapshot: ClientSnapshot, at: number) => AdminEvent | undefined;

const until = (at: number, ms: number): number => Math.min(at + ms, MAX_UNTIL);

export const banActiveAt = (c: ClientContext, at: number): boolean => c.bannedUntil > clockOf(c, at);
export const quarantineActiveAt = (c: ClientContext, at: number): boolean => c.quarantinedUntil > clockOf(c, at);

/** Run `plans` one after the other in the client's mailbox; the context after them. */
export async function runPlans(service: HookService, clientId: string, plans: readonly Plan[], note = ''): Promise<CommandOutcome> {
  const applied: Applied[] = [];
  for (const plan of plans) {
    const r: CommandResult | undefined = await service.command(clientId, plan, note);
    if (r) applied.push({ command: r.event.type, facts: r.facts.map((f) => f.type) });
  }
  let context: ClientContext | undefined;
  await service.command(clientId, (s) => {
    context = s.context;
    return undefined;
  });
  return { applied, context: context as ClientContext };
}

/** The plans of `PUT …/override`. */
export function overridePlans(req: OverrideRequest): Plan[] {
  const plans: Plan[] = [];
  if (req.limits !== undefined || req.shadow !== undefined) {
    plans.push((s, at) => {
      const cur = s.context.override;
      const limits = req.limits ?? cur?.limits;
      const shadow = req.shadow ?? cur?.shadow;
      return {
        type: 'admin.override',
        at,
        reason: req.reason,
        ...(limits !== undefined ? { limits } : {}),
        ...(shadow !== undefined ? { shadow } : {}),
      };
    });
  }
  const { banMs, quarantineMs } = req;
  if (banMs !== undefined) plans.push((_s, at) => ({ type: 'admin.ban', at, untilAt: until(at, banMs), reason: req.reason }));
  if (quarantineMs !== undefined)
    plans.push((_s, at) => ({ type: 'admin.quarantine', at, untilAt: until(at, quarantineMs), reason: req.reason }));
  return plans;
}

/** The plans of `DELETE …/override`: the override, then the operator's own ban and quarantine. */
export function clearOverridePlans(): Plan[] {
  return [
    (s, at) => (s.context.override !== null ? { type: 'admin.clear_override', at } : undefined),
    (s, at) => (banActiveAt(s.context, at) && s.context.banKind === 'override' ? { type: 'admin.unban', at } : undefined),
    (s, at) => (quarantineActiveAt(s.context, at) && s.context.quarantineNote !== '' ? { type: 'admin.release', at } : undefined),
  ];
}

/** The plans of `POST …/unban`: any ban, then any quarantine. */
export function unbanPlans(): Plan[] {
  return [
    (s, at) => (banActiveAt(s.context, at) ? { type: 'admin.unban', at } : undefined),
    (s, at) => (quarantineActiveAt(s.context, at) ? { type: 'admin.release', at } : undefined),
  ];
}
