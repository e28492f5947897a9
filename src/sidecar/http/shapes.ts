// The JSON shapes of the read API, shared by the HTTP routes and the CLI (which prints the same
// objects), so that one field is named one way everywhere.
import type { ExperimentSnapshot } from '../snapshot.js';
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
  };
}

/** An experiment's tests of each candidate against the control. */
export function experimentTestsJson(tests: ExperimentSnapshot['tests']) {
  return tests.map((t) => ({
    variant: t.variant,
    against: 'control',
    t: t.result.t,
    df: t.result.df,
    p_value: t.result.pValue,
  }));
}
