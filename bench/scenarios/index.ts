import type { Scenario } from '../lib/scenario.ts';
import { contention } from './contention.ts';
import { footprint } from './footprint.ts';
import { gc } from './gc.ts';
import { overhead } from './overhead.ts';
import { peers } from './peers.ts';
import { replay } from './replay.ts';
import { scaling } from './scaling.ts';

/** Every scenario, in report order. */
export const SCENARIOS: readonly Scenario[] = [overhead, replay, peers, contention, scaling, gc, footprint];
