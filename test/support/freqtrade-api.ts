// A Freqtrade REST API peer for the pull tests: a real HTTP server on loopback that serves,
// from a tradesv3.sqlite, what Freqtrade 2024.10's api_v1 serves from it: /api/v1/trades
// (closed trades by id, limit/offset, Trade.to_json()), /status (open trades), /show_config,
// /health, behind HTTP Basic ({"detail": "Unauthorized"} otherwise). The rendering follows
// to_json: dates as "%Y-%m-%d %H:%M:%S", *_timestamp as int(datetime.timestamp() * 1000)
// (float arithmetic, so it can fall a millisecond short), amounts round(x, 8).
import Database from 'better-sqlite3';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FreqtradeApiPeer {
  url: string;
  port: number;
  /** Requests served, by path (without the query). */
  hits: Map<string, number>;
  showConfig: Record<string, unknown>;
  startupTs: number | null;
  /** false: /health answers 404, as before Freqtrade 2023.x. */
  health: boolean;
  stop(): Promise<void>;
}

/** Epoch microseconds of Freqtrade's naive UTC text. */
export function micros(naive: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(naive);
  if (!m) throw new Error(`not a Freqtrade datetime: ${naive}`);
  const [, y, mo, d, h, mi, s, f] = m;
  return Date.UTC(+y, +mo - 1, +d, +h, +mi, +s) * 1000 + Number((f ?? '').padEnd(6, '0'));
}

/** int(dt.timestamp() * 1000) as Python computes it: total_seconds() is micros / 10**6, a correctly rounded float. */
export function pyTimestampMs(naive: string): number {
  return Math.trunc((micros(naive) / 1e6) * 1000);
}

const round8 = (x: number) => Number(x.toFixed(8));
const printDate = (naive: string) => naive.slice(0, 19);

type Row = Record<string, unknown> & { id: number; open_date: string; close_date: string | null };

function toJson(r: Row): Record<string, unknown> {
  const closed = r.close_date !== null;
  const profit = r.close_profit_abs as number | null;
  return {
    trade_id: r.id,
    pair: r.pair,
    base_currency: r.base_currency,
    quote_currency: String(r.pair).split('/')[1]?.split(':')[0],
    is_open: r.is_open === 1,
    exchange: r.exchange,
    amount: round8(r.amount as number),
    amount_requested: null,
    stake_amount: round8(r.stake_amount as number),
    max_stake_amount: r.max_stake_amount === null ? null : round8(r.max_stake_amount as number),
    strategy: r.strategy,
    enter_tag: r.enter_tag,
    timeframe: r.timeframe,
    fee_open: r.fee_open,
    fee_open_cost: r.fee_open_cost,
    fee_open_currency: r.fee_open_currency,
    fee_close: r.fee_close,
    fee_close_cost: r.fee_close_cost,
    fee_close_currency: r.fee_close_currency,
    open_date: printDate(r.open_date),
    open_timestamp: pyTimestampMs(r.open_date),
    open_fill_date: printDate(r.open_date),
    open_fill_timestamp: pyTimestampMs(r.open_date),
    open_rate: r.open_rate,
    open_rate_requested: null,
    open_trade_value: round8(r.stake_amount as number),
    close_date: closed ? printDate(r.close_date as string) : null,
    close_timestamp: closed ? pyTimestampMs(r.close_date as string) : null,
    realized_profit: r.realized_profit ?? 0.0,
    realized_profit_ratio: r.close_profit || null,
    close_rate: r.close_rate,
    close_rate_requested: null,
    close_profit: r.close_profit,
    close_profit_pct: r.close_profit ? Math.round((r.close_profit as number) * 10000) / 100 : null,
    close_profit_abs: profit,
    trade_duration_s: closed ? Math.trunc((micros(r.close_date as string) - micros(r.open_date)) / 1e6) : null,
    trade_duration: closed ? Math.trunc((micros(r.close_date as string) - micros(r.open_date)) / 6e7) : null,
    profit_ratio: r.close_profit,
    profit_pct: r.close_profit ? Math.round((r.close_profit as number) * 10000) / 100 : null,
    profit_abs: profit,
    exit_reason: r.exit_reason,
    exit_order_status: r.exit_order_status,
    stop_loss_abs: r.stop_loss,
    stop_loss_ratio: null,
    stop_loss_pct: null,
    stoploss_last_update: null,
    stoploss_last_update_timestamp: null,
    initial_stop_loss_abs: null,
    initial_stop_loss_ratio: null,
    initial_stop_loss_pct: null,
    min_rate: null,
    max_rate: null,
    leverage: r.leverage,
    interest_rate: r.interest_rate,
    liquidation_price: null,
    is_short: r.is_short === 1,
    trading_mode: String(r.trading_mode).toLowerCase(),
    funding_fees: null,
    amount_precision: null,
    price_precision: null,
    precision_mode: null,
    precision_mode_price: null,
    contract_size: null,
    has_open_orders: false,
    orders: [],
  };
}

