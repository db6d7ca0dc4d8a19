import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configure, providerBehaviour } from '../model/config.ts';
import {
  BEFORE_BURNED_KEYS_WITNESSES,
  MUTATION_WITNESSES,
  smallestConfigurations,
} from '../model/configurations.ts';
import { explore } from '../model/explore.ts';
import { mutate, type MutationName } from '../model/mutations.ts';
import { reliabilitySection, renderModelCheck } from '../model/report.ts';
import { BEFORE_BURNED_KEYS, RETRYSAFE_RULES } from '../model/rules.ts';
import { encode, initialState } from '../model/state.ts';

describe('model check: the smallest configurations', () => {
  for (const config of smallestConfigurations()) {
    it(`${config.name}: every reachable state keeps the invariants`, () => {
      const run = explore(config);
      expect(run.violation?.message).toBeUndefined();
      expect(run.truncated).toBe(false);
      // Exhaustive, not trivially small: crashes, pauses and faults all branch.
      expect(run.states).toBeGreaterThan(500);
      expect(run.quiescent).toBeGreaterThan(0);
    });
  }
});

describe('model check: what it found in the rules before burned keys', () => {
  it('a provider that stores a 500 before the effect: the key was re-sent forever and never performed', () => {
    const config = configure('stores-5xx', providerBehaviour('stores-5xx', 'consistent', '5xx'));
    const run = explore(config, { rules: BEFORE_BURNED_KEYS });
    expect(run.violation?.message).toMatch(/claimed \d+ times, more than the bound/);
    const trace = run.violation?.trace ?? [];
    expect(trace[1]).toMatch(/answers 500 before any effect and stores that 500 under the key/);
    expect(trace.filter((line) => line.includes('replays the stored 500')).length).toBeGreaterThan(3);
    // The rules with burned keys: a new generation after the trusted absent, performed once.
    expect(explore(config).violation).toBeUndefined();
  });

  it('a provider that never answers: the lease keeper renewed forever and the key was stuck in_flight', () => {
    const config = configure('hang', providerBehaviour('2xx-only', 'consistent', 'hang'));
    const run = explore(config, { rules: BEFORE_BURNED_KEYS });
    expect(run.violation?.message).toMatch(/stuck in_flight/);
    expect(run.violation?.trace.join('\n')).toMatch(/never answers[\s\S]*lease keeper renews/);
    expect(explore(config).violation).toBeUndefined();
    expect(explore({ ...config, callHonoursSignal: false }).violation).toBeUndefined();
  });

  it('the witnesses the docs show are these two', () => {
    expect(BEFORE_BURNED_KEYS_WITNESSES.map((config) => config.provider)).toEqual([
      providerBehaviour('stores-5xx', 'consistent', '5xx'),
      providerBehaviour('2xx-only', 'consistent', 'hang'),
    ]);
  });

  it('a pause between the reservation and the send cannot be fenced by the store', () => {
    const provider = providerBehaviour('no-key', 'consistent', 'lost');
    expect(explore(configure('no pause before send', provider)).violation).toBeUndefined();
    const run = explore(configure('pause before send', provider, { pauseBeforeSend: true }));
    expect(run.violation?.message).toMatch(/without a live reservation/);
  });
});

describe('model check: deliberate mutations are caught with a trace', () => {
  const mutations = [
    'drop-fence',
    'expire-unknown',
    'trust-absent-early',
    'resend-past-retention',
    'self-approval',
    'reuse-burned-key',
    'skip-deadline',
  ] as const satisfies readonly MutationName[];
  const expected: Record<(typeof mutations)[number], RegExp> = {
    'drop-fence': /stale holder's write was accepted/,
    'expire-unknown': /unknown but has an expiry/,
    'trust-absent-early': /duplicate: payload A of op-1 was performed 2 times/,
    'resend-past-retention': /duplicate: payload A of op-1 was performed 2 times/,
    'self-approval': /override that its requester approved/,
    'reuse-burned-key': /claimed \d+ times, more than the bound/,
    'skip-deadline': /stuck in_flight/,
  };
  for (const mutation of mutations) {
    it(mutation, () => {
      const config = MUTATION_WITNESSES[mutation];
      expect(explore(config).violation?.message).toBeUndefined();
      const run = explore(config, { rules: mutate(RETRYSAFE_RULES, mutation) });
      expect(run.violation?.message).toMatch(expected[mutation]);
      expect(run.violation?.trace.length).toBeGreaterThan(1);
    });
  }

  it('the trace is the shortest: an unknown that expires shows in three steps', () => {
    const run = explore(MUTATION_WITNESSES['expire-unknown'], {
      rules: mutate(RETRYSAFE_RULES, 'expire-unknown'),
    });
    expect(run.violation?.trace).toHaveLength(3);
    expect(run.violation?.trace[0]).toMatch(
      /^\[t=0L\] W1 \(payload A\) begins on op-1: no record -> reserves attempt 1/,
    );
  });
});

describe('model check: encoding and report', () => {
  it('folds workers of the same operation and payload into one state', () => {
    const state = initialState(configure('sym', providerBehaviour('no-key', 'consistent', 'lost')));
    const [first, second] = state.workers;
    if (first === undefined || second === undefined) throw new Error('two workers expected');
    const moved = { ...first, phase: { k: 'done', how: 'succeeded' } as const };
    expect(encode({ ...state, workers: [moved, second] })).toBe(
      encode({ ...state, workers: [second, moved] }),
    );
    expect(encode({ ...state, workers: [moved, second] })).not.toBe(encode(state));
  });

  it('renders the page and the section reliability.md includes', async () => {
    const config = smallestConfigurations()[0];
    if (config === undefined) throw new Error('no configuration');
    const run = explore(config);
    const page = renderModelCheck({ command: 'npm run model-check', explorations: [run], mutations: [] });
    expect(page).toContain(`| ${config.name} | ${run.states} |`);
    const dir = await mkdtemp(join(tmpdir(), 'model-check-'));
    expect(await reliabilitySection(dir)).toBe('');
    await writeFile(join(dir, 'model-check.md'), page);
    const section = await reliabilitySection(dir);
    expect(section).toMatch(/^## Exhaustive model check/);
    expect(section).toContain('1 configurations');
    expect(section).toContain('[model-check.md](model-check.md)');
  });
});
