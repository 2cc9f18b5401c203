import { describe, expect, it } from 'vitest';
import { loadExhook } from '../../bench/exhook-proto.js';
import { buildFrameSet, decodeCall, providerLoadedCall } from '../../bench/frames.js';

type Req = {
  clientinfo?: { clientid: string; password: string; username: string };
  conninfo?: { clientid: string };
  message?: { from: string; topic: string; payload: string; qos: number; headers: Record<string, string> };
  topic?: string;
  type?: string;
  topic_filters?: { name: string; qos?: number; subopts?: { qos: number } | null }[];
  meta?: { cluster_name: string };
};

/** The client a call is about: the subscriber for delivered/acked (clientinfo), the publisher for publish. */
const clientOf = (r: Req): string => r.clientinfo?.clientid ?? r.conninfo?.clientid ?? r.message?.from ?? '';

describe('frames', () => {
  it("frames - a mix session decodes back in EMQX's hook order, all about one client", () => {
    const exhook = loadExhook('v2');
    const set = buildFrameSet('mix', { clients: 30, publishesPerSession: 2 });
    const session = set.sessions[7];
    if (!session) throw new Error('no session');
    expect(session.calls.map((c) => c.rpc)).toEqual([
      'OnClientConnect', 'OnClientAuthenticate', 'OnSessionCreated', 'OnClientConnected', 'OnClientConnack',
      'OnClientAuthorize', 'OnClientSubscribe', 'OnSessionSubscribed',
      'OnClientAuthorize', 'OnMessagePublish', 'OnMessageDelivered', 'OnMessageAcked',
      'OnClientAuthorize', 'OnMessagePublish', 'OnMessageDelivered', 'OnMessageAcked',
      'OnClientDisconnected', 'OnSessionTerminated',
    ]);
    const decoded = session.calls.map((c) => ({ rpc: c.rpc, req: decodeCall(exhook, c) as Req }));
    expect(new Set(decoded.map((d) => clientOf(d.req)))).toEqual(new Set([session.clientid]));
    expect(decoded.every((d) => d.req.meta?.cluster_name === 'emqxcl')).toBe(true);
    // The password travels only in OnClientAuthenticate, as EMQX sends it.
    const withPassword = decoded.filter((d) => (d.req.clientinfo?.password ?? '') !== '').map((d) => d.rpc);
    expect(withPassword).toEqual(['OnClientAuthenticate']);
    const auth = decoded.filter((d) => d.rpc === 'OnClientAuthorize').map((d) => [d.req.type, d.req.topic]);
    expect(auth[0]).toEqual(['SUBSCRIBE', `cmd/${session.clientid}/#`]);
    expect(auth[1]).toEqual(['PUBLISH', `devices/${session.clientid}/telemetry`]);
    const delivered = decoded.find((d) => d.rpc === 'OnMessageDelivered')?.req.message;
    expect(delivered?.topic).toBe(`cmd/${session.clientid}/set`);
    expect(delivered?.from).toMatch(/^backend-\d$/);
    const publish = decoded.find((d) => d.rpc === 'OnMessagePublish')?.req.message;
    expect(publish?.topic).toBe(`devices/${session.clientid}/telemetry`);
    expect(publish?.qos).toBe(1);
    expect(Buffer.from(publish?.payload ?? '', 'base64')).toHaveLength(128);
    expect(publish?.headers).toEqual({ peerhost: expect.any(String), protocol: 'mqtt', username: expect.stringMatching(/^tenant-\d$/) });
    // 5.3.2 shape: TopicFilter carries qos, not subopts.
    const sub = decoded.find((d) => d.rpc === 'OnClientSubscribe')?.req.topic_filters?.[0];
    expect(sub?.qos).toBe(1);
    expect(sub?.subopts ?? null).toBeNull();
  });

  it('frames - v1 spells authorize CheckAcl and v3 sends 5.4+ subscribe options', () => {
    const v1 = buildFrameSet('authorize', { clients: 2, version: 'v1' });
    expect(v1.sessions[0]?.calls[0]?.path).toBe('/emqx.exhook.v1.HookProvider/OnClientCheckAcl');
    const v3 = buildFrameSet('mix', { clients: 2, version: 'v3', publishesPerSession: 1 });
    const sub = v3.sessions[0]?.calls.find((c) => c.rpc === 'OnClientSubscribe');
    if (!sub) throw new Error('no subscribe');
    const req = decodeCall(loadExhook('v3'), sub) as Req;
    expect(req.topic_filters?.[0]?.subopts?.qos).toBe(1);
  });

  it('frames - parts split the client ids without overlap, and the weights count every call', () => {
    const whole = buildFrameSet('mix', { clients: 101, publishesPerSession: 10 });
    const a = buildFrameSet('mix', { clients: 101, publishesPerSession: 10, part: { index: 0, count: 2 } });
    const b = buildFrameSet('mix', { clients: 101, publishesPerSession: 10, part: { index: 1, count: 2 } });
    const ids = [...a.sessions, ...b.sessions].map((s) => s.clientid);
    expect(new Set(ids).size).toBe(101);
    expect(ids.sort()).toEqual(whole.sessions.map((s) => s.clientid).sort());
    expect(whole.calls).toBe(101 * 50);
    expect(whole.rpcCounts['OnMessagePublish']).toBe(101 * 10);
    expect(whole.rpcCounts['OnClientAuthorize']).toBe(101 * 11);
  });

  it('frames - OnProviderLoaded carries a v2 int64 uptime and a v1 text uptime', () => {
    for (const [v, uptime] of [['v1', '1 minutes, 5 seconds'], ['v2', '65000']] as const) {
      const exhook = loadExhook(v);
      const req = decodeCall(exhook, providerLoadedCall(exhook)) as { broker: { uptime: string } };
      expect(req.broker.uptime).toBe(uptime);
    }
  });
});
