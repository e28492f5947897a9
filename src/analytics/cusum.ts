// A sequential detector of a fall in PnL per trade: a self-starting CUSUM (Hawkins 1987)
// on standardized PnL, one per designed shift, in log-likelihood-ratio units (nats).
//
// Why: the windowed drift (24h against the baseline) sees only the trades of one day, so
// at a few trades a day it never has a sample, and at any rate it forgets evidence older
// than 24h. A CUSUM accumulates the evidence trade by trade and attains Lorden's bound
// ln(ARL0)/KL for the shift it is designed for (docs/alerting.md has the numbers).
//
// Self-starting (Hawkins 1987): each trade is standardized against the earlier trades of
// the same run, r = (x - mean_ref) / (sd √(1 + 1/n_ref)), never against a reference
// estimated once and frozen (off by σ/√n, which makes a CUSUM with a small drift allowance
// alarm for sure). Two refinements, each measured in bench/detection:
// - Lagged reference. The reference holds all trades of the run but the newest
//   L = min(1000, (n - minTrades)/3): after a fall, the first L trades at the new level are
//   scored against a reference that does not contain them yet. Without the lag each new
//   trade pulls the reference towards itself and a strategy with a short history (100
//   trades) needed 346 trades instead of 79 to show a 0.5σ fall (docs/alerting.md).
// - Volatility-proof scale. sd = max(sd of the reference, exponentially weighted sd of
//   the recent trades, half-life 50 trades). Doubled volatility with the same expectancy
//   inflates every residual and, unscaled, alarmed 40% of such runs; the recent sd absorbs
//   it within a few dozen trades, and a fall of the mean barely moves it.
// - Long-run scale (issue 11). Real PnL comes in regimes, volatility clusters and runs of
//   correlated outcomes; a sum of m trades then varies like m·σ²·f, not m·σ², and a CUSUM
//   scaled by the per-trade σ reads every bad spell as a fall (the healthy demo reached
//   34 nats; Markov regimes of ±0.25σ alarmed a strategy at 200 trades a day 0.42 times a
//   week). The residual's scale is sd·√f, f = the long-run variance of the reference over
//   its variance, at least 1 (cusumVarianceInflation: Bartlett / Newey–West from online
//   autocovariances, the largest ratio over the bandwidths 10, 20, 40, … up to
//   L = min(200, n_ref/3)). Independent trades keep f ≈ 1 and nearly today's delays.
// - Prior (issue 11). No estimate inside a run can know, while its reference holds one or
//   two spells of a regime, that the next spell is not a fall; the strategy's regimes do not
//   change at a deploy. So f is at least the inflation of the run the latest deploy ended
//   (priorInflation; the sidecar computes it from the ledger, src/sidecar/cusum-prior.ts).
//
// For each designed shift δ (in σ of PnL per trade) the statistic is the CUSUM of the
// Gaussian log-likelihood ratio of "mean fell by δσ" against "unchanged":
//   W = max(0, W + δ (-r - δ/2)),   r clipped to ±CUSUM_CLIP,
// so W is in nats and one threshold serves every δ: on a stationary stream W crosses h
// about once in every few e^h trades, and after a fall of δσ it grows by KL = δ²/2 per
// trade. The clip bounds what one fat-tailed loss can add: δ·(clip + δ/2).
//
// The caller restarts the state at each parameter deploy (a new run: the new version is
// measured against itself; TradingParamVersionRegression compares it with the old one) and
// feeds the run's trades in (closed_at, id) order. Pure: no I/O, O(CUSUM_LRV_MAX_LAG) per
// trade, memory bounded by CUSUM_MAX_LAG + 3 CUSUM_LRV_MAX_LAG numbers.

