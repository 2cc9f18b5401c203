/**
 * The EMQX configuration files in deploy/emqx: they point at the name the
 * hookwarden instances answer on (compose alias, Kubernetes Service) and the
 * hook port, agree with the compose environment setting by setting, and set
 * what keeps hookwarden's answers visible (EXHOOK.md §3, §7).
 */
import { describe, expect, it } from 'vitest';
import { HOOK_PORT, compose, isHookwarden, read, servicesWhere, yamlDocs } from './support.js';

const hocon = read('deploy/emqx/exhook.conf');
const cuttlefish = read('deploy/emqx/emqx_exhook.conf');
const live = (text: string): string =>
  text
    .split('\n')
    .filter((l) => !/^\s*##/.test(l))
    .join('\n');
/** `key = value` (quotes dropped) in the non-comment part of a HOCON block. */
const hoconValue = (key: string, text = live(hocon)): string | undefined =>
  new RegExp(`^\\s*${key.replace(/\./g, '\\.')}\\s*=\\s*"?([^"\\n]*?)"?\\s*$`, 'm').exec(text)?.[1];
/** The text from `marker` through the brace block that follows it. */
const block = (marker: string): string => {
  const text = live(hocon);
  const start = text.indexOf(marker);
  expect(start, marker).toBeGreaterThanOrEqual(0);
  let depth = 0;
  for (let i = text.indexOf('{', start); i < text.length; i++) {
    if (text[i] === '{') depth++;
    if (text[i] === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  throw new Error(`unbalanced block after ${marker}`);
};
const cuttle = (key: string): string | undefined =>
  new RegExp(`^${key.replace(/\./g, '\\.')}\\s*=\\s*(\\S+)\\s*$`, 'm').exec(cuttlefish)?.[1];

const c = compose();
const emqxEnv = Object.fromEntries(Object.entries(c.services.emqx?.environment ?? {}).map(([k, v]) => [k, String(v)]));
const k8sServiceNames = yamlDocs<{ metadata: { name: string }; spec: { clusterIP?: string; ports: { port: number }[] } }>(
  'deploy/k8s/service.yaml',
)
  .filter((s) => s.spec.clusterIP !== 'None')
  .map((s) => ({ name: s.metadata.name, ports: s.spec.ports.map((p) => p.port) }));
const aliases = new Set(servicesWhere(c, isHookwarden).flatMap(([, s]) => s.networks?.default?.aliases ?? []));

/** The URL is a name every deployment here resolves to all instances, on the hook port. */
function expectHookUrl(raw: string | undefined): void {
  const url = new URL(raw ?? '');
  expect(url.protocol).toBe('http:');
  expect(Number(url.port)).toBe(HOOK_PORT);
  expect(aliases).toContain(url.hostname);
  expect(k8sServiceNames).toContainEqual({ name: url.hostname, ports: expect.arrayContaining([HOOK_PORT]) });
}

describe('EMQX 5.x: exhook.conf', () => {
  const server = block('servers = [');

  it('has one server, at the compose alias and the Kubernetes Service, on the hook port', () => {
    expect(server.match(/\burl\s*=/g)).toHaveLength(1);
    expectHookUrl(hoconValue('url', server));
  });

  it('agrees with the compose environment, setting by setting', () => {
    const pairs: [string, string][] = [
      ['name', 'EMQX_EXHOOK__SERVERS__1__NAME'],
      ['enable', 'EMQX_EXHOOK__SERVERS__1__ENABLE'],
      ['url', 'EMQX_EXHOOK__SERVERS__1__URL'],
      ['request_timeout', 'EMQX_EXHOOK__SERVERS__1__REQUEST_TIMEOUT'],
      ['failed_action', 'EMQX_EXHOOK__SERVERS__1__FAILED_ACTION'],
      ['pool_size', 'EMQX_EXHOOK__SERVERS__1__POOL_SIZE'],
      ['auto_reconnect', 'EMQX_EXHOOK__SERVERS__1__AUTO_RECONNECT'],
    ];
    for (const [key, env] of pairs) expect(hoconValue(key, server), key).toBe(emqxEnv[env]);
    const authz = block('authorization {');
    expect(hoconValue('sources', authz)).toBe(emqxEnv.EMQX_AUTHORIZATION__SOURCES);
    expect(hoconValue('no_match', authz)).toBe(emqxEnv.EMQX_AUTHORIZATION__NO_MATCH);
    expect(authz).toMatch(/cache \{ enable = false \}/);
    expect(emqxEnv.EMQX_AUTHORIZATION__CACHE__ENABLE).toBe('false');
  });

  it('leaves hookwarden room to answer: request_timeout above the default --deadline (1s)', () => {
    expect(hoconValue('request_timeout', server)).toMatch(/^[2-5]s$/);
  });
});

describe('EMQX 4.4: emqx_exhook.conf', () => {
  it('names one server at the same URL, and the same timeouts and pool as 5.x', () => {
    expect(cuttlefish.match(/^exhook\.server\.\w+\.url\s*=/gm)).toHaveLength(1);
    expectHookUrl(cuttle('exhook.server.hookwarden.url'));
    expect(cuttle('exhook.request_timeout')).toBe(hoconValue('request_timeout'));
    expect(cuttle('exhook.request_failed_action')).toBe(hoconValue('failed_action'));
    expect(cuttle('exhook.pool_size')).toBe(hoconValue('pool_size'));
    expect(cuttle('exhook.auto_reconnect')).toBe(hoconValue('auto_reconnect'));
    expect(Number(cuttle('exhook.hook_priority'))).toBeGreaterThanOrEqual(0); // above acl.conf's -1
  });
});
