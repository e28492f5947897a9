// A Freqtrade database (tradesv3.sqlite) as Freqtrade 2024.10 creates and fills it, for the
// Freqtrade tests. The DDL is what SQLAlchemy's create_all emits for SQLite from the `Trade`
// and `_KeyValueStoreModel` models of freqtrade/persistence (trade_model.py,
// key_value_store.py at commit c9ae5e1, 2024-10-24): column order, types, NOT NULL and the
// two indexes. Values are stored as SQLAlchemy stores them: DATETIME as naive UTC text with
// six fractional digits, BOOLEAN as 0/1.
import Database from 'better-sqlite3';

export const TRADES_DDL = `
CREATE TABLE trades (
	id INTEGER NOT NULL,
	exchange VARCHAR(25) NOT NULL,
	pair VARCHAR(25) NOT NULL,
	base_currency VARCHAR(25),
	stake_currency VARCHAR(25),
	is_open BOOLEAN NOT NULL,
	fee_open FLOAT NOT NULL,
	fee_open_cost FLOAT,
	fee_open_currency VARCHAR(25),
	fee_close FLOAT NOT NULL,
	fee_close_cost FLOAT,
	fee_close_currency VARCHAR(25),
	open_rate FLOAT NOT NULL,
	open_rate_requested FLOAT,
	open_trade_value FLOAT,
	close_rate FLOAT,
	close_rate_requested FLOAT,
	realized_profit FLOAT,
	close_profit FLOAT,
	close_profit_abs FLOAT,
	stake_amount FLOAT NOT NULL,
	max_stake_amount FLOAT,
	amount FLOAT NOT NULL,
	amount_requested FLOAT,
	open_date DATETIME NOT NULL,
	close_date DATETIME,
	stop_loss FLOAT,
	stop_loss_pct FLOAT,
	initial_stop_loss FLOAT,
	initial_stop_loss_pct FLOAT,
	is_stop_loss_trailing BOOLEAN NOT NULL,
	max_rate FLOAT,
	min_rate FLOAT,
	exit_reason VARCHAR(255),
	exit_order_status VARCHAR(100),
	strategy VARCHAR(100),
	enter_tag VARCHAR(255),
	timeframe INTEGER,
	trading_mode VARCHAR(7),
	amount_precision FLOAT,
	price_precision FLOAT,
	precision_mode INTEGER,
	precision_mode_price INTEGER,
	contract_size FLOAT,
	leverage FLOAT,
	is_short BOOLEAN NOT NULL,
	liquidation_price FLOAT,
	interest_rate FLOAT NOT NULL,
	funding_fees FLOAT,
	funding_fee_running FLOAT,
	PRIMARY KEY (id)
);
CREATE INDEX ix_trades_pair ON trades (pair);
CREATE INDEX ix_trades_is_open ON trades (is_open);
CREATE TABLE "KeyValueStore" (
	id INTEGER NOT NULL,
	"key" VARCHAR(25) NOT NULL,
	value_type VARCHAR(20) NOT NULL,
	string_value VARCHAR(255),
	datetime_value DATETIME,
	float_value FLOAT,
	int_value INTEGER,
	PRIMARY KEY (id)
);
CREATE INDEX "ix_KeyValueStore_key" ON "KeyValueStore" ("key");
`;

/** A Freqtrade trade as the tests describe it; times as Freqtrade stores them (naive UTC, microseconds). */
export interface FtFixtureTrade {
  id: number;
  pair: string;
  strategy: string | null;
  isShort?: boolean;
  isOpen?: boolean;
  /** "2024-10-24 09:29:03.123456" */
  openDate: string;
  closeDate?: string | null;
  closeProfitAbs?: number | null;
  stakeAmount: number;
  amount?: number;
  leverage?: number | null;
  stakeCurrency?: string | null;
  feeOpenCost?: number | null;
  feeOpenCurrency?: string | null;
  feeCloseCost?: number | null;
  feeCloseCurrency?: string | null;
  openRate?: number;
  closeRate?: number | null;
  exitReason?: string | null;
  enterTag?: string | null;
}

