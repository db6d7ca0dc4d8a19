import { parse as parseYaml } from 'yaml';
import { UsageError } from '../args.ts';
import { parseDuration } from '../duration.ts';

/**
 * The design spec: the four inputs a reviewer asks for (the write and its downstream API, the API's
 * native idempotency semantics, the trigger and its concurrency, the consequence of a duplicate), plus
 * the store and any policy choices. Parsed from JSON or YAML; durations are `30s`, `15m`, `7d` or ms.
 */
export interface DesignSpec {
  readonly title: string | undefined;
  readonly operation: {
    readonly name: string;
    readonly version: number;
    readonly namespace: string;
    readonly description: string | undefined;
    /** The downstream API call, in words (`Stripe: POST /v1/payment_intents`). */
    readonly downstream: string;
    /** Names of the input fields that identify the logical operation. */
    readonly keyFields: readonly string[];
    /** Input field shown in clear in the key (tenant, account). */
    readonly scope: string | undefined;
    /** An example input: the key fields (and scope) for the worked example. */
    readonly example: Readonly<Record<string, unknown>>;
    /** An example payload as sent, for its fingerprint. */
    readonly payloadExample: unknown;
  };
  readonly provider: {
    /** A built-in provider profile, or undefined with explicit semantics. */
    readonly profile: string | undefined;
    /** Explicit native-key semantics (null: the API has no idempotency key). */
    readonly nativeKey: NativeKeySpec | null | undefined;
    /** How to find out whether a write happened (a read API), with its settle delay. */
    readonly lookup: { readonly description: string; readonly settleMs: number } | null | undefined;
  };
  readonly trigger: {
    readonly kind: string;
    readonly description: string | undefined;
    readonly concurrent: boolean;
    readonly hosts: 'one' | 'many';
    readonly redeliveryWindowMs: number;
  };
  readonly duplicate: { readonly consequence: string; readonly kind: string | undefined };
  readonly store: {
    readonly kind: 'sqlite' | 'postgres' | 'redis';
    readonly schema: string | undefined;
    readonly prefix: string | undefined;
  };
  /** Policy choices; anything left out is chosen by the design rules. */
  readonly policy: {
    readonly ttlMs?: number;
    readonly tombstoneMs?: number;
    readonly leaseMs?: number;
    readonly waitMs?: number;
    readonly retryFailed?: boolean;
  };
}

export interface NativeKeySpec {
  /** Where the key goes: a header, a top-level JSON body field, or a query parameter. */
  readonly in: 'header' | 'body' | 'query';
  /** Its name (`Idempotency-Key`, `request_id`). */
  readonly name: string;
  /** How long the provider remembers a key (null: not published). */
  readonly retentionMs: number | null;
  readonly maxLength: number | undefined;
  readonly uuid: boolean;
  /** What a repeat with the same key gets back (the profile model's replay kinds). */
  readonly replay: string;
}

const REPLAY_KINDS = [
  'stored-response',
  'stored-success',
  'current-state',
  'conflict-names-resource',
  'unspecified',
  'natural',
] as const;
const TRIGGER_KINDS = ['queue', 'webhook', 'schedule', 'http', 'workflow', 'manual', 'stream'] as const;
const STORES = ['sqlite', 'postgres', 'redis'] as const;

type Source = Readonly<Record<string, unknown>>;

