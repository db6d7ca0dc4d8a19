import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidKeyInputError } from '../errors/errors.ts';
import { deriveKey, KEY_SCHEME, MAX_KEY_FIELDS_BYTES, type KeyInput } from './derive.ts';
import { fingerprint, FINGERPRINT_PREFIX } from './fingerprint.ts';
import { PROVIDER_KEY_NAMESPACE, providerKey, uuidV5 } from './provider-key.ts';

const base: KeyInput = {
  namespace: 'billing',
  operation: 'charge-order',
  version: 1,
  fields: { orderId: 1042 },
};
/** RFC 9562 UUID version 5 with the RFC variant bits (10xx). */
const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function refusal(input: KeyInput): InvalidKeyInputError {
  try {
    deriveKey(input);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidKeyInputError);
    expect((err as InvalidKeyInputError).code).toBe('RS_INVALID_KEY_INPUT');
    return err as InvalidKeyInputError;
  }
  throw new Error(`deriveKey accepted ${JSON.stringify(input)}`);
}

describe('deriveKey: format', () => {
  it('is rs1:<namespace>:<operation>@<version>:-:<64 hex> without a scope', () => {
    expect(KEY_SCHEME).toBe('rs1');
    expect(deriveKey(base)).toMatch(/^rs1:billing:charge-order@1:-:[0-9a-f]{64}$/);
  });

  it('shows the scope in clear when there is one', () => {
    expect(deriveKey({ ...base, scope: 'acct_42' })).toMatch(
      /^rs1:billing:charge-order@1:acct_42:[0-9a-f]{64}$/,
    );
  });

  it('hashes the canonical header and the canonical fields, separated by a newline', () => {
    // The rule itself, written out: canonical JSON never contains a raw newline, so the split is unambiguous.
    const material = '["rs1","billing","charge-order",1,null]\n{"orderId":1042}';
    const digest = createHash('sha256').update(material, 'utf8').digest('hex');
    expect(deriveKey(base)).toBe(`rs1:billing:charge-order@1:-:${digest}`);
  });

  it('is deterministic and independent of key order in the fields', () => {
    const a = deriveKey({ ...base, fields: { orderId: 1042, lines: [{ sku: 'A', qty: 2 }], shop: 'eu' } });
    const b = deriveKey({ ...base, fields: { shop: 'eu', lines: [{ qty: 2, sku: 'A' }], orderId: 1042 } });
    expect(a).toBe(b);
    expect(deriveKey(base)).toBe(deriveKey({ ...base }));
  });
});

describe('deriveKey: every input part changes the key', () => {
  const reference = deriveKey(base);
  it.each<[string, KeyInput]>([
    ['namespace', { ...base, namespace: 'billing2' }],
    ['operation', { ...base, operation: 'refund-order' }],
    ['version', { ...base, version: 2 }],
    ['scope (set)', { ...base, scope: 'acct_42' }],
    ['field value', { ...base, fields: { orderId: 1043 } }],
    ['field value type', { ...base, fields: { orderId: '1042' } }],
    ['field name', { ...base, fields: { orderID: 1042 } }],
    ['array order', { ...base, fields: [1, 2] }],
  ])('%s', (_part, input) => {
    expect(deriveKey(input)).not.toBe(reference);
  });

  it('refuses the scope "-", which is what a key without a scope shows', () => {
    expect(() => deriveKey({ ...base, scope: '-' })).toThrow(InvalidKeyInputError);
    expect(deriveKey({ ...base, scope: '--' })).toMatch(/:--:/);
  });

  it('tells two scopes apart and arrays apart by order', () => {
    expect(deriveKey({ ...base, scope: 'a' })).not.toBe(deriveKey({ ...base, scope: 'b' }));
    expect(deriveKey({ ...base, fields: [1, 2] })).not.toBe(deriveKey({ ...base, fields: [2, 1] }));
  });
});

describe('deriveKey: validation', () => {
  it.each([
    ['empty', ''],
    ['uppercase', 'Billing'],
    ['leading dash', '-billing'],
    ['leading dot', '.billing'],
    ['a colon', 'bill:ing'],
    ['an at sign', 'bill@ing'],
    ['a space', 'bill ing'],
    ['non-ASCII', 'bïlling'],
    ['65 characters', 'a'.repeat(65)],
  ])('refuses a namespace with %s', (_what, namespace) => {
    expect(refusal({ ...base, namespace }).message).toContain('namespace');
  });

  it.each([
    ['empty', ''],
    ['uppercase', 'ChargeOrder'],
    ['a colon', 'charge:order'],
    ['an at sign', 'charge@1'],
    ['65 characters', 'o'.repeat(65)],
  ])('refuses an operation with %s', (_what, operation) => {
    expect(refusal({ ...base, operation }).message).toContain('operation');
  });

  it('accepts names of 1 and 64 characters from the allowed set', () => {
    expect(deriveKey({ ...base, namespace: 'a', operation: '0' })).toMatch(/^rs1:a:0@1:/);
    const long = 'a' + 'b0._-'.repeat(12) + 'xyz';
    expect(long).toHaveLength(64);
    expect(deriveKey({ ...base, namespace: long, operation: long })).toContain(`:${long}:${long}@1:`);
  });

  it('refuses a non-string name at run time', () => {
    refusal({ ...base, namespace: 42 as unknown as string });
  });

  it('refuses a non-string scope at run time (42 would otherwise show as scope "42" with another hash)', () => {
    expect(refusal({ ...base, scope: 42 as unknown as string }).message).toContain('scope');
    expect(refusal({ ...base, scope: null as unknown as string }).message).toContain('scope');
  });

  it.each([0, -1, 1.5, NaN, Infinity, 2 ** 53])('refuses version %d', (version) => {
    expect(refusal({ ...base, version }).message).toContain('version');
  });

  it('accepts the largest safe integer as a version', () => {
    expect(deriveKey({ ...base, version: Number.MAX_SAFE_INTEGER })).toContain('@9007199254740991:');
  });

  it.each([
    ['empty', ''],
    ['a colon', 'acct:42'],
    ['a space', 'acct 42'],
    ['a slash', 'acct/42'],
    ['non-ASCII', 'accté'],
    ['129 characters', 's'.repeat(129)],
  ])('refuses a scope with %s', (_what, scope) => {
    expect(refusal({ ...base, scope }).message).toContain('scope');
  });

  it('accepts scopes of 1 to 128 characters of A-Z a-z 0-9 . _ ~ + = -', () => {
    expect(deriveKey({ ...base, scope: 'Tenant.A_b~c+d=e-9' })).toContain(':Tenant.A_b~c+d=e-9:');
    expect(deriveKey({ ...base, scope: 'S'.repeat(128) })).toContain(`:${'S'.repeat(128)}:`);
  });

  it('refuses fields canonical JSON cannot represent, naming the path', () => {
    expect(refusal({ ...base, fields: { orderId: 1042, at: new Date(0) } }).path).toBe('/at');
    expect(refusal({ ...base, fields: { amount: 10n } }).path).toBe('/amount');
    expect(refusal({ ...base, fields: undefined }).path).toBe('');
  });
});

