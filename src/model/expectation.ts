// What a parameter version's backtest promised: validation of an expectation, shared by the
// SDK (camelCase) and the HTTP API (snake_case). Either summary figures or the backtest's
// trade list (then the summary is computed from it, src/analytics/backtest.ts, and the
// trades' outcomes are kept as the empirical distribution). Every problem is reported, with
// its path, before anything is written.
import { summarizeBacktest, type BacktestSummary, type BacktestTrade } from '../analytics/backtest.js';
import { ValidationError, type ErrorDetail } from '../errors.js';
import { isPlainObject } from './names.js';
import { MAX_ABS_PNL, MAX_AMOUNT, MAX_FUTURE_MS, MIN_TIME_MS, checkTime, type FieldStyle } from './trade.js';

/**
 * Fewer backtest trades cannot pin the expected mean: its own error, sd/√n, is 0.18 sd at 30
 * trades, and the known-reference CUSUM (designed for falls of 0.5 sd) would read a larger
 * error as a fall.
 */
export const MIN_BACKTEST_TRADES = 30;
/** Trades of a list sent in one request, and outcomes kept per expectation (an import keeps the newest). */
export const MAX_OUTCOMES = 10_000;
const MAX_TEXT = 1000;

/** The outcomes of the backtest's trades, in its order: PnL and, when every trade had one, the return. */
export interface Outcome {
  pnl: number;
  ret: number | null;
}

export interface ExpectationInput {
  summary: BacktestSummary;
  /** the backtest's trades' outcomes, oldest first, at most MAX_OUTCOMES (null: a summary was sent) */
  outcomes: Outcome[] | null;
  /** trades the list held when more than MAX_OUTCOMES were summarised (an import) */
  outcomesDropped: number;
  source: string | null;
  note: string | null;
}

// wire name -> sdk name
const TOP = {
  summary: 'summary',
  trades: 'trades',
  period_start: 'periodStart',
  period_end: 'periodEnd',
  fee_per_trade: 'feePerTrade',
  source: 'source',
  note: 'note',
} as const;
const SUMMARY = {
  trades: 'trades',
  trades_per_day: 'tradesPerDay',
  pnl_mean: 'pnlMean',
  pnl_sd: 'pnlSd',
  return_mean: 'returnMean',
  return_sd: 'returnSd',
  win_ratio: 'winRatio',
  max_drawdown: 'maxDrawdown',
} as const;
const TRADE = { pnl: 'pnl', return: 'return', fees: 'fees', opened_at: 'openedAt', closed_at: 'closedAt' } as const;

type Names<T extends Record<string, string>> = (wire: keyof T & string) => string;
const namer =
  <T extends Record<string, string>>(map: T, style: FieldStyle): Names<T> =>
  (wire) =>
    style === 'wire' ? wire : map[wire];

/** A finite number within ±max (and ≥ 0, or > 0, when asked); pushes a detail otherwise. */
function num(
  v: unknown,
  path: string,
  details: ErrorDetail[],
  o: { max?: number; min?: number; positive?: boolean; integer?: boolean; index?: number } = {},
): number | undefined {
  const fail = (message: string) => {
    details.push({ index: o.index, path, message });
    return undefined;
  };
  if (typeof v !== 'number') return fail('must be a number');
  if (!Number.isFinite(v)) return fail('must be a finite number');
  if (o.integer && !Number.isInteger(v)) return fail('must be an integer');
  if (o.positive && !(v > 0)) return fail('must be greater than 0');
  if (o.min !== undefined && v < o.min) return fail(`must be at least ${o.min}`);
  const max = o.max ?? MAX_ABS_PNL;
  if (Math.abs(v) > max) return fail(`must be within ±${max}`);
  return v === 0 ? 0 : v;
}

