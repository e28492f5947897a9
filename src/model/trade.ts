// Trade validation, shared by the SDK (camelCase fields) and the HTTP API (snake_case).
// Every problem of an item is reported, with its path, before anything is written.
import { ValidationError, type ErrorDetail } from '../errors.js';
import { checkName, isPlainObject, parseVersionLabel } from './names.js';

export type Side = 'long' | 'short';

/** A validated trade, ready for the ledger. Times in epoch milliseconds. */
export interface TradeInput {
  strategy: string;
  id: string;
  symbol: string;
  side: Side;
  closedMs: number;
  openedMs: number | null;
  pnl: number;
  fees: number;
  notional: number | null;
  /** Parameter version number when the caller named one; otherwise the active one is stamped. */
  paramVersion: number | null;
  experiment: string | null;
  variant: string | null;
  /** SDK: closed_at was not given and defaulted to now, so a retry need not match it. */
  closedDefaulted?: boolean;
}

export type FieldStyle = 'wire' | 'sdk';

// wire name -> sdk name
const FIELDS = {
  id: 'id',
  strategy: 'strategy',
  symbol: 'symbol',
  side: 'side',
  closed_at: 'closedAt',
  opened_at: 'openedAt',
  pnl: 'pnl',
  fees: 'fees',
  notional: 'notional',
  param_version: 'paramVersion',
  experiment: 'experiment',
  variant: 'variant',
} as const;
type WireField = keyof typeof FIELDS;

/** Limits that keep sums finite and exact enough: a PnL beyond ±1e12 is a unit bug, not a trade. */
export const MAX_ABS_PNL = 1e12;
export const MAX_AMOUNT = 1e15;
/** Earliest accepted time (2000-01-01): older times are a seconds-vs-milliseconds bug. */
export const MIN_TIME_MS = Date.UTC(2000, 0, 1);
/** How far in the future `closed_at` may be (clock skew between hosts). */
export const MAX_FUTURE_MS = 5 * 60_000;
/** Longest trade id (and SDK position id). */
export const MAX_ID_LENGTH = 128;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

const TIME_FORMS = 'an RFC 3339 time or integer epoch milliseconds';

/** A parsed time in epoch milliseconds, or why the value is not one (a message for a detail). */
export type TimeCheck = { ms: number; error?: undefined } | { ms?: undefined; error: string };

/**
 * The one parser of every time edgewatch accepts: trade times from the SDK and the HTTP API,
 * and the SDK's deploy and experiment `at`. Takes an RFC 3339 string, integer epoch
 * milliseconds, or (SDK, `allowDate`) a Date.
 *
 * A leap second (seconds = 60, e.g. 2016-12-31T23:59:60Z, as an exchange or an NTP-smeared
 * host may print it) is clamped to the last millisecond of its minute, 23:59:59.999, whatever
 * its fraction or offset: epoch milliseconds have no leap seconds, and refusing it would fail
 * a whole batch for one legitimate trade. Hour 24 (ISO 8601's end of day) is not RFC 3339
 * and is refused, as are seconds above 60.
 */
export function checkTime(value: unknown, allowDate: boolean): TimeCheck {
  const forms = allowDate ? `a Date, ${TIME_FORMS}` : TIME_FORMS;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || !Number.isInteger(value))
      return { error: `must be ${forms} (got a non-integer number)` };
    return { ms: value };
  }
  if (allowDate && value instanceof Date) {
    const ms = value.getTime();
    return Number.isFinite(ms) ? { ms } : { error: `must be ${forms} (got an invalid Date)` };
  }
  if (typeof value !== 'string') return { error: `must be ${forms}` };
  const m = RFC3339.exec(value);
  if (!m) return { error: `must be ${forms}, e.g. "2026-01-02T15:04:05Z"` };
  const [, y, mo, d, h, mi, s, frac, sign, oh, om] = m;
  const bad = (why: string): TimeCheck => ({ error: `must be ${forms} (${why})` });
  if (+mo < 1 || +mo > 12) return bad(`month ${mo} does not exist`);
  // The Date setters would roll 2024-02-31 over to March: reject dates that do not exist.
  if (+d < 1 || +d > daysInMonth(+y, +mo)) return bad(`${y}-${mo}-${d} does not exist`);
  if (+h > 23)
    return bad(`hour ${h} is out of range 00-23${h === '24' ? '; write 24:00 as 00:00 of the next day' : ''}`);
  if (+mi > 59) return bad(`minute ${mi} is out of range 00-59`);
  if (+s > 60) return bad(`second ${s} is out of range 00-60, 60 being a leap second`);
  if (sign !== undefined && (+oh > 23 || +om > 59)) return bad(`offset ${sign}${oh}:${om} is out of range`);
  const leap = s === '60';
  // Milliseconds are truncated, not rounded: .9999 stays within its second.
  const millis = leap ? 999 : frac === undefined ? 0 : +frac.slice(0, 3).padEnd(3, '0');
  const t = new Date(0);
  t.setUTCFullYear(+y, +mo - 1, +d); // not Date.UTC: it maps years 0-99 to 1900-1999
  t.setUTCHours(+h, +mi, leap ? 59 : +s, millis);
  const offsetMin = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (+oh * 60 + +om);
  const ms = t.getTime() - offsetMin * 60_000;
  return Number.isFinite(ms) ? { ms } : bad('out of the representable range');
}

