import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { levelsMatch, realTopic, topicFilterProblem, topicMatches, topicNameProblem } from '../../src/domain/topic.js';

describe('topic', () => {
  it.each([
    ['a/b', 'a/b', true],
    ['a/+', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['#', 'a/b', true],
    ['+/+', 'a/b', true],
    ['+', '/a', false],
    ['+/a', '/a', true],
    ['a//b', 'a//b', true],
    ['a/+/b', 'a//b', true],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
    ['$share/g/a/#', 'a/b', true],
    ['$queue/a/+', 'a/b', true],
  ])('topic - MQTT routing: filter %j matches %j: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it('topic - EMQX authz level matching has no $ rule and compares a requested filter as a name', () => {
    const m = (f: string, t: string): boolean => levelsMatch(f.split('/'), t.split('/'));
    expect(m('#', '$SYS/x')).toBe(true);
    expect(m('+/x', '$SYS/x')).toBe(true);
    expect(m('a/#', 'a/+')).toBe(true);
    expect(m('a/+', 'a/#')).toBe(true);
    expect(m('a/b', 'a/+')).toBe(false);
    expect(m('a/+/c', 'a/+/c')).toBe(true);
    expect(m('a/b/#', 'a/#')).toBe(false);
  });

  it('topic - realTopic strips $share/<group>/ and $queue/', () => {
    expect(realTopic('$share/g/a/b')).toEqual({ topic: 'a/b', group: 'g' });
    expect(realTopic('$queue/a/b')).toEqual({ topic: 'a/b', group: '$queue' });
    expect(realTopic('$share/g')).toEqual({ topic: '$share/g' });
    expect(realTopic('a/b')).toEqual({ topic: 'a/b' });
  });

  it('topic - filter validation', () => {
    for (const ok of ['#', '+', 'a/#', 'a/+/b', '/', 'a//b', '$share/g/a/#', '$SYS/#']) expect(topicFilterProblem(ok), ok).toBeUndefined();
    expect(topicFilterProblem('')).toMatch(/empty/);
    expect(topicFilterProblem('a/#/b')).toMatch(/last level/);
    expect(topicFilterProblem('a/b#')).toMatch(/whole level/);
    expect(topicFilterProblem('a+/b')).toMatch(/whole level/);
    expect(topicFilterProblem('a\u0000b')).toMatch(/NUL/);
    expect(topicFilterProblem('x'.repeat(65_536))).toMatch(/65535/);
    expect(topicFilterProblem('$share/g')).toMatch(/group/);
    expect(topicFilterProblem('$share/g+/a')).toMatch(/group/);
    expect(topicFilterProblem('$share/g/$share/h/a')).toMatch(/nested/);
  });

  it('topic - name validation refuses wildcards', () => {
    expect(topicNameProblem('a/b')).toBeUndefined();
    expect(topicNameProblem('a/+')).toMatch(/wildcards/);
    expect(topicNameProblem('a/#')).toMatch(/wildcards/);
    expect(topicNameProblem('')).toMatch(/empty/);
  });

  it('topic - a wildcard-free filter matches exactly itself; # matches every non-$ topic', () => {
    const level = fc.stringMatching(/^[a-z0-9]{0,4}$/);
    const name = fc.array(level, { minLength: 1, maxLength: 5 }).map((ls) => ls.join('/'));
    fc.assert(
      fc.property(name, name, (a, b) => {
        expect(topicMatches(a, b)).toBe(a === b);
        expect(topicMatches('#', a)).toBe(true);
        expect(topicMatches(`${a}/#`, `${a}/${b}`)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
