// Freqtrade's webhook message, as Freqtrade renders it, to an edgewatch trade. Pure.
//
// Freqtrade posts, per message type, the object its configuration names for that type with
// every value rendered by str.format: {"trade_id": "42", "direction": "Short",
// "is_final_exit": "True", "open_date": "2024-10-24 09:29:03+00:00", ...}. Only the final
// exit_fill of a trade becomes a trade; every other known message is acknowledged and left
// (Freqtrade retries a non-2xx answer, then drops the message).
import { ValidationError, type ErrorDetail } from '../../errors.js';
import { checkName, isPlainObject } from '../../model/names.js';
import type { TradeInput } from '../../model/trade.js';
import { toEdgewatchTrade } from './trade.js';
import { isNone, parseBool, parseDirection, parseFtTime, parseNumber, parseTradeId } from './values.js';

/** RPCMessageType of Freqtrade 2024.10. */
export const MESSAGE_TYPES = [
  'status',
  'warning',
  'exception',
  'startup',
  'entry',
  'entry_fill',
  'entry_cancel',
  'exit',
  'exit_fill',
  'exit_cancel',
  'protection_trigger',
  'protection_trigger_global',
  'strategy_msg',
  'whitelist',
  'analyzed_df',
  'new_candle',
] as const;

/** The keys of Freqtrade's exit message (freqtradebot._notify_exit), plus the strategy edgewatch needs. */
export const EXIT_FIELDS = [
  'type',
  'trade_id',
  'exchange',
  'pair',
  'leverage',
  'direction',
  'gain',
  'limit',
  'order_rate',
  'order_type',
  'amount',
  'open_rate',
  'close_rate',
  'current_rate',
  'profit_amount',
  'profit_ratio',
  'buy_tag',
  'enter_tag',
  'exit_reason',
  'open_date',
  'close_date',
  'stake_amount',
  'stake_currency',
  'base_currency',
  'quote_currency',
  'fiat_currency',
  'sub_trade',
  'cumulative_profit',
  'final_profit_ratio',
  'is_final_exit',
  'strategy',
] as const;

const REQUIRED = ['trade_id', 'pair', 'direction', 'open_date', 'close_date', 'cumulative_profit', 'is_final_exit'];

export type WebhookOutcome = { kind: 'trade'; trade: TradeInput } | { kind: 'ignored'; reason: string };

export interface WebhookContext {
  /** ?strategy= of the request. */
  queryStrategy?: unknown;
  /** EDGEWATCH_FREQTRADE_STRATEGY. */
  defaultStrategy?: string;
  nowMs: number;
}

