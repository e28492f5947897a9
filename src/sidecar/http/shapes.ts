// The JSON shapes of the read API, shared by the HTTP routes and the CLI (which prints the same
// objects), so that one field is named one way everywhere.
import { testsJson } from '../experiment-tests.js';
import { versionLabel } from '../../model/names.js';
import { iso } from './request.js';

/** An experiment as stored: its variants' versions, allocation, start and stop. */
export function experimentJson(e: {
  strategy: string;
  name: string;
  variants: Record<string, number>;
  allocation: Record<string, number>;
  startedMs: number;
  stoppedMs: number | null;
  outcome: string | null;
  winner: string | null;
  plannedTrades: number | null;
}) {
  return {
    strategy: e.strategy,
    name: e.name,
    variants: Object.fromEntries(Object.entries(e.variants).map(([k, n]) => [k, versionLabel(n)])),
    allocation: e.allocation,
    started_at: iso(e.startedMs),
    stopped_at: e.stoppedMs === null ? null : iso(e.stoppedMs),
    outcome: e.outcome,
    winner: e.winner,
    planned_trades_per_arm: e.plannedTrades,
  };
}

/**
 * An experiment's tests of each candidate against the control: the always-valid ones and, with
 * a planned size, the fixed-sample ones (src/sidecar/experiment-tests.ts; docs/experiments.md).
 */
export const experimentTestsJson = testsJson;
