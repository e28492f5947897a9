// The expectations table (schema 4): what each parameter version's backtest promised, and
// the one read of trades the live-against-expected comparison needs. Part of the ledger:
// every statement is prepared here, every write goes through the ledger's transaction and
// fault handling (Ledger.expectations).
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { BacktestSummary } from '../analytics/backtest.js';
import { NotFoundError } from '../errors.js';
import type { ExpectationInput, Outcome } from '../model/expectation.js';
import { versionLabel } from '../model/names.js';

/** A stored expectation: the summary, where it came from, and how many were stored before it. */
export interface ExpectationRecord {
  /** its row: a newer expectation of the version has a greater seq */
  seq: number;
  strategy: string;
  version: number;
  summary: BacktestSummary;
  /** outcomes kept (0 when a summary was sent) */
  outcomes: number;
  /** trades summarised but not kept beyond the cap */
  outcomesDropped: number;
  source: string | null;
  note: string | null;
  createdMs: number;
  /** expectations of this version stored before this one (kept, no longer in force) */
  previous: number;
}

export interface SetResult {
  record: ExpectationRecord;
  /** false: the newest expectation of the version already had this content (a resend) */
  created: boolean;
}

/** A trade of a strategy as the comparison reads it from the ledger (see ExpectationStore.runTrades). */
export interface ExpectationTradeRow {
  seq: number;
  id: string;
  closedMs: number;
  openedMs: number | null;
  pnl: number;
  fees: number;
  notional: number | null;
  version: number | null;
}

interface Row {
  seq: number;
  strategy: string;
  version: number;
  trades: number;
  trades_per_day: number;
  pnl_mean: number | null;
  pnl_sd: number | null;
  return_mean: number | null;
  return_sd: number | null;
  win_ratio: number | null;
  max_drawdown: number | null;
  fee_per_trade: number | null;
  period_start_ms: number | null;
  period_end_ms: number | null;
  inflation: number;
  n_outcomes: number;
  outcomes_dropped: number;
  source: string | null;
  note: string | null;
  hash: string;
  created_ms: number;
  previous: number;
}

const COLUMNS = `seq, strategy, version, trades, trades_per_day, pnl_mean, pnl_sd, return_mean, return_sd, win_ratio,
  max_drawdown, fee_per_trade, period_start_ms, period_end_ms, inflation, json_array_length(coalesce(outcomes, '[]')) AS n_outcomes,
  outcomes_dropped, source, note, hash, created_ms,
  (SELECT count(*) FROM expectations p WHERE p.strategy = e.strategy AND p.version = e.version AND p.seq < e.seq) AS previous`;

type Guard = <T>(what: string, fn: () => T) => T;

export class ExpectationStore {
  private readonly st;

