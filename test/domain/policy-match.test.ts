import { BlockList } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileGlob, compileGlobs, compilePeerhosts, matchesClient, normalizePeerhost, parsePeerhost, type PeerhostEntry } from '../../src/domain/policy-match.js';

const peers = (...texts: string[]) =>
  compilePeerhosts(
    texts.map((t) => {
      const e = parsePeerhost(t);
      if ('problem' in e) throw new Error(e.problem);
      return e as PeerhostEntry;
    }),
  );

describe('policy-match', () => {
  it.each([
    ['sensor-*', 'sensor-1', true],
    ['sensor-*', 'sensor-', true],
    ['sensor-*', 'gw-1', false],
    ['*-eu', 'gw-eu', true],
    ['*-eu', 'gw-us', false],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXc', false],
    ['dev-??', 'dev-01', true],
    ['dev-??', 'dev-1', false],
    ['dev-??', 'dev-001', false],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
    ['*', '', true],
    ['a.b', 'aXb', false],
    ['(x)[y]{z}+^$|\\/', '(x)[y]{z}+^$|\\/', true],
    ['ü?', 'üß', true],
  ])('policy-match - glob %j on %j: %s', (glob, value, expected) => {
    expect(compileGlob(glob)(value)).toBe(expected);
  });

  it('policy-match - a list of globs matches when any does', () => {
    const m = compileGlobs(['a-*', 'b-*']);
    expect(m('a-1')).toBe(true);
    expect(m('b-1')).toBe(true);
    expect(m('c-1')).toBe(false);
  });

  it('policy-match - peerhost entries: IPv4, IPv6, CIDR, mapped and zoned addresses', () => {
    const m = peers('10.0.0.0/8', '192.168.1.7', '2001:db8::/32');
    expect(m('10.1.2.3')).toBe(true);
    expect(m('11.0.0.1')).toBe(false);
    expect(m('192.168.1.7')).toBe(true);
    expect(m('192.168.1.8')).toBe(false);
    expect(m('2001:db8::1')).toBe(true);
    expect(m('2001:db9::1')).toBe(false);
    expect(m('::ffff:10.9.9.9')).toBe(true);
    expect(m('[2001:db8::5]')).toBe(true);
    expect(m('')).toBe(false);
    expect(m('not-an-ip')).toBe(false);
    expect(peers('fe80::/10')('fe80::1%eth0')).toBe(true);
    expect(normalizePeerhost('fe80::1%eth0')).toBe('fe80::1');
  });

  it('policy-match - IPv4 peers against IPv4-mapped IPv6 blocks, and mapped peers against IPv4 blocks', () => {
    expect(peers('::ffff:0:0/96')('10.0.0.1')).toBe(true);
    expect(peers('10.0.0.0/8')('::ffff:10.0.0.1')).toBe(true);
    expect(peers('10.0.0.0/8')('::ffff:11.0.0.1')).toBe(false);
    expect(peers('0.0.0.0/0')('203.0.113.9')).toBe(true);
  });

  it('policy-match - the IPv4 fast path agrees with node\'s BlockList (property)', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    const ip = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
    fc.assert(
      fc.property(ip, fc.integer({ min: 0, max: 32 }), ip, (net, prefix, peer) => {
        const reference = new BlockList();
        reference.addSubnet(net, prefix, 'ipv4');
        expect(peers(`${net}/${prefix}`)(peer)).toBe(reference.check(peer, 'ipv4'));
        expect(peers(net)(peer)).toBe(net === peer);
      }),
      { numRuns: 500 },
    );
  });

  it('policy-match - bad peerhost entries are explained', () => {
    expect(parsePeerhost('10.0.0.0/33')).toEqual({ problem: expect.stringMatching(/0\.\.32/) });
    expect(parsePeerhost('2001:db8::/129')).toEqual({ problem: expect.stringMatching(/0\.\.128/) });
    expect(parsePeerhost('10.0.0.0/x')).toHaveProperty('problem');
    expect(parsePeerhost('host.example')).toHaveProperty('problem');
    expect(parsePeerhost('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  });

  it('policy-match - every present condition must hold', () => {
    const m = { clientid: compileGlob('gw-*'), peerhost: peers('10.0.0.0/8') };
    expect(matchesClient(m, { clientid: 'gw-1', username: '', peerhost: '10.0.0.1' })).toBe(true);
    expect(matchesClient(m, { clientid: 'gw-1', username: '', peerhost: '8.8.8.8' })).toBe(false);
    expect(matchesClient(m, { clientid: 'x-1', username: '', peerhost: '10.0.0.1' })).toBe(false);
    expect(matchesClient({}, { clientid: 'x', username: '', peerhost: '' })).toBe(true);
  });
});