describe('deriveKey: size bound on the key fields', () => {
  it('is 4096 bytes of canonical JSON', () => {
    expect(MAX_KEY_FIELDS_BYTES).toBe(4096);
  });

  it('accepts exactly 4096 bytes and refuses 4097', () => {
    // A string of n ASCII characters is n + 2 bytes once quoted.
    expect(deriveKey({ ...base, fields: 'x'.repeat(4094) })).toMatch(/^rs1:/);
    expect(refusal({ ...base, fields: 'x'.repeat(4095) }).message).toContain('4097 bytes');
  });

  it('counts UTF-8 bytes, not UTF-16 code units', () => {
    // 1365 euro signs are 1365 code units but 4095 bytes, 4097 once quoted; 1364 of them and "xx" are 4096.
    expect(refusal({ ...base, fields: '\u20ac'.repeat(1365) }).message).toContain('4097 bytes');
    expect(deriveKey({ ...base, fields: '\u20ac'.repeat(1364) + 'xx' })).toMatch(/^rs1:/);
  });
});

describe('fingerprint', () => {
  it('is sha256: and the hex SHA-256 of the canonical payload', () => {
    const expected = createHash('sha256').update('{"amount":1000,"currency":"eur"}', 'utf8').digest('hex');
    expect(FINGERPRINT_PREFIX).toBe('sha256:');
    expect(fingerprint({ currency: 'eur', amount: 1000 })).toBe(`sha256:${expected}`);
  });

  it('ignores key order and tells different payloads apart', () => {
    expect(fingerprint({ a: 1, b: [1, 2] })).toBe(fingerprint({ b: [1, 2], a: 1 }));
    expect(fingerprint({ a: 1, b: [1, 2] })).not.toBe(fingerprint({ a: 1, b: [2, 1] }));
    expect(fingerprint(-0)).toBe(fingerprint(0));
  });

  it('refuses what canonical JSON refuses', () => {
    expect(() => fingerprint({ a: NaN })).toThrow(InvalidKeyInputError);
  });
});

describe('providerKey and uuidV5', () => {
  const key = deriveKey(base);

  it('uuidV5 matches the RFC 9562 / Python uuid5 vector for the DNS namespace and "python.org"', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'python.org')).toBe(
      '886313e1-3b8a-5372-9b90-0c9aee199e5d',
    );
  });

  it('uses the documented namespace: UUIDv5 of the URL namespace and "retrysafe:provider-key"', () => {
    expect(uuidV5('6ba7b811-9dad-11d1-80b4-00c04fd430c8', 'retrysafe:provider-key')).toBe(
      PROVIDER_KEY_NAMESPACE,
    );
  });

  it('is a version 5 UUID with the RFC variant, 36 characters of [0-9a-f-]', () => {
    for (const generation of [1, 2, 3, 100]) {
      const value = providerKey(key, generation);
      expect(value).toMatch(UUID_V5);
      expect(value).toHaveLength(36);
    }
  });

  it('is the UUIDv5 of "<key>#<generation>" in the retrysafe namespace', () => {
    expect(providerKey(key, 1)).toBe(uuidV5(PROVIDER_KEY_NAMESPACE, `${key}#1`));
  });

  it('is deterministic and differs per generation and per key', () => {
    expect(providerKey(key, 1)).toBe(providerKey(deriveKey({ ...base }), 1));
    expect(providerKey(key, 1)).not.toBe(providerKey(key, 2));
    expect(providerKey(key, 2)).not.toBe(providerKey(key, 3));
    expect(providerKey(key, 1)).not.toBe(providerKey(deriveKey({ ...base, version: 2 }), 1));
  });

  it('hashes the name as UTF-8 (vectors computed independently with Python uuid.uuid5)', () => {
    expect(uuidV5('6ba7b811-9dad-11d1-80b4-00c04fd430c8', 'https://example.com/')).toBe(
      'dd2c1780-811a-5296-81c5-178a0ef488bc',
    );
    expect(uuidV5(PROVIDER_KEY_NAMESPACE, 'caf\u00e9 \u20ac \u{1f600}')).toBe(
      'ea721792-de88-52c2-9f94-4597a15c597b',
    );
  });
});