/** Creates an empty tradesv3.sqlite with Freqtrade's schema (rollback journal, as Freqtrade leaves it). */
export function createFreqtradeDb(path: string): void {
  const db = new Database(path);
  db.exec(TRADES_DDL);
  db.close();
}

/** Inserts or replaces trades, as Freqtrade's session does (one transaction). */
export function writeTrades(path: string, trades: FtFixtureTrade[]): void {
  const db = new Database(path);
  const st = db.prepare(`INSERT OR REPLACE INTO trades (id, exchange, pair, base_currency, stake_currency, is_open,
    fee_open, fee_open_cost, fee_open_currency, fee_close, fee_close_cost, fee_close_currency, open_rate,
    open_trade_value, close_rate, realized_profit, close_profit, close_profit_abs, stake_amount, max_stake_amount,
    amount, open_date, close_date, stop_loss, is_stop_loss_trailing, exit_reason, exit_order_status, strategy,
    enter_tag, timeframe, trading_mode, leverage, is_short, interest_rate)
    VALUES (@id, 'binance', @pair, @base, @stakeCurrency, @isOpen, 0.001, @feeOpenCost, @feeOpenCurrency, 0.001,
    @feeCloseCost, @feeCloseCurrency, @openRate, @stakeAmount, @closeRate, @realized, @closeProfit, @closeProfitAbs,
    @stakeAmount, @stakeAmount, @amount, @openDate, @closeDate, 0, 0, @exitReason, @exitStatus, @strategy, @enterTag,
    5, @mode, @leverage, @isShort, 0)`);
  db.transaction(() => {
    for (const t of trades) {
      const open = t.isOpen ?? false;
      st.run({
        id: t.id,
        pair: t.pair,
        base: t.pair.split('/')[0],
        stakeCurrency: t.stakeCurrency === undefined ? 'USDT' : t.stakeCurrency,
        isOpen: open ? 1 : 0,
        feeOpenCost: t.feeOpenCost ?? null,
        feeOpenCurrency: t.feeOpenCurrency ?? null,
        feeCloseCost: t.feeCloseCost ?? null,
        feeCloseCurrency: t.feeCloseCurrency ?? null,
        openRate: t.openRate ?? 100,
        stakeAmount: t.stakeAmount,
        closeRate: open ? null : (t.closeRate ?? 101),
        realized: open ? 0 : (t.closeProfitAbs ?? null),
        closeProfit: open || t.closeProfitAbs == null ? null : t.closeProfitAbs / t.stakeAmount,
        closeProfitAbs: open ? null : (t.closeProfitAbs ?? null),
        amount: t.amount ?? t.stakeAmount / (t.openRate ?? 100),
        openDate: t.openDate,
        closeDate: open ? null : (t.closeDate ?? null),
        exitReason: open ? null : (t.exitReason ?? 'roi'),
        exitStatus: open ? null : 'closed',
        strategy: t.strategy,
        enterTag: t.enterTag ?? null,
        mode: t.pair.includes(':') ? 'FUTURES' : 'SPOT',
        leverage: t.leverage === undefined ? 1 : t.leverage,
        isShort: t.isShort ? 1 : 0,
      });
    }
  })();
  db.close();
}

/** KeyValueStore startup_time, as set_startup_time() writes it when Freqtrade starts. */
export function setStartupTime(path: string, naiveUtc: string): void {
  const db = new Database(path);
  db.prepare(`DELETE FROM "KeyValueStore" WHERE "key" = 'startup_time'`).run();
  db.prepare(
    `INSERT INTO "KeyValueStore" ("key", value_type, datetime_value) VALUES ('startup_time', 'datetime', ?)`,
  ).run(naiveUtc);
  db.close();
}

/** Freqtrade's naive UTC text of epoch milliseconds plus extra microseconds: "2024-10-24 09:29:03.123456". */
export function ftDate(ms: number, extraMicros = 0): string {
  const iso = new Date(ms).toISOString(); // 2024-10-24T09:29:03.123Z
  const micros = String((ms % 1000) * 1000 + extraMicros).padStart(6, '0');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${micros}`;
}
