/**
 * The admin API's routes (docs/OPERATIONS.md, docs/openapi.yaml), mounted by
 * the HTTP server under `/v1/…`; the server does the bearer-token rule, JSON
 * parsing and error encoding (`{ "error": code, "message": … }`). Bad input
 * is a 400 whose `problems` name each field and its fix.
 */
import type { Registry } from '../actors/registry.js';
import type { HookService } from '../core/hook-service.js';
import { HttpError, type HttpReply, type HttpRequest, type HttpRoute } from '../http/route.js';
import type { JournalPort } from '../journal/journal.js';
import type { PolicyArchive } from '../journal/policy-archive.js';
import type { PolicyStore } from '../policy/store.js';
import { clientView, limitsToFile, standingOf } from './client-view.js';
import { clearOverridePlans, overridePlans, runPlans, unbanPlans, type CommandOutcome } from './operations.js';
import { checkClientId, checkOverride, checkReason, type Checked, type Problem } from './requests.js';

export interface AdminDeps {
  readonly service: HookService;
  readonly registry: Registry;
  readonly journal: JournalPort;
  readonly archive: PolicyArchive;
  readonly policies: PolicyStore;
  /** This instance's name (`--instance`). */
  readonly instance: string;
  /** Every live hookwarden instance (the membership in src/cluster/); absent: just this one. */
  readonly listInstances?: () => Promise<unknown[]>;
  /** The EMQX link's counters (`--emqx-api-url`), shown with the EMQX nodes. */
  readonly emqxLink?: () => unknown;
  readonly now?: () => number;
}

export const MAX_LAST = 200;

const invalid = (problems: readonly Problem[]): HttpReply => ({
  status: 400,
  json: {
    error: 'invalid_request',
    message: problems.map((p) => `${p.field ? `${p.field}: ` : ''}${p.message} (fix: ${p.fix})`).join('; '),
    problems,
  },
});

function clientIdOf(req: HttpRequest): string {
  const id = req.params.clientId ?? '';
  const problem = checkClientId(id);
  if (problem) throw new HttpError(400, 'invalid_request', `${problem.message}; fix: ${problem.fix}`);
  return id;
}

function lastOf(req: HttpRequest): number | Problem {
  const raw = req.query.get('last');
  if (raw === null) return 20;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  return Number.isInteger(n) && n <= MAX_LAST
    ? n
    : { field: 'last', message: `last=${JSON.stringify(raw)} is not a whole number from 0 to ${MAX_LAST}`, fix: 'write e.g. ?last=20' };
}

/** The reply of a command: what was applied and where the client stands now. */
function outcomeReply(clientId: string, o: CommandOutcome, now: number): HttpReply {
  const c = o.context;
  const standing = standingOf(c, now);
  const ov = c.override;
  return {
    status: 200,
    json: {
      clientId,
      applied: o.applied,
      standing,
      override: ov
        ? {
            ...(ov.limits ? { limits: limitsToFile(ov.limits) } : {}),
            ...(ov.shadow !== undefined ? { shadow: ov.shadow } : {}),
            reason: ov.note,
          }
        : null,
    },
  };
}

const withBody = <T>(checked: Checked<T>, then: (value: T) => Promise<HttpReply>): Promise<HttpReply> | HttpReply =>
  checked.ok ? then(checked.value) : invalid(checked.problems);

export function adminRoutes(deps: AdminDeps): HttpRoute[] {
  const now = deps.now ?? Date.now;
  const viewDeps = { journal: deps.journal, archive: deps.archive, registry: deps.registry, policies: () => deps.policies.current() };
  return [
    {
      method: 'GET',
      path: '/v1/clients/:clientId',
      summary: "A client's state, standing, override, policy and limits in effect, counters and recent decisions",
      handle: async (req) => {
        const clientId = clientIdOf(req);
        const last = lastOf(req);
        if (typeof last !== 'number') return invalid([last]);
        const view = await clientView(viewDeps, clientId, last, now());
        if (!view) throw new HttpError(404, 'not_found', `client ${JSON.stringify(clientId)} is not known to this instance or its journal`);
        return { status: 200, json: view };
      },
    },
    {
      method: 'PUT',
      path: '/v1/clients/:clientId/override',
      summary: "Set the client's override: limits, shadow, a ban or a quarantine (journaled, cluster-wide)",
      handle: (req) => {
        const clientId = clientIdOf(req);
        return withBody(checkOverride(req.body), async (o) =>
          outcomeReply(clientId, await runPlans(deps.service, clientId, overridePlans(o)), now()),
        );
      },
    },
    {
      method: 'DELETE',
      path: '/v1/clients/:clientId/override',
      summary: "Clear the client's override and lift the operator's ban and quarantine",
      handle: (req) => {
        const clientId = clientIdOf(req);
        return withBody(checkReason(req.body), async (b) =>
          outcomeReply(clientId, await runPlans(deps.service, clientId, clearOverridePlans(), b.reason), now()),
        );
      },
    },
    {
      method: 'POST',
      path: '/v1/clients/:clientId/unban',
      summary: 'Lift any ban and any quarantine of the client',
      handle: (req) => {
        const clientId = clientIdOf(req);
        return withBody(checkReason(req.body), async (b) =>
          outcomeReply(clientId, await runPlans(deps.service, clientId, unbanPlans(), b.reason), now()),
        );
      },
    },
    {
      method: 'POST',
      path: '/v1/policy/reload',
      summary: 'Re-read and validate the policy file; an invalid one is refused and the running policy stays',
      handle: async () => {
        const r = await deps.policies.reload();
        if (r.ok) return { status: 200, json: { revision: r.revision, changed: r.changed, file: deps.policies.file ?? null } };
        return {
          status: 422,
          json: {
            error: 'policy_invalid',
            message: `the policy file has ${r.errors.length} error(s); the running policy stays`,
            problems: r.errors.map((e) => ({
              field: e.path,
              message: e.message,
              fix: e.fix,
              ...(e.line !== undefined ? { line: e.line } : {}),
            })),
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/emqx/nodes',
      summary: 'The EMQX nodes that loaded this instance',
      handle: () => ({
        status: 200,
        json: {
          instance: deps.instance,
          nodes: deps.service.nodes.list().map((n) => ({
            ...n,
            loadedAt: new Date(n.loadedAt).toISOString(),
            ...(n.unloadedAt !== undefined ? { unloadedAt: new Date(n.unloadedAt).toISOString() } : {}),
          })),
          link: deps.emqxLink?.() ?? null,
        },
      }),
    },
    {
      method: 'GET',
      path: '/v1/instances',
      summary: 'The hookwarden instances (membership; this instance alone without NATS)',
      handle: async () => {
        if (deps.listInstances) return { status: 200, json: { instances: await deps.listInstances() } };
        const r = deps.registry.stats();
        const self = {
          name: deps.instance,
          self: true,
          journal: deps.journal.kind,
          clients: r.hot + r.cold + r.pinned,
          emqxNodes: deps.service.nodes.list().map((n) => n.node),
        };
        return { status: 200, json: { instances: [self] } };
      },
    },
  ];
}
