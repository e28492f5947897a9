// Live trading against what the backtest promised, from the first live trade. Pure: the
// sidecar (src/sidecar/expectation-runs.ts) folds the active version's trades of its run in
// (closed_at, id) order and reads the comparison on each scrape.
//
// The outcome per trade is the return on notional when every live trade of the run carries a
// notional and the expectation has returns (a change of position size is not a change of
// edge), else PnL; with neither there is no outcome comparison (the rate still is).
//
// - Difference: live mean − expected mean of the outcome, with its 95% interval. Its standard
//   error counts both samples: live √(f s²/n), s the larger of the live sd and the expected
//   one (so a few similar trades do not look certain), and the backtest's own √(f σ²/N); f is
//   the backtest's long-run variance inflation (1 for a summary).
// - CUSUM with a known reference: unlike src/analytics/cusum.ts (self-starting, a warm-up of
//   cusum_min_trades and a lagged reference), the pre-change distribution is the backtest's,
//   known before the first live trade. Each trade is standardized by the expected mean and
//   sd, r = (x − μ₀)/(s √f), s = max(σ₀, the recent trades' exponentially weighted sd
//   (half-life EXPECTATION_SCALE_HALF_LIFE, starting at σ₀)), so doubled volatility with the
//   same mean is not read as a fall; r is clipped to ±CUSUM_CLIP, and for each designed fall δ
//   (in σ₀) W = max(0, W + δ(−r − δ/2)), in nats. After a fall of δσ it grows by δ²/2 a trade:
//   Lorden's limit ln(ARL0)/(δ²/2) trades, with no warm-up to add. The recent sd's half-life
//   is 10 trades, not the self-starting CUSUM's 50: the 1σ statistic adds up to 4.5 nats for
//   one clipped trade (the 0.5σ one 2.25), so a cluster of large trades must raise the scale
//   within a few trades (GARCH(1,1) streams matching their backtest: 3.2 false alarms per
//   28,000 trades at 10 nats with 50, 1.2 with 10; the delay after a 1σ or 0.5σ fall is the
//   same, bench/detection/expectation-design.ts).
// - Trade rate: live trades of the run against the expected count λ = trades per day × days
//   since the run started, with Poisson tails P(X ≤ n) and P(X ≥ n).
// - Drawdown: the run's largest fall of cumulative PnL over the backtest's.
// - Costs: with fees on live trades and an assumed fee per trade, the PnL difference splits
//   into costs (live fee per trade − assumed) and edge (the difference before fees).
import { CUSUM_CLIP } from './cusum.js';
import type { BacktestSummary, MeanSd } from './backtest.js';
import { poissonCdf, poissonSf } from './poisson.js';

/** Designed falls of the outcome per trade, in expected standard deviations. */
export const EXPECTATION_SHIFTS: readonly number[] = [0.5, 1];
/** Half-life, in trades, of the recent sd that can raise the scale above the expected sd. */
export const EXPECTATION_SCALE_HALF_LIFE = 10;
/** Two-sided 95% normal quantile. */
const Z95 = 1.959963984540054;
const DAY_MS = 86_400_000;

export type Outcome = 'return' | 'pnl';

/** A CUSUM against a known reference: one statistic per designed shift, in nats. */
export interface KnownCusum {
  mean: number;
  sd: number;
  inflation: number;
  shifts: readonly number[];
  llr: number[];
  alpha: number;
  /** exponentially weighted mean and variance of the trades so far (from the reference's) */
  ew: { mean: number; variance: number };
}

export function knownCusumStart(
  ref: MeanSd,
  inflation = 1,
  shifts: readonly number[] = EXPECTATION_SHIFTS,
  halfLife = EXPECTATION_SCALE_HALF_LIFE,
): KnownCusum {
  if (!(ref.sd > 0 && Number.isFinite(ref.sd) && Number.isFinite(ref.mean)))
    throw new RangeError(`a reference needs a finite mean and sd > 0, got ${ref.mean}, ${ref.sd}`);
  if (!(inflation >= 1)) throw new RangeError(`the inflation must be ≥ 1, got ${inflation}`);
  return {
    mean: ref.mean,
    sd: ref.sd,
    inflation,
    shifts,
    llr: shifts.map(() => 0),
    alpha: halfLife > 0 ? 1 - 2 ** (-1 / halfLife) : 0,
    ew: { mean: ref.mean, variance: ref.sd * ref.sd },
  };
}

