// The window aggregate: everything the window statistics need, summarised so that two
// adjacent stretches of trades combine into the aggregate of their concatenation.
// It is a monoid (EMPTY is the identity, combine is associative) but NOT commutative:
// "a before b" in time matters for the drawdown fields.
//
// Decision: we keep a running mean and m2 = Σ(x - mean)² (Welford, combined with the
// parallel formula of Chan, Golub and LeVeque) instead of Σpnl². Variance from
// Σx² - (Σx)²/n cancels catastrophically when the mean is large next to the spread
// (e.g. a constant 0.1 per trade gives a tiny non-zero variance and an absurd Sharpe);
// m2 is a sum of non-negative terms, so it is never negative, exactly 0 for a constant
// series, and the combine stays associative up to rounding.

export interface Agg {
  n: number;
  /** trades with pnl > 0 (pnl == 0 is a trade, not a win) */
  wins: number;
  /** Σ pnl */
  sum: number;
  /** running mean of pnl (0 when n == 0) */
  mean: number;
  /** Σ (pnl - mean)² */
  m2: number;
  /** Σ pnl over pnl > 0 */
  grossProfit: number;
  /** Σ -pnl over pnl < 0 (≥ 0) */
  grossLoss: number;
  /** Σ fees */
  fees: number;
  /** max over the prefix sums P_0 = 0, P_1, ..., P_n of cumulative pnl */
  maxPrefix: number;
  /** min over the same prefix sums */
  minPrefix: number;
  /** max over i <= j of P_i - P_j (≥ 0), P_0 = 0 */
  maxDrawdown: number;
  /** trades that carry a notional > 0: their return on notional r = pnl / notional */
  rn: number;
  /** running mean of r over those trades (0 when rn == 0) */
  rmean: number;
  /** Σ (r - rmean)² over those trades */
  rm2: number;
}

export function empty(): Agg {
  return {
    n: 0,
    wins: 0,
    sum: 0,
    mean: 0,
    m2: 0,
    grossProfit: 0,
    grossLoss: 0,
    fees: 0,
    maxPrefix: 0,
    minPrefix: 0,
    maxDrawdown: 0,
    rn: 0,
    rmean: 0,
    rm2: 0,
  };
}

export const EMPTY: Readonly<Agg> = Object.freeze(empty());

function checkFinite(pnl: number, fees: number, notional: number | null): void {
  if (notional !== null && !Number.isFinite(notional))
    throw new RangeError(`notional must be a finite number or null, got ${notional}`);
  // A NaN or infinity would poison every aggregate it is folded into (and the cached
  // totals) for good, so refuse it here, loudly, instead of exporting NaN later.
  if (!Number.isFinite(pnl)) throw new RangeError(`pnl must be a finite number, got ${pnl}`);
  if (!Number.isFinite(fees)) throw new RangeError(`fees must be a finite number, got ${fees}`);
}

export function single(pnl: number, fees: number, notional: number | null = null): Agg {
  return addTrade(empty(), pnl, fees, notional);
}