function time(v: unknown, path: string, style: FieldStyle, now: number, details: ErrorDetail[], index?: number) {
  const c = checkTime(v, style === 'sdk');
  if (c.error !== undefined) details.push({ index, path, message: c.error });
  else if (c.ms < MIN_TIME_MS)
    details.push({ index, path, message: 'is before 2000-01-01 (seconds given as milliseconds?)' });
  else if (c.ms > now + MAX_FUTURE_MS)
    details.push({ index, path, message: 'is in the future: a backtest ran on the past' });
  else return c.ms;
  return undefined;
}

function unknownKeys(
  obj: Record<string, unknown>,
  known: string[],
  prefix: string,
  details: ErrorDetail[],
  index?: number,
) {
  for (const k of Object.keys(obj))
    if (!known.includes(k))
      details.push({ index, path: `${prefix}${k}`, message: `unknown field (known: ${known.join(', ')})` });
}

/**
 * Validates `{summary: {...}}` or `{trades: [...]}` (with optional period, fee per trade,
 * source and note) and returns the expectation to store. Throws a ValidationError listing
 * every problem; nothing about it depends on the ledger.
 */
export function validateExpectation(body: unknown, style: FieldStyle, now: number): ExpectationInput {
  const top = namer(TOP, style);
  const details: ErrorDetail[] = [];
  const fail = () => new ValidationError('invalid expectation', details.slice(0, 100));
  if (!isPlainObject(body)) {
    details.push({ path: '', message: `must be an object with "${top('summary')}" or "${top('trades')}"` });
    throw fail();
  }
  unknownKeys(
    body,
    Object.keys(TOP).map((k) => top(k as keyof typeof TOP)),
    '',
    details,
  );
  const get = (k: keyof typeof TOP) => body[top(k)];
  const hasSummary = get('summary') !== undefined;
  const hasTrades = get('trades') !== undefined;
  if (hasSummary === hasTrades)
    details.push({
      path: hasSummary ? top('trades') : top('summary'),
      message: `send either "${top('summary')}" (the backtest's figures) or "${top('trades')}" (its trade list), ${hasSummary ? 'not both' : 'one of them'}`,
    });

  let period: { startMs: number; endMs: number } | undefined;
  const ps = get('period_start');
  const pe = get('period_end');
  if ((ps === undefined || ps === null) !== (pe === undefined || pe === null))
    details.push({
      path: ps == null ? top('period_start') : top('period_end'),
      message: 'the period needs its start and its end',
    });
  else if (ps != null) {
    const a = time(ps, top('period_start'), style, now, details);
    const b = time(pe, top('period_end'), style, now, details);
    if (a !== undefined && b !== undefined) {
      if (b > a) period = { startMs: a, endMs: b };
      else details.push({ path: top('period_end'), message: `must be after ${top('period_start')}` });
    }
  }
  let fee: number | null = null;
  if (get('fee_per_trade') != null)
    fee = num(get('fee_per_trade'), top('fee_per_trade'), details, { min: 0, max: MAX_AMOUNT }) ?? null;
  const text = (k: 'source' | 'note'): string | null => {
    const v = get(k);
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || v.length > MAX_TEXT)
      details.push({ path: top(k), message: `must be a string of at most ${MAX_TEXT} characters` });
    return typeof v === 'string' ? v : null;
  };
  const source = text('source');
  const note = text('note');
  if (details.length) throw fail();

  if (hasSummary) {
    const summary = checkSummary(get('summary'), style, top('summary'), period, fee, details);
    if (!summary) throw fail();
    return { summary, outcomes: null, outcomesDropped: 0, source, note };
  }
  const trades = checkTrades(get('trades'), style, top('trades'), now, details);
  if (!trades) throw fail();
  if (!period && !trades.some((t) => t.closedMs !== null))
    details.push({
      path: top('period_start'),
      message: `the trades carry no times: give the backtest's period (${top('period_start')}, ${top('period_end')})`,
    });
  if (details.length) throw fail();
  try {
    return expectationFromTrades(trades, { period, feePerTrade: fee, source, note });
  } catch (err) {
    details.push({ path: top('trades'), message: (err as Error).message });
    throw fail();
  }
}

