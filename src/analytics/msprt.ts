// Always-valid comparison of an experiment arm with control: the mixture sequential
// probability ratio test (mSPRT) of Johari, Pekelis and Walsh ("Always valid inference",
// 2017; Operations Research 2022) and the confidence sequence it inverts to.
//
// The statistic. Δ̂ = mean(arm) − mean(control) is, for Gaussian outcomes with known variances,
// N(θ, V) with V = σ²_a/n_a + σ²_c/n_c. With a N(0, τ²) mixture over the true difference θ,
//
//   Λ = ∫ φ(Δ̂; θ, V) φ(θ; 0, τ²) dθ / φ(Δ̂; 0, V) = √(V/(V+τ²)) · exp(τ² Δ̂² / (2V(V+τ²))).
//
// Why it is valid at any number of looks, also with arms that fill at different rates: with a
// flat (right-Haar) prior on the common mean, Λ is the Bayes factor of the location-invariant
// part of the data (the contrasts), so under θ = 0 it is a non-negative martingale with mean 1
// in whatever order the trades of either arm arrive (Pérez-Ortiz, Lardy, de Heide, Grünwald,
// "E-statistics, group invariance and anytime valid testing", 2022; Lindon, Ham, Tingley,
// Bojinov, "Anytime-valid linear models", 2022). Ville's inequality then gives
// P(Λ ever ≥ 1/α | θ = 0) ≤ α, so p = 1/Λ may be read after every trade.
//
// Assumptions, stated because they are not free: the variances are plugged in from the
// samples (σ̂² = m2/(n−1)), so the guarantee is asymptotic, and a fat-tailed PnL makes the
// plug-in variance noisy for longer (bench/experiments measures both; the exported p-value
// needs experiment_min_trades trades per arm). Per-trade outcomes are taken as independent.
//
// Several arms: each arm against control is tested at level α/K (Bonferroni, K = number of
// candidate arms), so the chance that any arm of an A/A experiment ever reads as decided stays
// ≤ α. The p-value returned is already multiplied by K, so the line it is compared with is α.
//
// This module reads the test once, on the current aggregates: min(1, K/Λ_n). The paper's
// p-value, the running minimum p_n = min(p_{n−1}, 1/Λ_n) over every trade, which is what the
// sidecar exports, is msprt-running.ts (docs/experiments.md says why the minimum).
//
// The prior scale τ is given relative to the outcome's spread: τ² = (τ_σ)² · (σ̂²_a + σ̂²_c)/2,
// so one threshold (experiment_mixture_tau, in standard deviations per trade) fits PnL in any
// currency and returns on notional alike.
import type { Agg } from './aggregate.js';
import { sampleVariance } from './stats.js';

export interface MsprtOptions {
  /** prior scale of the difference, in standard deviations of the per-trade outcome (> 0) */
  tau: number;
  /** the error rate of the confidence sequence, before the Bonferroni division (0 < alpha < 1) */
  alpha: number;
  /** candidate arms compared with control (≥ 1): the Bonferroni factor */
  arms: number;
}

export interface MsprtResult {
  /** mean(a) − mean(b) */
  difference: number;
  /** plug-in variance of the difference, σ̂²_a/n_a + σ̂²_b/n_b */
  variance: number;
  /** ln Λ, the mixture likelihood ratio against "no difference" */
  logLr: number;
  /** always-valid p-value, Bonferroni-adjusted: min(1, arms / Λ) */
  pValue: number;
  /** confidence sequence for the difference at level 1 − alpha/arms: valid at every look */
  lower: number;
  upper: number;
}

/**
 * The mSPRT of mean(a) against mean(b), two-sided. Undefined when either side has fewer than
 * 2 trades, when both sample variances are 0 (nothing to scale the prior with), or when the
 * options are out of range.
 */
export function msprt(a: Agg, b: Agg, opts: MsprtOptions): MsprtResult | undefined {
  const { tau, alpha, arms } = opts;
  if (!(tau > 0) || !Number.isFinite(tau) || !(alpha > 0 && alpha < 1) || !(arms >= 1)) return undefined;
  const va = sampleVariance(a);
  const vb = sampleVariance(b);
  if (va === undefined || vb === undefined) return undefined;
  const variance = va / a.n + vb / b.n;
  if (!(variance > 0) || !Number.isFinite(variance)) return undefined;
  const tau2 = tau * tau * 0.5 * (va + vb);
  const difference = a.mean - b.mean;
  // r = τ²/V grows like n: written with log1p and r/(1+r) so neither end loses digits.
  const r = tau2 / variance;
  const z2 = (difference * difference) / variance;
  const logLr = -0.5 * Math.log1p(r) + (0.5 * z2 * r) / (1 + r);
  const pValue = Math.min(1, Math.exp(Math.log(arms) - logLr));
  // Λ(θ₀) < arms/α ⟺ (Δ̂ − θ₀)² < V (1+r)/r · (2 ln(arms/α) + ln(1+r)): the θ₀ not rejected.
  const radius = Math.sqrt(((variance * (1 + r)) / r) * (2 * Math.log(arms / alpha) + Math.log1p(r)));
  return { difference, variance, logLr, pValue, lower: difference - radius, upper: difference + radius };
}
