/**
 * The configurations the checker runs: the smallest ones for `npm test` (seconds), every provider
 * behaviour and the larger worlds for `npm run model-check -- --full`, and which configuration shows
 * each mutation.
 */
import { configure, everyProviderBehaviour, providerBehaviour, type ModelConfig } from './config.ts';
import type { MutationName } from './mutations.ts';

/** 2 workers x 1 operation under every provider behaviour; hung calls both honour and ignore their signal. */
export function everyBehaviourWithTwoWorkers(): ModelConfig[] {
  const out: ModelConfig[] = [];
  for (const { label, provider } of everyProviderBehaviour()) {
    out.push(configure(`2w1op ${label}`, provider));
    if (provider.faults === 'hang') {
      out.push(configure(`2w1op ${label} ignores-signal`, provider, { callHonoursSignal: false }));
    }
  }
  return out;
}

/** Larger worlds: three workers, two operations, the operator with a second payload. */
export function largerWorlds(): ModelConfig[] {
  return [
    configure('3w1op stores-5xx/consistent/5xx', providerBehaviour('stores-5xx', 'consistent', '5xx'), {
      workers: 3,
    }),
    configure('3w1op no-key/lagging/lost', providerBehaviour('no-key', 'lagging', 'lost'), { workers: 3 }),
    configure(
      '3w1op 2xx-only-forgets/no-lookup/lost',
      providerBehaviour('2xx-only-forgets', 'no-lookup', 'lost'),
      {
        workers: 3,
      },
    ),
    configure('3w2op stores-5xx/consistent/5xx', providerBehaviour('stores-5xx', 'consistent', '5xx'), {
      workers: 3,
      operations: 2,
    }),
    configure(
      '3w1op operator stores-5xx/consistent/5xx',
      providerBehaviour('stores-5xx', 'consistent', '5xx'),
      {
        workers: 3,
        mismatchWorker: true,
        operator: true,
      },
    ),
    configure(
      '2w1op pause-before-send no-key/consistent/lost',
      providerBehaviour('no-key', 'consistent', 'lost'),
      {
        pauseBeforeSend: true,
      },
    ),
  ];
}

/** The smallest configurations, for `npm test`: one per family of behaviour, 2 workers x 1 operation. */
export function smallestConfigurations(): ModelConfig[] {
  return [
    configure('2w1op no-key/consistent/lost', providerBehaviour('no-key', 'consistent', 'lost')),
    configure('2w1op no-key/lagging/5xx', providerBehaviour('no-key', 'lagging', '5xx')),
    configure('2w1op 2xx-only/no-lookup/5xx', providerBehaviour('2xx-only', 'no-lookup', '5xx')),
    configure(
      '2w1op 2xx-only-forgets/no-lookup/lost',
      providerBehaviour('2xx-only-forgets', 'no-lookup', 'lost'),
    ),
    configure('2w1op stores-5xx/consistent/lost', providerBehaviour('stores-5xx', 'consistent', 'lost')),
  ];
}

/** The two findings in the rules before burned keys (issue 11), kept as witnesses on those rules. */
export const BEFORE_BURNED_KEYS_WITNESSES: readonly ModelConfig[] = [
  configure('2w1op stores-5xx/consistent/5xx', providerBehaviour('stores-5xx', 'consistent', '5xx')),
  configure('2w1op 2xx-only/consistent/hang', providerBehaviour('2xx-only', 'consistent', 'hang')),
];

/** For each mutation, a small configuration in which breaking that rule is observable. */
export const MUTATION_WITNESSES: Record<MutationName, ModelConfig> = {
  'drop-fence': configure('mutation drop-fence', providerBehaviour('2xx-only', 'consistent', 'lost')),
  'expire-unknown': configure('mutation expire-unknown', providerBehaviour('no-key', 'no-lookup', '5xx')),
  'trust-absent-early': configure(
    'mutation trust-absent-early',
    providerBehaviour('no-key', 'lagging', 'lost'),
  ),
  'resend-past-retention': configure(
    'mutation resend-past-retention',
    providerBehaviour('2xx-only-forgets', 'no-lookup', 'lost'),
  ),
  'self-approval': configure('mutation self-approval', providerBehaviour('no-key', 'consistent', 'lost'), {
    mismatchWorker: true,
    operator: true,
    crashBudget: 0,
    pauseBudget: 0,
  }),
  'reuse-burned-key': configure(
    'mutation reuse-burned-key',
    providerBehaviour('stores-5xx', 'consistent', '5xx'),
  ),
  'skip-deadline': configure('mutation skip-deadline', providerBehaviour('2xx-only', 'consistent', 'hang')),
};
