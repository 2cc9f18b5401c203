/**
 * Shared test parts for the edge: a recording Dispatcher (a real
 * implementation that keeps every call and decides through a function the
 * test passes), an in-memory pino logger, default EdgeOptions, and an edge
 * started on 127.0.0.1 with an ephemeral port.
 */
import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';
import { decision, type Decision, type Outcome } from '../../src/domain/decision.js';
import { HOOK_NAMES, type NotificationEvent, type ValuedEvent } from '../../src/domain/hook-event.js';
import type { Dispatcher, EdgeOptions, ProviderLoaded, ProviderUnloaded } from '../../src/edge/edge.types.js';
import { startEdge, type Edge } from '../../src/edge/server.js';

export const allow = (detail = 'test allows'): Decision => decision('allow', { code: 'default', policy: 'test', detail });
export const deny = (detail = 'test denies'): Decision => decision('deny', { code: 'default', policy: 'test', detail });
export const ignore = (detail = 'test ignores'): Decision => decision('ignore', { code: 'default', policy: 'test', detail });

export type Decide = (event: ValuedEvent, deadline: number) => Decision | Promise<Decision>;

export class RecordingDispatcher implements Dispatcher {
  readonly valued: ValuedEvent[] = [];
  readonly deadlines: number[] = [];
  readonly notified: NotificationEvent[] = [];
  readonly loaded: ProviderLoaded[] = [];
  readonly unloaded: ProviderUnloaded[] = [];
  constructor(public decideWith: Decide = () => allow()) {}
  decide(event: ValuedEvent, deadline: number): Decision | Promise<Decision> {
    this.valued.push(event);
    this.deadlines.push(deadline);
    return this.decideWith(event, deadline);
  }
  notify(event: NotificationEvent): void {
    this.notified.push(event);
  }
  providerLoaded(info: ProviderLoaded): void {
    this.loaded.push(info);
  }
  providerUnloaded(info: ProviderUnloaded): void {
    this.unloaded.push(info);
  }
  /** Everything that reached the dispatcher, in arrival order. */
  get events(): (ValuedEvent | NotificationEvent)[] {
    return [...this.valued, ...this.notified].sort((a, b) => a.at - b.at);
  }
  /** Waits (bounded) until `n` notifications arrived: they are dispatched after the reply. */
  async untilNotified(n: number, timeoutMs = 2000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.notified.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  }
}

/** A pino logger (no redaction configured, on purpose) writing JSON lines into memory. */
export function memoryLogger(): { log: Logger; text: () => string; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const log = pino({ level: 'debug' }, stream);
  const text = (): string => chunks.join('');
  return {
    log,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export const FALLBACK: Record<ValuedEvent['type'], Outcome> = {
  'client.authenticate': 'deny',
  'client.authorize': 'deny',
  'message.publish': 'allow',
};

export function edgeOptions(overrides: Partial<EdgeOptions> = {}): EdgeOptions {
  return {
    host: '127.0.0.1',
    port: 0,
    allowType: 'CONTINUE',
    deadlines: { valuedMs: 1000, fallback: FALLBACK },
    maxMessageBytes: 1024 * 1024,
    mount: () => ({ hooks: [...HOOK_NAMES], messageTopics: [] }),
    ...overrides,
  };
}

export interface TestEdge {
  readonly edge: Edge;
  readonly address: string;
  readonly dispatcher: RecordingDispatcher;
  readonly logText: () => string;
  readonly logLines: () => Record<string, unknown>[];
  close(graceMs?: number): Promise<void>;
}

export async function startTestEdge(overrides: Partial<EdgeOptions> = {}, dispatcher = new RecordingDispatcher()): Promise<TestEdge> {
  const { log, text, lines } = memoryLogger();
  const edge = await startEdge(edgeOptions(overrides), dispatcher, log);
  return {
    edge,
    address: `127.0.0.1:${edge.port}`,
    dispatcher,
    logText: text,
    logLines: lines,
    close: (graceMs = 1000) => edge.close(graceMs),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
