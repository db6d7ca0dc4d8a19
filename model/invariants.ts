/**
 * What must hold in every reachable state, and what must hold once the world is quiescent (no worker
 * can move and the clock cannot help). Each check returns the broken rule in words, or undefined.
 */
import { RecordState } from '../src/machine/record.ts';
import { LEASE_MS, STEP_MS } from './config.ts';
import { isOpen } from './rules.ts';
import type { WorldState } from './state.ts';
import { FINGERPRINTS, keyOf, when, type World } from './world.ts';

const PAYLOAD = ['A', 'B'] as const;

/** Invariants of every state. */
export function stateViolation(world: World, state: WorldState): string | undefined {
  const deadlineMs = world.rules.attemptTimeoutMs(world.policy);
  for (const [index, op] of state.ops.entries()) {
    const key = keyOf(index);
    for (const payload of [0, 1] as const) {
      const effects = op.effects.filter((effect) => effect.payload === payload);
      if (effects.length > 1) {
        const where = effects.map((effect) => `g${effect.generation} at ${when(effect.at)}`).join(', ');
        return `duplicate: payload ${PAYLOAD[payload]} of ${key} was performed ${effects.length} times (${where})`;
      }
    }
    const record = op.record;
    if (record === undefined) continue;
    if (isOpen(record) && (record.expiresAt !== null || record.tombstoneUntil !== null)) {
      return `${key} is ${record.state} but has an expiry (${String(record.expiresAt)}): open records never expire`;
    }
    if (record.attempt > world.config.attemptBound) {
      return `${key} was claimed ${record.attempt} times, more than the bound of ${world.config.attemptBound} attempts`;
    }
    if (
      deadlineMs !== null &&
      record.state === RecordState.InFlight &&
      op.inFlightSince !== null &&
      state.now > op.inFlightSince + deadlineMs + LEASE_MS
    ) {
      return (
        `${key} has been in_flight since ${when(op.inFlightSince)}, longer than its attempt deadline ` +
        `plus its lease (invariant 13)`
      );
    }
  }
  return undefined;
}

/**
 * At quiescence every logical operation is performed exactly once, or `unknown` with no lookup
 * available: never stuck `in_flight`, never unknown when a lookup can answer, never lost.
 */
export function quiescenceViolation(world: World, state: WorldState): string | undefined {
  const hasLookup = world.config.provider.lookup !== 'none';
  const atHorizon =
    state.now + STEP_MS > world.config.horizonSteps * STEP_MS ? ' (at the clock horizon)' : '';
  for (const [index, op] of state.ops.entries()) {
    const key = keyOf(index);
    const record = op.record;
    if (record === undefined) return `${key} was never attempted${atHorizon}`;
    const payload = record.fingerprint === FINGERPRINTS[1] ? 1 : 0;
    const performed = op.effects.filter((effect) => effect.payload === payload).length;
    const acceptedUnknown = record.state === RecordState.Unknown && !hasLookup;
    if (record.state === RecordState.InFlight) {
      return `${key} is stuck in_flight (attempt ${record.attempt}) with no worker able to move${atHorizon}`;
    }
    if (performed === 0 && !acceptedUnknown) {
      return `${key} was never performed: it ends ${record.state} after ${record.attempt} attempts${atHorizon}`;
    }
    if (record.state === RecordState.Unknown && hasLookup) {
      return `${key} ends unknown although a lookup can answer${atHorizon}`;
    }
    if (performed === 1 && record.state !== RecordState.Succeeded && !acceptedUnknown) {
      return `${key} was performed but ends ${record.state}${atHorizon}`;
    }
  }
  return undefined;
}
