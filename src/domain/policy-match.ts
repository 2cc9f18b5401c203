/**
 * PURE: which clients a `policies[].match` selects. Globs for client id and
 * username (`*` any run of characters, including none; `?` exactly one
 * character), IP addresses and CIDR blocks for the peer address (IPv4 and
 * IPv6, IPv4-mapped IPv6 addresses match IPv4 blocks). Everything is
 * compiled once at load; matching builds no regular expression.
 */
import { BlockList, isIP } from 'node:net';

/** Who a policy is resolved for ("" when not known yet). */
export interface ClientWho {
  readonly clientid: string;
  readonly username: string;
  readonly peerhost: string;
}

export type Matcher = (value: string) => boolean;

/** `sensor-*` → a predicate. Globs without `?` and with at most a trailing `*` avoid regular expressions altogether. */
export function compileGlob(glob: string): Matcher {
  if (glob === '*') return () => true;
  if (!glob.includes('?')) {
    const star = glob.indexOf('*');
    if (star < 0) return (s) => s === glob;
    if (star === glob.length - 1) {
      const prefix = glob.slice(0, -1);
      return (s) => s.startsWith(prefix);
    }
    if (star === 0 && glob.indexOf('*', 1) < 0) {
      const suffix = glob.slice(1);
      return (s) => s.endsWith(suffix);
    }
  }
  let source = '';
  for (const ch of glob) {
    source += ch === '*' ? '[\\s\\S]*' : ch === '?' ? '[\\s\\S]' : ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  const re = new RegExp(`^${source}$`, 'u');
  return (s) => re.test(s);
}

/** Any of several globs. */
export function compileGlobs(globs: readonly string[]): Matcher {
  const ms = globs.map(compileGlob);
  return ms.length === 1 ? (ms[0] as Matcher) : (s) => ms.some((m) => m(s));
}

/** A parsed `peerhost` entry: an address, or an address with a prefix length. */
export type PeerhostEntry = { readonly address: string; readonly prefix?: number; readonly family: 'ipv4' | 'ipv6' };

/** `"10.0.0.0/8"`, `"2001:db8::/32"`, `"192.168.1.7"` → the entry, or why not. */
export function parsePeerhost(text: string): PeerhostEntry | { readonly problem: string } {
  const slash = text.indexOf('/');
  const address = (slash < 0 ? text : text.slice(0, slash)).trim();
  const version = isIP(address);
  if (version === 0) return { problem: `"${text}" is not an IP address or CIDR block` };
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (slash < 0) return { address, family };
  const prefixText = text.slice(slash + 1).trim();
  const prefix = Number(prefixText);
  const max = version === 4 ? 32 : 128;
  if (!/^\d+$/.test(prefixText) || prefix > max) return { problem: `"${text}" has a prefix length outside 0..${max}` };
  return { address, prefix, family };
}

/** Strip an IPv6 zone (`fe80::1%eth0`) and brackets, as peer addresses may carry them. */
export function normalizePeerhost(peerhost: string): string {
  let s = peerhost.startsWith('[') && peerhost.endsWith(']') ? peerhost.slice(1, -1) : peerhost;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  return s;
}

function ipv4ToInt(ip: string): number {
  const [a, b, c, d] = ip.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/**
 * A predicate over peer addresses; entries must be valid (see `parsePeerhost`).
 * A plain IPv4 peer is checked against the IPv4 entries with integer masks
 * (node's BlockList builds a SocketAddress per check, ~3 µs); IPv6 peers,
 * and IPv4 peers against IPv6 entries (IPv4-mapped ranges), go to BlockList.
 */
export function compilePeerhosts(entries: readonly PeerhostEntry[]): Matcher {
  const v4: { readonly net: number; readonly mask: number }[] = [];
  const all = new BlockList();
  const v6 = new BlockList();
  let hasV6 = false;
  for (const e of entries) {
    for (const list of e.family === 'ipv6' ? [all, v6] : [all]) {
      if (e.prefix === undefined) list.addAddress(e.address, e.family);
      else list.addSubnet(e.address, e.prefix, e.family);
    }
    if (e.family === 'ipv4') {
      const prefix = e.prefix ?? 32;
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
      v4.push({ net: (ipv4ToInt(e.address) & mask) >>> 0, mask });
    } else hasV6 = true;
  }
  return (peerhost) => {
    const ip = normalizePeerhost(peerhost);
    const version = isIP(ip);
    if (version === 4) {
      const n = ipv4ToInt(ip);
      for (const { net, mask } of v4) if ((n & mask) >>> 0 === net) return true;
      return hasV6 && v6.check(ip, 'ipv4');
    }
    return version === 6 && all.check(ip, 'ipv6');
  };
}

/** Compiled `match`: every present condition must hold. */
export interface ClientMatch {
  readonly clientid?: Matcher;
  readonly username?: Matcher;
  readonly peerhost?: Matcher;
}

export function matchesClient(m: ClientMatch, who: ClientWho): boolean {
  return (
    (m.clientid === undefined || m.clientid(who.clientid)) &&
    (m.username === undefined || m.username(who.username)) &&
    (m.peerhost === undefined || m.peerhost(who.peerhost))
  );
}
