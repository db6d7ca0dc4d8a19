import { describe, expect, it } from 'vitest';
import { ConfigurationError, providerKey } from '../../src/index.ts';
import * as providers from '../../src/providers/index.ts';
import {
  adyen,
  checkTtl,
  classify,
  DAY,
  deriveProviderKey,
  HOUR,
  interpretAnswer,
  keyFormatViolation,
  paypalOrders,
  placeKey,
  ProviderAnswerError,
  resendWithinMs,
  lookupSettleMs,
  square,
  stripe,
  type HttpAnswer,
  type ProviderProfile,
} from '../../src/providers/index.ts';

const builtIns = Object.values(providers).filter(
  (v): v is ProviderProfile => typeof v === 'object' && 'retention' in v && 'signals' in v,
);
const request = {
  method: 'POST',
  url: 'https://api.example.test/v2/payments',
  headers: {},
  body: '{"amount":1}',
};
const answer = (status: number, body: unknown = {}, headers: Record<string, string> = {}): HttpAnswer => ({
  status,
  headers,
  body: JSON.stringify(body),
});

describe('the profile model', () => {
  it('ships every profile the issue names', () => {
    expect(builtIns.map((p) => p.name).sort()).toEqual(
      [
        'adyen',
        'aws-ec2',
        'checkout.com',
        'github-issues',
        'gocardless',
        'google-cloud',
        'google-compute',
        'hubspot-upsert',
        'jira-label',
        'jira-property',
        'mollie',
        'paypal-orders',
        'paypal-payments',
        'salesforce-upsert',
        'square',
        'stripe',
      ].sort(),
    );
  });

  it.each(builtIns.map((p) => [p.name, p] as const))(
    '%s: the UUIDv5 provider key fits its format limits',
    (_n, p) => {
      const key = deriveProviderKey(p, 'rs1:test:op@1:-:abc', 1);
      expect(key).toBe(providerKey('rs1:test:op@1:-:abc', 1));
      expect(keyFormatViolation(p.format, key)).toBeUndefined();
      expect(deriveProviderKey(p, 'rs1:test:op@1:-:abc', 2)).not.toBe(key); // a new generation, a new key
    },
  );

  it('refuses a custom derivation that breaks the limits', () => {
    expect(() => deriveProviderKey({ ...square, derive: () => 'x'.repeat(46) }, 'k', 1)).toThrow(
      ConfigurationError,
    );
    expect(keyFormatViolation({ uuid: true }, '00000000-0000-0000-0000-000000000000')).toBe(
      'not a non-nil UUID',
    );
    expect(keyFormatViolation({ ascii: true }, 'clé')).toBe('not printable ASCII');
  });

  it('places the key in a header, a JSON body field or a query parameter', () => {
    expect(placeKey(adyen, request, 'K').headers['idempotency-key']).toBe('K');
    expect(JSON.parse(placeKey(square, request, 'K').body ?? '')).toMatchObject({
      idempotency_key: 'K',
      reference_id: 'K',
    });
    expect(new URL(placeKey(providers.awsEc2, request, 'K').url).searchParams.get('ClientToken')).toBe('K');
    expect(() => placeKey(square, { ...request, body: 'a=1' }, 'K')).toThrow(ConfigurationError);
  });

  it('reads answers in a fixed order and maps them onto the executor outcomes', () => {
    const read = (a: HttpAnswer) => interpretAnswer(stripe, a, request).kind;
    expect(read(answer(400, { error: { type: 'idempotency_error' } }))).toBe('mismatch');
    expect(read(answer(409, { error: { code: 'idempotency_key_in_use' } }))).toBe('in_progress');
    expect(read(answer(500, {}, { 'idempotent-replayed': 'true' }))).toBe('key_burned');
    expect(interpretAnswer(stripe, answer(200, {}, { 'idempotent-replayed': 'true' }), request)).toEqual({
      kind: 'success',
      replayed: true,
    });
    expect(read(answer(402, { error: { type: 'card_error' } }))).toBe('failed');
    expect(read(answer(429))).toBe('unknown');
    expect(read(answer(503))).toBe('unknown');
    expect(interpretAnswer(adyen, answer(422, { errorCode: '704' }), request).kind).toBe('unknown');
    expect(
      interpretAnswer(adyen, answer(422, { errorCode: '704' }, { 'transient-error': 'true' }), request).kind,
    ).toBe('in_progress');
    const c = classify(stripe);
    expect(c(new ProviderAnswerError('stripe', 'mismatch', answer(400)))).toBe('failed');
    expect(c(new ProviderAnswerError('stripe', 'key_burned', answer(500)))).toBe('unknown');
    expect(c(new ProviderAnswerError('stripe', 'not_performed', answer(503)))).toBe('not_performed');
    expect(c(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe('not_performed');
  });

  it('turns retention and lag into the executor policy', () => {
    expect(resendWithinMs(stripe)).toBe(DAY);
    expect(lookupSettleMs(stripe)).toBe(HOUR);
    expect(resendWithinMs(square)).toBe(0); // unpublished: never re-send
    expect(resendWithinMs(paypalOrders)).toBe(6 * HOUR);
  });
});

describe('the declaration-time TTL check', () => {
  it('refuses a TTL past the retention without a lookup, naming the numbers and the fix', () => {
    expect(() => {
      checkTtl(paypalOrders, { operation: 'create-order@1', ttlMs: 7 * DAY });
    }).toThrow(
      "operation create-order@1: ttlMs 604800000 (7 d) outlives provider paypal-orders's key retention of " +
        '21600000 (6 h) and the profile has no lookup: after 6 h a re-send would be a new write. Lower ttlMs ' +
        'to at most 21600000, or give the profile a lookup: { ...profile, lookup: { settleMs, find } }.',
    );
    expect(() => {
      checkTtl(paypalOrders, { operation: 'o@1', ttlMs: 6 * HOUR });
    }).not.toThrow();
    expect(() => {
      checkTtl(stripe, { operation: 'o@1', ttlMs: 30 * DAY });
    }).not.toThrow(); // it has a lookup
  });

  it('refuses an unpublished retention without a lookup', () => {
    expect(() => {
      checkTtl(providers.gocardless, { operation: 'o@1', ttlMs: HOUR });
    }).toThrow(/publishes no key retention/);
  });

  it('refuses a TTL shorter than the trigger retry window', () => {
    expect(() => {
      checkTtl(stripe, { operation: 'o@1', ttlMs: HOUR, retryWindowMs: 2 * HOUR });
    }).toThrow(
      "operation o@1: ttlMs 3600000 (1 h) is shorter than the trigger's retry window 7200000 (2 h): a " +
        'redelivery after the TTL would be performed again. Raise ttlMs to at least 7200000.',
    );
  });
});
