/**
 * The HPACK (RFC 7541) subset the raw bench client needs: encode request
 * header blocks (raw strings; each distinct field enters the dynamic table
 * once, then goes as a one-byte index, as grpc-erl's encoder does), and decode
 * the server's response blocks (static table, dynamic table, Huffman strings). The Huffman decoder knows every symbol whose code is at
 * most 15 bits long: all printable ASCII except `\`, plus NUL. That covers
 * every header grpc-js sends (grpc-message is percent-encoded); a longer code
 * is reported as an error, never guessed. test/bench/hpack.test.ts checks the
 * table against what node:http2 (nghttp2) encodes.
 */

/** RFC 7541 Appendix A. Index 1..61. */
const STATIC: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/**
 * Huffman code lengths (RFC 7541 Appendix B) of the symbols with codes of at
 * most 15 bits. The code is canonical: within a length, codes count up in
 * symbol order, so lengths alone determine every code.
 */
const CODE_LENGTHS: readonly (readonly [number, string])[] = [
  [5, '012aceiost'],
  [6, ' %-./3456789=A_bdfghlmnpru'],
  [7, ':BCDEFGHIJKLMNOPQRSTUVWYjkqvwxyz'],
  [8, '&*,;XZ'],
  [10, '!"()?'],
  [11, "'+|"],
  [12, '#>'],
  [13, '\u0000$@[]~'],
  [14, '^}'],
  [15, '<`{'],
];
const MAX_BITS = 15;

interface Canonical {
  readonly first: Int32Array;
  readonly count: Int32Array;
  readonly symbols: readonly number[][];
}

function buildCanonical(): Canonical {
  const count = new Int32Array(MAX_BITS + 1);
  const symbols: number[][] = Array.from({ length: MAX_BITS + 1 }, () => []);
  for (const [len, chars] of CODE_LENGTHS) {
    const syms = [...chars].map((c) => c.charCodeAt(0)).sort((a, b) => a - b);
    symbols[len] = syms;
    count[len] = syms.length;
  }
  const first = new Int32Array(MAX_BITS + 1);
  let code = 0;
  for (let len = 1; len <= MAX_BITS; len += 1) {
    first[len] = code;
    code = (code + (count[len] ?? 0)) << 1;
  }
  return { first, count, symbols };
}
const HUFF = buildCanonical();

/** The canonical code of a supported symbol (for tests): [code, bits]. */
export function huffmanCode(symbol: number): readonly [number, number] | undefined {
  for (let len = 1; len <= MAX_BITS; len += 1) {
    const i = HUFF.symbols[len]?.indexOf(symbol) ?? -1;
    if (i >= 0) return [(HUFF.first[len] ?? 0) + i, len];
  }
  return undefined;
}

export class HpackError extends Error {
  override readonly name = 'HpackError';
}

export function huffmanDecode(buf: Uint8Array, start: number, end: number): string {
  let out = '';
  let code = 0;
  let len = 0;
  for (let i = start; i < end; i += 1) {
    const byte = buf[i] ?? 0;
    for (let b = 7; b >= 0; b -= 1) {
      code = (code << 1) | ((byte >> b) & 1);
      len += 1;
      const k = code - (HUFF.first[len] ?? 0);
      if (len <= MAX_BITS && k >= 0 && k < (HUFF.count[len] ?? 0)) {
        out += String.fromCharCode(HUFF.symbols[len]?.[k] ?? 0);
        code = 0;
        len = 0;
      } else if (len >= MAX_BITS) {
        throw new HpackError('Huffman code longer than 15 bits (symbol not supported by the bench decoder)');
      }
    }
  }
  // Padding: fewer than 8 bits, all ones (a prefix of EOS).
  if (len > 7 || code !== (1 << len) - 1) throw new HpackError('bad Huffman padding');
  return out;
}

function encodeInt(value: number, prefixBits: number, firstByte: number, out: number[]): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(firstByte | value);
    return;
  }
  out.push(firstByte | max);
  let v = value - max;
  while (v >= 128) {
    out.push((v & 127) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function encodeString(s: string, out: number[]): void {
  const bytes = Buffer.from(s, 'latin1');
  encodeInt(bytes.length, 7, 0, out);
  for (const b of bytes) out.push(b);
}

/** A header block of "literal header field without indexing, new name" entries, raw strings. */
export function encodeHeaderBlock(headers: readonly (readonly [string, string])[]): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    out.push(0x00);
    encodeString(name, out);
    encodeString(value, out);
  }
  return Buffer.from(out);
}

const STATIC_FULL = new Map<string, number>(STATIC.flatMap(([n, v], i) => (v === '' ? [] : [[`${n}\0${v}`, i + 1] as const])));

/**
 * A request header encoder with its dynamic table; one per connection, blocks
 * sent in the order they are encoded. Exact static matches go as indexes;
 * other fields are added to the dynamic table while it has room and are never
 * evicted, so once every field is in, each block is a few index bytes, cached
 * per `key`.
 */
