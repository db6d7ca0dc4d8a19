import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError, retrysafe, type OperationPolicy } from '../../src/index.ts';
import { resolvePolicy } from '../../src/executor/policy.ts';
import { checkTtl, deriveProviderKey, githubIssues, stripe } from '../../src/providers/index.ts';
import { sqliteStore } from '../../src/stores/sqlite/index.ts';
import type { Store } from '../../src/stores/types.ts';
import { cli, ensureBuilt, json, ROOT } from './support.ts';

const EXAMPLES = path.join(ROOT, 'examples');
const specs = readdirSync(EXAMPLES).filter((name) => name.endsWith('.yaml'));

interface DesignJson {
  operation: string;
  example: { key?: string; providerKey?: string; fingerprint?: string };
  policy: OperationPolicy;
  warnings: { code: string; message: string }[];
  markdown: string;
}

interface ExampleSpec {
  operation: {
    name: string;
    version: number;
    namespace: string;
    keyFields: string[];
    scope?: string;
    example: Record<string, unknown>;
  };
}

describe('retrysafe design', () => {
  let dir: string;
  let store: Store;

  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'retrysafe-cli-design-'));
    // A real store to declare operations on; declaring never touches it.
    store = sqliteStore({ path: path.join(dir, 'declare.db') });
  });

  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has examples to check', () => {
    expect(specs.length).toBeGreaterThanOrEqual(2);
  });

  it.each(specs)('regenerating %s gives the committed document', async (spec) => {
    const ran = await cli(['design', path.join('examples', spec)]);
    expect(ran.code, ran.stderr).toBe(0);
    const committed = readFileSync(path.join(EXAMPLES, spec.replace(/\.yaml$/, '.md')), 'utf8');
    expect(ran.stdout).toBe(committed);
  });

  it.each(specs)('the numbers in %s are what the runtime enforces for the same operation', async (spec) => {
    const design = json<DesignJson>(await cli(['design', path.join('examples', spec), '--json']));
    const source = parseYaml(readFileSync(path.join(EXAMPLES, spec), 'utf8')) as ExampleSpec;
    const { name, version, namespace, keyFields, scope, example } = source.operation;
    // The options the document tells you to declare, taken from its own "Declare it so" block.
    const declared = Object.fromEntries(
      [
        ...design.markdown.matchAll(
          /^ {2}(\w+Ms|retryFailed|providerStoresErrors|resendAttempts): (\w+),$/gm,
        ),
      ].map(([, option, value]) => [
        option,
        value === 'true' ? true : value === 'false' ? false : Number(value),
      ]),
    ) as Partial<OperationPolicy>;
    const runtime = (() => {
      try {
        return resolvePolicy(`operation ${name}@${version}`, declared);
      } catch (error) {
        return error;
      }
    })();
    const refused = design.warnings.find((w) => w.code === 'runtime-refuses');
    if (runtime instanceof ConfigurationError) {
      expect(refused?.message).toContain(runtime.message);
      return;
    }
    expect(refused).toBeUndefined();
    expect(design.policy).toEqual(runtime);
    for (const [option, value] of Object.entries(runtime as OperationPolicy)) {
      const row = new RegExp(
        `\\| \`${option}\` \\| ${typeof value === 'boolean' ? `${String(value)} ` : `${value} (\\(|\\|)`}`,
      );
      expect(design.markdown).toMatch(row);
    }
    // The worked example key is the key the declared operation derives.
    const rs = retrysafe({ store, namespace, migrate: false });
    const operation = rs.operation<Record<string, unknown>, unknown>({
      name,
      version,
      key: (input) => Object.fromEntries(keyFields.map((field) => [field, input[field]])),
      ...(scope === undefined ? {} : { scope: (input: Record<string, unknown>) => input[scope] as string }),
      call: () => Promise.resolve(null),
      ...declared,
    });
    expect(design.example.key).toBe(operation.keyOf(example));
    expect(design.markdown).toContain(operation.keyOf(example));
  });

  it('uses the Stripe profile as the runtime does: retention, settle delay, provider key', async () => {
    const design = json<DesignJson>(await cli(['design', 'examples/stripe-charge.yaml', '--json']));
    expect(design.policy.resendWithinMs).toBe(stripe.retention.floorMs);
    expect(design.policy.lookupSettleMs).toBe(stripe.lookup?.settleMs);
    expect(design.example.providerKey).toBe(deriveProviderKey(stripe, design.example.key ?? '', 1));
    expect(() => {
      checkTtl(stripe, {
        operation: design.operation,
        ttlMs: design.policy.ttlMs,
        retryWindowMs: design.policy.retryWindowMs,
      });
    }).not.toThrow();
    const github = json<DesignJson>(await cli(['design', 'examples/github-incident-issue.yaml', '--json']));
    expect(github.policy.lookupSettleMs).toBe(githubIssues.lookup?.settleMs);
    expect(github.policy.resendWithinMs).toBe(0);
  });

  it("--check passes a safe spec and fails (4) an unsafe one whose warnings are the runtime's own refusals", async () => {
    expect((await cli(['design', 'examples/stripe-charge.yaml', '--check'])).code).toBe(0);
    const unsafe = await cli(['design', 'examples/warehouse-shipment.yaml', '--check', '--json']);
    expect(unsafe.code).toBe(4);
    const design = json<DesignJson>(unsafe);
    expect(design.warnings.map((w) => w.code).sort()).toEqual(['per-attempt-key-field', 'ttl-vs-provider']);
    // The same numbers, declared through a profile with the same semantics, are refused with the same words.
    const profile = {
      ...stripe,
      name: 'Warehouse API',
      lookup: undefined,
      retention: { floorMs: 48 * 3_600_000, countsFrom: 'first-request' as const },
    };
    const { lookup: _none, ...withoutLookup } = profile;
    expect(() => {
      checkTtl(withoutLookup, {
        operation: 'book-shipment@1',
        ttlMs: design.policy.ttlMs,
        retryWindowMs: design.policy.retryWindowMs,
      });
    }).toThrow(design.warnings.find((w) => w.code === 'ttl-vs-provider')?.message ?? 'missing');
  });

  it("warns on a TTL shorter than the redelivery window with the runtime's message, and on per-attempt key fields", async () => {
    const spec = path.join(dir, 'short-ttl.json');
    writeFileSync(
      spec,
      JSON.stringify({
        operation: {
          name: 'send-invoice',
          namespace: 'billing',
          downstream: 'Mailer: POST /send',
          keyFields: ['invoiceId', 'nonce', 'sentOn'],
          example: { invoiceId: 'c56a4180-65aa-42ec-a945-5fd21dec0538', nonce: 'x', sentOn: 1714600000000 },
        },
        provider: { nativeKey: null, lookup: { description: 'GET /messages?invoice=…', settle: '2m' } },
        trigger: { kind: 'webhook', redeliveryWindow: '3d' },
        duplicate: { consequence: 'The customer gets the invoice twice.' },
        policy: { ttl: '1d' },
      }),
    );
    const ran = await cli(['design', spec, '--check', '--json']);
    expect(ran.code).toBe(4);
    const design = json<DesignJson>(ran);
    const expected = (() => {
      try {
        resolvePolicy('operation send-invoice@1', { ttlMs: 86_400_000, retryWindowMs: 259_200_000 });
      } catch (error) {
        return (error as Error).message;
      }
      return 'resolvePolicy accepted it';
    })();
    expect(design.warnings.find((w) => w.code === 'runtime-refuses')?.message).toContain(expected);
    expect(design.warnings.filter((w) => w.code === 'per-attempt-key-field').map((w) => w.message)).toEqual([
      expect.stringContaining('"nonce"'),
    ]);
    const values = design.warnings.filter((w) => w.code === 'per-attempt-key-value').map((w) => w.message);
    expect(values).toEqual([
      expect.stringContaining('random (version 4) UUID'),
      expect.stringContaining('epoch timestamp'),
    ]);
    expect(design.markdown).toContain('## Warnings');
  });

  it('refuses a spec it cannot read (exit 2) and an unknown profile', async () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'operation: [unclosed');
    expect((await cli(['design', bad])).code).toBe(2);
    writeFileSync(
      bad,
      'operation: {name: x, namespace: y, downstream: z, keyFields: [id]}\nprovider: {profile: nope}\n' +
        'trigger: {kind: queue}\nduplicate: {consequence: bad}\n',
    );
    const unknown = await cli(['design', bad]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('built-in profiles: ');
    expect(unknown.stderr).toContain('stripe');
  });
});