function daysInMonth(year: number, month: number): number {
  const leapYear = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leapYear ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** checkTime without the reason: epoch milliseconds, or undefined when invalid. */
export function parseTime(value: unknown, allowDate: boolean): number | undefined {
  return checkTime(value, allowDate).ms;
}

export interface TradeValidationOptions {
  style: FieldStyle;
  now: number;
  index?: number;
  /** SDK: the strategy is known from the handle, not from the object. */
  strategy?: string;
}

/** Validates one trade; pushes every problem into `details` and returns undefined if there was any. */
export function checkTrade(raw: unknown, opts: TradeValidationOptions, details: ErrorDetail[]): TradeInput | undefined {
  const { style, index } = opts;
  const before = details.length;
  const name = (f: WireField) => (style === 'wire' ? f : FIELDS[f]);
  const fail = (f: string, message: string) =>
    details.push({ index, path: Object.hasOwn(FIELDS, f) ? name(f as WireField) : f, message });

  if (!isPlainObject(raw)) {
    details.push({ index, path: '', message: 'a trade must be a JSON object' });
    return undefined;
  }
  const known = new Set<string>(Object.keys(FIELDS).map((f) => name(f as WireField)));
  for (const k of Object.keys(raw)) if (!known.has(k)) fail(k, 'unknown field');
  const get = (f: WireField) => raw[name(f)];

  let strategy = opts.strategy;
  if (strategy === undefined) {
    if (get('strategy') === undefined) fail('strategy', 'required');
    else if (checkName(get('strategy'), name('strategy'), details, index)) strategy = get('strategy') as string;
  } else if (get('strategy') !== undefined && get('strategy') !== strategy) {
    fail('strategy', `does not match this handle's strategy "${strategy}"`);
  }

  const id = get('id');
  if (id === undefined || id === null || id === '') fail('id', 'required: a unique id per strategy makes retries safe');
  else if (typeof id !== 'string') fail('id', 'must be a string');
  else if (id.length > MAX_ID_LENGTH) fail('id', `at most ${MAX_ID_LENGTH} characters`);
  else if (/[\u0000-\u001f\u007f]/.test(id)) fail('id', 'must not contain control characters');

  if (get('symbol') === undefined) fail('symbol', 'required');
  else checkName(get('symbol'), name('symbol'), details, index);

  const side = get('side');
  if (side === undefined) fail('side', 'required');
  else if (side !== 'long' && side !== 'short') fail('side', 'must be "long" or "short"');

  const allowDate = style === 'sdk';
  let closedMs: number | undefined;
  const closedRaw = get('closed_at');
  if (closedRaw === undefined) {
    if (style === 'sdk') closedMs = opts.now;
    else fail('closed_at', 'required (RFC 3339 string or epoch milliseconds)');
  } else {
    const c = checkTime(closedRaw, allowDate);
    if (c.error !== undefined) fail('closed_at', c.error);
    else if (c.ms < MIN_TIME_MS) fail('closed_at', 'is before 2000-01-01 (seconds given as milliseconds?)');
    else if (c.ms > opts.now + MAX_FUTURE_MS) fail('closed_at', 'is more than 5 minutes in the future');
    else closedMs = c.ms;
  }
  let openedMs: number | null = null;
  const openedRaw = get('opened_at');
  if (openedRaw !== undefined && openedRaw !== null) {
    const c = checkTime(openedRaw, allowDate);
    if (c.error !== undefined) fail('opened_at', c.error);
    else if (c.ms < MIN_TIME_MS) fail('opened_at', 'is before 2000-01-01 (seconds given as milliseconds?)');
    else if (closedMs !== undefined && c.ms > closedMs) fail('opened_at', `is after ${name('closed_at')}`);
    else openedMs = c.ms;
  }

  const pnl = checkNumber(get('pnl'), true, MAX_ABS_PNL, false);
  if (pnl.error) fail('pnl', pnl.error);
  const fees = checkNumber(get('fees'), false, MAX_AMOUNT, true);
  if (fees.error) fail('fees', fees.error);
  const notional = checkNumber(get('notional'), false, MAX_AMOUNT, true);
  if (notional.error) fail('notional', notional.error);

  let paramVersion: number | null = null;
  const pv = get('param_version');
  if (pv !== undefined && pv !== null) {
    const n = typeof pv === 'string' ? parseVersionLabel(pv) : undefined;
    if (n === undefined) fail('param_version', 'must look like "v1", "v2", ...');
    else paramVersion = n;
  }
  const exp = get('experiment');
  const variant = get('variant');
  if (exp !== undefined && exp !== null) checkName(exp, name('experiment'), details, index);
  if (
    variant !== undefined &&
    variant !== null &&
    checkName(variant, name('variant'), details, index) &&
    variant === '__proto__'
  )
    fail('variant', 'no experiment variant can be named "__proto__"');
  if (style === 'wire' && (exp == null) !== (variant == null)) fail('variant', 'experiment and variant go together');

  if (details.length > before) return undefined;
  return {
    strategy: strategy as string,
    id: id as string,
    symbol: get('symbol') as string,
    side: side as Side,
    closedMs: closedMs as number,
    openedMs,
    pnl: pnl.value as number,
    fees: fees.value ?? 0,
    notional: notional.value ?? null,
    paramVersion,
    experiment: (exp as string | undefined) ?? null,
    variant: (variant as string | undefined) ?? null,
    ...(closedRaw === undefined ? { closedDefaulted: true } : {}),
  };
}

function checkNumber(
  v: unknown,
  required: boolean,
  maxAbs: number,
  nonNegative: boolean,
): { value?: number; error?: string } {
  if (v === undefined || v === null) return required ? { error: 'required' } : {};
  if (typeof v !== 'number') return { error: 'must be a number' };
  if (!Number.isFinite(v)) return { error: 'must be a finite number' };
  if (nonNegative && v < 0) return { error: 'must not be negative' };
  if (Math.abs(v) > maxAbs) return { error: `must be within ±${maxAbs}` };
  return { value: v === 0 ? 0 : v }; // normalise -0
}

/** Validates one trade and throws a ValidationError listing every problem. */
export function validateTrade(raw: unknown, opts: TradeValidationOptions): TradeInput {
  const details: ErrorDetail[] = [];
  const t = checkTrade(raw, opts, details);
  if (!t) throw new ValidationError('invalid trade', details);
  return t;
}

export const MAX_BATCH = 5000;

/** `POST /v1/trades` body: one trade or `{"trades": [...]}`; all-or-nothing. */
export function validateTradeBody(body: unknown, now: number): TradeInput[] {
  if (isPlainObject(body) && Object.hasOwn(body, 'trades')) {
    const extra = Object.keys(body).filter((k) => k !== 'trades');
    if (extra.length)
      throw new ValidationError(
        'invalid batch',
        extra.map((k) => ({ path: k, message: 'unknown field' })),
      );
    const list = body.trades;
    if (!Array.isArray(list))
      throw new ValidationError('invalid batch', [{ path: 'trades', message: 'must be an array' }]);
    if (list.length === 0)
      throw new ValidationError('invalid batch', [{ path: 'trades', message: 'must hold at least one trade' }]);
    if (list.length > MAX_BATCH)
      throw new ValidationError('invalid batch', [
        { path: 'trades', message: `at most ${MAX_BATCH} trades per batch (got ${list.length})` },
      ]);
    const details: ErrorDetail[] = [];
    const out: TradeInput[] = [];
    list.forEach((raw, index) => {
      const t = checkTrade(raw, { style: 'wire', now, index }, details);
      if (t) out.push(t);
    });
    if (details.length) throw new ValidationError('invalid batch: nothing was stored', details.slice(0, 100));
    return out;
  }
  return [validateTrade(body, { style: 'wire', now })];
}
