// Window statistics, exactly as docs/statistics.md ("Window statistics") defines them.
import type { Agg } from './aggregate.js';

export const STAT_NAMES = [
  'trades',
  'win_ratio',
  'net_pnl',
  'pnl_per_trade',
  'gross_profit',
  'gross_loss',
  'profit_factor',
  'sharpe_ratio',
  'max_drawdown',
  'fees',
  'return_per_trade',
] as const;
export type StatName = (typeof STAT_NAMES)[number];
export type WindowStats = { trades: number } & Partial<Record<Exclude<StatName, 'trades'>, number>>;

/** Sample variance m2 / (n - 1); undefined when n < 2. */
export function sampleVariance(a: Agg): number | undefined {
  return a.n < 2 ? undefined : a.m2 / (a.n - 1);
}

/**
 * The statistics of one window. A statistic that is undefined for this window is absent
 * (no key at all), so a caller can export "every key present" and nothing else.
 */
export function windowStats(a: Agg): WindowStats {
  const out: WindowStats = { trades: a.n };
  if (a.n === 0) return out;
  const set = (name: Exclude<StatName, 'trades'>, value: number): void => {
    // NaN is reachable only when sums overflow past ±1.8e308 (Infinity - Infinity), far
    // outside any PnL; an absent series is more honest than a NaN sample.
    if (!Number.isNaN(value)) out[name] = value;
  };
  set('win_ratio', a.wins / a.n);
  set('net_pnl', a.sum);
  set('pnl_per_trade', a.sum / a.n);
  set('gross_profit', a.grossProfit);
  set('gross_loss', a.grossLoss);
  if (a.grossLoss > 0) set('profit_factor', a.grossProfit / a.grossLoss);
  else if (a.grossProfit > 0) set('profit_factor', Infinity);
  const variance = sampleVariance(a);
  if (variance !== undefined) {
    const stdev = Math.sqrt(variance);
    if (stdev > 0) set('sharpe_ratio', a.mean / stdev);
  }
  set('max_drawdown', a.maxDrawdown);
  set('fees', a.fees);
  // Mean of pnl / notional over the trades that carry a notional; absent when none does.
  if (a.rn > 0) set('return_per_trade', a.rmean);
  return out;
}
