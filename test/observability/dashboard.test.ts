/**
 * The Grafana dashboard (deploy/grafana/hookwarden-dashboard.json) refers
 * only to metrics hookwarden really exposes, and shows every one of ours.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRIC_NAMES, Metrics } from '../../src/observability/metrics.js';
import { declaredMetrics } from './scrape.js';

const DASHBOARD = new URL('../../deploy/grafana/hookwarden-dashboard.json', import.meta.url);

/** Every `expr` and templating `query`/`definition` string anywhere in the dashboard. */
function queries(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) queries(n, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if ((k === 'expr' || k === 'definition' || k === 'query') && typeof v === 'string') out.push(v);
      else queries(v, out);
    }
  }
  return out;
}

const SUFFIXES = ['_bucket', '_sum', '_count'];

describe('Grafana dashboard', () => {
  it('is valid JSON with panels and an instance variable', () => {
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      uid: string;
      panels: unknown[];
      templating: { list: { name: string }[] };
    };
    expect(dash.uid).toBe('hookwarden');
    expect(dash.panels.length).toBeGreaterThan(10);
    expect(dash.templating.list.map((v) => v.name)).toEqual(expect.arrayContaining(['datasource', 'instance']));
  });

  it('uses only metric names a scrape declares, and shows every hookwarden metric', async () => {
    const text = await new Metrics({ processMetrics: true }).scrape();
    const declared = declaredMetrics(text.text);
    for (const name of METRIC_NAMES) expect(declared.has(name), `${name} is in METRIC_NAMES but not registered`).toBe(true);
    for (const name of declared.keys()) if (name.startsWith('hookwarden_')) expect(METRIC_NAMES as readonly string[], name).toContain(name);

    const exprs = queries(JSON.parse(readFileSync(DASHBOARD, 'utf8')));
    expect(exprs.length).toBeGreaterThan(20);
    const used = new Set<string>();
    for (const expr of exprs) for (const m of expr.matchAll(/\b(?:hookwarden|process|nodejs)_[a-z0-9_]+/g)) used.add(m[0]);
    const unknown = [...used].filter((name) => {
      if (declared.has(name)) return false;
      const base = SUFFIXES.find((s) => name.endsWith(s) && declared.get(name.slice(0, -s.length)) === 'histogram');
      return base === undefined;
    });
    expect(unknown, 'the dashboard refers to metrics hookwarden does not expose').toEqual([]);
    const shown = new Set(
      [...used].map((n) =>
        SUFFIXES.reduce((x, s) => (x.endsWith(s) && declared.has(x.slice(0, -s.length)) ? x.slice(0, -s.length) : x), n),
      ),
    );
    const missing = METRIC_NAMES.filter((n) => !shown.has(n));
    expect(missing, 'hookwarden metrics without a dashboard panel').toEqual([]);
  });

  it('every metric is described in docs/OPERATIONS.md', () => {
    const doc = readFileSync(new URL('../../docs/OPERATIONS.md', import.meta.url), 'utf8');
    const metrics = doc.slice(doc.indexOf('## Metrics'), doc.indexOf('## Health'));
    expect(METRIC_NAMES.filter((n) => !metrics.includes(`\`${n}\``))).toEqual([]);
  });
});
