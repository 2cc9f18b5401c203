/**
 * One raw HTTP/2 unary call with a pre-encoded frame, decoded with the bench
 * proto: used to send OnProviderLoaded (as EMQX does before any hook) and to
 * learn which hooks a server mounts.
 */
import http2 from 'node:http2';
import { loadExhook, type ExhookVersion } from './exhook-proto.js';
import { providerLoadedCall, type Call } from './frames.js';

export interface RawReply {
  readonly grpcStatus: string;
  readonly grpcMessage: string;
  /** The response message without the 5-byte gRPC prefix. */
  readonly message: Buffer;
}

export function callOnce(port: number, call: Call, timeoutMs = 5000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`${call.rpc}: no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    session.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    const req = session.request({
      ':method': 'POST',
      ':path': call.path,
      'content-type': 'application/grpc+proto',
      te: 'trailers',
      'grpc-timeout': '5S',
    });
    const chunks: Buffer[] = [];
    let grpcStatus = '';
    let grpcMessage = '';
    req.on('response', (h) => {
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) grpcMessage = String(h['grpc-message']);
    });
    req.on('trailers', (t) => {
      if (t['grpc-status'] !== undefined) grpcStatus = String(t['grpc-status']);
      if (t['grpc-message'] !== undefined) grpcMessage = String(t['grpc-message']);
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('close', () => {
      clearTimeout(timer);
      session.close();
      const body = Buffer.concat(chunks);
      resolve({ grpcStatus, grpcMessage, message: body.subarray(5) });
    });
    req.end(call.body);
  });
}

/** Send OnProviderLoaded like EMQX; resolves to the mounted hook names. */
export async function providerLoaded(port: number, version: ExhookVersion): Promise<string[]> {
  const exhook = loadExhook(version);
  const reply = await callOnce(port, providerLoadedCall(exhook));
  if (reply.grpcStatus !== '0') throw new Error(`OnProviderLoaded: grpc-status ${reply.grpcStatus} ${reply.grpcMessage}`);
  const method = exhook.service['OnProviderLoaded'];
  if (!method) throw new Error('no OnProviderLoaded');
  const decoded = method.responseDeserialize(reply.message) as { hooks?: { name?: string }[] };
  return (decoded.hooks ?? []).map((h) => h.name ?? '');
}
