import { ConfigurationError } from '../../errors/errors.ts';
import type { AuditEntry, IdempotencyRecord, OverrideRequest } from '../../machine/record.ts';
import type {
  BeginRequest,
  BeginResult,
  FencedResult,
  GcOptions,
  GcSummary,
  Lease,
  CountFilter,
  ListFilter,
  RecordCounts,
  OverrideAnswer,
  OverrideRequestInput,
  ReclaimRequest,
  ReclaimResult,
  ResolutionRequestInput,
  ResolveRequest,
  UnknownNote,
  Settlement,
  Store,
  StoreCapabilities,
} from '../types.ts';
import {
  byRequestTime,
  collectGarbage,
  decodeOverride,
  findOverride,
  listAllOverrides,
  listRecords,
  countRecords,
} from './buckets.ts';
import type { RedisClientLike } from './client.ts';
import { checkDurability, type DurabilityAssertion } from './durability.ts';
import { BUCKETS, decodeRecord, LAYOUT_VERSION, metaKey, optional, recordKeys } from './layout.ts';
import { ChangeNotifier } from './notifications.ts';
import { acknowledged, checkReplication, type ReplicaAcks } from './replication.ts';
import { Scripts, type ScriptName } from './scripts.ts';
import type { OverrideRefusal } from '../../machine/overrides.ts';
import { refused } from '../refusals.ts';
import { leaseOf } from '../shared.ts';
import type { ReplicaAcknowledgementError } from '../replica-acknowledgement.ts';

export interface RedisStoreSettings {
  readonly client: RedisClientLike;
  readonly keyPrefix: string;
  readonly allowVolatile: boolean;
  readonly durability: DurabilityAssertion | undefined;
  readonly pollIntervalMs: number;
  readonly expiryGraceMs: number;
  readonly replicaAcks: ReplicaAcks;
  readonly allowUnacknowledgedReplicas: boolean;
  /** How long an audit list lives after its latest entry; undefined keeps it for ever. */
  readonly auditRetentionMs: number | undefined;
  /** Runs when the store closes (quits a client the store created itself). */
  readonly release: () => Promise<void>;
}

/** How many records' last seen version a store remembers for its waiters. */
const SEEN_LIMIT = 10_000;

type Reply = [number, number, unknown[]];

/** The Redis store; created by `redisStore()`. */
export class RedisStore implements Store {
  readonly name = 'redis';
  readonly capabilities: StoreCapabilities = { serverClock: true, notifications: true };

  readonly #settings: RedisStoreSettings;
  readonly #notifier: ChangeNotifier;
  /** Scripts read and durability checked; kept only once it succeeded, so a fixed server is re-checked. */
  #ready: Promise<Scripts> | undefined;
  /** What `begin` last returned per key without reserving: a waiter's baseline for "it changed". */
  readonly #seen = new Map<string, string>();
  #closed = false;

  constructor(settings: RedisStoreSettings) {
    this.#settings = settings;
    this.#notifier = new ChangeNotifier(() => settings.client.createSubscriber());
  }

  async migrate(): Promise<void> {
    const scripts = await this.#scripts();
    await scripts.loadAll();
    const [layout, buckets] = (await scripts.run(
      'migrate',
      [metaKey(this.#settings.keyPrefix)],
      [LAYOUT_VERSION, BUCKETS],
    )) as [string | null, string | null];
    if (Number(layout) !== LAYOUT_VERSION || Number(buckets) !== BUCKETS) {
      throw new ConfigurationError(
        `the keys under prefix ${JSON.stringify(this.#settings.keyPrefix)} were written with layout ` +
          `${String(layout)} and ${String(buckets)} buckets; this version of retrysafe writes layout ` +
          `${LAYOUT_VERSION} with ${BUCKETS} buckets. Use another keyPrefix or the matching retrysafe version.`,
      );
    }
  }

  async begin(request: BeginRequest): Promise<BeginResult> {
    const { reply, shortfall } = await this.#write('begin', request.key, 'the reservation', [
      request.operation,
      request.fingerprint,
      request.retryFailed ? '1' : '0',
      request.token,
      request.leaseMs,
      optional(request.request),
      optional(request.keyFields),
    ]);
    const [reserved, now, flat] = reply;
    const record = required(decodeRecord(flat), request.key);
    if (reserved !== 1) {
      this.#remember(record);
      return { reserved: false, record, now };
    }
    const lease = leaseOf(record);
    if (shortfall !== undefined) {
      // Nothing will be sent under this reservation, so it is released at once (not waited for: if
      // a failover loses the release, the reservation it undoes lapses and is reconciled as usual).
      await this.#release(lease).catch(() => undefined);
      throw shortfall;
    }
    return { reserved: true, lease, record };
  }

