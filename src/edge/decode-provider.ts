/**
 * Decoders for the provider life-cycle RPCs. Neither can fail: a broker
 * without `meta` (before 4.3.14 / 4.4.3) or without `broker` still loads us,
 * with "" in the missing fields.
 */
import type { Generation } from '../domain/hook-event.js';
import { metaOf } from './decode-parts.js';
import type { BrokerInfo, ProviderLoaded, ProviderUnloaded } from './edge.types.js';
import type { WireRequest } from './wire.types.js';

const NO_BROKER: BrokerInfo = Object.freeze({ version: '', sysdescr: '', uptime: '', datetime: '' });

/**
 * `broker.uptime` is text in v1 ("2 hours, 3 minutes, 4 seconds") and int64
 * milliseconds in v2/v3; with `longs: String` both arrive as strings and are
 * kept as such.
 */
export function decodeProviderLoaded(r: WireRequest, at: number, generation: Generation): ProviderLoaded {
  const b = r.broker;
  return {
    at,
    generation,
    meta: metaOf(r.meta),
    broker: b ? { version: b.version, sysdescr: b.sysdescr, uptime: String(b.uptime), datetime: b.datetime } : NO_BROKER,
  };
}

export function decodeProviderUnloaded(r: WireRequest, at: number, generation: Generation): ProviderUnloaded {
  return { at, generation, meta: metaOf(r.meta) };
}
