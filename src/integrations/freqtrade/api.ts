// Freqtrade's REST API as a client: GET /api/v1/trades (closed trades by id, paged with
// limit and offset), /status (open trades), /show_config and /health, with HTTP Basic
// (api_server.username / password). Every answer is checked for the shape it must have.
import { ConfigError } from '../../errors.js';
import type { FtTrade } from './trade.js';
import type { FtRow } from './db.js';
import { parseBool, parseTradeId } from './values.js';

/** The REST API could not be read (down, refused, answered something else): retry later. */
export class FreqtradeApiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FreqtradeApiError';
  }
}

export interface ApiOptions {
  /** e.g. http://127.0.0.1:8080 (a trailing /api/v1 is accepted; user:password@ in it too). */
  url: string;
  username?: string;
  password?: string;
  timeoutMs?: number;
}

/** Freqtrade serves at most what it is asked for; 500 is its own default page. */
export const PAGE = 500;

export class FreqtradeApi {
  readonly base: string;
  private readonly auth?: string;
  private readonly timeoutMs: number;

  constructor(opts: ApiOptions) {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      throw new ConfigError(`Freqtrade API URL "${opts.url}" is not a URL: give e.g. http://127.0.0.1:8080`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ConfigError(`Freqtrade API URL "${opts.url}" must start with http:// or https://`);
    // fetch() refuses a URL holding credentials: they move to the Authorization header.
    const user = opts.username ?? decodeURIComponent(url.username);
    const password = opts.password ?? decodeURIComponent(url.password);
    if ((url.username || url.password) && (opts.username !== undefined || opts.password !== undefined))
      throw new ConfigError('Freqtrade API credentials are given twice: in the URL and in the environment');
    url.username = '';
    url.password = '';
    this.base = `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '')}/api/v1`;
    if (user || password) this.auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  private async get(path: string): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        headers: { accept: 'application/json', ...(this.auth ? { authorization: this.auth } : {}) },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new FreqtradeApiError(`Freqtrade API ${this.base}${path} unreachable: ${cause}`);
    }
    const text = await res.text();
    if (res.status === 401)
      throw new FreqtradeApiError(
        `Freqtrade API refused the credentials (401): set EDGEWATCH_FREQTRADE_USER and EDGEWATCH_FREQTRADE_PASSWORD to api_server.username and password`,
      );
    if (res.status !== 200)
      throw new FreqtradeApiError(`Freqtrade API ${path} answered ${res.status}: ${text.slice(0, 200)}`);
    try {
      return JSON.parse(text);
    } catch {
      throw new FreqtradeApiError(`Freqtrade API ${path} answered something that is not JSON: ${text.slice(0, 100)}`);
    }
  }

  /** One page of closed trades in id order, from `offset`; `total` is the number of closed trades. */
  async closedTrades(offset: number, stakeCurrency: string | null): Promise<{ rows: FtRow[]; total: number }> {
    const body = await this.get(`/trades?limit=${PAGE}&offset=${offset}`);
    const b = body as { trades?: unknown; total_trades?: unknown };
    if (typeof body !== 'object' || body === null || !Array.isArray(b.trades) || typeof b.total_trades !== 'number')
      throw new FreqtradeApiError('Freqtrade API /trades answered without "trades" and "total_trades"');
    return { rows: b.trades.map((t) => fromApi(t, stakeCurrency)), total: b.total_trades };
  }

  /** Lowest id of an open trade (GET /status), null when none is open. */
  async minOpenId(): Promise<number | null> {
    const body = await this.get('/status');
    if (!Array.isArray(body)) throw new FreqtradeApiError('Freqtrade API /status answered something other than a list');
    let min: number | null = null;
    for (const t of body) {
      const id = parseTradeId((t as { trade_id?: unknown })?.trade_id);
      if (id === undefined) throw new FreqtradeApiError('Freqtrade API /status listed a trade without a trade_id');
      if (min === null || id < min) min = id;
    }
    return min;
  }

  async showConfig(): Promise<Record<string, unknown>> {
    const body = await this.get('/show_config');
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new FreqtradeApiError('Freqtrade API /show_config answered something other than an object');
    return body as Record<string, unknown>;
  }

  /**
   * When the running Freqtrade process started (GET /health bot_startup_ts, seconds), epoch ms;
   * null from a Freqtrade too old to have /health (then deploys are dated when first seen).
   */
  async startupMs(): Promise<number | null> {
    let body: { bot_startup_ts?: unknown } | null;
    try {
      body = (await this.get('/health')) as { bot_startup_ts?: unknown } | null;
    } catch (err) {
      if (err instanceof FreqtradeApiError && / answered 404:/.test(err.message)) return null;
      throw err;
    }
    const s = body?.bot_startup_ts;
    return typeof s === 'number' && Number.isFinite(s) && s > 0 ? s * 1000 : null;
  }
}

/** A trade of GET /api/v1/trades (TradeSchema) as an FtTrade, or why it is not one. */
export function fromApi(raw: unknown, stakeCurrency: string | null): FtRow {
  const t = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const id = parseTradeId(t.trade_id);
  if (id === undefined)
    return { id: -1, error: `a trade without a valid trade_id: ${JSON.stringify(raw).slice(0, 100)}` };
  const ms = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined);
  const openMs = ms(t.open_timestamp);
  const closeMs = ms(t.close_timestamp);
  if (openMs === undefined) return { id, error: 'open_timestamp is not epoch milliseconds' };
  if (closeMs === undefined) return { id, error: 'close_timestamp is not epoch milliseconds' };
  if (typeof t.pair !== 'string') return { id, error: 'pair is not a string' };
  return {
    id,
    trade: {
      id,
      pair: t.pair,
      isShort: parseBool(t.is_short) ?? false,
      strategy: typeof t.strategy === 'string' ? t.strategy : null,
      openMs,
      closeMs,
      profitAbs: num(t.profit_abs ?? t.close_profit_abs),
      feeOpenCost: num(t.fee_open_cost),
      feeOpenCurrency: str(t.fee_open_currency),
      feeCloseCost: num(t.fee_close_cost),
      feeCloseCurrency: str(t.fee_close_currency),
      stakeAmount: num(t.stake_amount),
      leverage: num(t.leverage),
      stakeCurrency,
    } satisfies FtTrade,
  };
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
