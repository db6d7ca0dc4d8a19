import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalize } from './canonicalize.ts';
import { deriveKey } from './derive.ts';
import { fingerprint } from './fingerprint.ts';
import { providerKey } from './provider-key.ts';

/**
 * Golden vectors: the rs1 derivation is a contract with every stored record and every provider that has
 * seen one of our keys. If one of these assertions fails, the change broke existing keys; a new rule
 * needs a new key scheme, not new vectors.
 */
interface KeyVector {
  readonly name: string;
  readonly namespace: string;
  readonly operation: string;
  readonly version: number;
  readonly scope?: string;
  readonly fields: unknown;
  readonly canonical: string;
  readonly fingerprint: string;
  readonly key: string;
  readonly providerKeys: { readonly '1': string; readonly '2': string };
}

function loadVectors(): KeyVector[] {
  const text = readFileSync(new URL('../../test/fixtures/key-vectors.json', import.meta.url), 'utf8');
  const doc = JSON.parse(text) as { vectors?: unknown };
  if (!Array.isArray(doc.vectors)) throw new Error('key-vectors.json has no "vectors" array');
  return doc.vectors as KeyVector[];
}

const vectors = loadVectors();

describe('golden key vectors', () => {
  it('has enough vectors, each with every expected field', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(25);
    for (const vector of vectors) {
      expect(Object.keys(vector)).toEqual(
        expect.arrayContaining(['name', 'namespace', 'operation', 'version', 'fields', 'canonical', 'key']),
      );
      expect(vector.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(vector.providerKeys['1']).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    }
  });

  it('has distinct names and distinct keys', () => {
    expect(new Set(vectors.map((vector) => vector.name)).size).toBe(vectors.length);
    expect(new Set(vectors.map((vector) => vector.key)).size).toBe(vectors.length);
  });

  describe.each(vectors.map((vector) => [vector.name, vector] as const))('%s', (_name, vector) => {
    const input = {
      namespace: vector.namespace,
      operation: vector.operation,
      version: vector.version,
      scope: vector.scope,
      fields: vector.fields,
    };

    it('canonical text', () => {
      expect(canonicalize(vector.fields)).toBe(vector.canonical);
      // Canonical text is a fixed point: parsing and canonicalizing it again changes nothing.
      expect(canonicalize(JSON.parse(vector.canonical))).toBe(vector.canonical);
    });

    it('fingerprint', () => {
      expect(fingerprint(vector.fields)).toBe(vector.fingerprint);
    });

    it('key', () => {
      expect(deriveKey(input)).toBe(vector.key);
    });

    it('provider keys of generations 1 and 2', () => {
      expect(providerKey(vector.key, 1)).toBe(vector.providerKeys['1']);
      expect(providerKey(vector.key, 2)).toBe(vector.providerKeys['2']);
    });
  });

  it('keeps Unicode normalization forms apart', () => {
    const byName = new Map(vectors.map((vector) => [vector.name, vector]));
    const precomposed = byName.get('precomposed A-ring');
    const decomposed = byName.get('decomposed A-ring (not normalized)');
    expect(precomposed?.fingerprint).toBeDefined();
    expect(precomposed?.fingerprint).not.toBe(decomposed?.fingerprint);
  });
});
