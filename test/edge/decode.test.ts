/** The decoders alone (pure): the rules the wire tests rely on, including corners no EMQX client helper sends. */
import { describe, expect, it } from 'vitest';
import * as d from '../../src/edge/decode.js';
import { decodeProviderLoaded } from '../../src/edge/decode-provider.js';
import type { WireClientInfo, WireRequest } from '../../src/edge/wire.types.js';

const CI: WireClientInfo = {
  node: 'n', clientid: 'c', username: 'u', password: 'secret-pw', peerhost: '1.2.3.4', sockport: 1883,
  protocol: 'mqtt', mountpoint: '', is_superuser: false, anonymous: true, cn: '', dn: '',
};

describe('edge decode', () => {
  it('edge decode - TopicFilter qos comes from subopts when present, else from field 2', () => {
    const r: WireRequest = {
      clientinfo: CI,
      topic_filters: [
        { name: 'a', qos: 2, subopts: null },
        { name: 'b', subopts: { qos: 1, rh: 0, rap: 0, nl: 0 } },
        { name: 'c', qos: 0, subopts: { qos: 2, rh: 0, rap: 0, nl: 0 } },
        { name: 'd' },
      ],
    };
    const e = d.decodeClientSubscribe(r, 1, 'v2');
    expect(e.ok && e.value.filters).toEqual([
      { topic: 'a', qos: 2 },
      { topic: 'b', qos: 1 },
      { topic: 'c', qos: 2 },
      { topic: 'd', qos: 0 },
    ]);
  });

  it('edge decode - SubOpts.share is read from field 2 and "" without it; missing subopts are zeros', () => {
    const withShare = d.decodeSessionSubscribed({ clientinfo: CI, topic: 't', subopts: { qos: 1, share: 'g1', rh: 2, rap: 1, nl: 1 } }, 1, 'v2');
    expect(withShare.ok && withShare.value.subopts).toEqual({ qos: 1, share: 'g1', rh: 2, rap: 1, nl: 1 });
    const v3 = d.decodeSessionSubscribed({ clientinfo: CI, topic: '$share/g1/t', subopts: { qos: 1, rh: 0, rap: 0, nl: 0 } }, 1, 'v3');
    expect(v3.ok && v3.value.subopts.share).toBe('');
    const none = d.decodeSessionSubscribed({ clientinfo: CI, topic: 't', subopts: null }, 1, 'v2');
    expect(none.ok && none.value.subopts).toEqual({ qos: 0, share: '', rh: 0, rap: 0, nl: 0 });
  });

  it('edge decode - authorize type: names and the two known numbers decode, anything else is an error naming "type"', () => {
    const at = (type: WireRequest['type']) => d.decodeClientAuthorize({ clientinfo: CI, type, topic: 't', result: true }, 5, 'v1');
    expect(at('PUBLISH')).toMatchObject({ ok: true, value: { action: 'publish', generation: 'v1', at: 5 } });
    expect(at('SUBSCRIBE')).toMatchObject({ ok: true, value: { action: 'subscribe' } });
    expect(at(0)).toMatchObject({ ok: true, value: { action: 'publish' } });
    expect(at(1)).toMatchObject({ ok: true, value: { action: 'subscribe' } });
    expect(at(2)).toMatchObject({ ok: false, error: { field: 'type' } });
    expect(at(-1)).toMatchObject({ ok: false, error: { field: 'type' } });
  });

  it('edge decode - missing required sub-messages are errors, never throws', () => {
    expect(d.decodeClientConnect({}, 1, 'v2')).toMatchObject({ ok: false, error: { field: 'conninfo' } });
    expect(d.decodeClientAuthenticate({ clientinfo: null }, 1, 'v2')).toMatchObject({ ok: false, error: { field: 'clientinfo' } });
    expect(d.decodeMessagePublish({ message: undefined }, 1, 'v2')).toMatchObject({ ok: false, error: { field: 'message' } });
    expect(d.decodeMessageAcked({ clientinfo: CI }, 1, 'v2')).toMatchObject({ ok: false, error: { field: 'message' } });
  });

  it('edge decode - the password is only inside the Secret and the event serializes without it', () => {
    const e = d.decodeClientAuthenticate({ clientinfo: CI, result: true }, 1, 'v3');
    if (!e.ok) throw new Error('expected ok');
    expect(e.value.password.reveal()).toBe('secret-pw');
    expect(JSON.stringify(e.value)).not.toContain('secret-pw');
  });

  it('edge decode - provider loaded keeps uptime as a string (v1 text, v2/v3 int64) and tolerates a missing broker', () => {
    expect(decodeProviderLoaded({ broker: { version: '4.4.19', sysdescr: 'EMQX', uptime: '3 seconds', datetime: 'x' } }, 1, 'v1').broker.uptime).toBe('3 seconds');
    expect(decodeProviderLoaded({ broker: { version: '5', sysdescr: 'EMQX', uptime: '9007199254740993', datetime: 'x' } }, 1, 'v3').broker.uptime).toBe('9007199254740993');
    expect(decodeProviderLoaded({}, 1, 'v2')).toMatchObject({ broker: { uptime: '', version: '' }, meta: { node: '' } });
  });
});
