/**
 * The HTTP server (`--http-port`): metrics, health and the admin API, on
 * node:http. It takes a list of routes (src/http/route.ts) and does
 * everything around them: matching with `:name` parameters, the bearer-token
 * rule (src/http/auth.ts), JSON bodies up to `maxBodyBytes`, and JSON errors
 * (`{ "error": code, "message": … }`): 404 unknown path, 405 wrong method
 * (with `Allow`), 400 bad JSON or bad percent-encoding, 413 body too large,
 * 415 a body that is not JSON, 401/403 auth, 500 a handler that threw (logged;
 * the server carries on).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Secret } from '../domain/secret.js';
import { AppError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { AdminAuth } from './auth.js';
import { RouteTable } from './match.js';
import { HttpError, type HttpMethod, type HttpReply, type HttpRoute } from './route.js';

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

export interface HttpServerOptions {
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  readonly routes: readonly HttpRoute[];
  /** Bearer token of the admin (non-`open`) routes. */
  readonly adminToken?: Secret;
  readonly maxBodyBytes?: number;
  readonly log: Logger;
  /** The admin rule; default from `host` and `adminToken` (tests pass one for a non-loopback host). */
  readonly auth?: AdminAuth;
}

export interface RouteInfo {
  readonly method: HttpMethod;
  readonly path: string;
  readonly open: boolean;
  readonly summary: string;
}

export interface HttpServer {
  readonly port: number;
  readonly host: string;
  /** Every registered route (method + path pattern), in registration order. */
  routes(): RouteInfo[];
  /** Stop accepting, end idle keep-alive connections, close the rest after `graceMs`. Idempotent. */
  close(graceMs?: number): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

const problem = (status: number, error: string, message: string, headers?: Record<string, string>): HttpReply => ({
  status,
  json: { error, message },
  ...(headers ? { headers } : {}),
});

export async function startHttpServer(o: HttpServerOptions): Promise<HttpServer> {
  const table = new RouteTable(o.routes);
  const auth = o.auth ?? new AdminAuth(o.host, o.adminToken);
  const maxBody = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = o.log.child({ component: 'http' });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const m = table.match(req.method ?? '', path);
    if (m.kind === 'none') return send(res, problem(404, 'not_found', `no route for ${path}`));
    if (m.kind === 'bad-encoding') return send(res, problem(400, 'bad_path', `${path} is not valid percent-encoding`));
    if (m.kind === 'method')
      return send(
        res,
        problem(405, 'method_not_allowed', `${path} takes ${m.allowed.join(', ')}, not ${req.method}`, { allow: m.allowed.join(', ') }),
      );
    const route = m.route;
    if (!route.open) {
      const verdict = auth.check(req.headers.authorization);
      if (!verdict.ok) {
        req.resume();
        return send(res, problem(verdict.status, verdict.code, verdict.message, verdict.headers));
      }
    }
    const body = await readBody(req, maxBody);
    if (!body.ok) {
      if (body.status === 413) {
        // stop reading: answer and close the connection instead of draining an oversized body
        res.setHeader('connection', 'close');
        res.once('finish', () => setTimeout(() => req.destroy(), 1000).unref());
      }
      return send(res, problem(body.status, body.code, body.message));
    }
    let reply: HttpReply;
    try {
      reply = await route.handle({
        method: route.method,
        path,
        params: m.params,
        query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)),
        body: body.value,
        raw: req,
      });
    } catch (err) {
      if (err instanceof HttpError) return send(res, problem(err.status, err.code, err.message));
      log.error({ err, method: route.method, route: route.path, path }, 'HTTP handler failed');
      return send(res, problem(500, 'internal', 'the request failed inside hookwarden; see its log'));
    }
    send(res, reply);
  };

  const server: Server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err, url: req.url }, 'HTTP request failed');
      if (!res.headersSent) send(res, problem(500, 'internal', 'the request failed inside hookwarden; see its log'));
      else res.destroy();
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void =>
      reject(new AppError('EXH_STARTUP', `cannot listen on HTTP ${o.host}:${o.port}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen(o.port, o.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ host: o.host, port, admin: auth.mode }, 'HTTP server listening');
  if (auth.mode === 'refused' && o.routes.some((r) => !r.open))
    log.warn(
      { host: o.host },
      'the admin API answers 403: the HTTP server is not on loopback and no admin token is set (--admin-token-file)',
    );

  let closing: Promise<void> | undefined;
  return {
    port,
    host: o.host,
    routes: () => table.routes.map((r) => ({ method: r.method, path: r.path, open: r.open === true, summary: r.summary })),
    close: (graceMs = 2000) =>
      (closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      })),
  };
}

type Body =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly status: 400 | 413 | 415; readonly code: string; readonly message: string };

/** The request body parsed as JSON (undefined when empty), or why not. An oversized body is discarded as it arrives. */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Body> {
  const tooLarge: Body = { ok: false, status: 413, code: 'body_too_large', message: `the request body is larger than ${maxBytes} bytes` };
  if (Number(req.headers['content-length'] ?? '0') > maxBytes) {
    req.resume();
    return Promise.resolve(tooLarge);
  }
  return new Promise<Body>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (body: Body): void => {
      if (settled) return;
      settled = true;
      resolve(body);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > maxBytes) settle(tooLarge);
      else chunks.push(chunk);
    });
    req.once('end', () => settle(parseBody(req.headers['content-type'], chunks, size)));
    req.once('close', () => settle({ ok: false, status: 400, code: 'aborted', message: 'the request body ended early' }));
  });
}

function parseBody(type: string | undefined, chunks: readonly Buffer[], size: number): Body {
  if (size === 0) return { ok: true, value: undefined };
  if (type !== undefined && !/\bjson\b/i.test(type))
    return {
      ok: false,
      status: 415,
      code: 'unsupported_media_type',
      message: `the body must be JSON (Content-Type: application/json), got ${type}`,
    };
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown };
  } catch (err) {
    return { ok: false, status: 400, code: 'bad_json', message: `the request body is not valid JSON: ${(err as Error).message}` };
  }
}

function send(res: ServerResponse, reply: HttpReply): void {
  const headers: Record<string, string> = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...reply.headers };
  let payload: string;
  if (reply.text !== undefined) {
    payload = reply.text;
    headers['content-type'] = reply.contentType ?? 'text/plain; charset=utf-8';
  } else if (reply.json !== undefined) {
    payload = `${JSON.stringify(reply.json)}\n`;
    headers['content-type'] = reply.contentType ?? JSON_TYPE;
  } else payload = '';
  headers['content-length'] = String(Buffer.byteLength(payload));
  res.writeHead(reply.status, headers);
  res.end(payload);
}