  async heartbeat(lease: Lease, leaseMs: number): Promise<FencedResult> {
    return fenced(await this.#record('heartbeat', lease.key, [lease.attempt, lease.token, leaseMs]));
  }

  async settle(lease: Lease, settlement: Settlement): Promise<FencedResult> {
    return fenced(
      await this.#acknowledged('settle', lease.key, 'the outcome', [
        lease.attempt,
        lease.token,
        settlement.state,
        optional(settlement.result),
        optional(settlement.providerRef),
        optional(settlement.reason),
        settlement.ttlMs,
        settlement.tombstoneMs,
        lease.generation,
        optional(settlement.keyEvidence),
      ]),
    );
  }

  async noteUnknown(note: UnknownNote): Promise<FencedResult> {
    return fenced(
      await this.#record('note-unknown', note.key, [
        note.attempt,
        note.reason,
        note.actor,
        note.action,
        note.answer,
      ]),
    );
  }

  async markUnknown(key: string, attempt: number, reason: string): Promise<FencedResult> {
    return fenced(await this.#acknowledged('mark-unknown', key, 'the unknown outcome', [attempt, reason]));
  }

  async reclaim(request: ReclaimRequest): Promise<ReclaimResult> {
    const reply = await this.#acknowledged('reclaim', request.key, 'the new attempt', [
      request.attempt,
      request.token,
      request.leaseMs,
      request.reason,
      optional(request.keyEvidence),
      optional(request.rekey === undefined ? null : JSON.stringify(request.rekey.evidence)),
    ]);
    const result = fenced(reply);
    return result.ok ? { ok: true, lease: leaseOf(result.record), record: result.record } : result;
  }

  async resolve(request: ResolveRequest): Promise<FencedResult> {
    return fenced(
      await this.#acknowledged('resolve', request.key, 'the resolution', [
        request.attempt,
        request.state,
        optional(request.result),
        optional(request.providerRef),
        request.reason,
        request.actor,
        request.ttlMs,
        request.tombstoneMs,
        optional(request.evidence),
        optional(request.keyEvidence),
        optional(request.newGeneration === undefined ? null : JSON.stringify(request.newGeneration.evidence)),
      ]),
    );
  }

  async requestResolution(input: ResolutionRequestInput): Promise<FencedResult> {
    return fenced(
      await this.#record('request-resolution', input.key, [
        input.attempt,
        input.state,
        optional(input.result),
        optional(input.providerRef),
        input.reason,
        input.requestedBy,
        input.id,
        input.newGeneration === true ? '1' : '0',
      ]),
    );
  }

  async get(key: string): Promise<IdempotencyRecord | undefined> {
    const scripts = await this.#scripts();
    return decodeRecord(await scripts.run('get', [recordKeys(this.#settings.keyPrefix, key).record], []));
  }

  async audit(key: string): Promise<AuditEntry[]> {
    const scripts = await this.#scripts();
    const reply = (await scripts.run(
      'audit',
      [recordKeys(this.#settings.keyPrefix, key).audit],
      [],
    )) as string[];
    // Entries are only ever appended, so an entry's position is its id.
    return reply.map((json, index) => {
      const raw = JSON.parse(json) as Omit<AuditEntry, 'key' | 'id'>;
      return {
        id: index + 1,
        key,
        at: raw.at,
        event: raw.event,
        attempt: raw.attempt,
        actor: raw.actor,
        detail: raw.detail,
      };
    });
  }

  async list(filter: ListFilter): Promise<IdempotencyRecord[]> {
    return listRecords(await this.#scripts(), this.#settings.keyPrefix, filter);
  }

  async count(filter: CountFilter = {}): Promise<RecordCounts> {
    return countRecords(await this.#scripts(), this.#settings.keyPrefix, filter);
  }

  async requestOverride(input: OverrideRequestInput): Promise<OverrideAnswer> {
    const reply = (await this.#acknowledged('request-override', input.key, 'the override request', [
      input.id,
      input.fingerprint,
      input.requestedBy,
      input.reason,
      optional(input.payload),
    ])) as unknown as [number, string];
    return overrideAnswer(reply);
  }

  async approveOverride(id: string, approvedBy: string): Promise<OverrideAnswer> {
    const found = await findOverride(await this.#scripts(), this.#settings.keyPrefix, id);
    if (found === undefined) return refused({ code: 'no_request', id });
    const reply = (await this.#acknowledged('approve-override', found.key, 'the approval', [
      id,
      approvedBy,
    ])) as unknown as [number, string];
    return overrideAnswer(reply);
  }

  async listOverrides(key?: string): Promise<OverrideRequest[]> {
    const scripts = await this.#scripts();
    const prefix = this.#settings.keyPrefix;
    const overrides =
      key === undefined
        ? await listAllOverrides(scripts, prefix)
        : (
            (await scripts.run('overrides', [recordKeys(prefix, key).bucket.overrides], [key])) as string[]
          ).map(decodeOverride);
    return overrides.sort(byRequestTime);
  }

  async gc(options?: GcOptions): Promise<GcSummary> {
    return collectGarbage(await this.#scripts(), this.#settings.keyPrefix, options);
  }

  /**
   * Resolves when a script publishes a change of `key`, when a poll every `pollIntervalMs` sees it
   * moved on, after `timeoutMs`, or when `signal` aborts.
   */
  async waitForChange(key: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#closed) return;
    const names = recordKeys(this.#settings.keyPrefix, key);
    let baseline = this.#seen.get(key);
    await this.#notifier.wait({
      channel: names.channel,
      timeoutMs,
      signal,
      pollIntervalMs: this.#settings.pollIntervalMs,
      changed: async () => {
        const now = version(await this.get(key));
        if (baseline === undefined) {
          baseline = now;
          return false;
        }
        return now !== baseline;
      },
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#notifier.close();
    await this.#settings.release();
  }

  async #scripts(): Promise<Scripts> {
    if (this.#closed) throw new Error('the Redis store is closed');
    const ready = (this.#ready ??= this.#prepare());
    try {
      return await ready;
    } catch (error) {
      if (this.#ready === ready) this.#ready = undefined;
      throw error;
    }
  }

  async #prepare(): Promise<Scripts> {
    const { client, allowVolatile, durability, replicaAcks, allowUnacknowledgedReplicas } = this.#settings;
    await checkDurability(client, { allowVolatile, durability });
    await checkReplication(client, { acks: replicaAcks, allowUnacknowledged: allowUnacknowledgedReplicas });
    return Scripts.read(client);
  }

  /**
   * Runs a per-record script that may write, then (with `replicaAcks`) `WAIT`s in the same round trip.
   * `shortfall` is set when the script wrote (its first reply value is 1) and too few replicas
   * acknowledged it.
   */
  async #write(
    name: ScriptName,
    key: string,
    what: string,
    args: readonly (string | number)[],
  ): Promise<{ reply: Reply; shortfall: ReplicaAcknowledgementError | undefined }> {
    const acks = this.#settings.replicaAcks;
    if (acks.replicas === 0) return { reply: await this.#record(name, key, args), shortfall: undefined };
    const scripts = await this.#scripts();
    const names = recordKeys(this.#settings.keyPrefix, key);
    const { reply, acknowledged: count } = await scripts.runAndWait(
      name,
      names.scriptKeys,
      [key, names.channel, this.#settings.expiryGraceMs, ...args, this.#settings.auditRetentionMs ?? ''],
      acks,
    );
    const typed = reply as Reply;
    return { reply: typed, shortfall: acknowledged(`${what} of ${key}`, typed[0] === 1, acks, count) };
  }

  /** {@link #write}, throwing the shortfall: the transition happened on the primary but may not survive. */
  async #acknowledged(
    name: ScriptName,
    key: string,
    what: string,
    args: readonly (string | number)[],
  ): Promise<Reply> {
    const { reply, shortfall } = await this.#write(name, key, what, args);
    if (shortfall !== undefined) throw shortfall;
    return reply;
  }

  /** Gives back a reservation nothing was sent under (`released`: provably not performed). */
  async #release(lease: Lease): Promise<void> {
    await this.#record('settle', lease.key, [
      lease.attempt,
      lease.token,
      'released',
      '',
      '',
      optional('not sent: too few replicas acknowledged the reservation'),
      0,
      0,
      lease.generation,
    ]);
  }

  /**
   * Runs a per-record script: the record's keys, then key, channel and grace, then `args`, then the
   * audit retention (last, where `append_audit` in lib.lua reads it).
   */
  async #record(name: ScriptName, key: string, args: readonly (string | number)[]): Promise<Reply> {
    const scripts = await this.#scripts();
    const names = recordKeys(this.#settings.keyPrefix, key);
    return (await scripts.run(name, names.scriptKeys, [
      key,
      names.channel,
      this.#settings.expiryGraceMs,
      ...args,
      this.#settings.auditRetentionMs ?? '',
    ])) as Reply;
  }

  #remember(record: IdempotencyRecord): void {
    this.#seen.delete(record.key);
    this.#seen.set(record.key, version(record));
    if (this.#seen.size > SEEN_LIMIT) {
      const oldest = this.#seen.keys().next();
      if (oldest.done !== true) this.#seen.delete(oldest.value);
    }
  }
}

/** What a waiter compares: a change of state, attempt or generation ends a wait. */
function version(record: IdempotencyRecord | undefined): string {
  return record === undefined ? 'none' : `${record.state}:${record.attempt}:${record.generation}`;
}

function fenced([ok, , flat]: Reply): FencedResult {
  const record = decodeRecord(flat);
  if (ok === 1) return { ok: true, record: required(record, 'the settled key') };
  return { ok: false, record };
}

function required(record: IdempotencyRecord | undefined, key: string): IdempotencyRecord {
  if (record === undefined) throw new TypeError(`Redis returned no record for ${key}`);
  return record;
}

/** A script's `{ 1, request JSON }` or `{ 0, refusal JSON }` (the code and fields the script mirrors). */
function overrideAnswer([ok, payload]: [number, string]): OverrideAnswer {
  return ok === 1
    ? { ok: true, override: decodeOverride(payload) }
    : refused(JSON.parse(payload) as OverrideRefusal);
}
