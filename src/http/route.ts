/**
 * The contract between the HTTP server (`--http-port`: metrics, health, admin
 * API) and the modules that contribute routes. A route is a method, a path
 * pattern with `:name` parameters, and an async handler that returns a reply;
 * the server does parsing, auth, errors and the JSON encoding.
 */
import type { IncomingMessage } from 'node:http';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface HttpRequest {
  readonly method: HttpMethod;
  /** Path without the query string. */
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Parsed JSON body (undefined when none was sent). */
  readonly body: unknown;
  readonly raw: IncomingMessage;
}

export interface HttpReply {
  readonly status: number;
  /** Serialized as JSON unless `text` is given. */
  readonly json?: unknown;
  readonly text?: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface HttpRoute {
  readonly method: HttpMethod;
  /** e.g. `/v1/clients/:clientId/override` */
  readonly path: string;
  /** Open routes (`/metrics`, `/healthz`, `/readyz`) need no bearer token. */
  readonly open?: boolean;
  /** One line for the route list and the OpenAPI comparison test. */
  readonly summary: string;
  handle(req: HttpRequest): Promise<HttpReply> | HttpReply;
}

/**
 * Thrown by a handler to answer an error status with a JSON body
 * `{ "error": code, "message": message }` (e.g. 404 for an unknown client).
 * Anything else a handler throws is a 500, logged.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
  }
}
