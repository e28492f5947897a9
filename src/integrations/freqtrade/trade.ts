// One closed Freqtrade trade, as its database, its REST API and its webhook give it, and
// the edgewatch trade it becomes. Pure: the readers (db.ts, api.ts, webhook.ts) build the
// record, this module maps it, validation is the ledger's own (validateTrade).
import { ValidationError, type ErrorDetail } from '../../errors.js';
import { checkName } from '../../model/names.js';
import { validateTrade, type TradeInput } from '../../model/trade.js';
import { pairStakeCurrency, pairToSymbol, tradeKey } from './values.js';

/** The fields edgewatch reads from a closed Freqtrade trade (names as in Freqtrade's `trades` table). */
export interface FtTrade {
  id: number;
  pair: string;
  isShort: boolean;
  /** The strategy class name (`trades.strategy`); the webhook has none. */
  strategy: string | null;
  openMs: number;
  closeMs: number;
  /** Net profit of the whole trade in stake currency, after fees (`close_profit_abs`). */
  profitAbs: number | null;
  feeOpenCost: number | null;
  feeOpenCurrency: string | null;
  feeCloseCost: number | null;
  feeCloseCurrency: string | null;
  stakeAmount: number | null;
  leverage: number | null;
  /** The stake currency (the row's, else the bot's, else the pair's settlement currency). */
  stakeCurrency: string | null;
}

/**
 * Fees counted by edgewatch: the entry and exit fee costs that Freqtrade recorded in the
 * stake currency. A fee paid in another coin (BNB, the base currency) is left out: adding
 * it to a PnL in USDT would mix units. The PnL is net of fees either way (close_profit_abs).
 */
export function stakeFees(t: FtTrade): number {
  const stake = t.stakeCurrency ?? pairStakeCurrency(t.pair) ?? null;
  let fees = 0;
  if (stake !== null && t.feeOpenCurrency === stake && t.feeOpenCost !== null && t.feeOpenCost > 0)
    fees += t.feeOpenCost;
  if (stake !== null && t.feeCloseCurrency === stake && t.feeCloseCost !== null && t.feeCloseCost > 0)
    fees += t.feeCloseCost;
  return fees;
}

/** The position's notional: stake times leverage (1 when Freqtrade has none). */
export function notional(stakeAmount: number | null, leverage: number | null): number | null {
  if (stakeAmount === null || !Number.isFinite(stakeAmount) || stakeAmount < 0) return null;
  const lev = leverage !== null && Number.isFinite(leverage) && leverage > 0 ? leverage : 1;
  return stakeAmount * lev;
}

/**
 * The edgewatch trade of a closed Freqtrade trade, validated as POST /v1/trades validates,
 * or a ValidationError naming the Freqtrade trade and what is wrong with it.
 * `fallbackStrategy`: for a row without a strategy (Freqtrade always writes one).
 */
export function toEdgewatchTrade(t: FtTrade, nowMs: number, fallbackStrategy?: string): TradeInput {
  const details: ErrorDetail[] = [];
  const strategy = t.strategy ?? fallbackStrategy;
  if (strategy === undefined || strategy === null)
    details.push({ path: 'strategy', message: 'the trade has no strategy' });
  else checkName(strategy, 'strategy', details);
  const symbol = pairToSymbol(t.pair);
  if (symbol === undefined)
    details.push({
      path: 'pair',
      message: `"${String(t.pair).slice(0, 80)}" does not make a symbol of 1-64 characters`,
    });
  if (t.profitAbs === null) details.push({ path: 'close_profit_abs', message: 'a closed trade without a profit' });
  if (details.length) throw new ValidationError(`Freqtrade trade ${t.id}`, details);
  const wire = {
    id: tradeKey(t.id, t.openMs),
    strategy,
    symbol,
    side: t.isShort ? 'short' : 'long',
    opened_at: t.openMs,
    closed_at: t.closeMs,
    pnl: t.profitAbs,
    fees: stakeFees(t),
    notional: notional(t.stakeAmount, t.leverage),
  };
  try {
    return validateTrade(wire, { style: 'wire', now: nowMs });
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(`Freqtrade trade ${t.id}`, err.details);
    throw err;
  }
}