/** The clipped standardized residual of the next trade. */
export function knownCusumResidual(s: KnownCusum, x: number): number {
  const scale = Math.max(s.sd, Math.sqrt(s.ew.variance)) * Math.sqrt(s.inflation);
  return Math.max(-CUSUM_CLIP, Math.min(CUSUM_CLIP, (x - s.mean) / scale));
}

/** Folds one trade in (mutates and returns the state). */
export function knownCusumAdd(s: KnownCusum, x: number): KnownCusum {
  if (!Number.isFinite(x)) throw new RangeError(`an outcome must be finite, got ${x}`);
  const r = knownCusumResidual(s, x);
  for (let i = 0; i < s.shifts.length; i++) {
    const d = s.shifts[i];
    s.llr[i] = Math.max(0, s.llr[i] + d * (-r - d / 2));
  }
  if (s.alpha > 0) {
    const e = x - s.ew.mean;
    s.ew.mean += s.alpha * e;
    s.ew.variance = (1 - s.alpha) * (s.ew.variance + s.alpha * e * e);
  }
  return s;
}

/** Welford mean and Σ squared deviations. */
interface Moments {
  n: number;
  mean: number;
  m2: number;
}

function push(m: Moments, x: number): void {
  m.n += 1;
  const d = x - m.mean;
  m.mean += d / m.n;
  m.m2 += d * (x - m.mean);
}

/** The run's live trades folded against one expectation. */
export interface ExpectationFold {
  n: number;
  pnl: Moments;
  fees: number;
  /** trades with fees > 0 */
  feeTrades: number;
  /** returns while every trade carried a notional > 0; undefined after the first that did not */
  ret?: Moments;
  cumPnl: number;
  peak: number;
  maxDrawdown: number;
  pnlCusum?: KnownCusum;
  retCusum?: KnownCusum;
}

export function expectationFoldStart(e: BacktestSummary): ExpectationFold {
  return {
    n: 0,
    pnl: { n: 0, mean: 0, m2: 0 },
    fees: 0,
    feeTrades: 0,
    ret: { n: 0, mean: 0, m2: 0 },
    cumPnl: 0,
    peak: 0,
    maxDrawdown: 0,
    pnlCusum: e.pnl ? knownCusumStart(e.pnl, e.inflation) : undefined,
    retCusum: e.ret ? knownCusumStart(e.ret, e.inflation) : undefined,
  };
}

/** Folds the run's next trade (in (closed_at, id) order). */
export function expectationFoldAdd(f: ExpectationFold, pnl: number, fees: number, notional: number | null): void {
  f.n += 1;
  push(f.pnl, pnl);
  f.fees += fees;
  if (fees > 0) f.feeTrades += 1;
  if (f.ret) {
    if (notional !== null && notional > 0) {
      push(f.ret, pnl / notional);
      if (f.retCusum) knownCusumAdd(f.retCusum, pnl / notional);
    } else {
      f.ret = undefined;
      f.retCusum = undefined;
    }
  }
  if (f.pnlCusum) knownCusumAdd(f.pnlCusum, pnl);
  f.cumPnl += pnl;
  if (f.cumPnl > f.peak) f.peak = f.cumPnl;
  else f.maxDrawdown = Math.max(f.maxDrawdown, f.peak - f.cumPnl);
}

export interface Difference {
  /** live mean − expected mean */
  value: number;
  lower: number;
  upper: number;
  /** value over its standard error */
  z: number;
}

/**
 * Live mean minus expected mean with its 95% interval; undefined without a live trade.
 * `expected.trades` is the backtest's count (its mean's own error).
 */
