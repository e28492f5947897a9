// Deterministic trades for the crash tests: the bot, the HTTP writer and the retry all derive
// a trade's content from (prefix, index), so a retry sends exactly what the first attempt did.
import { rng } from '../../src/demo/market.js';

/** The demo's seeded PRNG (mulberry32), so a failing run can be repeated with its seed. */
export { rng };

export interface CrashTrade {
  id: string;
  symbol: string;
  side: 'long' | 'short';
  pnl: number;
  fees: number;
  closedAt: number;
}

export function crashTrade(prefix: string, i: number, baseMs: number): CrashTrade {
  return {
    id: `${prefix}-${i}`,
    symbol: i % 3 ? 'BTC-USD' : 'ETH-USD',
    side: i % 2 ? 'long' : 'short',
    pnl: ((i * 7919) % 200) / 10 - 9.5,
    fees: 0.01,
    closedAt: baseMs + i,
  };
}

/** The same trade as the HTTP API spells it. */
export function wireCrashTrade(strategy: string, prefix: string, i: number, baseMs: number) {
  const t = crashTrade(prefix, i, baseMs);
  return { id: t.id, strategy, symbol: t.symbol, side: t.side, pnl: t.pnl, fees: t.fees, closed_at: t.closedAt };
}
