// What a backtest promised, summarised from its trades: the figures a parameter version's
// expectation holds (src/model/expectation.ts) when the caller sends the trade list rather
// than the summary. Pure: no I/O.
//
// The long-run variance inflation is the one figure a summary cannot carry: how much more
// the sum of many consecutive trades varies than independent trades would make it (regimes,
// runs of correlated outcomes). It is measured on the backtest's trades in order, as the
// self-starting CUSUM measures it on its reference (src/analytics/cusum.ts: Bartlett /
// Newey–West, the largest ratio over the bandwidths 10, 20, 40, … up to min(200, n/3)), so the
// known-reference CUSUM of live trades can be scaled like the self-starting one.
import { CUSUM_LRV_FIRST_SCALE, CUSUM_LRV_MAX_LAG, bartlettRatio, lrvBandwidth } from './cusum.js';

export const DAY_MS = 86_400_000;

/** One trade of a backtest; `ret` is its return on notional (pnl / notional), when known. */
export interface BacktestTrade {
  pnl: number;
  ret: number | null;
  fees: number | null;
  openedMs: number | null;
  closedMs: number | null;
}

export interface MeanSd {
  mean: number;
  /** sample standard deviation (n − 1) */
  sd: number;
}

export interface BacktestSummary {
  /** trades in the backtest */
  trades: number;
  tradesPerDay: number;
  /** PnL per trade (quote currency, net of fees) */
  pnl: MeanSd | null;
  /** return on notional per trade */
  ret: MeanSd | null;
  /** share of trades with pnl > 0 */
  winRatio: number | null;
  /** largest fall of cumulative PnL from its running peak (starting at 0), quote currency, ≥ 0 */
  maxDrawdown: number | null;
  /** fees the backtest assumed per trade (quote currency) */
  feePerTrade: number | null;
  periodStartMs: number | null;
  periodEndMs: number | null;
  /** long-run variance of PnL per trade over its variance, ≥ 1 (1 for a summary without trades) */
  inflation: number;
}

/** Mean and sample standard deviation (Welford); sd 0 for one value. */
export function meanSd(xs: readonly number[]): MeanSd {
  let mean = 0;
  let m2 = 0;
  xs.forEach((x, i) => {
    const d = x - mean;
    mean += d / (i + 1);
    m2 += d * (x - mean);
  });
  return { mean, sd: xs.length > 1 ? Math.sqrt(m2 / (xs.length - 1)) : 0 };
}

/** Largest fall of the running sum from its running peak, the sum starting at 0. */
export function maxDrawdown(pnls: readonly number[]): number {
  let sum = 0;
  let peak = 0;
  let dd = 0;
  for (const x of pnls) {
    sum += x;
    if (sum > peak) peak = sum;
    else if (peak - sum > dd) dd = peak - sum;
  }
  return dd;
}

/**
 * Long-run variance over variance of a series in its order, at least 1: the largest
 * Bartlett ratio over the bandwidths 10, 20, 40, … below L and L = min(200, n/3, n − 1),
 * autocovariances about the mean with divisor n (Newey–West). 1 under 3 values or without
 * variance.
 */
export function varianceInflation(xs: readonly number[]): number {
  const n = xs.length;
  const L = n < 2 ? 0 : lrvBandwidth(CUSUM_LRV_MAX_LAG, n);
  if (L < 1) return 1;
  const m = xs.reduce((s, x) => s + x, 0) / n;
  const gamma: number[] = [];
  for (let k = 0; k <= L; k++) {
    let s = 0;
    for (let t = k; t < n; t++) s += (xs[t] - m) * (xs[t - k] - m);
    gamma.push(s / n);
  }
  if (!(gamma[0] > 0)) return 1;
  let f = bartlettRatio(gamma, L);
  for (let b = CUSUM_LRV_FIRST_SCALE; b < L; b *= 2) f = Math.max(f, bartlettRatio(gamma, b));
  return Math.max(1, f);
}

/**
 * The summary of a backtest from its trades, taken in the order given (oldest first: the
 * drawdown and the inflation depend on it). The period is `period` when given, else from
 * the first trade's opening (its close without one) to the last close; it must be longer
 * than zero. `feePerTrade` given wins over the mean of the trades' fees (which counts only
 * when every trade carries one).
 */
export function summarizeBacktest(
  trades: readonly BacktestTrade[],
  period?: { startMs: number; endMs: number },
  feePerTrade?: number | null,
): BacktestSummary {
  const n = trades.length;
  if (n < 2) throw new RangeError('a backtest summary needs at least 2 trades');
  let startMs = period?.startMs;
  let endMs = period?.endMs;
  if (!period) {
    for (const t of trades) {
      const open = t.openedMs ?? t.closedMs;
      if (open !== null && (startMs === undefined || open < startMs)) startMs = open;
      if (t.closedMs !== null && (endMs === undefined || t.closedMs > endMs)) endMs = t.closedMs;
    }
  }
  if (startMs === undefined || endMs === undefined || !(endMs > startMs))
    throw new RangeError('the backtest period is unknown or empty: give its start and end, or trade times');
  const pnls = trades.map((t) => t.pnl);
  const rets = trades.every((t) => t.ret !== null) ? trades.map((t) => t.ret as number) : null;
  const fees = trades.every((t) => t.fees !== null) ? trades.map((t) => t.fees as number) : null;
  return {
    trades: n,
    tradesPerDay: n / ((endMs - startMs) / DAY_MS),
    pnl: meanSd(pnls),
    ret: rets && meanSd(rets),
    winRatio: pnls.filter((x) => x > 0).length / n,
    maxDrawdown: maxDrawdown(pnls),
    feePerTrade: feePerTrade ?? (fees ? meanSd(fees).mean : null),
    periodStartMs: startMs,
    periodEndMs: endMs,
    inflation: varianceInflation(pnls),
  };
}
