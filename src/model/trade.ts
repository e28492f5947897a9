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
const MAX_ID_LENGTH = 128;

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 string, epoch milliseconds, or (SDK) a Date. Returns undefined when invalid. */
export function parseTime(value: unknown, allowDate: boolean): number | undefined {
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || !Number.isInteger(value)) return undefined;
    ms = value;
  } else if (typeof value === 'string') {
    const m = RFC3339.exec(value);
    if (!m) return undefined;
    const [, y, mo, d, h, mi, s] = m;
    if (+mo < 1 || +mo > 12 || +d < 1 || +d > 31 || +h > 23 || +mi > 59 || +s > 60) return undefined;
    ms = Date.parse(value.replace(' ', 'T'));
    if (!Number.isFinite(ms)) return undefined;
    // Date.parse rolls 2024-02-31 over to March: reject dates that do not exist.
    const probe = new Date(Date.UTC(+y, +mo - 1, +d));
    if (probe.getUTCDate() !== +d) return undefined;
  } else if (allowDate && value instanceof Date) {
    ms = value.getTime();
    if (!Number.isFinite(ms)) return undefined;
  } else {
    return undefined;
  }
  return ms;
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
  const fail = (f: WireField | string, message: string) =>
    details.push({ index, path: (Object.hasOwn(FIELDS, f) ? name(f as WireField) : f), message });

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
    closedMs = parseTime(closedRaw, allowDate);
    if (closedMs === undefined) fail('closed_at', 'must be an RFC 3339 time or integer epoch milliseconds');
    else if (closedMs < MIN_TIME_MS) { fail('closed_at', 'is before 2000-01-01 (seconds given as milliseconds?)'); closedMs = undefined; }
    else if (closedMs > opts.now + MAX_FUTURE_MS) { fail('closed_at', 'is more than 5 minutes in the future'); closedMs = undefined; }
  }
  let openedMs: number | null = null;
  const openedRaw = get('opened_at');
  if (openedRaw !== undefined && openedRaw !== null) {
    const t = parseTime(openedRaw, allowDate);
    if (t === undefined) fail('opened_at', 'must be an RFC 3339 time or integer epoch milliseconds');
    else if (t < MIN_TIME_MS) fail('opened_at', 'is before 2000-01-01 (seconds given as milliseconds?)');
    else if (closedMs !== undefined && t > closedMs) fail('opened_at', `is after ${name('closed_at')}`);
    else openedMs = t;
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
  if (variant !== undefined && variant !== null && checkName(variant, name('variant'), details, index) && variant === '__proto__')
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

function checkNumber(v: unknown, required: boolean, maxAbs: number, nonNegative: boolean): { value?: number; error?: string } {
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
    if (extra.length) throw new ValidationError('invalid batch', extra.map((k) => ({ path: k, message: 'unknown field' })));
    const list = body.trades;
    if (!Array.isArray(list)) throw new ValidationError('invalid batch', [{ path: 'trades', message: 'must be an array' }]);
    if (list.length === 0) throw new ValidationError('invalid batch', [{ path: 'trades', message: 'must hold at least one trade' }]);
    if (list.length > MAX_BATCH)
      throw new ValidationError('invalid batch', [{ path: 'trades', message: `at most ${MAX_BATCH} trades per batch (got ${list.length})` }]);
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
