import { describe, expect, it } from 'vitest';
import {
  BRIDGE_DEFAULTS,
  bridgeOptionProblems as structured,
  formatProblem,
  resolveBridgeOptions,
  type BridgeOptions,
} from '../../src/bridge/config.js';

const bridgeOptionProblems = (...args: Parameters<typeof structured>): string[] => structured(...args).map(formatProblem);

describe('bridge config', () => {
  it('bridge config - accepts a minimal and a full section and fills the defaults', () => {
    expect(bridgeOptionProblems({ topics: ['sensors/#'] })).toEqual([]);
    expect(resolveBridgeOptions({ topics: ['sensors/#'] })).toEqual({ topics: ['sensors/#'], ...BRIDGE_DEFAULTS });
    const full: BridgeOptions = {
      topics: ['sensors/#', 'alerts/+/critical'],
      prefix: 'acme.hw',
      stream: 'MQTT_BRIDGE',
      maxBacklog: 5,
      maxBacklogBytes: 1024,
    };
    expect(bridgeOptionProblems(full)).toEqual([]);
    expect(resolveBridgeOptions(full)).toEqual(full);
  });

  it('bridge config - reports every problem at once, naming the file key (or a given name) and the fix', () => {
    const problems = bridgeOptionProblems(
      { topics: ['ok/#', 'a/#/b', '$share/g/x', 'x+'], prefix: 'bad prefix', stream: 'a.b', maxBacklog: 0, maxBacklogBytes: 1.5 },
      { prefix: '--nats-prefix' },
    );
    expect(problems).toHaveLength(7);
    expect(problems[0]).toMatch(/^bridge\.topics\[1\]: "a\/#\/b": # must be the last level \(fix: /);
    expect(problems[1]).toMatch(/^bridge\.topics\[2\]: .*shared subscription \(fix: give the plain filter/);
    expect(problems[2]).toMatch(/^bridge\.topics\[3\]: .*wildcards/);
    expect(problems[3]).toMatch(/^--nats-prefix: .*\(fix: use dot-separated tokens/);
    expect(problems[4]).toMatch(/^bridge\.stream: "a\.b" is not a JetStream stream name \(fix: /);
    expect(problems[5]).toMatch(/^bridge\.max_backlog: 0 is not a positive integer \(fix: give a whole number ≥ 1 \(default 10000\)\)$/);
    expect(problems[6]).toMatch(/^bridge\.max_backlog_bytes: 1\.5 is not a positive integer/);
  });

  it('bridge config - problems are structured as key, message and fix', () => {
    expect(structured({ topics: ['sensors/#'], maxBacklog: -1 })).toEqual([
      { key: 'bridge.max_backlog', message: '-1 is not a positive integer', fix: 'give a whole number ≥ 1 (default 10000)' },
    ]);
  });

  it('bridge config - an empty topic list is a problem, since nothing would be bridged', () => {
    expect(bridgeOptionProblems({ topics: [] })).toEqual([
      expect.stringMatching(/^bridge\.topics: no topic filter given.*\(fix: list MQTT topic filters/),
    ]);
    expect(bridgeOptionProblems({ topics: [''] })[0]).toMatch(/^bridge\.topics\[0\]: "": a topic cannot be empty/);
    expect(bridgeOptionProblems({ topics: ['a'], prefix: 'x.' })[0]).toMatch(/^nats\.prefix:/);
    expect(bridgeOptionProblems({ topics: ['a'], stream: 'x'.repeat(256) })[0]).toMatch(/^bridge\.stream:/);
  });
});