export class HpackEncoder {
  private readonly ordinal = new Map<string, number>();
  private count = 0;
  private size = 0;
  private readonly cache = new Map<string, Buffer>();
  /** `maxSize`: the peer's SETTINGS_HEADER_TABLE_SIZE (4096 unless it said otherwise). */
  constructor(private readonly maxSize = 4096) {}

  encode(key: string, fields: readonly (readonly [string, string])[]): Buffer {
    const cached = this.cache.get(key);
    if (cached) return cached;
    const before = this.count;
    const out: number[] = [];
    for (const [name, value] of fields) {
      const k = `${name}\0${value}`;
      const st = STATIC_FULL.get(k);
      if (st !== undefined) {
        encodeInt(st, 7, 0x80, out);
        continue;
      }
      const ord = this.ordinal.get(k);
      if (ord !== undefined) {
        // Newest entry is index 62; entries are never evicted, so the index follows from insertion order.
        encodeInt(STATIC.length + this.count - ord, 7, 0x80, out);
        continue;
      }
      const entrySize = Buffer.byteLength(name, 'latin1') + Buffer.byteLength(value, 'latin1') + 32;
      if (this.size + entrySize <= this.maxSize) {
        out.push(0x40);
        this.ordinal.set(k, this.count);
        this.count += 1;
        this.size += entrySize;
      } else {
        out.push(0x00);
      }
      encodeString(name, out);
      encodeString(value, out);
    }
    const block = Buffer.from(out);
    // A block that inserted entries must not be sent again as is; and indexes shift with every insertion.
    if (this.count !== before) this.cache.clear();
    else this.cache.set(key, block);
    return block;
  }
}

/** A decoder with its dynamic table; one per connection, blocks decoded in arrival order. */
export class HpackDecoder {
  private readonly table: [string, string][] = [];
  private size = 0;
  /** How many Huffman-coded strings were decoded (lets tests prove the Huffman path ran). */
  huffmanStrings = 0;
  /** What our SETTINGS_HEADER_TABLE_SIZE allows (default 4096). */
  constructor(private readonly maxAllowed = 4096) {
    this.max = maxAllowed;
  }
  private max: number;

  /** Decode one complete header block into [name, value] pairs. Throws HpackError. */
  decode(buf: Uint8Array): [string, string][] {
    const out: [string, string][] = [];
    let pos = 0;
    const int = (prefixBits: number): number => {
      const mask = (1 << prefixBits) - 1;
      let v = (buf[pos] ?? 0) & mask;
      pos += 1;
      if (v < mask) return v;
      let shift = 0;
      for (let i = 0; i < 5; i += 1) {
        if (pos >= buf.length) throw new HpackError('truncated integer');
        const b = buf[pos] ?? 0;
        pos += 1;
        v += (b & 127) * 2 ** shift;
        shift += 7;
        if ((b & 128) === 0) return v;
      }
      throw new HpackError('integer too large');
    };
    const str = (): string => {
      if (pos >= buf.length) throw new HpackError('truncated string');
      const huffman = ((buf[pos] ?? 0) & 0x80) !== 0;
      const len = int(7);
      if (pos + len > buf.length) throw new HpackError('string past the block end');
      if (huffman) this.huffmanStrings += 1;
      const s = huffman ? huffmanDecode(buf, pos, pos + len) : Buffer.from(buf.buffer, buf.byteOffset + pos, len).toString('latin1');
      pos += len;
      return s;
    };
    const entry = (index: number): readonly [string, string] => {
      if (index >= 1 && index <= STATIC.length) return STATIC[index - 1] as readonly [string, string];
      const e = this.table[index - STATIC.length - 1];
      if (!e) throw new HpackError(`header index ${index} out of range`);
      return e;
    };
    while (pos < buf.length) {
      const b = buf[pos] ?? 0;
      if (b & 0x80) {
        const [n, v] = entry(int(7));
        out.push([n, v]);
      } else if (b & 0x40) {
        const idx = int(6);
        const name = idx === 0 ? str() : entry(idx)[0];
        const value = str();
        out.push([name, value]);
        this.add(name, value);
      } else if (b & 0x20) {
        const size = int(5);
        if (size > this.maxAllowed) throw new HpackError('table size update above our limit');
        this.max = size;
        this.evict();
      } else {
        const idx = int(4);
        const name = idx === 0 ? str() : entry(idx)[0];
        out.push([name, str()]);
      }
    }
    return out;
  }

  private add(name: string, value: string): void {
    this.table.unshift([name, value]);
    this.size += name.length + value.length + 32;
    this.evict();
  }

  private evict(): void {
    while (this.size > this.max) {
      const e = this.table.pop();
      if (!e) break;
      this.size -= e[0].length + e[1].length + 32;
    }
  }
}
