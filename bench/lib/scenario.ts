import type { BenchEnv } from './env.ts';
import type { Row, StoreKind } from './rows.ts';

export interface ScenarioContext {
  readonly env: BenchEnv;
  /** Seconds-long run: fewer, shorter blocks and smaller data sets. */
  readonly quick: boolean;
  /** The stores selected and reachable, in report order. */
  readonly stores: readonly StoreKind[];
  log(message: string): void;
}

/** A bar from the issue and how this run did against it. */
export interface Bar {
  readonly bar: string;
  readonly store: string;
  readonly measured: string;
  /** `null` when it could not be measured in this run. */
  readonly met: boolean | null;
}

/** An SVG file written beside RESULTS.md. */
export interface Chart {
  readonly file: string;
  readonly title: string;
  readonly svg: string;
}

export interface ScenarioResult {
  readonly rows: Row[];
  readonly bars: Bar[];
  /** Markdown paragraphs: how to read the rows, profiles, findings where a bar is missed. */
  readonly notes: string[];
  readonly charts: Chart[];
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  /** Stores the scenario applies to. */
  readonly stores: readonly StoreKind[];
  run(context: ScenarioContext): Promise<ScenarioResult>;
}

export function emptyResult(): { rows: Row[]; bars: Bar[]; notes: string[]; charts: Chart[] } {
  return { rows: [], bars: [], notes: [], charts: [] };
}