export function outcomeDifference(
  live: Moments,
  expected: MeanSd,
  backtestTrades: number,
  inflation = 1,
): Difference | undefined {
  if (live.n < 1) return undefined;
  const s = live.n >= 2 ? Math.max(Math.sqrt(live.m2 / (live.n - 1)), expected.sd) : expected.sd;
  const se = Math.sqrt(inflation * ((s * s) / live.n + (expected.sd * expected.sd) / backtestTrades));
  const value = live.mean - expected.mean;
  return { value, lower: value - Z95 * se, upper: value + Z95 * se, z: value / se };
}

export interface RateComparison {
  /** trades the backtest's rate gives the time since the run started */
  expected: number;
  /** live trades over expected; undefined until the backtest's rate expects one trade (a ratio of a few hours' trades says nothing) */
  ratio?: number;
  /** P(X ≤ live) and P(X ≥ live), X ~ Poisson(expected) */
  pFewer: number;
  pMore: number;
}

export function tradeRate(live: number, perDay: number, elapsedMs: number): RateComparison {
  const expected = (perDay * Math.max(0, elapsedMs)) / DAY_MS;
  return {
    expected,
    ...(expected >= 1 ? { ratio: live / expected } : {}),
    pFewer: poissonCdf(live, expected),
    pMore: poissonSf(live, expected),
  };
}

export interface CostSplit {
  liveFeePerTrade: number;
  assumedFeePerTrade: number;
  /** live − assumed fee per trade: > 0, costs are higher than the backtest assumed */
  costs: number;
  /** live − expected PnL per trade before fees: < 0, the edge itself is lower */
  edge: number;
  /** live − expected PnL per trade after fees: edge − costs */
  net: number;
}

export interface ExpectationComparison {
  /** what the difference and the CUSUM compare; null: neither can be compared */
  outcome: Outcome | null;
  trades: number;
  expected?: MeanSd;
  live?: { mean: number; sd?: number };
  difference?: Difference;
  cusum?: Array<{ shift: number; llr: number }>;
  rate: RateComparison;
  drawdown: { live: number; expected: number | null; ratio?: number };
  costs?: CostSplit;
}

/** The comparison of a fold with its expectation, `elapsedMs` after the run started. */
export function compareWithExpectation(
  f: ExpectationFold,
  e: BacktestSummary,
  elapsedMs: number,
): ExpectationComparison {
  const useReturn = e.ret !== null && f.ret !== undefined;
  const outcome: Outcome | null = useReturn ? 'return' : e.pnl ? 'pnl' : null;
  const out: ExpectationComparison = {
    outcome,
    trades: f.n,
    rate: tradeRate(f.n, e.tradesPerDay, elapsedMs),
    drawdown: { live: f.maxDrawdown, expected: e.maxDrawdown },
  };
  if (e.maxDrawdown !== null && e.maxDrawdown > 0) out.drawdown.ratio = f.maxDrawdown / e.maxDrawdown;
  if (outcome !== null) {
    const expected = (outcome === 'return' ? e.ret : e.pnl) as MeanSd;
    const live = (outcome === 'return' ? f.ret : f.pnl) as Moments;
    const cusum = (outcome === 'return' ? f.retCusum : f.pnlCusum) as KnownCusum;
    out.expected = expected;
    if (live.n > 0) out.live = { mean: live.mean, ...(live.n > 1 ? { sd: Math.sqrt(live.m2 / (live.n - 1)) } : {}) };
    out.difference = outcomeDifference(live, expected, e.trades, e.inflation);
    out.cusum = cusum.shifts.map((shift, i) => ({ shift, llr: cusum.llr[i] }));
  }
  if (e.pnl && e.feePerTrade !== null && f.feeTrades > 0) {
    const liveFee = f.fees / f.n;
    const costs = liveFee - e.feePerTrade;
    const net = f.pnl.mean - e.pnl.mean;
    out.costs = { liveFeePerTrade: liveFee, assumedFeePerTrade: e.feePerTrade, costs, edge: net + costs, net };
  }
  return out;
}
