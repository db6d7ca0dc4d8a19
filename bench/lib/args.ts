import { STORE_KINDS, type StoreKind } from './rows.ts';

export interface BenchArgs {
  /** Scenario names to run; empty means all. */
  readonly only: readonly string[];
  readonly quick: boolean;
  readonly stores: readonly StoreKind[];
  /** Directory for RESULTS.md, results.json and the charts; undefined: chosen by `resolveOut`. */
  readonly out: string | undefined;
  readonly help: boolean;
}

export const USAGE = `npm run bench [-- options]

  --only NAME[,NAME]   run only these scenarios (repeatable)
  --quick              a seconds-long run: short blocks, small data sets, no 10M-record step
  --stores LIST        comma-separated subset of ${STORE_KINDS.join(',')} (default: all reachable)
  --out DIR            where to write RESULTS.md, results.json and the charts
                       (default: bench/ for a full run; a temporary directory for --quick or --only)
  --help               this text

Environment: BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test), BENCH_REDIS_URL (default: a
private redis-server started for the run when one is installed, else redis://127.0.0.1:6379).`;

function list(value: string | undefined, flag: string): string[] {
  if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value`);
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

export function parseArgs(argv: readonly string[], scenarioNames: readonly string[]): BenchArgs {
  const only: string[] = [];
  let quick = false;
  let stores: StoreKind[] = [...STORE_KINDS];
  let out: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.includes('=') ? (arg.split('=', 2) as [string, string]) : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--only':
        only.push(...list(value(), flag));
        break;
      case '--quick':
        quick = true;
        break;
      case '--stores': {
        const chosen = list(value(), flag);
        for (const name of chosen) {
          if (!(STORE_KINDS as readonly string[]).includes(name)) throw new Error(`unknown store ${name}`);
        }
        stores = STORE_KINDS.filter((kind) => chosen.includes(kind));
        break;
      }
      case '--out':
        out = list(value(), flag).join(',');
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        throw new Error(`unknown argument ${arg}\n\n${USAGE}`);
    }
  }
  for (const name of only) {
    if (!scenarioNames.includes(name)) {
      throw new Error(`unknown scenario ${name}; scenarios: ${scenarioNames.join(', ')}`);
    }
  }
  return { only, quick, stores, out, help };
}
