// Drift of the recent window (24h) against the baseline (7d minus the recent 24h), as
// DESIGN.md defines it. Negative values mean "recent is worse".
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

/** Both drift statistics; a key is absent when its statistic is undefined, and both are
 *  absent when either side has fewer than minTrades trades. */
export function drift(recent: Agg, baseline: Agg, minTrades: number): Drift {
  const out: Drift = {};
  if (recent.n < minTrades || baseline.n < minTrades) return out;
  const z = welchZ(recent, baseline);
  if (z !== undefined) out.pnl_per_trade = z;
  const pz = twoProportionZ(recent, baseline);
  if (pz !== undefined) out.win_ratio = pz;
  return out;
}
