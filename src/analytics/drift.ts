// Drift of the recent window (24h) against the baseline (7d minus the recent 24h), as
// docs/statistics.md ("Drift") defines it. Negative values mean "recent is worse".
import type { Agg } from './aggregate.js';
import { sampleVariance } from './stats.js';

/**
 * Welch statistic (mean_r - mean_b) / sqrt(var_r/n_r + var_b/n_b) with sample variances.
 * Undefined when either side has fewer than 2 trades or the denominator is 0.
 */
export function welchZ(recent: Agg, baseline: Agg): number | undefined {
  const vr = sampleVariance(recent);
  const vb = sampleVariance(baseline);
  if (vr === undefined || vb === undefined) return undefined;
  const se2 = vr / recent.n + vb / baseline.n;
  if (!(se2 > 0)) return undefined;
  return (recent.mean - baseline.mean) / Math.sqrt(se2);
}

/**
 * Two-proportion z statistic of the win ratios with the pooled proportion
 * p = (w_r + w_b) / (n_r + n_b): (p_r - p_b) / sqrt(p (1 - p) (1/n_r + 1/n_b)).
 * Undefined when either side is empty or the denominator is 0 (all wins or no wins).
 */
export function twoProportionZ(recent: Agg, baseline: Agg): number | undefined {
  if (recent.n === 0 || baseline.n === 0) return undefined;
  const p = (recent.wins + baseline.wins) / (recent.n + baseline.n);
  const den = Math.sqrt(p * (1 - p) * (1 / recent.n + 1 / baseline.n));
  if (!(den > 0)) return undefined;
  return (recent.wins / recent.n - baseline.wins / baseline.n) / den;
}

export interface Drift {
  pnl_per_trade?: number;
  win_ratio?: number;
}

/**
 * How much more a window's mean varies than independent trades would make it vary (≥ 1),
 * per statistic: PnL per trade and the win indicator. A number applies to both.
 */
export type VarianceInflation = number | { pnl?: number; win?: number };

function inflationOf(v: VarianceInflation | undefined, key: 'pnl' | 'win'): number {
  const f = typeof v === 'number' ? v : v?.[key];
  // Never below 1: negative serial correlation is not credited (it would make a z larger).
  return f !== undefined && f >= 1 && Number.isFinite(f) ? f : 1;
}

/**
 * Both drift statistics; a key is absent when its statistic is undefined, and both are
 * absent when either side has fewer than minTrades trades.
 *
 * `varianceInflation` (issue 11): with regimes, volatility clusters or serially correlated
 * outcomes, the mean of a window of n trades varies like σ²·f/n, not σ²/n, and a z computed
 * with independent variances crosses any threshold at every bad spell. Both variances of
 * each z are multiplied by f (the same factor for the recent window and the baseline), so the
 * z is divided by √f. Pass the strategy's long-run variance ratio, e.g. the CUSUM run's
 * cusumVarianceInflation(state); omitted or 1: the independent-trades statistic.
 */
export function drift(recent: Agg, baseline: Agg, minTrades: number, varianceInflation?: VarianceInflation): Drift {
  const out: Drift = {};
  if (recent.n < minTrades || baseline.n < minTrades) return out;
  const z = welchZ(recent, baseline);
  if (z !== undefined) out.pnl_per_trade = z / Math.sqrt(inflationOf(varianceInflation, 'pnl'));
  const pz = twoProportionZ(recent, baseline);
  if (pz !== undefined) out.win_ratio = pz / Math.sqrt(inflationOf(varianceInflation, 'win'));
  return out;
}
