import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_LEVEL,
  escapeLevel,
  messageSubjectFilter,
  subjectFits,
  subjectToTopic,
  topicToSubject,
  unescapeToken,
} from '../../src/bridge/subject.js';

/** A valid NATS token: non-empty, no whitespace, `.`, `*`, `>` or control characters. */
const validToken = (t: string): boolean => t.length > 0 && !/[\s.*>\u0000-\u001f\u007f]/u.test(t);

/** Levels made mostly of the characters that need care, plus any Unicode. */
const nasty = fc.constantFrom(
  '.',
  '*',
  '>',
  ' ',
  '\t',
  '\n',
  '\r',
  '%',
  '%2E',
  '%25',
  '/',
  '',
  '\u00a0',
  '\u2028',
  '\u3000',
  '\ufeff',
  '\u0001',
  '\u007f',
  '$',
  '+',
  '#',
  'é',
  '😀',
  'a',
  'Z',
  '_',
  '-',
);
const topicArb = fc.oneof(
  fc.array(fc.oneof(nasty, fc.string({ unit: 'binary', maxLength: 3 })), { minLength: 1, maxLength: 12 }).map((parts) => parts.join('')),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
);

describe('bridge subject', () => {
  it('bridge subject - maps the documented examples both ways', () => {
    const cases: [string, string][] = [
      ['sensors/a/temp', 'hookwarden.msg.sensors.a.temp'],
      ['a.b/c d/*/>/', 'hookwarden.msg.a%2Eb.c%20d.%2A.%3E.%'],
      ['/lead', 'hookwarden.msg.%.lead'],
      ['a//b', 'hookwarden.msg.a.%.b'],
      ['100%/x', 'hookwarden.msg.100%25.x'],
      ['tab\there/nbsp\u00a0', 'hookwarden.msg.tab%09here.nbsp%C2%A0'],
      ['$SYS/brokers', 'hookwarden.msg.$SYS.brokers'],
      ['héllo/😀', 'hookwarden.msg.héllo.😀'],
      ['/', 'hookwarden.msg.%.%'],
    ];
    for (const [topic, subject] of cases) {
      expect(topicToSubject('hookwarden', topic)).toBe(subject);
      expect(subjectToTopic('hookwarden', subject)).toBe(topic);
    }
    expect(messageSubjectFilter('acme.hw')).toBe('acme.hw.msg.>');
  });

  it('bridge subject - any topic maps to a valid subject with one token per level, and back', () => {
    fc.assert(
      fc.property(topicArb, (topic) => {
        const subject = topicToSubject('hw', topic);
        const tokens = subject.split('.');
        expect(tokens.slice(0, 2)).toEqual(['hw', 'msg']);
        expect(tokens.length - 2).toBe(topic.split('/').length);
        for (const t of tokens) expect(validToken(t), JSON.stringify(t)).toBe(true);
        expect(subjectToTopic('hw', subject)).toBe(topic);
      }),
      { numRuns: 2000 },
    );
  });

  it('bridge subject - distinct topics never share a subject', () => {
    fc.assert(
      fc.property(topicArb, topicArb, (a, b) => {
        fc.pre(a !== b);
        expect(topicToSubject('hw', a)).not.toBe(topicToSubject('hw', b));
      }),
      { numRuns: 1000 },
    );
  });

  it('bridge subject - every token decodes to a level that encodes back to it, or is refused', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('%', '2', 'E', 'e', 'A', 'C', '0', 'x', '.', ' ', 'é'), maxLength: 10 }), (token) => {
        const level = unescapeToken(token);
        if (level !== undefined) expect(escapeLevel(level)).toBe(token);
      }),
      { numRuns: 2000 },
    );
  });

  it('bridge subject - refuses subjects the bridge cannot have produced', () => {
    for (const s of [
      'hookwarden.msg',
      'hookwarden.msg.',
      'other.msg.a',
      'hookwarden.msg.a..b',
      'hookwarden.msg.%2e',
      'hookwarden.msg.%41',
      'hookwarden.msg.%2',
      'hookwarden.msg.%FF',
      'hookwarden.msg.a b',
    ]) {
      expect(subjectToTopic('hookwarden', s), s).toBeUndefined();
    }
    expect(unescapeToken(EMPTY_LEVEL)).toBe('');
  });

  it('bridge subject - a subject longer than the protocol line allows does not fit', () => {
    expect(subjectFits(topicToSubject('hookwarden', 'a'.repeat(3800)))).toBe(true);
    expect(subjectFits(topicToSubject('hookwarden', 'a'.repeat(3900)))).toBe(false);
    expect(subjectFits(topicToSubject('hookwarden', '.'.repeat(1300)))).toBe(false); // 3 bytes per escaped dot
  });
});