function checkSummary(
  raw: unknown,
  style: FieldStyle,
  at: string,
  period: { startMs: number; endMs: number } | undefined,
  fee: number | null,
  details: ErrorDetail[],
): BacktestSummary | undefined {
  const name = namer(SUMMARY, style);
  const path = (k: keyof typeof SUMMARY) => `${at}.${name(k)}`;
  if (!isPlainObject(raw)) {
    details.push({ path: at, message: 'must be an object' });
    return undefined;
  }
  unknownKeys(
    raw,
    Object.keys(SUMMARY).map((k) => name(k as keyof typeof SUMMARY)),
    `${at}.`,
    details,
  );
  const get = (k: keyof typeof SUMMARY) => raw[name(k)];
  const opt = (k: keyof typeof SUMMARY, o: Parameters<typeof num>[3]) =>
    get(k) === undefined || get(k) === null ? null : (num(get(k), path(k), details, o) ?? null);
  const before = details.length;
  const trades =
    get('trades') == null
      ? void details.push({
          path: path('trades'),
          message: `required: the number of backtest trades (at least ${MIN_BACKTEST_TRADES})`,
        })
      : num(get('trades'), path('trades'), details, { integer: true, min: MIN_BACKTEST_TRADES, max: 1e9 });
  let perDay = opt('trades_per_day', { positive: true, max: 1e6 });
  if (perDay === null && get('trades_per_day') == null) {
    if (period && trades !== undefined) perDay = trades / ((period.endMs - period.startMs) / 86_400_000);
    else
      details.push({
        path: path('trades_per_day'),
        message: `required unless the period (${at.replace(/summary$/, '')}period_start/end) is given`,
      });
  }
  const pair = (m: 'pnl_mean' | 'return_mean', s: 'pnl_sd' | 'return_sd') => {
    if ((get(m) == null) !== (get(s) == null)) {
      details.push({ path: path(get(m) == null ? m : s), message: `${name(m)} and ${name(s)} go together` });
      return null;
    }
    if (get(m) == null) return null;
    const mean = num(get(m), path(m), details);
    const sd = num(get(s), path(s), details, { positive: true });
    return mean !== undefined && sd !== undefined ? { mean, sd } : null;
  };
  const pnl = pair('pnl_mean', 'pnl_sd');
  const ret = pair('return_mean', 'return_sd');
  if (get('pnl_mean') == null && get('return_mean') == null)
    details.push({
      path: path('pnl_mean'),
      message: `give the mean and sd of PnL per trade (${name('pnl_mean')}, ${name('pnl_sd')}), of return per trade (${name('return_mean')}, ${name('return_sd')}), or both`,
    });
  const winRatio = opt('win_ratio', { min: 0, max: 1 });
  const dd = opt('max_drawdown', { min: 0, max: MAX_AMOUNT });
  if (details.length > before) return undefined;
  return {
    trades: trades as number,
    tradesPerDay: perDay as number,
    pnl,
    ret,
    winRatio,
    maxDrawdown: dd,
    feePerTrade: fee,
    periodStartMs: period?.startMs ?? null,
    periodEndMs: period?.endMs ?? null,
    inflation: 1,
  };
}