/** Designed falls of PnL per trade, in σ: 0.2 (slow decays, a win rate 0.55 → 0.45) and 0.5. */
export const CUSUM_SHIFTS: readonly number[] = [0.2, 0.5];
/** Standardized residuals are clipped to ±4 so one outlier cannot raise W by more than δ(4 + δ/2). */
export const CUSUM_CLIP = 4;
/** The newest trades kept out of the reference: min(CUSUM_MAX_LAG, (n - minTrades) / 3). */
export const CUSUM_MAX_LAG = 1000;
/** Half-life, in trades, of the recent standard deviation. */
export const CUSUM_SCALE_HALF_LIFE = 50;

/** Largest Bartlett bandwidth, in trades, of the long-run variance of the reference. */
export const CUSUM_LRV_MAX_LAG = 200;
/** The bandwidth grows with the reference: L = min(CUSUM_LRV_MAX_LAG, floor(n_ref / CUSUM_LRV_DIVISOR)). */
export const CUSUM_LRV_DIVISOR = 3;
/** The smallest of the bandwidths 10, 20, 40, … (below L) whose ratios are compared with L's. */
export const CUSUM_LRV_FIRST_SCALE = 10;

export interface CusumOptions {
  /** cap of the lag (0: no lag, the plain self-starting CUSUM) */
  maxLag?: number;
  /** half-life of the recent sd in trades (0: the reference sd alone) */
  scaleHalfLife?: number;
  /** cap of the long-run variance's bandwidth (0: the per-trade variance alone, the design before issue 11) */
  lrvMaxLag?: number;
  /** false: the ratio at the bandwidth L alone, not the largest over 10, 20, 40, …, L */
  lrvMultiScale?: boolean;
  /**
   * The strategy's inflation measured before this run (src/sidecar/cusum-prior.ts: the
   * cusumVarianceInflation of the run the latest deploy ended). The start of a run cannot see
   * regimes longer than its reference, and a strategy's regimes do not change at a deploy.
   * Default 1: none.
   */
  priorInflation?: number;
  /**
   * How many trades of the reference the prior is worth: the inflation is at least
   * 1 + (prior - 1)·w/(w + n_ref), so the run's own estimate takes over as it grows. Default
   * none: the prior is a floor for the whole run (the design; see docs/alerting.md, "The
   * prior", for why a fading prior was not enough on the demo).
   */
  priorTrades?: number;
}

/**
 * The reference's autocovariance sums, kept online as its trades enter (oldest first):
 * y = x - pivot, the pivot being the reference's first trade, keeps the cross products
 * small when the PnL's level is far from 0 next to its spread. O(maxLag) numbers.
 */
export interface LrvState {
  maxLag: number;
  /** compare the bandwidths 10, 20, 40, … below L with L (the design), or L alone */
  multiScale: boolean;
  /** the inflation carried over from before the run (1: none) */
  prior: number;
  /** the trades of reference the prior is worth (null: a floor for the whole run) */
  priorTrades: number | null;
  pivot: number;
  /** Σ y over the reference */
  sum: number;
  /** cross[k] = Σ_{t>k} y_t y_{t-k}, k = 0..maxLag */
  cross: number[];
  /** the first maxLag y of the reference */
  head: number[];
  /** the last maxLag y of the reference, oldest first */
  tail: number[];
}

export interface CusumState {
  /** trades folded in since the run started */
  n: number;
  /** the reference: the run's trades but the newest `lagged` ones (Welford mean and Σ(x - mean)²) */
  ref: { n: number; mean: number; m2: number };
  /** the newest trades, oldest first, not yet in the reference */
  lagged: number[];
  /** exponentially weighted mean and variance of the recent trades (from the first scored trade on) */
  ew: { mean: number; variance: number } | undefined;
  /** one statistic per shift, in nats, same order as `shifts` */
  llr: number[];
  shifts: readonly number[];
  maxLag: number;
  /** weight of the newest trade in the recent sd (0: not used) */
  alpha: number;
  /** the reference's autocovariances (undefined: the per-trade variance alone) */
  lrv: LrvState | undefined;
}

