/**
 * The two HTTP/2 clients the generator can use: `raw` (bench/h2-raw.ts, the
 * default: cheap enough that the server, not the generator, saturates) and
 * `node` (node:http2, kept to show why it is not the default).
 */
import http2 from 'node:http2';
import type { Call } from './frames.js';
import { RawH2Connection, requestHead, type Done, type RequestHead } from './h2-raw.js';

export type ClientKind = 'raw' | 'node';

/** One HTTP/2 connection that runs unary calls; `done` gets '0' for OK or an error kind. */
export interface CallConnection {
  call(c: Call, done: Done): void;
  readonly fatal: string | undefined;
  close(): Promise<void>;
}

export async function openConnection(kind: ClientKind, host: string, port: number): Promise<CallConnection> {
  return kind === 'raw' ? openRaw(host, port) : openNode(host, port);
}

async function openRaw(host: string, port: number): Promise<CallConnection> {
  const conn = await RawH2Connection.connect(host, port);
  const authority = `${host}:${port}`;
  const heads = new Map<string, RequestHead>();
  return {
    call(c, done) {
      let head = heads.get(c.path);
      if (!head) {
        head = requestHead(authority, c.path, c.messageType);
        heads.set(c.path, head);
      }
      conn.call(head, c.body, done);
    },
    get fatal() {
      return conn.fatal;
    },
    close: () => conn.close(),
  };
}

async function openNode(host: string, port: number): Promise<CallConnection> {
  const session = await new Promise<http2.ClientHttp2Session>((resolve, reject) => {
    const s = http2.connect(`http://${host}:${port}`);
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
  });
  let fatal: string | undefined;
  let closing = false;
  session.on('error', (err: Error) => {
    fatal ??= `connection error: ${err.message}`;
  });
  session.on('close', () => {
    if (!closing) fatal ??= 'connection closed by the server';
  });
  const headers = new Map<string, http2.OutgoingHttpHeaders>();
  return {
    call(c, done) {
      let h = headers.get(c.path);
      if (!h) {
        h = {
          ':method': 'POST',
          ':path': c.path,
          'content-type': 'application/grpc+proto',
          'user-agent': 'grpc-erlang/0.1.0',
          'grpc-encoding': 'identity',
          'grpc-message-type': c.messageType,
          'grpc-timeout': '5S',
          te: 'trailers',
        };
        headers.set(c.path, h);
      }
      let req: http2.ClientHttp2Stream;
      try {
        req = session.request(h, { endStream: false });
      } catch (err) {
        fatal ??= `request failed: ${(err as Error).message}`;
        done('connection lost');
        return;
      }
      let status = 'no grpc-status';
      req.on('response', (rh) => {
        if (rh[':status'] !== 200) status = `http ${String(rh[':status'])}`;
        else if (rh['grpc-status'] !== undefined) status = String(rh['grpc-status']);
      });
      req.on('trailers', (t) => {
        if (t['grpc-status'] !== undefined && !status.startsWith('http')) status = String(t['grpc-status']);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        status = `stream ${err.code ?? err.message}`;
      });
      req.on('close', () => done(status));
      req.resume();
      req.end(c.body);
    },
    get fatal() {
      return fatal;
    },
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        if (session.closed || session.destroyed) return resolve();
        const timer = setTimeout(() => {
          session.destroy();
          resolve();
        }, 2000);
        session.close(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
