import { MUTATION_WITNESSES, largerWorlds } from './model/configurations.ts';
import { explore, formatViolation } from './model/explore.ts';
import { mutate, MUTATIONS } from './model/mutations.ts';
import { CURRENT_RULES } from './model/rules.ts';
for (const [m, config] of Object.entries(MUTATION_WITNESSES)) {
  const base = explore(config);
  const r = explore(config, { rules: mutate(CURRENT_RULES, m as keyof typeof MUTATIONS) });
  console.log(m, 'base:', base.states, base.violation?.message ?? 'ok', '| mutated:', r.states, r.violation?.message ?? 'NOT CAUGHT', r.violation?.trace.length);
}
for (const c of largerWorlds()) {
  const r = explore(c, { maxStates: 1500000 });
  console.log(c.name, r.states, r.ms, r.truncated, r.violation?.message ?? 'ok');
  if (c.name.includes('pause-before') && r.violation) console.log(formatViolation(r.violation));
}