// The one place the combine arithmetic lives; combineInto and addTrade both call it with
// the fields of the right-hand side, so adding a trade and combining with single(trade)
// give bit-identical results. All right-hand fields arrive as arguments (read before any
// write), so combineInto(x, x) is safe.
function mergeInto(
  t: Agg,
  bn: number,
  bwins: number,
  bsum: number,
  bmean: number,
  bm2: number,
  bgp: number,
  bgl: number,
  bfees: number,
  bmax: number,
  bmin: number,
  bdd: number,
  brn: number,
  brmean: number,
  brm2: number,
): Agg {
  if (bn === 0) return t;
  if (brn > 0) {
    // The same parallel formula for the returns of the trades that carry a notional.
    const arn = t.rn;
    const rn = arn + brn;
    if (arn === 0) {
      t.rmean = brmean;
      t.rm2 = brm2;
    } else {
      const rdelta = brmean - t.rmean;
      t.rmean = t.rmean + (rdelta * brn) / rn;
      t.rm2 = t.rm2 + brm2 + (rdelta * rdelta * arn * brn) / rn;
    }
    t.rn = rn;
  }
  const an = t.n;
  const n = an + bn;
  if (an === 0) {
    t.mean = bmean;
    t.m2 = bm2;
  } else {
    // Chan et al.: mean and m2 of the union from those of the parts.
    const delta = bmean - t.mean;
    t.mean = t.mean + (delta * bn) / n;
    t.m2 = t.m2 + bm2 + (delta * delta * an * bn) / n;
  }
  // Drawdown: the largest fall either lies inside a, inside b, or runs from a's peak to
  // b's trough (b's prefix sums are shifted by a.sum).
  const asum = t.sum;
  const amax = t.maxPrefix;
  t.maxDrawdown = Math.max(t.maxDrawdown, bdd, amax - (asum + bmin));
  t.maxPrefix = Math.max(amax, asum + bmax);
  t.minPrefix = Math.min(t.minPrefix, asum + bmin);
  t.n = n;
  t.wins += bwins;
  t.sum = asum + bsum;
  t.grossProfit += bgp;
  t.grossLoss += bgl;
  t.fees += bfees;
  return t;
}

/** Mutates target into "target then b" and returns it. Hot path: allocates nothing. */
export function combineInto(target: Agg, b: Agg): Agg {
  return mergeInto(
    target,
    b.n,
    b.wins,
    b.sum,
    b.mean,
    b.m2,
    b.grossProfit,
    b.grossLoss,
    b.fees,
    b.maxPrefix,
    b.minPrefix,
    b.maxDrawdown,
    b.rn,
    b.rmean,
    b.rm2,
  );
}

/** A new aggregate of "a then b". */
export function combine(a: Agg, b: Agg): Agg {
  return combineInto({ ...a }, b);
}

/** Mutates target into "target then one trade" and returns it. A notional ≤ 0 or null carries no return. */
export function addTrade(target: Agg, pnl: number, fees: number, notional: number | null = null): Agg {
  checkFinite(pnl, fees, notional);
  const hasReturn = notional !== null && notional > 0;
  const win = pnl > 0;
  const loss = pnl < 0; // pnl == 0 (or -0) is neither: a flat trade
  // The fields of single(pnl): prefix sums 0, pnl, so maxPrefix max(0, pnl), minPrefix
  // min(0, pnl), drawdown max(0, -pnl); mean pnl, m2 0.
  return mergeInto(
    target,
    1,
    win ? 1 : 0,
    pnl,
    pnl,
    0,
    win ? pnl : 0,
    loss ? -pnl : 0,
    fees,
    win ? pnl : 0,
    loss ? pnl : 0,
    loss ? -pnl : 0,
    hasReturn ? 1 : 0,
    hasReturn ? pnl / notional : 0,
    0,
  );
}

/**
 * What per-trade comparisons (drift, regression, CUSUM, experiment tests) compare: the return
 * on notional when every trade of both samples carries one, so that a change of position size
 * is not read as a change of edge; PnL otherwise. Returns the two samples as aggregates whose
 * n, mean and m2 are those of the chosen outcome (other fields as given).
 */
export function comparable(a: Agg, b: Agg): { outcome: 'return' | 'pnl'; a: Agg; b: Agg } {
  if (a.n > 0 && b.n > 0 && a.rn === a.n && b.rn === b.n)
    return { outcome: 'return', a: { ...a, mean: a.rmean, m2: a.rm2 }, b: { ...b, mean: b.rmean, m2: b.rm2 } };
  return { outcome: 'pnl', a, b };
}

/** The aggregate of the parts in iteration order (a fresh object; EMPTY for none). */
export function fold(parts: Iterable<Agg>): Agg {
  const acc = empty();
  for (const part of parts) combineInto(acc, part);
  return acc;
}
