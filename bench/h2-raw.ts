/**
 * A minimal HTTP/2 (h2c, prior knowledge) client for unary gRPC calls with
 * pre-encoded bodies, on a plain TCP socket. Per call it copies a cached
 * header block and the body into one write and parses the reply frames; it
 * creates no stream objects and no event listeners, which keeps it several
 * times cheaper than node:http2 (see docs/BENCHMARKS.md). It honours the
 * server's flow-control windows, MAX_CONCURRENT_STREAMS and MAX_FRAME_SIZE,
 * answers PING and SETTINGS, and fails every open call on GOAWAY or close.
 */
import net from 'node:net';
import { HpackDecoder, HpackEncoder } from './hpack.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const T_DATA = 0;
const T_HEADERS = 1;
const T_RST = 3;
const T_SETTINGS = 4;
const T_PUSH = 5;
const T_PING = 6;
const T_GOAWAY = 7;
const T_WINDOW = 8;
const T_CONT = 9;
const F_END_STREAM = 0x1;
const F_ACK = 0x1;
const F_END_HEADERS = 0x4;
const F_PADDED = 0x8;
const F_PRIORITY = 0x20;

/** Our receive windows: large, so the server never waits for us. */
const OUR_WINDOW = 1 << 30;

function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h.writeUIntBE(length, 0, 3);
  h.writeUInt8(type, 3);
  h.writeUInt8(flags, 4);
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return h;
}

/** A call's outcome: '0' for OK, else the grpc-status or an error kind (`http 503`, `rst 8`, `connection lost`…). */
export type Done = (status: string) => void;

interface Open {
  readonly id: number;
  readonly done: Done;
  http?: string;
  grpc?: string;
  /** Header block fragments until END_HEADERS. */
  block?: Buffer[];
  endAfterBlock?: boolean;
  /** Request body not sent yet (flow control), and this stream's send window. */
  body: Buffer;
  sent: number;
  window: number;
}

/** A call's request headers: `key` names the field list (one per :path) so its encoded block can be cached. */
export interface RequestHead {
  readonly key: string;
  readonly fields: readonly (readonly [string, string])[];
}

interface Queued {
  readonly head: RequestHead;
  readonly body: Buffer;
  readonly done: Done;
}

