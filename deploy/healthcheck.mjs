// Container health check (Dockerfile HEALTHCHECK): GET /healthz on hookwarden's
// HTTP port with node itself (slim images have no curl or wget). Exit 0 when
// the answer is 200, 1 otherwise (refused, timeout, any other status).
// Port and address come from the variables hookwarden itself reads:
// HOOKWARDEN_HTTP_PORT (the image sets 9100) and HOOKWARDEN_HTTP_HOST
// (a wildcard bind is checked on loopback).
import { request } from 'node:http';

const port = Number(process.env.HOOKWARDEN_HTTP_PORT || 9100);
const bind = process.env.HOOKWARDEN_HTTP_HOST || '0.0.0.0';
const host = bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind;
const timeoutMs = 2000;

const req = request({ host, port, path: '/healthz', method: 'GET', timeout: timeoutMs }, (res) => {
  res.resume();
  process.stdout.write(`GET http://${host}:${port}/healthz → ${res.statusCode}\n`);
  process.exitCode = res.statusCode === 200 ? 0 : 1;
});
req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
req.on('error', (err) => {
  process.stdout.write(`GET http://${host}:${port}/healthz failed: ${err.message}\n`);
  process.exitCode = 1;
});
req.end();