/** Reads one webhook message; throws a ValidationError listing every problem. */
export function parseWebhook(body: unknown, ctx: WebhookContext): WebhookOutcome {
  if (!isPlainObject(body))
    throw new ValidationError('invalid Freqtrade message', [{ path: '', message: 'must be an object of fields' }]);
  const details: ErrorDetail[] = [];
  for (const [k, v] of Object.entries(body))
    if (v !== null && typeof v === 'object')
      details.push({ path: k, message: 'must be a single value (a field given twice, or nested)' });
  if (details.length) throw new ValidationError('invalid Freqtrade message', details);

  const type = body.type;
  if (type === undefined)
    throw new ValidationError('invalid Freqtrade message', [
      { path: 'type', message: 'required: add "type": "{type}" to the webhook\'s exit_fill object' },
    ]);
  if (typeof type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(type))
    throw new ValidationError('invalid Freqtrade message', [
      { path: 'type', message: `unknown message type (Freqtrade's: ${MESSAGE_TYPES.join(', ')})` },
    ]);
  if (type !== 'exit_fill') return { kind: 'ignored', reason: `${type} messages are not recorded` };

  for (const k of Object.keys(body))
    if (!(EXIT_FIELDS as readonly string[]).includes(k))
      details.push({ path: k, message: `unknown field (exit_fill has: ${EXIT_FIELDS.join(', ')})` });
  for (const k of REQUIRED)
    if (body[k] === undefined) details.push({ path: k, message: `required: add "${k}": "{${k}}"` });
  if (details.length) throw new ValidationError('invalid Freqtrade exit_fill', details);

  const fail = (path: string, message: string) => details.push({ path, message });
  const final = parseBool(body.is_final_exit);
  if (final === undefined) fail('is_final_exit', 'must be True or False');
  const tradeId = parseTradeId(body.trade_id);
  if (tradeId === undefined) fail('trade_id', 'must be a positive integer');
  const side = parseDirection(body.direction);
  if (side === undefined) fail('direction', 'must be Long or Short');
  const open = parseFtTime(body.open_date);
  if (open.error !== undefined) fail('open_date', open.error);
  const close = parseFtTime(body.close_date);
  if (close.error !== undefined) fail('close_date', close.error);
  const pnl = parseNumber(body.cumulative_profit);
  if (pnl === undefined) fail('cumulative_profit', 'must be a number');
  if (typeof body.pair !== 'string' || isNone(body.pair)) fail('pair', 'must be a pair such as BTC/USDT');
  const stake = optionalNumber(body.stake_amount, 'stake_amount', details);
  if (stake !== null && stake < 0) fail('stake_amount', 'must not be negative');
  const leverage = optionalNumber(body.leverage, 'leverage', details);
  if (leverage !== null && leverage <= 0) fail('leverage', 'must be positive');
  const strategy = pickStrategy(body.strategy, ctx, details);
  if (details.length) throw new ValidationError('invalid Freqtrade exit_fill', details);
  if (!final) return { kind: 'ignored', reason: 'a partial exit: the trade is recorded at its final exit' };

  const trade = toEdgewatchTrade(
    {
      id: tradeId as number,
      pair: body.pair as string,
      isShort: side === 'short',
      strategy: strategy as string,
      openMs: open.ms as number,
      closeMs: close.ms as number,
      // The whole trade's net profit: profit_amount is the last exit's only after partial exits.
      profitAbs: pnl as number,
      // The message carries no fee: the PnL is net of fees, the fees themselves are unknown.
      feeOpenCost: null,
      feeOpenCurrency: null,
      feeCloseCost: null,
      feeCloseCurrency: null,
      stakeAmount: stake,
      leverage,
      stakeCurrency: null,
    },
    ctx.nowMs,
  );
  return { kind: 'trade', trade };
}

function optionalNumber(v: unknown, path: string, details: ErrorDetail[]): number | null {
  if (v === undefined || isNone(v)) return null;
  const n = parseNumber(v);
  if (n === undefined) details.push({ path, message: 'must be a number or None' });
  return n ?? null;
}

/** The strategy: the message's "strategy" field, else ?strategy=, else EDGEWATCH_FREQTRADE_STRATEGY. */
function pickStrategy(inBody: unknown, ctx: WebhookContext, details: ErrorDetail[]): string | undefined {
  const { queryStrategy: inQuery, defaultStrategy } = ctx;
  if (inBody !== undefined && inQuery !== undefined && inBody !== inQuery) {
    details.push({ path: 'strategy', message: 'differs from ?strategy= of the URL: give it once' });
    return undefined;
  }
  const chosen = inBody ?? inQuery ?? defaultStrategy;
  if (chosen === undefined) {
    details.push({
      path: 'strategy',
      message:
        'unknown: the webhook names none; add "strategy": "<YourStrategy>" to exit_fill, or ?strategy=<YourStrategy> to the URL, or set EDGEWATCH_FREQTRADE_STRATEGY',
    });
    return undefined;
  }
  return checkName(
    chosen,
    inBody !== undefined ? 'strategy' : inQuery !== undefined ? '?strategy' : 'strategy',
    details,
  )
    ? chosen
    : undefined;
}
