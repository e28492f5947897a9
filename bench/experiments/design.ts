// Why experiment_mixture_tau is 0.25: the mixture's prior scale τ (in standard deviations of
// the per-trade outcome) against the trades per arm the always-valid test needs to find a real
// difference, for differences from 0.1σ to 1σ, and its A/A crossing rate (any τ is valid in
// theory; the plug-in variance is not free). Trade time, two arms, the first look under the
// line (no `for:`), the same alwaysValidTests the snapshot calls.
import { addTrade, empty } from '../../src/analytics/index.js';
import { alwaysValidTests } from '../../src/sidecar/experiment-tests.js';
import { DEFAULT_THRESHOLDS } from '../../src/sidecar/thresholds.js';
import { Rng, drawer, type OutcomeName } from './outcomes.js';
import type { ExpOptions } from './plan.js';
import { fixedSampleSize } from './power.js';

export const TAUS = [0.1, 0.25, 0.5, 1];
export const DESIGN_EFFECTS = [0.1, 0.25, 0.5, 1];

export interface TauRow {
  tau: number;
  /** median trades per arm to the first look under the line, per effect (Infinity: not within the cap) */
  median: number[];
  /** median / the fixed-sample test's trades per arm at 50% power (what the median is: 50% power) */
  ratio: number[];
  /** the largest ratio over the effects the criterion reads */
  worst: number;
  /** A/A runs (Gaussian and Student t3, 2,000 trades per arm) that ever crossed */
  aaCrossed: number;
  aaRuns: number;
}

export interface TauDesign {
  rows: TauRow[];
  /** the τ with the smallest worst ratio over the effects a fixed test needs more than experiment_min_trades trades for */
  best: number;
  shipped: number;
  runs: number;
}

/** Trades per arm to the first look under the line (Infinity: none by `cap` per arm). */
function firstCrossing(tau: number, effect: number, outcome: OutcomeName, seed: string, cap: number): number {
  const rng = new Rng(seed);
  const draw = drawer(outcome, rng);
  const th = { ...DEFAULT_THRESHOLDS, experiment_mixture_tau: tau };
  const control = empty();
  const arm = empty();
  const variants = [
    { variant: 'control', agg: control },
    { variant: 'c1', agg: arm },
  ];
  while (control.n < cap || arm.n < cap) {
    const c = rng.uniform() < 0.5;
    addTrade(c ? control : arm, draw(c ? 0 : effect), 0);
    const t = alwaysValidTests(variants, control, 1, th)[0];
    if (t && t.result.pValue < th.experiment_p_value) return (control.n + arm.n) / 2;
  }
  return Infinity;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

export function tauDesign(o: Pick<ExpOptions, 'effectRuns' | 'seed'>): TauDesign {
  const runs = Math.max(20, Math.round(o.effectRuns * 1.5));
  const alpha = DEFAULT_THRESHOLDS.experiment_p_value;
  const rows: TauRow[] = TAUS.map((tau) => {
    const med = DESIGN_EFFECTS.map((effect) => {
      const cap = 8 * fixedSampleSize(effect, alpha, 0.5);
      const at = Array.from({ length: runs }, (_, i) =>
        firstCrossing(tau, effect, 'gaussian', `${o.seed}/tau/${effect}/${i}`, cap),
      );
      return median(at);
    });
    let crossed = 0;
    const aaRuns = runs * 2;
    for (let i = 0; i < aaRuns; i++)
      if (Number.isFinite(firstCrossing(tau, 0, i % 2 ? 't3' : 'gaussian', `${o.seed}/tau-aa/${i}`, 2000))) crossed++;
    return {
      tau,
      median: med,
      ratio: med.map((m, k) => m / fixedSampleSize(DESIGN_EFFECTS[k], alpha, 0.5)),
      worst: NaN,
      aaCrossed: crossed,
      aaRuns,
    };
  });
  // At 1σ a fixed test needs fewer trades than experiment_min_trades: the minimum, not τ, sets
  // the pace there, so the criterion reads the differences above it.
  const counted = DESIGN_EFFECTS.map((e) => fixedSampleSize(e, alpha, 0.5) > DEFAULT_THRESHOLDS.experiment_min_trades);
  const worst = (r: TauRow) => Math.max(...r.ratio.filter((_, k) => counted[k]));
  for (const r of rows) r.worst = worst(r);
  const best = rows.reduce((a, b) => (b.worst < a.worst ? b : a)).tau;
  return { rows, best, shipped: DEFAULT_THRESHOLDS.experiment_mixture_tau, runs };
}
