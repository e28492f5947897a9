// The tests of an experiment's arms against control, as the snapshot, the report and the API
// show them: the always-valid mSPRT on every read, and (when a sample size was declared) the
// fixed-sample Welch test read once, on the first planned trades of each arm.
import {
  addTrade,
  comparable,
  empty,
  msprt,
  welchTTest,
  type Agg,
  type MsprtResult,
  type RunningTest,
  type WelchResult,
} from '../analytics/index.js';
import type { Thresholds } from './thresholds.js';

export interface ExperimentTest {
  variant: string;
  /** What is compared: return on notional when every trade of both arms carries one, else PnL. */
  outcome: 'return' | 'pnl';
  /** The test on the arms' current aggregates: the difference now, and the current p-value and bounds. */
  result: MsprtResult;
  /**
   * What is exported and decides: the running minimum of the p-value and the running
   * intersection of the bounds over every trade so far (always valid, Bonferroni over the
   * candidate arms). Once under the line it stays there.
   */
  running: RunningTest;
}

export interface FixedSampleTest {
  variant: string;
  /** Trades of this arm and of control among the first planned ones (both = planned once read). */
  trades: number;
  controlTrades: number;
  outcome?: 'return' | 'pnl';
  /** Welch t-test on the first planned trades of each arm; absent until both arms have them. */
  result?: WelchResult;
  /** min(1, arms · p): compared with experiment_p_value, as the always-valid p-value is. */
  pAdjusted?: number;
}

/** Candidate arms of an experiment: every variant but control (the Bonferroni factor, at least 1). */
export function candidateArms(variants: Record<string, number>): number {
  return Math.max(1, Object.keys(variants).filter((v) => v !== 'control').length);
}

/**
 * The always-valid test of each arm against control, when both have experiment_min_trades
 * trades (below it the plug-in variance is too rough to trust: docs/experiments.md), with the
 * running minima of each arm (experiment-minima.ts; without one, the current values stand in).
 */
export function alwaysValidTests(
  arms: Array<{ variant: string; agg: Agg }>,
  control: Agg | undefined,
  candidates: number,
  th: Thresholds,
  running: ReadonlyMap<string, RunningTest> = new Map(),
): ExperimentTest[] {
  const out: ExperimentTest[] = [];
  if (!control || control.n < th.experiment_min_trades) return out;
  for (const v of arms) {
    if (v.variant === 'control' || v.agg.n < th.experiment_min_trades) continue;
    const cmp = comparable(v.agg, control);
    const result = msprt(cmp.a, cmp.b, {
      tau: th.experiment_mixture_tau,
      alpha: th.experiment_p_value,
      arms: candidates,
    });
    if (result)
      out.push({
        variant: v.variant,
        outcome: cmp.outcome,
        result,
        running: running.get(v.variant) ?? {
          pValue: result.pValue,
          lower: result.lower,
          upper: result.upper,
          outcome: cmp.outcome,
        },
      });
  }
  return out;
}

/**
 * The fixed-sample test of each arm against control on the first `planned` trades of each (in
 * arrival order), from the rows the ledger returns. An arm still short of `planned` (or
 * control) has no result yet: the test is read once, at the planned size, never before.
 */
export function fixedSampleTests(
  rows: ReadonlyArray<{ variant: string; pnl: number; fees: number; notional: number | null }>,
  variants: readonly string[],
  planned: number,
  candidates: number,
): FixedSampleTest[] {
  const aggs = new Map<string, Agg>();
  for (const r of rows) {
    let a = aggs.get(r.variant);
    if (!a) aggs.set(r.variant, (a = empty()));
    addTrade(a, r.pnl, r.fees, r.notional);
  }
  const control = aggs.get('control') ?? empty();
  const out: FixedSampleTest[] = [];
  for (const variant of variants) {
    if (variant === 'control') continue;
    const agg = aggs.get(variant) ?? empty();
    const test: FixedSampleTest = { variant, trades: agg.n, controlTrades: control.n };
    if (agg.n >= planned && control.n >= planned) {
      const cmp = comparable(agg, control);
      const result = welchTTest(cmp.a, cmp.b);
      test.outcome = cmp.outcome;
      if (result) {
        test.result = result;
        test.pAdjusted = Math.min(1, candidates * result.pValue);
      }
    }
    out.push(test);
  }
  return out;
}

/**
 * One always-valid test as the API, the CLI and the report show it: p_value, lower and upper
 * are the running ones (what the alert reads); difference and current_p_value are now's.
 */
export function testJson(t: ExperimentTest) {
  return {
    variant: t.variant,
    against: 'control' as const,
    outcome: t.running.outcome,
    p_value: t.running.pValue,
    lower: t.running.lower,
    upper: t.running.upper,
    difference: t.result.difference,
    current_p_value: t.result.pValue,
  };
}

/** The fixed-sample tests as the API, the CLI and the report show them: null without a planned size. */
export function fixedJson(planned: number | null, fixed: FixedSampleTest[] | undefined) {
  if (planned === null || fixed === undefined) return null;
  return {
    planned_trades_per_arm: planned,
    tests: fixed.map((f) => ({
      variant: f.variant,
      against: 'control' as const,
      trades: f.trades,
      control_trades: f.controlTrades,
      read: f.result !== undefined,
      outcome: f.outcome ?? null,
      t: f.result?.t ?? null,
      df: f.result?.df ?? null,
      p_value: f.result?.pValue ?? null,
      p_adjusted: f.pAdjusted ?? null,
    })),
  };
}

/**
 * An experiment's tests as GET /v1/experiments and `edgewatch experiments show` give them:
 * the Bonferroni factor, the confidence of the bounds (all arms together), the always-valid
 * tests and the fixed-sample ones.
 */
export function testsJson(
  e: { arms: number; tests: ExperimentTest[]; plannedTrades: number | null; fixed?: FixedSampleTest[] },
  alpha: number,
) {
  return {
    arms: e.arms,
    confidence: 1 - alpha,
    tests: e.tests.map(testJson),
    fixed_sample: fixedJson(e.plannedTrades, e.fixed),
  };
}
