/**
 * TLS on the hook port: a throwaway CA, server and client certificate made
 * with the `openssl` CLI at test time; h2 over TLS answers, and with
 * requireClientCert a client without a certificate is refused.
 */
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emqxClient } from '../support/emqx-client.js';
import { clientinfo, META } from '../support/emqx-shapes.js';
import { deny, startTestEdge, type TestEdge } from './harness.js';

let dir = '';
const file = (name: string): string => join(dir, name);
const pem = (name: string): Buffer => readFileSync(file(name));

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

/** CA, then a leaf signed by it with the given extensions. EC P-256 keeps this fast. */
function makeCerts(): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '1', '-subj', '/CN=hookwarden-test-ca');
  const leaf = (name: string, cn: string, ext: string, serial: string): void => {
    writeFileSync(file(`${name}.ext`), ext);
    openssl('req', ...ec, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${cn}`);
    openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-set_serial', serial, '-days', '1', '-out', file(`${name}.pem`), '-extfile', file(`${name}.ext`));
  };
  leaf('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n', '2');
  leaf('client', 'emqx@127.0.0.1', 'extendedKeyUsage=clientAuth\n', '3');
}

let plain: TestEdge;
let mutual: TestEdge;
beforeAll(async () => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
  } catch {
    throw new Error('the openssl CLI is needed to make throwaway certificates for the TLS tests; install openssl');
  }
  dir = mkdtempSync(join(tmpdir(), 'hookwarden-tls-'));
  makeCerts();
  const tls = { certFile: file('server.pem'), keyFile: file('server.key') };
  plain = await startTestEdge({ tls: { ...tls, requireClientCert: false } });
  mutual = await startTestEdge({ tls: { ...tls, caFile: file('ca.pem'), requireClientCert: true } });
  plain.dispatcher.decideWith = () => deny();
  mutual.dispatcher.decideWith = () => deny();
});
afterAll(async () => {
  await Promise.all([plain?.close(), mutual?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Name the server by DNS in SNI (an IP address in SNI is not allowed by RFC 6066). */
const SNI = { 'grpc.ssl_target_name_override': 'localhost' };
const authn = { clientinfo: clientinfo({ clientid: 'c-tls' }, 'pw'), result: false, meta: META };

describe('edge tls', () => {
  it('edge tls - h2 over TLS answers a v2 and a v3 client that trust the CA', async () => {
    for (const g of ['v2', 'v3'] as const) {
      const c = emqxClient(g, plain.address, grpc.credentials.createSsl(pem('ca.pem')), SNI);
      try {
        expect(await c.call('OnClientAuthenticate', authn)).toEqual({ type: 'STOP_AND_RETURN', bool_result: false, value: 'bool_result' });
      } finally {
        c.close();
      }
    }
  });

  it('edge tls - a plaintext (h2c) client cannot talk to the TLS port', async () => {
    const c = emqxClient('v2', plain.address);
    try {
      await expect(c.call('OnSessionCreated', { clientinfo: clientinfo({ clientid: 'x' }) }, 2000)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      c.close();
    }
  });

  it('edge tls - with requireClientCert a client certificate signed by the CA is accepted', async () => {
    const c = emqxClient('v1', mutual.address, grpc.credentials.createSsl(pem('ca.pem'), pem('client.key'), pem('client.pem')), SNI);
    try {
      expect(await c.call('OnClientAuthenticate', authn)).toMatchObject({ type: 'STOP_AND_RETURN', bool_result: false });
    } finally {
      c.close();
    }
  });

  it('edge tls - with requireClientCert a client without a certificate is refused', async () => {
    const c = emqxClient('v2', mutual.address, grpc.credentials.createSsl(pem('ca.pem')), SNI);
    const before = mutual.dispatcher.valued.length;
    try {
      await expect(c.call('OnClientAuthenticate', authn, 3000)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      expect(mutual.dispatcher.valued.length).toBe(before);
    } finally {
      c.close();
    }
  });
});
