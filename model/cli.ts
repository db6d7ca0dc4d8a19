/**
 * `npm run model-check [-- --full] [--only TEXT] [--write-docs]`: explores the configurations, prints
 * their state counts and times, the shortest trace of every violation, and the deliberate mutations.
 * Exits 1 when a configuration breaks an invariant or a mutation goes uncaught.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { format } from 'prettier';
import { describeConfig } from './config.ts';
import {
  everyBehaviourWithTwoWorkers,
  largerWorlds,
  BEFORE_BURNED_KEYS_WITNESSES,
  MUTATION_WITNESSES,
  smallestConfigurations,
} from './configurations.ts';
import { explore, formatViolation, type Exploration } from './explore.ts';
import { mutate, type MutationName } from './mutations.ts';
import { mutationVerdict, reliabilitySection, renderModelCheck, type MutationResult } from './report.ts';
import { BEFORE_BURNED_KEYS, RETRYSAFE_RULES } from './rules.ts';

const DOCS = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs');

const { values } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    only: { type: 'string' },
    'write-docs': { type: 'boolean', default: false },
    'max-states': { type: 'string', default: '2000000' },
  },
});

const maxStates = Number(values['max-states']);
const selected = (
  values.full ? [...everyBehaviourWithTwoWorkers(), ...largerWorlds()] : smallestConfigurations()
).filter((config) => values.only === undefined || config.name.includes(values.only));

const explorations: Exploration[] = [];
for (const config of selected) {
  const run = explore(config, { rules: RETRYSAFE_RULES, maxStates });
  explorations.push(run);
  const result = run.violation !== undefined ? 'VIOLATION' : run.truncated ? 'TRUNCATED' : 'ok';
  console.log(
    `${config.name.padEnd(52)} ${String(run.states).padStart(8)} states ${String(run.transitions).padStart(9)} ` +
      `transitions  depth ${String(run.maxDepth).padStart(3)}  ${(run.ms / 1000).toFixed(1).padStart(6)} s  ${result}`,
  );
  if (run.violation !== undefined) {
    console.log(`  ${describeConfig(config)}`);
    console.log(formatViolation(run.violation).replace(/^/gm, '  '));
  }
}

const mutations: MutationResult[] = [];
if (values.only === undefined) {
  for (const [mutation, config] of Object.entries(MUTATION_WITNESSES) as [
    MutationName,
    (typeof MUTATION_WITNESSES)[MutationName],
  ][]) {
    const baseline = explore(config, { rules: RETRYSAFE_RULES, maxStates });
    const exploration = explore(config, { rules: mutate(RETRYSAFE_RULES, mutation), maxStates });
    mutations.push({ mutation, baseline, exploration });
    console.log(
      `mutation ${mutation.padEnd(24)} ${mutationVerdict({ mutation, baseline, exploration })}: ` +
        `${exploration.violation?.message ?? ''} (${exploration.violation?.trace.length ?? 0} steps)`,
    );
  }
}

const history =
  values.only === undefined
    ? BEFORE_BURNED_KEYS_WITNESSES.map((config) => explore(config, { rules: BEFORE_BURNED_KEYS, maxStates }))
    : [];
for (const run of history) {
  console.log(`before burned keys: ${run.config.name}: ${run.violation?.message ?? 'no violation'}`);
}

if (values['write-docs']) {
  const command = `npm run model-check -- ${process.argv
    .slice(2)
    .filter((arg) => arg !== '--write-docs')
    .join(' ')}`.trim();
  const page = renderModelCheck({ command, explorations, mutations, history });
  await writeFile(
    join(DOCS, 'model-check.md'),
    await format(page, { parser: 'markdown', singleQuote: true, printWidth: 110 }),
  );
  await spliceReliability();
  console.log('wrote docs/model-check.md and its section in docs/reliability.md');
}

const broken = explorations.filter((run) => run.violation !== undefined || run.truncated).length;
const uncaught = mutations.filter((m) => mutationVerdict(m) !== 'caught').length;
console.log(
  `${explorations.length} configurations, ${broken} with a violation or truncated; ` +
    `${mutations.length - uncaught} of ${mutations.length} mutations caught`,
);
process.exitCode = broken > 0 || uncaught > 0 ? 1 : 0;

/** Replaces (or appends) the "Exhaustive model check" section of docs/reliability.md. */
async function spliceReliability(): Promise<void> {
  const path = join(DOCS, 'reliability.md');
  const page = await readFile(path, 'utf8');
  const section = await reliabilitySection(DOCS);
  const start = page.indexOf('## Exhaustive model check');
  let next: string;
  if (start < 0) {
    next = `${page.trimEnd()}\n\n${section}`;
  } else {
    const after = page.indexOf('\n## ', start + 1);
    next = `${page.slice(0, start)}${section}${after < 0 ? '' : `\n${page.slice(after + 1)}`}`;
  }
  await writeFile(path, await format(next, { parser: 'markdown', singleQuote: true, printWidth: 110 }));
}
