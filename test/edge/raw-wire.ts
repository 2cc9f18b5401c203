/**
 * Byte-level access for tests: a gRPC call whose reply is NOT decoded (to see
 * exactly which fields went on the wire), requests serialized with the
 * REFERENCE protos, and raw HTTP/2 exchanges with `node:http2` for input no
 * gRPC client would send.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { fileURLToPath } from 'node:url';

type GenerationName = 'v1' | 'v2' | 'v3';
const defs = new Map<GenerationName, protoLoader.PackageDefinition>();

function referenceMethod(g: GenerationName, rpc: string): protoLoader.MethodDefinition<object, object> {
  let def = defs.get(g);
  if (!def) {
    const file = fileURLToPath(new URL(`../fixtures/reference-protos/exhook-${g}.proto`, import.meta.url));
    def = protoLoader.loadSync(file, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    defs.set(g, def);
  }
  const service = def[`emqx.exhook.${g}.HookProvider`] as unknown as Record<string, protoLoader.MethodDefinition<object, object>>;
  const method = service[rpc];
  if (!method) throw new Error(`no ${rpc} in reference ${g}`);
  return method;
}

/** A request encoded with EMQX's reference proto. */
export const encodeRequest = (g: GenerationName, rpc: string, request: object): Buffer => referenceMethod(g, rpc).requestSerialize(request);
/** A reply decoded with EMQX's reference proto. */
export const decodeReply = (g: GenerationName, rpc: string, bytes: Buffer): object => referenceMethod(g, rpc).responseDeserialize(bytes);

const identity = (b: Buffer): Buffer => b;

/** One unary gRPC call with raw protobuf bytes both ways. */
export function rawUnary(address: string, path: string, body: Buffer, timeoutMs = 5000): Promise<Buffer> {
  const Client = grpc.makeGenericClientConstructor(
    { call: { path, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    'Raw',
  );
  const client = new Client(address, grpc.credentials.createInsecure());
  return new Promise<Buffer>((resolve, reject) => {
    (client as unknown as { call: Function }).call(body, { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, reply: Buffer) => {
      client.close();
      if (err) reject(err);
      else resolve(reply);
    });
  });
}

/** A gRPC length-prefixed message: flag byte, 4-byte big-endian length, payload. */
export function grpcFrame(payload: Buffer, { compressed = false, declaredLength = payload.length } = {}): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(compressed ? 1 : 0, 0);
  head.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([head, payload]);
}

export interface RawResponse {
  readonly headers: IncomingHttpHeaders;
  readonly trailers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** grpc-status from trailers, or from headers for a trailers-only response. */
export const grpcStatusOf = (r: RawResponse): number => Number(r.trailers['grpc-status'] ?? r.headers['grpc-status']);

/** One POST on an existing HTTP/2 session, as a gRPC client would send it, with any body. */
export function rawRequest(session: ClientHttp2Session, path: string, body: Buffer, extraHeaders: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    const req = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: path,
      'content-type': 'application/grpc+proto',
      te: 'trailers',
      'grpc-encoding': 'identity',
      ...extraHeaders,
    });
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (headers = h));
    req.on('trailers', (tr) => (trailers = tr));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ headers, trailers, body: Buffer.concat(chunks) }));
    req.on('error', reject);
    req.setTimeout(5000, () => req.close(constants.NGHTTP2_CANCEL));
    req.end(body);
  });
}

export const h2c = (address: string): ClientHttp2Session => connect(`http://${address}`);