/** A new run. The options exist for the benchmark's comparison; the defaults are the design. */
export function cusumStart(shifts: readonly number[] = CUSUM_SHIFTS, opts: CusumOptions = {}): CusumState {
  for (const d of shifts)
    if (!(d > 0 && Number.isFinite(d))) throw new RangeError(`a CUSUM shift must be a positive number, got ${d}`);
  const halfLife = opts.scaleHalfLife ?? CUSUM_SCALE_HALF_LIFE;
  const lrvMaxLag = opts.lrvMaxLag ?? CUSUM_LRV_MAX_LAG;
  return {
    n: 0,
    ref: { n: 0, mean: 0, m2: 0 },
    lagged: [],
    ew: undefined,
    llr: shifts.map(() => 0),
    shifts,
    maxLag: opts.maxLag ?? CUSUM_MAX_LAG,
    alpha: halfLife > 0 ? 1 - 2 ** (-1 / halfLife) : 0,
    lrv:
      lrvMaxLag > 0
        ? {
            maxLag: lrvMaxLag,
            multiScale: opts.lrvMultiScale ?? true,
            prior: priorOf(opts.priorInflation),
            priorTrades: priorTradesOf(opts.priorTrades),
            pivot: 0,
            sum: 0,
            cross: new Array<number>(lrvMaxLag + 1).fill(0),
            head: [],
            tail: [],
          }
        : undefined,
  };
}

function priorOf(f: number | undefined): number {
  if (f === undefined) return 1;
  if (!(f >= 1 && Number.isFinite(f))) throw new RangeError(`a prior inflation must be a finite number ≥ 1, got ${f}`);
  return f;
}

function priorTradesOf(w: number | undefined): number | null {
  if (w === undefined) return null;
  if (!(w >= 0 && Number.isFinite(w)))
    throw new RangeError(`a prior's weight must be a finite number of trades ≥ 0, got ${w}`);
  return w;
}

/** Folds the reference's next trade (its n-th, from 0) into the autocovariance sums. O(maxLag). */
function lrvAdd(l: LrvState, n: number, x: number): void {
  if (n === 0) l.pivot = x;
  const y = x - l.pivot;
  const t = l.tail;
  for (let k = 1; k <= t.length; k++) l.cross[k] += y * t[t.length - k];
  l.cross[0] += y * y;
  l.sum += y;
  if (l.head.length < l.maxLag) l.head.push(y);
  t.push(y);
  if (t.length > l.maxLag) t.shift();
}

/** The largest Bartlett bandwidth for a reference of n trades: min(maxLag, n / 3, n - 1). */
export function lrvBandwidth(maxLag: number, n: number): number {
  return Math.max(0, Math.min(maxLag, Math.floor(n / CUSUM_LRV_DIVISOR), n - 1));
}

/**
 * Autocovariances γ_0..γ_L of the reference's n trades about their mean, with divisor n
 * (the Newey–West convention, which keeps every Bartlett sum non-negative), from the online
 * sums: n γ_k = Σ_{t>k} y_t y_{t-k} - m (Σ_{t>k} y_t + Σ_{t≤n-k} y_t) + (n - k) m²,
 * m = Σy / n, where Σ_{t>k} y_t is Σy less the first k and Σ_{t≤n-k} y_t less the last k.
 */
export function lrvAutocovariances(l: LrvState, n: number, L: number): number[] {
  const m = l.sum / n;
  const out: number[] = [];
  let headSum = 0;
  let tailSum = 0;
  for (let k = 0; k <= L; k++) {
    if (k > 0) {
      headSum += l.head[k - 1];
      tailSum += l.tail[l.tail.length - k];
    }
    out.push((l.cross[k] - m * (2 * l.sum - headSum - tailSum) + (n - k) * m * m) / n);
  }
  return out;
}

/**
 * Bartlett's (Newey–West's) long-run variance over the variance, for the autocovariances
 * γ_0..γ_b at bandwidth b: 1 + 2 Σ_{k=1..b} (1 - k/(b+1)) γ_k / γ_0.
 */