function checkTrades(
  raw: unknown,
  style: FieldStyle,
  at: string,
  now: number,
  details: ErrorDetail[],
): BacktestTrade[] | undefined {
  const name = namer(TRADE, style);
  if (!Array.isArray(raw)) {
    details.push({ path: at, message: 'must be an array of trades' });
    return undefined;
  }
  if (raw.length < MIN_BACKTEST_TRADES || raw.length > MAX_OUTCOMES) {
    details.push({
      path: at,
      message: `must hold ${MIN_BACKTEST_TRADES} to ${MAX_OUTCOMES} trades (got ${raw.length}); for a longer backtest send its summary`,
    });
    return undefined;
  }
  const out: BacktestTrade[] = [];
  const known = Object.keys(TRADE).map((k) => name(k as keyof typeof TRADE));
  raw.forEach((t: unknown, index) => {
    if (!isPlainObject(t)) {
      details.push({ index, path: at, message: 'a trade must be an object' });
      return;
    }
    unknownKeys(t, known, '', details, index);
    const get = (k: keyof typeof TRADE) => t[name(k)];
    const pnl = num(get('pnl'), name('pnl'), details, { index });
    const ret =
      get('return') == null ? null : (num(get('return'), name('return'), details, { index, max: 1e6 }) ?? null);
    const fees =
      get('fees') == null
        ? null
        : (num(get('fees'), name('fees'), details, { index, min: 0, max: MAX_AMOUNT }) ?? null);
    const closedMs =
      get('closed_at') == null ? null : (time(get('closed_at'), name('closed_at'), style, now, details, index) ?? null);
    const openedMs =
      get('opened_at') == null ? null : (time(get('opened_at'), name('opened_at'), style, now, details, index) ?? null);
    if (openedMs !== null && closedMs !== null && openedMs > closedMs)
      details.push({ index, path: name('opened_at'), message: `is after ${name('closed_at')}` });
    if (pnl !== undefined) out.push({ pnl, ret, fees, openedMs, closedMs });
  });
  if (details.length) return undefined;
  const withRet = out.filter((t) => t.ret !== null).length;
  if (withRet !== 0 && withRet !== out.length)
    details.push({
      path: `${at}[].${name('return')}`,
      message: `give it for every trade or for none (${withRet} of ${out.length} have one)`,
    });
  const timed = out.filter((t) => t.closedMs !== null).length;
  if (timed !== 0 && timed !== out.length)
    details.push({
      path: `${at}[].${name('closed_at')}`,
      message: `give it for every trade or for none (${timed} of ${out.length} have one)`,
    });
  return details.length ? undefined : out;
}

/**
 * The expectation of a backtest's trades: summarised from all of them (oldest first by
 * close when they carry times, else in the order given), the newest MAX_OUTCOMES kept as
 * outcomes. Used by the validation above and by imports (src/cli/freqtrade-backtest.ts),
 * which may hold more trades than a request. Throws a RangeError on an unusable list.
 */
export function expectationFromTrades(
  trades: readonly BacktestTrade[],
  o: {
    period?: { startMs: number; endMs: number };
    feePerTrade?: number | null;
    source?: string | null;
    note?: string | null;
  } = {},
): ExpectationInput {
  if (trades.length < MIN_BACKTEST_TRADES)
    throw new RangeError(
      `a backtest of ${trades.length} trades is too short: at least ${MIN_BACKTEST_TRADES} are needed`,
    );
  // Stable: trades closed in the same millisecond keep the order they were given in.
  const ordered = trades.every((t) => t.closedMs !== null)
    ? [...trades].sort((a, b) => (a.closedMs as number) - (b.closedMs as number))
    : [...trades];
  const summary = summarizeBacktest(ordered, o.period, o.feePerTrade);
  if (summary.pnl && !(summary.pnl.sd > 0))
    throw new RangeError('every trade has the same PnL: a standard deviation of 0 says nothing about live trades');
  // Equal returns with unequal PnL (sizes differ, the edge per unit is constant) give no scale to compare returns with.
  if (summary.ret && !(summary.ret.sd > 0)) summary.ret = null;
  const kept = ordered.slice(-MAX_OUTCOMES);
  return {
    summary,
    outcomes: kept.map((t) => ({ pnl: t.pnl, ret: t.ret })),
    outcomesDropped: ordered.length - kept.length,
    source: o.source ?? null,
    note: o.note ?? null,
  };
}
