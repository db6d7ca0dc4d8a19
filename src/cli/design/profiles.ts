import * as providers from '../../providers/index.ts';
import type { ProviderProfile } from '../../providers/index.ts';
import { UsageError } from '../args.ts';
import type { DesignSpec } from './spec.ts';

/** Where the design's provider semantics come from. */
export interface ResolvedProvider {
  readonly profile: ProviderProfile;
  /** `built-in`: a shipped profile; `spec`: the native-key semantics written in the spec. */
  readonly source: 'built-in' | 'spec';
  /** The lookup in words (the spec's, or the profile's). */
  readonly lookupDescription: string | undefined;
}

function isProfile(value: unknown): value is ProviderProfile {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<ProviderProfile>;
  return (
    typeof candidate.name === 'string' &&
    typeof candidate.retention === 'object' &&
    typeof candidate.replay === 'string'
  );
}

/** Every profile `retrysafe/providers` ships as a ready value, by name. */
const BUILT_IN_PROFILES: ReadonlyMap<string, ProviderProfile> = new Map(
  Object.values(providers)
    .filter(isProfile)
    .map((profile) => [profile.name, profile] as const)
    .sort(([a], [b]) => a.localeCompare(b)),
);

/** A lookup stated in a spec: the design records that one exists and its settle delay, and calls nothing. */
function statedLookup(settleMs: number): NonNullable<ProviderProfile['lookup']> {
  return {
    settleMs,
    find: () => Promise.resolve({ status: 'unknown', reason: 'a design document looks nothing up' }),
  };
}

/**
 * The provider profile the design is checked against: a built-in one (optionally given a lookup the spec
 * describes), or one built from the spec's native-key semantics, so that the same runtime checks
 * (`checkTtl`, `deriveProviderKey`, `resendWithinMs`) apply to both.
 */
export function resolveProvider(spec: DesignSpec): ResolvedProvider {
  const { profile: name, nativeKey, lookup } = spec.provider;
  if (name !== undefined) {
    const builtIn = BUILT_IN_PROFILES.get(name);
    if (builtIn === undefined) {
      throw new UsageError(
        `unknown provider profile ${JSON.stringify(name)}; built-in profiles: ${[...BUILT_IN_PROFILES.keys()].join(', ')}`,
      );
    }
    if (builtIn.lookup === undefined && lookup) {
      return {
        profile: { ...builtIn, lookup: statedLookup(lookup.settleMs) },
        source: 'built-in',
        lookupDescription: lookup.description,
      };
    }
    return {
      profile: builtIn,
      source: 'built-in',
      lookupDescription:
        lookup?.description ??
        (builtIn.lookup === undefined ? undefined : `the ${builtIn.name} profile's lookup`),
    };
  }
  const key = nativeKey ?? null;
  const profile: ProviderProfile = {
    // The API's name as the spec writes it (`Warehouse API: POST /v2/shipments` -> `Warehouse API`).
    name: spec.operation.downstream.split(':')[0]?.trim() ?? spec.operation.downstream,
    key:
      key === null
        ? null
        : key.in === 'body'
          ? { in: 'body', field: key.name }
          : { in: key.in, name: key.name },
    format: {
      ...(key?.maxLength === undefined ? {} : { maxLength: key.maxLength }),
      ...(key?.uuid === true ? { uuid: true } : {}),
    },
    retention: { floorMs: key === null ? null : key.retentionMs, countsFrom: 'first-request' },
    replay: key === null ? 'none' : (key.replay as ProviderProfile['replay']),
    signals: {},
    ...(lookup ? { lookup: statedLookup(lookup.settleMs) } : {}),
  };
  return { profile, source: 'spec', lookupDescription: lookup?.description };
}