export class RawH2Connection {
  private readonly socket: net.Socket;
  private readonly decoder = new HpackDecoder();
  private encoder = new HpackEncoder();
  private readonly open = new Map<number, Open>();
  private readonly queue: Queued[] = [];
  /** Open streams with request DATA still to send, in order. */
  private sending: Open[] = [];
  private out: Buffer[] = [];
  private flushScheduled = false;
  private nextStreamId = 1;
  private inbuf: Buffer = Buffer.alloc(0);
  private peerInitialWindow = 65_535;
  private peerMaxFrame = 16_384;
  private peerMaxStreams = Number.POSITIVE_INFINITY;
  private sendWindow = 65_535;
  /** DATA bytes received since our last connection WINDOW_UPDATE. */
  private received = 0;
  /** Header block of the stream in CONTINUATION, if any. */
  private continuing = 0;
  private failure: string | undefined;
  private readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(`connection error: ${err.message}`));
    socket.on('close', () => this.fail('connection closed by the server'));
  }

  /** Connect, send the preface and our SETTINGS; resolves once the server's SETTINGS arrived. */
  static connect(host: string, port: number, timeoutMs = 5000): Promise<RawH2Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`h2: no SETTINGS from ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('connect', () => {
        const conn = new RawH2Connection(socket);
        conn.onReady = () => {
          clearTimeout(timer);
          resolve(conn);
        };
        const settings = Buffer.alloc(12);
        settings.writeUInt16BE(0x2, 0); // ENABLE_PUSH
        settings.writeUInt32BE(0, 2);
        settings.writeUInt16BE(0x4, 6); // INITIAL_WINDOW_SIZE
        settings.writeUInt32BE(OUR_WINDOW, 8);
        const wu = Buffer.alloc(4);
        wu.writeUInt32BE(OUR_WINDOW - 65_535, 0);
        socket.write(Buffer.concat([PREFACE, frameHeader(12, T_SETTINGS, 0, 0), settings, frameHeader(4, T_WINDOW, 0, 0), wu]));
      });
    });
  }

  private onReady: (() => void) | undefined;

  /** Why the connection is unusable, once it is. */
  get fatal(): string | undefined {
    return this.failure;
  }

  get inFlight(): number {
    return this.open.size + this.queue.length;
  }

  /** Start a unary call. `head` from `requestHead`; `body` the gRPC-framed request. */
  call(head: RequestHead, body: Buffer, done: Done): void {
    if (this.failure !== undefined) {
      done('connection lost');
      return;
    }
    if (this.queue.length > 0 || this.open.size >= this.peerMaxStreams) {
      this.queue.push({ head, body, done });
      return;
    }
    this.send(head, body, done);
  }

  private send(head: RequestHead, body: Buffer, done: Done): void {
    const block = this.encoder.encode(head.key, head.fields);
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const s: Open = { id, done, body, sent: 0, window: this.peerInitialWindow };
    this.open.set(id, s);
    this.out.push(frameHeader(block.length, T_HEADERS, F_END_HEADERS, id), block);
    this.sending.push(s);
    this.pump();
  }

  /** Send request DATA as far as the connection and stream windows allow (RFC 9113 §6.9). */
  private pump(): void {
    let first = 0;
    while (first < this.sending.length) {
      const s = this.sending[first] as Open;
      const left = s.body.length - s.sent;
      const n = Math.min(left, this.sendWindow, s.window, this.peerMaxFrame);
      if (n <= 0 && left > 0) break; // Wait for WINDOW_UPDATE; keep request order.
      const part = s.body.subarray(s.sent, s.sent + n);
      s.sent += n;
      s.window -= n;
      this.sendWindow -= n;
      const last = s.sent === s.body.length;
      this.out.push(frameHeader(n, T_DATA, last ? F_END_STREAM : 0, s.id), part);
      if (last) first += 1;
    }
    if (first > 0) this.sending = this.sending.slice(first);
    this.scheduleFlush();
  }

  private drainQueue(): void {
    while (this.queue.length > 0 && this.failure === undefined && this.open.size < this.peerMaxStreams) {
      const q = this.queue.shift() as Queued;
      this.send(q.head, q.body, q.done);
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      if (this.out.length === 0 || this.failure !== undefined) return;
      const chunk = this.out.length === 1 ? (this.out[0] as Buffer) : Buffer.concat(this.out);
      this.out = [];
      this.socket.write(chunk);
    });
  }

  private control(buf: Buffer): void {
    this.out.push(buf);
    this.scheduleFlush();
  }

  private onData(chunk: Buffer): void {
    this.inbuf = this.inbuf.length === 0 ? chunk : Buffer.concat([this.inbuf, chunk]);
    let pos = 0;
    const buf = this.inbuf;
    while (buf.length - pos >= 9 && this.failure === undefined) {
      const len = buf.readUIntBE(pos, 3);
      if (buf.length - pos < 9 + len) break;
      const type = buf[pos + 3] ?? 0;
      const flags = buf[pos + 4] ?? 0;
      const id = buf.readUInt32BE(pos + 5) & 0x7fffffff;
      const payload = buf.subarray(pos + 9, pos + 9 + len);
      pos += 9 + len;
      this.onFrame(type, flags, id, payload);
    }
    this.inbuf = pos === buf.length ? Buffer.alloc(0) : buf.subarray(pos);
    this.drainQueue();
  }

  private onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.continuing !== 0 && type !== T_CONT) return this.fail('h2: frame inside a header block');
    switch (type) {
      case T_DATA: {
        this.received += payload.length;
        if (this.received > OUR_WINDOW / 2) {
          const wu = Buffer.alloc(4);
          wu.writeUInt32BE(this.received, 0);
          this.control(Buffer.concat([frameHeader(4, T_WINDOW, 0, 0), wu]));
          this.received = 0;
        }
        if (flags & F_END_STREAM) this.finish(id);
        return;
      }
      case T_HEADERS: {
        let start = 0;
        let end = payload.length;
        if (flags & F_PADDED) {
          start += 1;
          end -= payload[0] ?? 0;
        }
        if (flags & F_PRIORITY) start += 5;
        this.headerFragment(id, payload.subarray(start, end), (flags & F_END_HEADERS) !== 0, (flags & F_END_STREAM) !== 0);
        return;
      }
      case T_CONT:
        if (id !== this.continuing) return this.fail('h2: CONTINUATION for another stream');
        this.headerFragment(id, payload, (flags & F_END_HEADERS) !== 0, false);
        return;
      case T_RST: {
        const s = this.open.get(id);
        if (s) {
          this.open.delete(id);
          this.sending = this.sending.filter((x) => x !== s);
          s.done(`rst ${payload.readUInt32BE(0)}`);
        }
        return;
      }
      case T_SETTINGS:
        if (flags & F_ACK) return;
        for (let i = 0; i + 6 <= payload.length; i += 6) {
          const key = payload.readUInt16BE(i);
          const value = payload.readUInt32BE(i + 2);
          if (key === 0x1 && this.nextStreamId === 1) this.encoder = new HpackEncoder(Math.min(value, 4096));
          if (key === 0x3) this.peerMaxStreams = value;
          if (key === 0x4) {
            for (const st of this.open.values()) st.window += value - this.peerInitialWindow;
            this.peerInitialWindow = value;
          }
          if (key === 0x5) this.peerMaxFrame = value;
        }
        this.control(frameHeader(0, T_SETTINGS, F_ACK, 0));
        this.pump();
        if (this.onReady) {
          const ready = this.onReady;
          this.onReady = undefined;
          ready();
        }
        return;
      case T_PING:
        if (!(flags & F_ACK)) this.control(Buffer.concat([frameHeader(8, T_PING, F_ACK, 0), payload]));
        return;
      case T_GOAWAY:
        return this.fail(`h2: GOAWAY error ${payload.length >= 8 ? payload.readUInt32BE(4) : '?'}`);
      case T_WINDOW: {
        const inc = payload.readUInt32BE(0) & 0x7fffffff;
        if (id === 0) this.sendWindow += inc;
        else {
          const st = this.open.get(id);
          if (st) st.window += inc;
        }
        this.pump();
        return;
      }
      case T_PUSH:
        return this.fail('h2: PUSH_PROMISE although push is disabled');
      default:
        return; // PRIORITY and unknown frames are ignored.
    }
  }

  private headerFragment(id: number, fragment: Buffer, endHeaders: boolean, endStream: boolean): void {
    const s = this.open.get(id);
    let parts: Buffer[];
    if (s) {
      s.block = s.block ?? [];
      s.block.push(fragment);
      if (endStream) s.endAfterBlock = true;
      parts = s.block;
    } else {
      parts = [fragment]; // A late block of a stream we already failed: decode it anyway to keep HPACK state.
    }
    if (!endHeaders) {
      this.continuing = id;
      return;
    }
    this.continuing = 0;
    let headers: [string, string][];
    try {
      headers = this.decoder.decode(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts));
    } catch (err) {
      return this.fail(`h2: cannot decode response headers: ${(err as Error).message}`);
    }
    if (!s) return;
    s.block = undefined;
    for (const [n, v] of headers) {
      if (n === ':status') s.http = v;
      else if (n === 'grpc-status') s.grpc = v;
    }
    if (s.endAfterBlock) this.finish(id);
  }

  private finish(id: number): void {
    const s = this.open.get(id);
    if (!s) return;
    if (s.block !== undefined) return; // END_STREAM arrives with the block's last fragment; finished there.
    this.open.delete(id);
    if (s.http !== '200') s.done(`http ${s.http ?? 'missing'}`);
    else s.done(s.grpc ?? 'no grpc-status');
  }

  private fail(reason: string): void {
    if (this.failure !== undefined) return;
    this.failure = reason;
    const open = [...this.open.values()];
    const queued = this.queue.splice(0);
    this.open.clear();
    this.sending = [];
    for (const s of open) s.done('connection lost');
    for (const q of queued) q.done('connection lost');
    this.socket.destroy();
  }

  /** GOAWAY and close; open calls fail with `connection lost`. */
  async close(): Promise<void> {
    if (this.failure === undefined) {
      const goaway = Buffer.alloc(8);
      goaway.writeUInt32BE(Math.max(0, this.nextStreamId - 2), 0);
      this.socket.end(Buffer.concat([frameHeader(8, T_GOAWAY, 0, 0), goaway]));
      this.failure = 'closed';
    }
    const timer = setTimeout(() => this.socket.destroy(), 2000);
    await this.closed;
    clearTimeout(timer);
  }
}

/** The request headers of one `:path`, as grpc-erl sends them (grpc-timeout 5S = EMQX's default request_timeout). */
export function requestHead(authority: string, path: string, messageType: string): RequestHead {
  return {
    key: path,
    fields: [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', path],
      [':authority', authority],
      ['content-type', 'application/grpc+proto'],
      ['user-agent', 'grpc-erlang/0.1.0'],
      ['grpc-encoding', 'identity'],
      ['grpc-message-type', messageType],
      ['grpc-timeout', '5S'],
      ['te', 'trailers'],
    ],
  };
}
