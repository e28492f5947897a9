// The running always-valid test of an experiment: each arm's aggregate folded trade by trade
// in arrival order, and after every trade the running minimum of the mSPRT p-value and the
// running intersection of its confidence sequence (Johari, Pekelis and Walsh's p_n =
// min(p_{n−1}, 1/Λ_n)). Ville's inequality bounds the chance that Λ ever reaches 1/α at any
// trade, so the minimum over every trade is as valid as the value at any one of them, and
// once under the line it stays there: "decided" does not come and go as the current value
// wanders (bench:experiments measured how often it would: docs/experiments.md).
//
// Pure and deterministic: the same trades in the same order give the same minima, so the
// sidecar rebuilds them from the ledger (in seq order) after a restart, and the CLI, reading
// the ledger alone, finds the same values.
import { addTrade, comparable, empty, type Agg } from './aggregate.js';
import { msprt, type MsprtOptions } from './msprt.js';

export interface RunningTest {
  /** running minimum of the always-valid p-value (Bonferroni-adjusted) */
  pValue: number;
  /** running intersection of the confidence sequence (lower may exceed upper if the difference moved) */
  lower: number;
  upper: number;
  /** the outcome the minima are over; a switch from return to PnL (a trade without notional) restarts them */
  outcome: 'return' | 'pnl';
}

export interface FoldOptions extends MsprtOptions {
  /** trades each side needs before the test is read (experiment_min_trades) */
  minTrades: number;
}

export class ExperimentFold {
  readonly aggs = new Map<string, Agg>();
  private readonly running = new Map<string, RunningTest>();

  constructor(
    variants: readonly string[],
    private readonly opts: FoldOptions,
  ) {
    for (const v of variants) this.aggs.set(v, empty());
  }

  /** Folds one trade of `variant` and reads the tests it changes (every arm's, for a control trade). */
  add(variant: string, pnl: number, fees: number, notional: number | null): void {
    const agg = this.aggs.get(variant);
    if (!agg) return; // not a variant of the experiment: the ledger refuses these; nothing to compare
    addTrade(agg, pnl, fees, notional);
    const control = this.aggs.get('control');
    if (!control || control.n < this.opts.minTrades) return;
    if (variant === 'control') {
      for (const [v, a] of this.aggs) if (v !== 'control') this.read(v, a, control);
    } else this.read(variant, agg, control);
  }

  /** The running test of an arm; undefined until both it and control have minTrades trades. */
  test(variant: string): RunningTest | undefined {
    const r = this.running.get(variant);
    return r && { ...r };
  }

  private read(variant: string, arm: Agg, control: Agg): void {
    if (arm.n < this.opts.minTrades) return;
    const cmp = comparable(arm, control);
    const now = msprt(cmp.a, cmp.b, this.opts);
    if (!now) return;
    const r = this.running.get(variant);
    if (!r || r.outcome !== cmp.outcome)
      this.running.set(variant, { pValue: now.pValue, lower: now.lower, upper: now.upper, outcome: cmp.outcome });
    else {
      r.pValue = Math.min(r.pValue, now.pValue);
      r.lower = Math.max(r.lower, now.lower);
      r.upper = Math.min(r.upper, now.upper);
    }
  }
}
