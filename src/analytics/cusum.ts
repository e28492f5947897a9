// A sequential detector of a fall in PnL per trade: a self-starting CUSUM (Hawkins 1987)
// on standardized PnL, one per designed shift, in log-likelihood-ratio units (nats).
//
// Why: the windowed drift (24h against the baseline) sees only the trades of one day, so
// at a few trades a day it never has a sample, and at any rate it forgets evidence older
// than 24h. A CUSUM accumulates the evidence trade by trade and attains Lorden's bound
// ln(ARL0)/KL for the shift it is designed for (docs/alerting.md has the numbers).
//
// Self-starting: trade n+1 is standardized by the mean and sample stdev of trades 1..n of
// the same run (all of them, no frozen reference): r = (x - mean_n) / (sd_n √(1 + 1/n)).
// For a stationary stream the residuals are (for normal PnL exactly) independent with
// mean 0 and variance 1 whatever the true mean and stdev, so the false-alarm rate holds
// from the first trades on; a reference estimated once and then frozen is off by
// σ/√n and makes a CUSUM with a small drift allowance alarm for sure.
//
// For each designed shift δ (in σ of PnL per trade) the statistic is the CUSUM of the
// Gaussian log-likelihood ratio of "mean fell by δσ" against "unchanged":
//   W = max(0, W + δ (-r - δ/2)),   r clipped to ±CUSUM_CLIP,
// so W is in nats and one threshold serves every δ: W crosses h about once every
// e^h / (a few) trades on a stationary stream, and after a fall of δσ it grows by
// KL = δ²/2 per trade. The clip bounds what one fat-tailed loss can add (δ·(clip + δ/2)).
//
// The caller restarts the state at each parameter deploy (a new run: the new version is
// measured against itself; TradingParamVersionRegression compares it with the old one) and
// feeds the run's trades in (closed_at, id) order. Pure: no I/O, O(1) per trade.

/** Designed falls of PnL per trade, in σ: 0.2 (slow decays, a win rate 0.55 → 0.45) and 0.5. */
export const CUSUM_SHIFTS: readonly number[] = [0.2, 0.5];
/** Standardized residuals are clipped to ±4 so one outlier cannot raise W by more than δ(4 + δ/2). */
export const CUSUM_CLIP = 4;

export interface CusumState {
  /** trades folded in since the run started */
  n: number;
  mean: number;
  /** Σ (x - mean)² (Welford) */
  m2: number;
  /** one statistic per shift, in nats, same order as `shifts` */
  llr: number[];
  shifts: readonly number[];
}

export function cusumStart(shifts: readonly number[] = CUSUM_SHIFTS): CusumState {
  for (const d of shifts) if (!(d > 0 && Number.isFinite(d))) throw new RangeError(`a CUSUM shift must be a positive number, got ${d}`);
  return { n: 0, mean: 0, m2: 0, llr: shifts.map(() => 0), shifts };
}

/**
 * The standardized residual of the next trade against the trades so far, clipped; undefined
 * while fewer than `minTrades` (≥ 2) trades are known.
 */
export function cusumResidual(s: CusumState, pnl: number, minTrades: number): number | undefined {
  if (s.n < Math.max(2, minTrades)) return undefined;
  const sd = Math.sqrt(s.m2 / (s.n - 1));
  let r: number;
  if (sd > 0) r = ((pnl - s.mean) / sd) * Math.sqrt(s.n / (s.n + 1));
  else r = pnl === s.mean ? 0 : pnl > s.mean ? CUSUM_CLIP : -CUSUM_CLIP; // constant so far: any change is extreme
  return Math.max(-CUSUM_CLIP, Math.min(CUSUM_CLIP, r));
}

/** Folds one trade into the state (mutates and returns it). */
export function cusumAdd(s: CusumState, pnl: number, minTrades: number): CusumState {
  if (!Number.isFinite(pnl)) throw new RangeError(`pnl must be a finite number, got ${pnl}`);
  const r = cusumResidual(s, pnl, minTrades);
  if (r !== undefined) {
    for (let i = 0; i < s.shifts.length; i++) {
      const d = s.shifts[i];
      s.llr[i] = Math.max(0, s.llr[i] + d * (-r - d / 2));
    }
  }
  s.n += 1;
  const delta = pnl - s.mean;
  s.mean += delta / s.n;
  s.m2 += delta * (pnl - s.mean);
  return s;
}

/**
 * The statistics to export, one per shift; undefined (export nothing) until the run has
 * `minTrades` trades, the minimum sample before the first residual can be scored.
 */
export function cusumValues(s: CusumState, minTrades: number): Array<{ shift: number; llr: number }> | undefined {
  if (s.n < Math.max(2, minTrades)) return undefined;
  return s.shifts.map((shift, i) => ({ shift, llr: s.llr[i] }));
}
