/**
 * Route matching: a path pattern is split into segments, `:name` segments
 * capture one URL-decoded segment. Pure.
 */
import type { HttpMethod, HttpRoute } from './route.js';

export const HTTP_METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'DELETE'];

interface Compiled {
  readonly route: HttpRoute;
  /** Literal segment, or `{ param }` for a `:name` segment. */
  readonly segments: readonly (string | { readonly param: string })[];
}

export type Match =
  | { readonly kind: 'found'; readonly route: HttpRoute; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: 'method'; readonly allowed: readonly HttpMethod[] }
  | { readonly kind: 'none' }
  | { readonly kind: 'bad-encoding'; readonly segment: string };

const split = (path: string): string[] => path.split('/').slice(1);

export class RouteTable {
  readonly #compiled: Compiled[];

  /** Throws on a malformed pattern or on two routes with the same method and pattern. */
  constructor(routes: readonly HttpRoute[]) {
    const seen = new Set<string>();
    this.#compiled = routes.map((route) => {
      if (!route.path.startsWith('/')) throw new Error(`route path "${route.path}" must start with "/"`);
      if (!HTTP_METHODS.includes(route.method)) throw new Error(`route ${route.path}: unsupported method ${String(route.method)}`);
      const shape = `${route.method} ${route.path.replace(/:[^/]+/g, ':')}`;
      if (seen.has(shape)) throw new Error(`two routes for ${route.method} ${route.path}`);
      seen.add(shape);
      const segments = split(route.path).map((s) => {
        if (!s.startsWith(':')) return s;
        if (s.length === 1) throw new Error(`route ${route.path}: a ":" segment needs a name`);
        return { param: s.slice(1) };
      });
      return { route, segments };
    });
  }

  get routes(): readonly HttpRoute[] {
    return this.#compiled.map((c) => c.route);
  }

  /** `path` is the raw (still percent-encoded) path without the query. */
  match(method: string, path: string): Match {
    const parts = split(path);
    const allowed: HttpMethod[] = [];
    for (const c of this.#compiled) {
      const params = matchSegments(c.segments, parts);
      if (params === undefined) continue;
      if (params === null) return { kind: 'bad-encoding', segment: path };
      if (c.route.method === method) return { kind: 'found', route: c.route, params };
      allowed.push(c.route.method);
    }
    return allowed.length > 0 ? { kind: 'method', allowed } : { kind: 'none' };
  }
}

/** The params when `parts` fit the pattern; `undefined` when not; `null` when a param is not valid percent-encoding. */
function matchSegments(segments: Compiled['segments'], parts: readonly string[]): Record<string, string> | undefined | null {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as Compiled['segments'][number];
    const part = parts[i] as string;
    if (typeof seg === 'string') {
      if (seg !== part) return undefined;
      continue;
    }
    if (part === '') return undefined;
    try {
      params[seg.param] = decodeURIComponent(part);
    } catch {
      return null;
    }
  }
  return params;
}
