// Freqtrade's values as it renders them, and the names edgewatch gives them. Pure functions.
//
// Freqtrade's webhook renders every value with Python's str.format: numbers as Python's
// repr ("2.83791", "1e-05"), booleans as "True"/"False", None as "None", datetimes as
// str(datetime) ("2024-10-24 09:29:03+00:00", microseconds when non-zero). Its database
// stores datetimes as naive UTC text ("2024-10-24 09:29:03.123456"). Both are read here,
// and so are the plain JSON values a hand-written body would carry.
import { checkTime } from '../../model/trade.js';
import { NAME_RE } from '../../model/names.js';

/** Python's `None` as the webhook renders it, or JSON null. */
export function isNone(v: unknown): boolean {
  return v === null || v === 'None';
}

// Python's float repr and str.format output ("{x:.8f}", "{x:+}"); no nan, inf or hex.
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A finite number from a JSON number or a rendered one; undefined when it is neither. */
export function parseNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string' || !DECIMAL.test(v.trim())) return undefined;
  const n = Number(v.trim());
  return Number.isFinite(n) ? n : undefined;
}

/** A Python bool ("True"/"False"), a JSON boolean, or their lower-case spellings. */
export function parseBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 'True' || v === 'true') return true;
  if (v === 'False' || v === 'false') return false;
  return undefined;
}

/** A Freqtrade trade id: a positive integer, rendered or not. */
export function parseTradeId(v: unknown): number | undefined {
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  if (!/^[1-9]\d{0,15}$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Epoch milliseconds of a Freqtrade datetime: str(datetime) with or without an offset, an
 * RFC 3339 time, or epoch milliseconds. A time without an offset is UTC: Freqtrade keeps
 * naive UTC datetimes in its database (and renders them so in older messages).
 */
export function parseFtTime(v: unknown): { ms: number; error?: undefined } | { ms?: undefined; error: string } {
  if (typeof v === 'string') {
    const s = v.trim();
    const naive = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?$/.test(s);
    const c = checkTime(naive ? `${s}Z` : s, false);
    return c.error === undefined
      ? c
      : { error: 'must be a date as Freqtrade renders it, e.g. "2024-10-24 09:29:03+00:00"' };
  }
  const c = checkTime(v, false);
  return c.error === undefined
    ? c
    : { error: 'must be a date as Freqtrade renders it, e.g. "2024-10-24 09:29:03+00:00"' };
}

/** "Long"/"Short" (webhook `direction`), any case, to edgewatch's side. */
export function parseDirection(v: unknown): 'long' | 'short' | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase();
  return s === 'long' || s === 'short' ? s : undefined;
}

/**
 * A Freqtrade pair as an edgewatch symbol (a Prometheus label value): "BTC/USDT" becomes
 * "BTC-USDT", the futures pair "BTC/USDT:USDT" becomes "BTC-USDT:USDT"; any other character
 * outside [A-Za-z0-9_.:-] becomes "_". Undefined when nothing valid is left.
 */
export function pairToSymbol(pair: unknown): string | undefined {
  if (typeof pair !== 'string') return undefined;
  const s = pair
    .trim()
    .replace(/\//g, '-')
    .replace(/[^A-Za-z0-9_.:-]/g, '_');
  return NAME_RE.test(s) ? s : undefined;
}

/**
 * The settlement (stake) currency a pair's profit is counted in: "USDT" for "BTC/USDT" and
 * for the futures pair "BTC/USDT:USDT" (the part after ":"), "BTC" for "ETH/BTC".
 */
export function pairStakeCurrency(pair: string): string | undefined {
  const settle = /:([^:/]+)$/.exec(pair);
  if (settle) return settle[1];
  const quote = /\/([^:/]+)/.exec(pair);
  return quote ? quote[1] : undefined;
}

/**
 * The edgewatch id of a Freqtrade trade: its id and its open time in whole seconds. The
 * time tells trades apart when a new tradesv3.sqlite starts its ids at 1 again. Seconds, not
 * milliseconds: Freqtrade's REST API gives int(timestamp() * 1000), which float rounding puts
 * one millisecond below the time its database and webhook give for some whole-millisecond
 * times (e.g. 2004-01-25 03:06:40.123 gives .122; test/freqtrade-pull.test.ts). The second is
 * the same for all three: that error is far below a millisecond, and a time on a whole
 * second is exact in a float.
 */
export function tradeKey(tradeId: number, openedMs: number): string {
  return `ft-${tradeId}-${Math.floor(openedMs / 1000)}`;
}
