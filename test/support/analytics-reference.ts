// Naive reference for the window aggregate, for tests: direct sums, two-pass variance, and
// max drawdown by an O(n²) scan of the cumulative sums P_0 = 0 .. P_n. Trades are taken in
// the order given.
import type { Agg } from '../../src/analytics/index.js';

export function naiveAgg(trades: ReadonlyArray<{ pnl: number; fees: number; notional?: number | null }>): Agg {
  // Returns on notional: only trades with a notional > 0 carry one; two-pass variance.
  const returns = trades.filter((t) => t.notional != null && t.notional > 0).map((t) => t.pnl / (t.notional as number));
  const rmean = returns.length ? returns.reduce((s, r) => s + r, 0) / returns.length : 0;
  const n = trades.length;
  const sum = trades.reduce((s, t) => s + t.pnl, 0);
  const mean = n ? sum / n : 0;
  const prefix = [0];
  for (const t of trades) prefix.push(prefix[prefix.length - 1] + t.pnl);
  let maxDrawdown = 0;
  for (let i = 0; i < prefix.length; i++)
    for (let j = i; j < prefix.length; j++) maxDrawdown = Math.max(maxDrawdown, prefix[i] - prefix[j]);
  return {
    n,
    sum,
    mean,
    m2: trades.reduce((s, t) => s + (t.pnl - mean) ** 2, 0),
    wins: trades.filter((t) => t.pnl > 0).length,
    grossProfit: trades.reduce((s, t) => s + (t.pnl > 0 ? t.pnl : 0), 0),
    grossLoss: trades.reduce((s, t) => s + (t.pnl < 0 ? -t.pnl : 0), 0),
    fees: trades.reduce((s, t) => s + t.fees, 0),
    maxPrefix: Math.max(...prefix),
    minPrefix: Math.min(...prefix),
    maxDrawdown,
    rn: returns.length,
    rmean,
    rm2: returns.reduce((s, r) => s + (r - rmean) ** 2, 0),
  };
}
