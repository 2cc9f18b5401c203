/**
 * The dispatcher behind the edge: routes each hook to its client's entry,
 * prepares what the pure step needs (policy, ACL verdict, credentials), steps
 * the machine, journals the record and hands back the decision.
 *
 * Hot path: a client with nothing queued is stepped synchronously and the
 * decision is returned as a plain value, so the edge answers without a timer
 * or a promise. Only a password check (async KDF) queues; everything after it
 * for that client waits behind it, keeping per-client arrival order.
 */
import type { AdminEvent, ClientEvent, ClientFact } from '../../machines/client/client.types.js';
import {
  canRestore,
  initialSnapshot,
  packSnapshot,
  step,
  stateName,
  unpackSnapshot,
  type ClientSnapshot,
} from '../../machines/client/client.step.js';
import type { ClientEntry, StepResult } from '../actors/client-entry.js';
import type { Registry } from '../actors/registry.js';
import { decision, isFallback, type Decision } from '../domain/decision.js';
import { clientIdOf, isValuedEvent, type HookEvent, type NotificationEvent, type ValuedEvent } from '../domain/hook-event.js';
import type { ResolvedPolicy } from '../domain/policy.types.js';
import { evaluateAcl } from '../domain/acl.js';
import type { Dispatcher, ProviderLoaded, ProviderUnloaded } from '../edge/edge.types.js';
import type { JournalPort } from '../journal/journal.js';
import { AppendTimeoutError, ConflictError } from '../journal/journal-errors.js';
import { recordOf, type RecordOptions } from '../journal/record.js';
import type { JournalRecord } from '../journal/journal.js';
import type { Logger } from '../observability/logger.js';
import { AppError } from '../errors.js';
import type { Forwarding } from '../cluster/forwarding.js';
import type { CredentialChecker } from '../policy/users.js';
import { resolvePolicy, type PolicySet } from '../policy/policy-set.js';
import { connKeyOf, isFromClient, toClientEvent, type Prepared } from './client-event.js';
import { DecisionLog } from './decision-log.js';
import { ClientWriter, NO_DECISION, type DegradeOptions, type WriterCounters } from './client-writer.js';
import { storeInput } from './stored-input.js';
import { BrokerNodes } from './broker-nodes.js';

export interface HookServiceDeps {
  readonly registry: Registry;
  readonly journal: JournalPort;
  /** Journal options: payloads are kept only when opted in. */
  readonly record?: RecordOptions;
  readonly policies: () => PolicySet;
  readonly credentials: CredentialChecker;
  readonly log: Logger;
  /** Hands hooks of clients written by a newer version to an instance of that version (src/cluster/forwarding.ts). */
  readonly forwarding?: Forwarding;
  /** Degrade rules and the local outbox (NATS journal only): what to do while NATS cannot be reached. */
  readonly degrade?: Omit<DegradeOptions, 'entryOf'>;
  /** Told of every step's facts (the EMQX link kicks a client on `ClientBanned` / `ClientQuarantined`). Must not throw. */
  readonly onFacts?: (clientId: string, facts: readonly ClientFact[]) => void;
}

/** What an operator's command did (`HookService.command`). */
export interface CommandResult {
  readonly event: AdminEvent;
  readonly facts: readonly ClientFact[];
  /** The client's state name and snapshot after the command. */
  readonly state: string;
  readonly snapshot: ClientSnapshot;
}

export class HookService implements Dispatcher {
  readonly nodes = new BrokerNodes();
  readonly #deps: HookServiceDeps;
  readonly #decisions: DecisionLog;
  readonly #writer: ClientWriter;
  readonly #recordOptions: RecordOptions;