export function bartlettRatio(gamma: readonly number[], b: number): number {
  let s = 0;
  for (let k = 1; k <= b; k++) s += (1 - k / (b + 1)) * gamma[k];
  return 1 + (2 * s) / gamma[0];
}

/**
 * How much more the mean of many consecutive trades varies than independent trades would
 * make it: the long-run variance of the reference over its per-trade variance, at least 1
 * (1 until the reference holds 3 trades, or without the sums). The largest Bartlett ratio
 * over the bandwidths 10, 20, 40, … below L and L itself, L = lrvBandwidth(n_ref): serial
 * correlation that fades within a few trades is measured best at a short bandwidth (a long
 * one adds noise that, half the time, hides it), regimes lasting tens to hundreds of trades
 * only at a long one. Multiply the per-trade variance by it to standardize sums of trades.
 */
export function cusumVarianceInflation(s: CusumState): number {
  const l = s.lrv;
  const n = s.ref.n;
  if (!l) return 1;
  const prior = l.priorTrades === null ? l.prior : 1 + ((l.prior - 1) * l.priorTrades) / (l.priorTrades + n);
  const L = n < 2 ? 0 : lrvBandwidth(l.maxLag, n);
  if (L < 1) return prior;
  const g = lrvAutocovariances(l, n, L);
  if (!(g[0] > 0)) return prior;
  let f = bartlettRatio(g, L);
  if (l.multiScale) for (let b = CUSUM_LRV_FIRST_SCALE; b < L; b *= 2) f = Math.max(f, bartlettRatio(g, b));
  return Math.max(1, f, prior);
}

function armed(s: CusumState, minTrades: number): boolean {
  return s.ref.n >= Math.max(2, minTrades);
}

/**
 * The standardized residual of the next trade against the reference, clipped; undefined
 * until the reference holds `minTrades` (≥ 2) trades.
 */
export function cusumResidual(s: CusumState, pnl: number, minTrades: number): number | undefined {
  if (!armed(s, minTrades)) return undefined;
  const sd =
    Math.max(Math.sqrt(s.ref.m2 / (s.ref.n - 1)), Math.sqrt(s.ew?.variance ?? 0)) *
    Math.sqrt(cusumVarianceInflation(s));
  let r: number;
  if (sd > 0) r = ((pnl - s.ref.mean) / sd) * Math.sqrt(s.ref.n / (s.ref.n + 1));
  else r = pnl === s.ref.mean ? 0 : pnl > s.ref.mean ? CUSUM_CLIP : -CUSUM_CLIP; // constant so far: any change is extreme
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
    if (s.alpha > 0) {
      // The recent scale starts from the reference at the first scored trade.
      s.ew ??= { mean: s.ref.mean, variance: s.ref.m2 / (s.ref.n - 1) };
      const e = pnl - s.ew.mean;
      s.ew.mean += s.alpha * e;
      s.ew.variance = (1 - s.alpha) * (s.ew.variance + s.alpha * e * e);
    }
  }
  s.n += 1;
  s.lagged.push(pnl);
  const lag = Math.min(s.maxLag, Math.max(0, Math.floor((s.n - Math.max(2, minTrades)) / 3)));
  while (s.lagged.length > lag) {
    const x = s.lagged.shift() as number;
    if (s.lrv) lrvAdd(s.lrv, s.ref.n, x);
    s.ref.n += 1;
    const delta = x - s.ref.mean;
    s.ref.mean += delta / s.ref.n;
    s.ref.m2 += delta * (x - s.ref.mean);
  }
  return s;
}

/**
 * The statistics to export, one per shift; undefined (export nothing) until the reference
 * holds `minTrades` trades, the minimum sample before the first residual can be scored.
 */
export function cusumValues(s: CusumState, minTrades: number): Array<{ shift: number; llr: number }> | undefined {
  if (!armed(s, minTrades)) return undefined;
  return s.shifts.map((shift, i) => ({ shift, llr: s.llr[i] }));
}
