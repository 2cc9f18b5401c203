/**
 * The open HTTP routes: `/metrics` (Prometheus text), `/healthz` (live: 200
 * while the process answers, with details) and `/readyz` (200 ready, 503 not,
 * with the reasons). No token needed.
 */
import type { HttpRoute } from '../http/route.js';
import type { Health } from './health.js';
import type { Metrics } from './metrics.js';

export function operationsRoutes(deps: { readonly metrics: Metrics; readonly health: Health }): HttpRoute[] {
  const { metrics, health } = deps;
  return [
    {
      method: 'GET',
      path: '/metrics',
      open: true,
      summary: 'Prometheus metrics (hookwarden_…, process_…, nodejs_…)',
      handle: async () => {
        const { text, contentType } = await metrics.scrape();
        return { status: 200, text, contentType };
      },
    },
    {
      method: 'GET',
      path: '/healthz',
      open: true,
      summary: 'Liveness: 200 while the process answers; version, uptime, instance, journal, NATS, degrade mode, policy revision',
      handle: () => ({ status: 200, json: health.liveness() }),
    },
    {
      method: 'GET',
      path: '/readyz',
      open: true,
      summary: 'Readiness: 200 once started and while the NATS journal connection is up (or within its grace period), else 503',
      handle: () => {
        const r = health.readiness();
        return { status: r.ready ? 200 : 503, json: r };
      },
    },
  ];
}
