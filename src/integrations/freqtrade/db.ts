// Reading Freqtrade's database (tradesv3.sqlite) read-only. The file is opened for each read
// and closed after it, never written: Freqtrade keeps its rollback journal and its locks,
// and a file replaced under us (a restored backup) is simply read at the next poll.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../../errors.js';
import type { FtTrade } from './trade.js';
import { parseFtTime } from './values.js';

/** A closed trade, or why its row could not be read. */
export type FtRow =
  { id: number; trade: FtTrade; error?: undefined } | { id: number; trade?: undefined; error: string };

/** One consistent read of the database: closed trades from an id on, the open trades' lowest id, the start time. */
export interface FtSnapshot {
  rows: FtRow[];
  /** Lowest id of a trade still open; null when none is open. */
  minOpenId: number | null;
  /** When the running Freqtrade process started (KeyValueStore startup_time), epoch ms. */
  startupMs: number | null;
}

const REQUIRED = ['id', 'pair', 'is_open', 'strategy', 'open_date', 'close_date', 'close_profit_abs'];
// Columns added by later Freqtrade releases: read as NULL from an older database.
const OPTIONAL = [
  'is_short',
  'fee_open_cost',
  'fee_open_currency',
  'fee_close_cost',
  'fee_close_currency',
  'stake_amount',
  'leverage',
  'stake_currency',
];

export class FreqtradeDb {
  readonly path: string;

  constructor(path: string) {
    this.path = resolve(path);
  }

  /** Opens the file read-only, checks that it is Freqtrade's, runs `fn`, closes it. */
  private withDb<T>(fn: (db: Database.Database, columns: Set<string>) => T): T {
    if (!existsSync(this.path)) throw new ConfigError(`Freqtrade database ${this.path} does not exist`);
    let db: Database.Database;
    try {
      db = new Database(this.path, { readonly: true, fileMustExist: true });
    } catch (err) {
      throw new ConfigError(`cannot open Freqtrade database ${this.path}: ${(err as Error).message}`);
    }
    try {
      db.pragma('busy_timeout = 5000');
      const columns = new Set(
        (db.prepare("SELECT name FROM pragma_table_info('trades')").all() as Array<{ name: string }>).map(
          (r) => r.name,
        ),
      );
      const missing = REQUIRED.filter((c) => !columns.has(c));
      if (missing.length) {
        const ledger = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'param_versions'").get();
        throw new ConfigError(
          ledger
            ? `${this.path} is an edgewatch ledger, not Freqtrade's tradesv3.sqlite`
            : `${this.path} is not a Freqtrade database: table "trades" ${columns.size ? `lacks ${missing.join(', ')}` : 'is missing'}`,
        );
      }
      return db.transaction(() => fn(db, columns))();
    } finally {
      db.close();
    }
  }

  /** Closed trades with id >= fromId in id order, the lowest open id and the start time, in one read transaction. */
  snapshot(fromId: number): FtSnapshot {
    return this.withDb((db, columns) => {
      const select = [...REQUIRED, ...OPTIONAL].map((c) => (columns.has(c) ? c : `NULL AS ${c}`)).join(', ');
      const raw = db.prepare(`SELECT ${select} FROM trades WHERE is_open = 0 AND id >= ? ORDER BY id`).all(fromId);
      const minOpenId = db.prepare('SELECT min(id) FROM trades WHERE is_open = 1').pluck().get() as number | null;
      return { rows: (raw as DbRow[]).map(fromRow), minOpenId, startupMs: startupTime(db) };
    });
  }
}

interface DbRow {
  id: number;
  pair: string;
  is_open: number;
  strategy: string | null;
  open_date: string | null;
  close_date: string | null;
  close_profit_abs: number | null;
  is_short: number | null;
  fee_open_cost: number | null;
  fee_open_currency: string | null;
  fee_close_cost: number | null;
  fee_close_currency: string | null;
  stake_amount: number | null;
  leverage: number | null;
  stake_currency: string | null;
}

function fromRow(r: DbRow): FtRow {
  const open = parseFtTime(r.open_date);
  if (open.error !== undefined) return { id: r.id, error: `open_date ${JSON.stringify(r.open_date)} ${open.error}` };
  const close = parseFtTime(r.close_date);
  if (close.error !== undefined)
    return { id: r.id, error: `close_date ${JSON.stringify(r.close_date)} ${close.error}` };
  return {
    id: r.id,
    trade: {
      id: r.id,
      pair: String(r.pair),
      isShort: Number(r.is_short) === 1,
      strategy: r.strategy,
      openMs: open.ms,
      closeMs: close.ms,
      profitAbs: num(r.close_profit_abs),
      feeOpenCost: num(r.fee_open_cost),
      feeOpenCurrency: r.fee_open_currency,
      feeCloseCost: num(r.fee_close_cost),
      feeCloseCurrency: r.fee_close_currency,
      stakeAmount: num(r.stake_amount),
      leverage: num(r.leverage),
      stakeCurrency: r.stake_currency,
    },
  };
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** KeyValueStore's startup_time (naive UTC), written by Freqtrade each time it starts or reloads. */
function startupTime(db: Database.Database): number | null {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'KeyValueStore'").get();
  if (!has) return null;
  const v = db
    .prepare("SELECT datetime_value FROM KeyValueStore WHERE key = 'startup_time' AND value_type = 'datetime'")
    .pluck()
    .get();
  const t = parseFtTime(v);
  return t.error === undefined ? t.ms : null;
}
