/**
 * `hookwarden serve --http-port …` as a child process: the HTTP server comes
 * up with the hook port, serves the open routes without a token, guards the
 * admin routes with the token read from --admin-token-file, exits 0 on
 * SIGTERM, and refuses to start on a taken HTTP port.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServe } from '../support/process.js';
import { httpGet, sample } from '../observability/scrape.js';

const dir = mkdtempSync(join(tmpdir(), 'hw-serve-http-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const httpPortOf = (lines: readonly string[]): number => {
  for (const line of lines) {
    const rec = JSON.parse(line) as { msg?: string; port?: number };
    if (rec.msg === 'HTTP server listening' && typeof rec.port === 'number') return rec.port;
  }
  throw new Error('no "HTTP server listening" line');
};

describe('serve with --http-port', () => {
  it('serves /metrics /healthz /readyz openly and the admin API only with the token from --admin-token-file', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'tok-0123456789\n');
    const hw = await startServe([
      '--http-port',
      '0',
      '--http-host',
      '127.0.0.1',
      '--admin-token-file',
      tokenFile,
      '--instance',
      'serve-http',
    ]);
    try {
      const port = httpPortOf(hw.lines);
      expect(port).not.toBe(hw.port);
      const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
      const live = await httpGet(port, '/healthz');
      expect(live.status).toBe(200);
      expect(JSON.parse(live.body)).toMatchObject({ status: 'ok', version, instance: 'serve-http', journal: 'memory', ready: true });
      expect((await httpGet(port, '/readyz')).status).toBe(200);
      const metrics = await httpGet(port, '/metrics');
      expect(sample(metrics.body, 'hookwarden_info', { version, instance_name: 'serve-http' })).toBe(1);
      expect(metrics.body).toContain('nodejs_eventloop_lag_seconds');
      expect((await httpGet(port, '/v1/emqx/nodes')).status).toBe(401);
      expect((await httpGet(port, '/v1/emqx/nodes', { authorization: 'Bearer tok-0123456789' })).status).toBe(200);
      expect(hw.lines.join('\n')).not.toContain('tok-0123456789');
    } finally {
      expect(await hw.stop()).toBe(0);
    }
  });

  it('refuses to start when the HTTP port is taken, naming it', async () => {
    const first = await startServe(['--http-port', '0', '--http-host', '127.0.0.1']);
    try {
      const taken = httpPortOf(first.lines);
      await expect(startServe(['--http-port', String(taken), '--http-host', '127.0.0.1'], 10_000)).rejects.toThrow(
        new RegExp(`cannot listen on HTTP 127\\.0\\.0\\.1:${taken}`),
      );
    } finally {
      await first.stop();
    }
  });
});