  constructor(deps: HookServiceDeps) {
    this.#deps = deps;
    this.#recordOptions = deps.record ?? {};
    this.#decisions = new DecisionLog(deps.log);
    this.#writer = new ClientWriter(
      deps.journal,
      deps.log,
      this.#recordFor,
      deps.degrade && deps.journal.kind === 'nats' ? { ...deps.degrade, entryOf: (id) => deps.registry.entry(id) } : undefined,
    );
    this.#writer.onFacts = deps.onFacts;
  }

  /** Conflict recoveries and redone steps (cluster figures), outbox figures. */
  get writerCounters(): WriterCounters {
    return this.#writer.counters;
  }

  /**
   * What the edge answered a valued hook (`EdgeOptions.answered`). When it was the configured
   * fallback (deadline passed, or deciding failed), journal what EMQX actually got, beside the
   * hook's own record (which, if it lands, holds the machine's late decision). No input, no
   * snapshot: replay skips it.
   */
  answered(event: ValuedEvent, d: Decision): void {
    if (!isFallback(d)) return;
    try {
      const clientId = clientIdOf(event);
      if (clientId === '') return;
      const entry = this.#deps.registry.entry(clientId);
      if (entry.foreign) return; // a newer version's client: nothing is written for it here
      const record = recordOf(
        event,
        { clientId, state: stateName(entry.snapshot), facts: [], decision: d, conn: connKeyOfHook(event), input: undefined },
        this.#recordOptions,
      );
      this.#writer.note(record);
    } catch (err) {
      this.#deps.log.warn({ err, hook: event.type }, 'could not journal a fallback answer');
    }
  }

  /** Degraded (NATS unreachable: deciding locally, records in the outbox) and the outbox's size. */
  get degrade(): { readonly degraded: boolean; readonly outbox: number } {
    return { degraded: this.#writer.degraded, outbox: this.#writer.outboxSize };
  }

  /** Flush the outbox now (also runs on a timer); stop its timer and close it. */
  flushOutbox(): Promise<void> {
    return this.#writer.flushOutbox();
  }
  stopWriter(): void {
    this.#writer.stop();
  }

  decide(event: ValuedEvent, deadline: number, forwarded = false): Decision | Promise<Decision> {
    if (event.type === 'message.publish' && !isFromClient(event)) {
      return decision('allow', {
        code: 'publisher.not_a_client',
        policy: '-',
        detail: `publish from "${event.message.from}" is not an MQTT client's; not charged`,
      });
    }
    const clientId = clientIdOf(event);
    if (clientId === '') return this.#stateless(event);
    const entry = this.#entry(clientId);
    this.#learnWho(entry, event);
    const policy = this.#policyOf(entry);
    if (event.type === 'client.authenticate' && policy.authenticate === 'users') {
      return entry.enqueue(
        async () => {
          const credentials = await this.#deps.credentials.check(event.client.username, event.password, { deadline });
          return toClientEvent(event, { policy: this.#policyOf(entry), credentials }) as ClientEvent;
        },
        (r, e) => this.#record(entry, event, e, r, deadline, forwarded),
      );
    }
    const prepared = this.#prepare(event, entry, policy);
    const clientEvent = toClientEvent(event, prepared) as ClientEvent;
    if (entry.idle) return this.#record(entry, event, clientEvent, entry.applyNow(clientEvent), deadline, forwarded);
    return entry.enqueue(
      () => toClientEvent(event, this.#prepare(event, entry, this.#policyOf(entry))) as ClientEvent,
      (r, e) => this.#record(entry, event, e, r, deadline, forwarded),
    );
  }

  notify(event: NotificationEvent, forwarded = false): void {
    try {
      const clientId = clientIdOf(event);
      if (clientId === '') return; // client.connect before EMQX assigned an id: nothing to key state on
      const entry = this.#entry(clientId);
      this.#learnWho(entry, event);
      const clientEvent = toClientEvent(event, { policy: this.#policyOf(entry) });
      if (!clientEvent) return;
      if (entry.idle) this.#record(entry, event, clientEvent, entry.applyNow(clientEvent), undefined, forwarded);
      else
        void entry.enqueue(
          () => clientEvent,
          (r, e) => this.#record(entry, event, e, r, undefined, forwarded),
        );
    } catch (err) {
      this.#deps.log.error({ err, hook: event.type }, 'notification processing failed');
    }
  }

  providerLoaded(info: ProviderLoaded): void {
    this.nodes.loaded(info);
    this.#deps.log.info(
      { emqxNode: info.meta.node, cluster: info.meta.clusterName, version: info.broker.version, generation: info.generation },
      'EMQX loaded hookwarden',
    );
  }

  providerUnloaded(info: ProviderUnloaded): void {
    this.nodes.unloaded(info);
    this.#deps.log.info({ emqxNode: info.meta.node, generation: info.generation }, 'EMQX unloaded hookwarden');
  }

  /**
   * The client's entry. A client new to this process but possibly known to a
   * persistent journal (files, NATS) is loaded first: the load is queued in its mailbox,
   * so its events wait behind it, in order.
   */
  #entry(clientId: string): ClientEntry {
    const entry = this.#deps.registry.entry(clientId);
    if (entry.fresh) {
      entry.fresh = false;
      if (this.#deps.journal.kind !== 'memory') void entry.enqueueTask(() => this.#load(entry));
    }
    return entry;
  }

  async #load(entry: ClientEntry): Promise<void> {
    try {
      const loaded = await this.#deps.journal.load(entry.clientId);
      const snap = loaded?.snapshot;
      if (loaded?.unreadable) entry.foreign = 'its newest journal entry has a newer schema';
      else if (snap && canRestore(snap.machineVersion)) entry.snapshot = unpackSnapshot(snap.packed);
      else if (snap) {
        entry.foreign = `its journal snapshot is of machine ${snap.machineVersion}`;
        entry.foreignVersion = snap.machineVersion;
      }
      if (entry.foreign)
        this.#deps.log.warn(
          { clientId: entry.clientId, why: entry.foreign },
          'client written by a newer hookwarden: not written here; its hooks are forwarded to an instance of that version (else the fallback)',
        );
    } catch (err) {
      this.#deps.log.warn({ err, clientId: entry.clientId }, 'could not load client from the journal; starting fresh');
    }
  }

  /** No client id to key state on: decide from the default policy alone, tracking nothing. */
  #stateless(event: ValuedEvent): Decision {
    const policy = resolvePolicy(this.#deps.policies(), { clientid: '', username: '', peerhost: '' });
    const ce = toClientEvent(event, { policy, credentials: 'not_checked', ...this.#aclFor(event, policy, '', '') });
    const d = ce ? step(initialSnapshot(), ce).decision : undefined;
    return d ?? decision(policy.noMatch, { code: 'default', policy: policy.name, detail: 'no client id' });
  }

  #prepare(event: HookEvent, entry: ClientEntry, policy: ResolvedPolicy): Prepared {
    return { policy, ...this.#aclFor(event, policy, entry.clientId, entry.username) };
  }

  #aclFor(event: HookEvent, policy: ResolvedPolicy, clientid: string, username: string): Pick<Prepared, 'acl'> {
    if (event.type !== 'client.authorize') return {};
    return { acl: evaluateAcl(policy.acl, { clientid, username }, event.action, event.topic) };
  }

  #learnWho(entry: ClientEntry, event: HookEvent): void {
    let username: string | undefined;
    let peerhost: string | undefined;
    switch (event.type) {
      case 'client.connect':
      case 'client.connack':
        ({ username, peerhost } = event.conn);
        break;
      case 'message.publish':
      case 'message.dropped':
        ({ username, peerhost } = event.message.headers);
        break;
      default:
        ({ username, peerhost } = event.client);
    }
    if (username !== undefined && (username !== '' || entry.username === '')) entry.username = username;
    if (peerhost !== undefined && peerhost !== '') entry.peerhost = peerhost;
  }

  #policyOf(entry: ClientEntry): ResolvedPolicy {
    const set = this.#deps.policies();
    if (
      entry.policy === undefined ||
      entry.policyRevision !== set.revision ||
      entry.policyUsername !== entry.username ||
      entry.policyPeerhost !== entry.peerhost
    ) {
      entry.policy = resolvePolicy(set, { clientid: entry.clientId, username: entry.username, peerhost: entry.peerhost });
      entry.policyRevision = set.revision;
      entry.policyUsername = entry.username;
      entry.policyPeerhost = entry.peerhost;
    }
    return entry.policy;
  }

  /**
   * Journal the step and return its decision. A valued record is appended
   * before the answer: when the adapter must wait (file write, JetStream ack)
   * the decision is returned as a promise resolved after the append.
   */
  #record(
    entry: ClientEntry,
    hook: HookEvent,
    event: ClientEvent,
    r: StepResult,
    deadline?: number,
    forwarded = false,
  ): Decision | Promise<Decision> {
    const d = r.decision;
    if (entry.foreign) {
      // a newer version's client: hand the hook to an instance of that version (rolling upgrade)
      const fwd = this.#deps.forwarding;
      const version = entry.foreignVersion;
      if (fwd && version !== undefined && !forwarded) {
        if (isValuedEvent(hook)) return fwd.decide(hook, version, deadline ?? Date.now() + 1000);
        fwd.notify(hook, version);
        return NO_DECISION;
      }
      // never fold over a newer version's state: no record, no snapshot; valued hooks get the fallback
      if (d)
        throw new AppError('EXH_CLIENT_NEWER_VERSION', `client ${JSON.stringify(entry.clientId)}: ${entry.foreign}; answered the fallback`);
      return NO_DECISION;
    }
    if (r.facts.length > 0) this.#deps.onFacts?.(entry.clientId, r.facts);
    if (d) this.#decisions.observe(entry.clientId, hook.type, d);
    if (this.#writer.fenced) return this.#writer.write(entry, hook, event, r, deadline);
    const journal = this.#deps.journal;
    // Only a persistent journal is replayed or loaded: the memory ring keeps neither input nor snapshot.
    const persistent = journal.kind !== 'memory';
    const record = this.#recordFor(entry, hook, event, r);
    const ack = journal.append(
      record,
      persistent ? { snapshot: () => packSnapshot(r.snapshot), ...(deadline ? { deadline } : {}) } : undefined,
    );
    if (!d) {
      ack?.catch((err: unknown) => this.#deps.log.warn({ err, clientId: entry.clientId, hook: hook.type }, 'journal append failed'));
      return NO_DECISION;
    }
    // memory and files never conflict (only the NATS journal fences, through the writer above)
    return ack === undefined ? d : ack.then(() => d);
  }

  /** The journal record of a step. */
  readonly #recordFor = (entry: ClientEntry, hook: HookEvent, event: ClientEvent, r: StepResult): JournalRecord =>
    recordOf(
      hook,
      {
        clientId: entry.clientId,
        state: stateName(r.snapshot),
        facts: r.facts,
        decision: r.decision,
        conn: 'conn' in event ? event.conn : connKeyOfHook(hook),
        input: this.#deps.journal.kind !== 'memory' ? storeInput(event, entry.policyRevision) : undefined,
      },
      this.#recordOptions,
    );

  /**
   * An operator's command (src/admin/). `plan` runs in the client's mailbox,
   * after everything queued before it, with the client's current state and
   * the time, and returns the admin event to apply (undefined: nothing to
   * do). The event is stepped and journaled durably; resolves once stored.
   * When another instance moved the client on (conflict, or a timeout that
   * may have landed), the client is loaded again and planned again (3 tries).
   * `note` is journaled as the reason of events without their own.
   */
  command(
    clientId: string,
    plan: (snapshot: ClientSnapshot, at: number) => AdminEvent | undefined,
    note = '',
  ): Promise<CommandResult | undefined> {
    const entry = this.#entry(clientId);
    let result: CommandResult | undefined;
    const run = async (): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        const before = entry.snapshot;
        const event = plan(before, Date.now());
        if (!event) return;
        const r = entry.applyNow(event);
        const persistent = this.#deps.journal.kind !== 'memory';
        const reason = 'reason' in event ? event.reason : note;
        const record: JournalRecord = {
          ...{ clientId, at: event.at, hook: event.type, node: '', state: stateName(r.snapshot), facts: r.facts },
          ...(reason ? { detail: { reason } } : {}),
          ...(persistent ? { input: storeInput(event, entry.policyRevision) } : {}),
        };
        try {
          await this.#deps.journal.append(record, { durable: true, ...(persistent ? { snapshot: packSnapshot(r.snapshot) } : {}) });
        } catch (err) {
          const moved = err instanceof ConflictError || err instanceof AppendTimeoutError;
          entry.snapshot = before; // not stored (or unknown): as if it never ran, until the journal says otherwise
          if (moved) await this.#load(entry);
          if (moved && attempt < 3) continue;
          throw err;
        }
        this.#deps.log.info(
          { clientId, command: event.type, facts: r.facts.map((f) => f.type), state: stateName(r.snapshot) },
          'operator command',
        );
        if (r.facts.length > 0) this.#deps.onFacts?.(clientId, r.facts);
        result = { event, facts: r.facts, state: stateName(r.snapshot), snapshot: r.snapshot };
        return;
      }
    };
    return entry.enqueueTask(run).then(() => result);
  }
}

function connKeyOfHook(hook: HookEvent): string | undefined {
  switch (hook.type) {
    case 'client.connect':
    case 'client.connack':
      return connKeyOf(hook.conn);
    case 'message.publish':
    case 'message.dropped':
      return undefined;
    default:
      return connKeyOf(hook.client);
  }
}