  /** `write` and `read` are the ledger's: one IMMEDIATE transaction, SQLite faults as LedgerError. */
  constructor(
    db: Database.Database,
    private readonly write: Guard,
    private readonly read: Guard,
  ) {
    this.st = {
      versionExists: db.prepare('SELECT 1 FROM param_versions WHERE strategy = ? AND version = ?').pluck(),
      latest: db.prepare(
        `SELECT ${COLUMNS} FROM expectations e WHERE strategy = ? AND version = ? ORDER BY seq DESC LIMIT 1`,
      ),
      bySeq: db.prepare(`SELECT ${COLUMNS} FROM expectations e WHERE seq = ?`),
      outcomes: db.prepare('SELECT outcomes FROM expectations WHERE seq = ?').pluck(),
      insert: db.prepare(`INSERT INTO expectations (strategy, version, trades, trades_per_day, pnl_mean, pnl_sd,
        return_mean, return_sd, win_ratio, max_drawdown, fee_per_trade, period_start_ms, period_end_ms, inflation,
        outcomes, outcomes_dropped, source, note, hash, created_ms)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      stamp: db.prepare('SELECT coalesce(max(seq), 0) FROM expectations').pluck(),
      // The strategy's trades closed after a time, in the run's (closed_at, id) order, one at a time.
      runTrades: db.prepare(`SELECT seq, id, closed_ms AS closedMs, opened_ms AS openedMs, pnl, fees, notional,
        param_version AS version FROM trades WHERE strategy = ? AND closed_ms > ? ORDER BY closed_ms, id`),
    };
  }

  /**
   * Stores an expectation for a version of a strategy: in force from now on, the earlier ones
   * kept. The same content as the version's newest expectation stores nothing (a retry).
   */
  set(strategy: string, version: number, input: ExpectationInput, nowMs: number): SetResult {
    return this.write('storing an expectation', () => {
      if (!this.st.versionExists.get(strategy, version))
        throw new NotFoundError(`strategy "${strategy}" has no version ${versionLabel(version)}: deploy it first`);
      const hash = contentHash(input);
      const latest = this.st.latest.get(strategy, version) as Row | undefined;
      if (latest?.hash === hash) return { record: fromRow(latest), created: false };
      const s = input.summary;
      const seq = this.st.insert.run(
        strategy,
        version,
        s.trades,
        s.tradesPerDay,
        s.pnl?.mean ?? null,
        s.pnl?.sd ?? null,
        s.ret?.mean ?? null,
        s.ret?.sd ?? null,
        s.winRatio,
        s.maxDrawdown,
        s.feePerTrade,
        s.periodStartMs,
        s.periodEndMs,
        s.inflation,
        input.outcomes ? JSON.stringify(input.outcomes.map((o) => [o.pnl, o.ret])) : null,
        input.outcomesDropped,
        input.source,
        input.note,
        hash,
        nowMs,
      ).lastInsertRowid;
      return { record: fromRow(this.st.bySeq.get(seq) as Row), created: true };
    });
  }

  /** The expectation in force for a version: its newest. */
  latest(strategy: string, version: number): ExpectationRecord | undefined {
    return this.read('reading an expectation', () => {
      const row = this.st.latest.get(strategy, version) as Row | undefined;
      return row && fromRow(row);
    });
  }

  /** The backtest outcomes an expectation kept, oldest first (empty for a summary). */
  outcomes(seq: number): Outcome[] {
    return this.read('reading backtest outcomes', () => {
      const text = this.st.outcomes.get(seq) as string | null | undefined;
      if (!text) return [];
      return (JSON.parse(text) as Array<[number, number | null]>).map(([pnl, ret]) => ({ pnl, ret }));
    });
  }

  /** Grows with every expectation stored (by any process): a cache of them is current while it is unchanged. */
  stamp(): number {
    return this.read('reading expectations', () => this.st.stamp.get() as number);
  }

  /** The strategy's trades closed after `afterMs`, in (closed_at, id) order, streamed. */
  *runTrades(strategy: string, afterMs: number): Iterable<ExpectationTradeRow> {
    yield* this.read(
      'reading the trades of a run',
      () => this.st.runTrades.iterate(strategy, afterMs) as IterableIterator<ExpectationTradeRow>,
    );
  }
}

function contentHash(input: ExpectationInput): string {
  return createHash('sha256')
    .update(JSON.stringify([input.summary, input.outcomes, input.outcomesDropped, input.source, input.note]))
    .digest('hex');
}

function fromRow(r: Row): ExpectationRecord {
  return {
    seq: r.seq,
    strategy: r.strategy,
    version: r.version,
    summary: {
      trades: r.trades,
      tradesPerDay: r.trades_per_day,
      pnl: r.pnl_mean === null ? null : { mean: r.pnl_mean, sd: r.pnl_sd as number },
      ret: r.return_mean === null ? null : { mean: r.return_mean, sd: r.return_sd as number },
      winRatio: r.win_ratio,
      maxDrawdown: r.max_drawdown,
      feePerTrade: r.fee_per_trade,
      periodStartMs: r.period_start_ms,
      periodEndMs: r.period_end_ms,
      inflation: r.inflation,
    },
    outcomes: r.n_outcomes,
    outcomesDropped: r.outcomes_dropped,
    source: r.source,
    note: r.note,
    createdMs: r.created_ms,
    previous: r.previous,
  };
}
