import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULTS, loadConfig } from '../../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'hw-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('config', () => {
  it('config - runs on sane defaults with no file, env or flags', () => {
    const c = loadConfig({}, {});
    expect(c).toEqual(DEFAULTS);
    expect(c.port).toBe(9000);
    expect(c.policyFile).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('config - flags beat environment beat file', () => {
    const f = file('a.yaml', 'listen: { port: 7001, host: 127.0.0.1 }\nlog: { level: warn }\n');
    expect(loadConfig({ config: f }, {}).port).toBe(7001);
    expect(loadConfig({ config: f }, { HOOKWARDEN_PORT: '7002' }).port).toBe(7002);
    const c = loadConfig({ config: f, port: '7003' }, { HOOKWARDEN_PORT: '7002', HOOKWARDEN_LOG_LEVEL: 'debug' });
    expect(c.port).toBe(7003);
    expect(c.host).toBe('127.0.0.1');
    expect(c.logLevel).toBe('debug');
  });

  it('config - reads durations, sizes, lists and fallbacks', () => {
    const f = file(
      'b.yaml',
      [
        'deadline: { valued: 800ms, fallback: { authenticate: deny, publish: allow } }',
        'max_message_size: 2MB',
        'hooks: { message_events: [message.dropped], message_topics: ["t/#"] }',
        'answer: { allow: stop }',
      ].join('\n'),
    );
    const c = loadConfig({ config: f }, {});
    expect(c.deadlineMs).toBe(800);
    expect(c.maxMessageBytes).toBe(2 * 1024 * 1024);
    expect(c.fallback).toEqual({ 'client.authenticate': 'deny', 'client.authorize': 'ignore', 'message.publish': 'allow' });
    expect(c.messageEvents).toEqual(['message.dropped']);
    expect(c.messageTopics).toEqual(['t/#']);
    expect(c.allowType).toBe('STOP_AND_RETURN');
    expect(loadConfig({ 'message-events': 'message.acked, message.delivered' }, {}).messageEvents).toEqual([
      'message.acked',
      'message.delivered',
    ]);
  });

  it('config - reports every problem at once, naming the key and the fix', () => {
    const f = file('c.yaml', 'listen: { port: 99999 }\nlogg: { level: info }\ndeadline: { valued: 9s }\n');
    let message = '';
    try {
      loadConfig({ config: f, 'log-level': 'loud' }, {});
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('listen.port');
    expect(message).toContain('whole number from 0 to 65535');
    expect(message).toContain('unknown configuration key "logg"');
    expect(message).toContain('deadline.valued');
    expect(message).toContain('--log-level');
    expect(message).toMatch(/Fix: use fatal/);
  });

  it('config - TLS needs both files, and a CA to require client certificates', () => {
    expect(() => loadConfig({ 'tls-cert': 'a.pem' }, {})).toThrow(/cert_file and key_file/);
    expect(() => loadConfig({ 'tls-cert': 'a.pem', 'tls-key': 'b.pem', 'tls-require-client-cert': true }, {})).toThrow(
      /tls.ca_file/,
    );
    const c = loadConfig({ 'tls-cert': 'a.pem', 'tls-key': 'b.pem', 'tls-ca': 'ca.pem', 'tls-require-client-cert': true }, {});
    expect(c.tls).toEqual({ certFile: 'a.pem', keyFile: 'b.pem', caFile: 'ca.pem', requireClientCert: true });
  });

  it('config - an unreadable file is an error, not a crash', () => {
    expect(() => loadConfig({ config: join(dir, 'missing.yaml') }, {})).toThrow(/cannot read config file/);
    expect(() => loadConfig({ config: file('d.yaml', '[1, 2]') }, {})).toThrow(/not a mapping/);
  });
});

describe('config - journal and NATS', () => {
  it('config - NATS servers, auth, prefix and feed', () => {
    const c = loadConfig({ nats: 'nats://127.0.0.1:4222,nats://127.0.0.1:4223', 'nats-user': 'hw', 'feed-exclude': 'message.delivered' }, {
      HOOKWARDEN_NATS_PASSWORD: 'pw',
    });
    expect(c.nats).toEqual({
      servers: ['nats://127.0.0.1:4222', 'nats://127.0.0.1:4223'],
      user: 'hw',
      pass: 'pw',
      prefix: 'hookwarden',
      feed: true,
      feedExclude: ['message.delivered'],
      feedProject: 'lease',
    });
    expect(loadConfig({}, {}).nats).toBeUndefined();
  });

  it('config - NATS and bridge mistakes name the key and the fix', () => {
    expect(() => loadConfig({ 'nats-user': 'hw' }, {})).toThrow(/no server is.*nats.servers/s);
    expect(() => loadConfig({ nats: 'nats://h:1', 'nats-prefix': 'a.b' }, {})).toThrow(/nats.prefix.*one subject token/s);
    expect(() => loadConfig({ nats: 'nats://h:1', 'feed-exclude': 'message.published' }, {})).toThrow(/feed kinds \(/);
    expect(() => loadConfig({ 'bridge-topics': 'sensors/#' }, {})).toThrow(/bridge.topics.*no NATS server/s);
  });

  it('config - data dir and payload opt-in', () => {
    const c = loadConfig({ 'data-dir': '/var/lib/hookwarden', 'journal-payloads': 'true', 'fsync-interval': '0ms' }, {});
    expect(c.dataDir).toBe('/var/lib/hookwarden');
    expect(c.journalPayloads).toBe(true);
    expect(c.fsyncIntervalMs).toBe(0);
  });
});
