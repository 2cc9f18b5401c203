import http2 from 'node:http2';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { encodeHeaderBlock, HpackDecoder, HpackEncoder, HpackError, huffmanCode } from '../../bench/hpack.js';

/**
 * Let node:http2 (nghttp2's HPACK encoder: Huffman when shorter, incremental
 * indexing) encode request headers, capture the raw HEADERS blocks on a plain
 * TCP server, and return them in order.
 */
async function nodeEncodedBlocks(requests: readonly http2.OutgoingHttpHeaders[]): Promise<Buffer[]> {
  const blocks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    let buf = Buffer.alloc(0);
    let preface = false;
    sock.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])); // empty SETTINGS
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!preface) {
        if (buf.length < 24) return;
        buf = buf.subarray(24);
        preface = true;
      }
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3];
        const flags = buf[4] ?? 0;
        let payload = buf.subarray(9, 9 + len);
        buf = buf.subarray(9 + len);
        if (type === 4 && (flags & 1) === 0) sock.write(Buffer.from([0, 0, 0, 4, 1, 0, 0, 0, 0]));
        if (type === 1) {
          if (flags & 0x8) payload = payload.subarray(1, payload.length - (payload[0] ?? 0));
          if (flags & 0x20) payload = payload.subarray(5);
          expect(flags & 0x4).toBe(0x4); // END_HEADERS: the probes are small
          blocks.push(Buffer.from(payload));
        }
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => undefined);
  try {
    for (const h of requests) client.request(h).on('error', () => undefined);
    for (let i = 0; i < 200 && blocks.length < requests.length; i += 1) await new Promise((r) => setTimeout(r, 10));
  } finally {
    client.destroy();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return blocks;
}

const PRINTABLE = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));

describe('hpack', () => {
  it('hpack - decodes what node:http2 encodes, every printable character but backslash, twice (dynamic table)', async () => {
    const chars = PRINTABLE.filter((c) => c !== '\\');
    // Many 5-bit symbols around each character make the Huffman form shorter, so nghttp2 uses it.
    const values = chars.map((c) => `aaaaaaaaaaaaaaaaaaaaaaaa${c}eeeeeeeeeeeeoooo`);
    const requests = [...values, ...values].map((v) => ({ ':path': '/p', 'x-probe': v }));
    const blocks = await nodeEncodedBlocks(requests);
    expect(blocks).toHaveLength(requests.length);
    const decoder = new HpackDecoder();
    const decoded = blocks.map((b) => new Map(decoder.decode(b)));
    expect(decoded.map((d) => d.get('x-probe'))).toEqual([...values, ...values]);
    expect(decoded.every((d) => d.get(':path') === '/p' && d.get(':method') === 'GET')).toBe(true);
    expect(decoder.huffmanStrings).toBeGreaterThanOrEqual(values.length);
  });

  it('hpack - refuses a Huffman symbol outside its table instead of guessing', async () => {
    const [block] = await nodeEncodedBlocks([{ ':path': '/p', 'x-probe': `${'a'.repeat(40)}\\${'e'.repeat(40)}` }]);
    expect(block).toBeDefined();
    expect(() => new HpackDecoder().decode(block as Buffer)).toThrow(HpackError);
  });

  it('hpack - the canonical table gives the RFC 7541 codes of known symbols', () => {
    expect(huffmanCode('0'.charCodeAt(0))).toEqual([0x0, 5]);
    expect(huffmanCode(' '.charCodeAt(0))).toEqual([0x14, 6]);
    expect(huffmanCode(':'.charCodeAt(0))).toEqual([0x5c, 7]);
    expect(huffmanCode('&'.charCodeAt(0))).toEqual([0xf8, 8]);
    expect(huffmanCode(0)).toEqual([0x1ff8, 13]);
    expect(huffmanCode('{'.charCodeAt(0))).toEqual([0x7ffe, 15]);
    expect(huffmanCode('\\'.charCodeAt(0))).toBeUndefined();
  });

  it('hpack - round-trips its own literal blocks, long values included', () => {
    const headers: [string, string][] = [
      [':path', '/emqx.exhook.v2.HookProvider/OnMessagePublish'],
      ['grpc-message-type', 'x'.repeat(300)],
      ['te', 'trailers'],
    ];
    expect(new HpackDecoder().decode(encodeHeaderBlock(headers))).toEqual(headers);
  });

  it('hpack - encoder blocks decode in order; a repeated path shrinks to indexes; a full table falls back to literals', () => {
    const enc = new HpackEncoder(600);
    const dec = new HpackDecoder();
    const head = (p: string): [string, string][] => [
      [':method', 'POST'],
      [':path', p],
      ['te', 'trailers'],
      ['grpc-message-type', `type-of-${p}`],
    ];
    const paths = Array.from({ length: 12 }, (_, i) => `/svc/Method${i}`);
    const order = [...paths, ...paths, paths[3] as string, paths[0] as string];
    const sizes: number[] = [];
    for (const p of order) {
      const block = enc.encode(p, head(p));
      sizes.push(block.length);
      expect(dec.decode(block)).toEqual(head(p));
    }
    // Method0's fields fit in the 600-byte table: its second block is 4 index bytes.
    expect(sizes[12]).toBe(4);
    // Later paths no longer fit: they stay literal, and still decode.
    expect(sizes[11]).toBeGreaterThan(20);
    expect(sizes[23]).toBe(sizes[11]);
  });
});