export async function startFreqtradeApi(opts: {
  db: string;
  username: string;
  password: string;
  showConfig: Record<string, unknown>;
  startupTs?: number | null;
  port?: number;
}): Promise<FreqtradeApiPeer> {
  const hits = new Map<string, number>();
  const expected = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
  const peer = { showConfig: opts.showConfig, startupTs: opts.startupTs ?? null, health: true } as FreqtradeApiPeer;
  const read = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(opts.db, { readonly: true });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== expected) return send(401, { detail: 'Unauthorized' });
    switch (url.pathname) {
      case '/api/v1/trades': {
        const limit = Number(url.searchParams.get('limit') ?? 500);
        const offset = Number(url.searchParams.get('offset') ?? 0);
        const out = read((db) => {
          const rows = db
            .prepare('SELECT * FROM trades WHERE is_open = 0 ORDER BY id LIMIT ? OFFSET ?')
            .all(limit, offset) as Row[];
          const total = db.prepare('SELECT count(id) FROM trades WHERE is_open = 0').pluck().get() as number;
          return { trades: rows.map(toJson), trades_count: rows.length, offset, total_trades: total };
        });
        return send(200, out);
      }
      case '/api/v1/status':
        return send(
          200,
          read((db) => (db.prepare('SELECT * FROM trades WHERE is_open = 1 ORDER BY id').all() as Row[]).map(toJson)),
        );
      case '/api/v1/show_config':
        return send(200, peer.showConfig);
      case '/api/v1/health':
        if (!peer.health) return send(404, { detail: 'Not Found' });
        return send(200, {
          last_process: null,
          last_process_ts: null,
          bot_start: null,
          bot_start_ts: null,
          bot_startup: peer.startupTs === null ? null : new Date(peer.startupTs * 1000).toISOString(),
          bot_startup_ts: peer.startupTs,
        });
      default:
        return send(404, { detail: 'Not Found' });
    }
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(peer, {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** show_config of a running bot, shaped as RPC._rpc_show_config renders it. */
export function showConfig(strategy: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '2024.10',
    strategy_version: null,
    api_version: 2.37,
    dry_run: true,
    trading_mode: 'spot',
    short_allowed: false,
    stake_currency: 'USDT',
    stake_currency_decimals: 3,
    stake_amount: '100',
    available_capital: null,
    max_open_trades: 3,
    minimal_roi: { '0': 0.04, '30': 0.02, '60': 0.01 },
    stoploss: -0.1,
    stoploss_on_exchange: false,
    trailing_stop: false,
    trailing_stop_positive: null,
    trailing_stop_positive_offset: 0.0,
    trailing_only_offset_is_reached: false,
    unfilledtimeout: { entry: 10, exit: 10, unit: 'minutes', exit_timeout_count: 0 },
    order_types: null,
    use_custom_stoploss: false,
    timeframe: '5m',
    timeframe_ms: 300000,
    timeframe_min: 5,
    exchange: 'binance',
    strategy,
    force_entry_enable: false,
    exit_pricing: {},
    entry_pricing: {},
    bot_name: 'freqtrade',
    state: 'running',
    runmode: 'dry_run',
    position_adjustment_enable: false,
    max_entry_position_adjustment: -1,
    ...over,
  };
}
