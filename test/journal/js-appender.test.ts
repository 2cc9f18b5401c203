import { headers } from 'nats';
import { describe, expect, it } from 'vitest';
import { appendHeaders, JsPublishError } from '../../src/journal/js-appender.js';

describe('appendHeaders', () => {
  it('encodes the same header block as nats.js headers()', () => {
    const h = headers();
    h.set('Nats-Msg-Id', 'inst-1:abc:42');
    h.set('Nats-Expected-Last-Subject-Sequence', '1234');
    const encoded = (x: unknown): string => new TextDecoder().decode((x as { encode(): Uint8Array }).encode());
    expect(encoded(appendHeaders('inst-1:abc:42', 1234))).toBe(encoded(h));
  });

  it('refuses a message id that would break the header block', () => {
    expect(() => appendHeaders('a\r\nNats-Expected-Last-Subject-Sequence: 0', 1)).toThrow(JsPublishError);
  });
});
