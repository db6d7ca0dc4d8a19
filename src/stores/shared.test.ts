import { describe, expect, it } from 'vitest';
import type { IdempotencyRecord } from '../machine/record.ts';
import { leaseOf, sqlStateTerms } from './shared.ts';

const inFlight: IdempotencyRecord = {
  key: 'k',
  operation: 'op@1',
  fingerprint: 'sha256:aa',
  state: 'in_flight',
  attempt: 2,
  generation: 1,
  leaseOwner: 'token',
  leaseUntil: 5_000,
  result: null,
  request: null,
  keyFields: null,
  providerRef: null,
  reason: null,
  overrideFingerprint: null,
  overrideAttempt: null,
  createdAt: 1_000,
  updatedAt: 2_000,
  expiresAt: null,
  tombstoneUntil: null,
};

describe('leaseOf', () => {
  it('is the lease an in-flight record grants', () => {
    expect(leaseOf(inFlight)).toEqual({
      key: 'k',
      attempt: 2,
      generation: 1,
      token: 'token',
      leaseUntil: 5_000,
    });
  });

  it('refuses a record without a lease instead of making one up', () => {
    expect(() => leaseOf({ ...inFlight, state: 'succeeded', leaseOwner: null, leaseUntil: null })).toThrow(
      /holds no lease/,
    );
  });
});

describe('sqlStateTerms', () => {
  it('repeats the open-records index predicate only when every state is open', () => {
    expect(sqlStateTerms(['unknown'])).toEqual(["state IN ('in_flight', 'unknown')", "state IN ('unknown')"]);
    expect(sqlStateTerms(['succeeded', 'unknown'])).toEqual(["state IN ('succeeded', 'unknown')"]);
  });

  it('refuses a state outside the closed set before it reaches SQL', () => {
    expect(() => sqlStateTerms(["x') OR ('1'='1"])).toThrow(TypeError);
  });
});