/** Parses spec text (YAML is a superset of JSON); every mistake is a usage error naming the field. */
export function parseSpec(text: string, file: string): DesignSpec {
  let raw: unknown;
  try {
    raw = parseYaml(text) as unknown;
  } catch (error) {
    throw new UsageError(
      `${file}: not valid YAML or JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const root = object(raw, file);
  const operation = object(root['operation'], `${file}: operation`);
  const provider = object(root['provider'] ?? {}, `${file}: provider`);
  const trigger = object(root['trigger'], `${file}: trigger`);
  const duplicate = object(root['duplicate'], `${file}: duplicate`);
  const store = object(root['store'] ?? { kind: 'sqlite' }, `${file}: store`);
  const policy = object(root['policy'] ?? {}, `${file}: policy`);
  const at = (path: string): string => `${file}: ${path}`;

  const keyFields = list(operation['keyFields'], at('operation.keyFields'));
  const spec: DesignSpec = {
    title: optionalString(root['title'], at('title')),
    operation: {
      name: string(operation['name'], at('operation.name')),
      version: integer(operation['version'] ?? 1, at('operation.version')),
      namespace: string(operation['namespace'], at('operation.namespace')),
      description: optionalString(operation['description'], at('operation.description')),
      downstream: string(operation['downstream'], at('operation.downstream')),
      keyFields,
      scope: optionalString(operation['scope'], at('operation.scope')),
      example: object(operation['example'] ?? {}, at('operation.example')),
      payloadExample: operation['payloadExample'],
    },
    provider: {
      profile: optionalString(provider['profile'], at('provider.profile')),
      nativeKey: nativeKey(provider['nativeKey'], at('provider.nativeKey')),
      lookup: lookup(provider['lookup'], at('provider.lookup')),
    },
    trigger: {
      kind: oneOf(trigger['kind'], TRIGGER_KINDS, at('trigger.kind')),
      description: optionalString(trigger['description'], at('trigger.description')),
      concurrent: boolean(trigger['concurrent'] ?? false, at('trigger.concurrent')),
      hosts: oneOf(trigger['hosts'] ?? 'one', ['one', 'many'] as const, at('trigger.hosts')),
      redeliveryWindowMs: parseDuration(trigger['redeliveryWindow'] ?? 0, at('trigger.redeliveryWindow')),
    },
    duplicate: {
      consequence: string(duplicate['consequence'], at('duplicate.consequence')),
      kind: optionalString(duplicate['kind'], at('duplicate.kind')),
    },
    store: {
      kind: oneOf(store['kind'], STORES, at('store.kind')),
      schema: optionalString(store['schema'], at('store.schema')),
      prefix: optionalString(store['prefix'], at('store.prefix')),
    },
    policy: {
      ...optionalDuration(policy, 'ttl', 'ttlMs', at),
      ...optionalDuration(policy, 'tombstone', 'tombstoneMs', at),
      ...optionalDuration(policy, 'lease', 'leaseMs', at),
      ...optionalDuration(policy, 'wait', 'waitMs', at),
      ...(policy['retryFailed'] === undefined
        ? {}
        : { retryFailed: boolean(policy['retryFailed'], at('policy.retryFailed')) }),
    },
  };
  if (spec.provider.profile !== undefined && spec.provider.nativeKey !== undefined) {
    throw new UsageError(`${file}: give provider.profile or provider.nativeKey, not both`);
  }
  if (spec.provider.profile === undefined && spec.provider.nativeKey === undefined) {
    throw new UsageError(
      `${file}: provider needs a built-in profile (provider.profile) or the API's native key semantics ` +
        '(provider.nativeKey, or `nativeKey: null` when it has none)',
    );
  }
  return spec;
}

function nativeKey(value: unknown, where: string): NativeKeySpec | null | undefined {
  if (value === undefined || value === null || value === false) return value === false ? null : value;
  const source = object(value, where);
  const retention = source['retention'];
  return {
    in: oneOf(source['in'] ?? 'header', ['header', 'body', 'query'] as const, `${where}.in`),
    name: string(source['name'], `${where}.name`),
    retentionMs:
      retention === undefined || retention === null ? null : parseDuration(retention, `${where}.retention`),
    maxLength:
      source['maxLength'] === undefined ? undefined : integer(source['maxLength'], `${where}.maxLength`),
    uuid: boolean(source['uuid'] ?? false, `${where}.uuid`),
    replay: oneOf(source['replay'] ?? 'unspecified', REPLAY_KINDS, `${where}.replay`),
  };
}

function lookup(value: unknown, where: string): DesignSpec['provider']['lookup'] {
  if (value === undefined || value === null || value === false) return value === false ? null : value;
  const source = object(value, where);
  return {
    description: string(source['description'], `${where}.description`),
    settleMs: parseDuration(source['settle'] ?? 0, `${where}.settle`),
  };
}

function optionalDuration(
  source: Source,
  name: string,
  as: 'ttlMs' | 'tombstoneMs' | 'leaseMs' | 'waitMs',
  at: (path: string) => string,
): Partial<Record<typeof as, number>> {
  const value = source[name];
  return value === undefined ? {} : { [as]: parseDuration(value, at(`policy.${name}`)) };
}

function object(value: unknown, where: string): Source {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${where} must be a mapping`);
  }
  return value as Source;
}

function string(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new UsageError(`${where} must be a non-empty string`);
  return value;
}

function optionalString(value: unknown, where: string): string | undefined {
  return value === undefined || value === null ? undefined : string(value, where);
}

function integer(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw new UsageError(`${where} must be an integer`);
  return value;
}

function boolean(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') throw new UsageError(`${where} must be true or false`);
  return value;
}

function list(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '')) {
    throw new UsageError(`${where} must be a list of field names`);
  }
  return value as string[];
}

function oneOf<const T extends readonly string[]>(value: unknown, allowed: T, where: string): T[number] {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new UsageError(`${where} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value;
}
