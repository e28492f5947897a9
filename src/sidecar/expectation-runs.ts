// Live against expected, per strategy: the active version's run (its trades attributed to its
// latest deploy or later, as the CUSUM's run in cusum-runs.ts) folded in (closed_at, id) order
// against the expectation in force for that version (src/analytics/expectation.ts). The window
// engine hands it every trade it reads (WindowEngine.fold, one line); a run is read from the
// ledger when it starts (a deploy, a new expectation, the first read after a start), only up to
// the engine's last sequence number so a trade is never folded twice. A trade that sorts before
// the last one folded in (late, or from a second writer) makes the next read resume from the
// newest checkpoint before it (a copy of the fold every CHECKPOINT_EVERY trades) and re-read
// only the trades after it. Not saved with the window state: after a restart each run with an
// expectation is read again at the first scrape (one indexed range query per strategy).
import type { BacktestSummary } from '../analytics/backtest.js';
import { inTradeOrder, keyAfter, type TradeKey } from '../analytics/buckets.js';
import {
  compareWithExpectation,
  expectationFoldAdd,
  expectationFoldStart,
  type ExpectationComparison,
  type ExpectationFold,
} from '../analytics/expectation.js';
import type { ExpectationRecord, ExpectationTradeRow } from '../ledger/expectations.js';
import type { Ledger } from '../ledger/ledger.js';

/** What identifies a run: a change of any field starts a new one. */
export interface ExpectationKey {
  version: number;
  /** deployed_at of the latest deploy */
  startMs: number;
  /** deploys so far: a re-deploy in the same millisecond is another run */
  deploys: number;
  /** the expectation in force (its ledger row) */
  expectation: number;
}

/** The comparison of a strategy's run with its version's expectation, as the snapshot exports it. */
export interface ExpectationReading extends ExpectationComparison {
  version: number;
  startMs: number;
  record: ExpectationRecord;
}

const CHECKPOINT_EVERY = 1000;
const CHECKPOINTS = 8;

interface Run {
  key: ExpectationKey;
  summary: BacktestSummary;
  fold: ExpectationFold;
  last: TradeKey;
  checkpoints: Array<{ fold: ExpectationFold; last: TradeKey }>;
  /** the earliest trade that arrived out of order since the last read */
  late?: TradeKey;
}

type Trade = Pick<ExpectationTradeRow, 'id' | 'closedMs' | 'openedMs' | 'pnl' | 'fees' | 'notional' | 'version'>;

function inRun(key: ExpectationKey, version: number | null, openedMs: number | null, closedMs: number): boolean {
  return version === key.version && (openedMs ?? closedMs) >= key.startMs;
}

export class ExpectationRuns {
  private readonly runs = new Map<string, Run>();
  /** The newest expectation of each (strategy, version) read, valid while the ledger's stamp is unchanged. */
  private cache = { stamp: -1, latest: new Map<string, ExpectationRecord | null>() };

  /** `seenSeq`: the engine's last trade sequence number read (trades above it reach add() later). */
  constructor(
    private readonly ledger: Ledger,
    private readonly seenSeq: () => number,
  ) {}

  /** A trade the engine read, in whatever order it arrived. */
  add(
    strategy: string,
    id: string,
    closedMs: number,
    pnl: number,
    fees: number,
    version: number | null,
    openedMs: number | null,
    notional: number | null,
  ): void {
    const run = this.runs.get(strategy);
    if (!run || !inRun(run.key, version, openedMs, closedMs)) return;
    if (run.late === undefined && keyAfter(closedMs, id, run.last))
      fold(run, { id, closedMs, openedMs, pnl, fees, notional, version });
    else if (run.late === undefined || keyAfter(run.late.closedMs, run.late.id, { closedMs, id }))
      run.late = { closedMs, id };
  }

  /**
   * The comparison for the strategy's active version (the last of `deploys`, in time order) at
   * `nowMs`; undefined without a deploy or without an expectation of that version.
   */
  read(
    strategy: string,
    deploys: ReadonlyArray<{ version: number; deployedMs: number }>,
    nowMs: number,
  ): ExpectationReading | undefined {
    const active = deploys[deploys.length - 1];
    const record = active && this.expectationOf(strategy, active.version);
    if (!active || !record) {
      this.runs.delete(strategy);
      return undefined;
    }
    const key: ExpectationKey = {
      version: active.version,
      startMs: active.deployedMs,
      deploys: deploys.length,
      expectation: record.seq,
    };
    let run = this.runs.get(strategy);
    if (!run || !sameKey(run.key, key)) run = this.rebuild(strategy, newRun(key, record.summary));
    else if (run.late) run = this.resume(strategy, run, run.late);
    return {
      ...compareWithExpectation(run.fold, run.summary, nowMs - key.startMs),
      version: key.version,
      startMs: key.startMs,
      record,
    };
  }

  /** Forgets every run (the next read of each rebuilds it). */
  clear(): void {
    this.runs.clear();
  }

  private expectationOf(strategy: string, version: number): ExpectationRecord | undefined {
    const stamp = this.ledger.expectations.stamp();
    if (stamp !== this.cache.stamp) this.cache = { stamp, latest: new Map() };
    const k = `${strategy}\u0000${version}`;
    let e = this.cache.latest.get(k);
    if (e === undefined) this.cache.latest.set(k, (e = this.ledger.expectations.latest(strategy, version) ?? null));
    return e ?? undefined;
  }

  /** Folds the run's trades after `run.last` from the ledger (those the engine has seen). */
  private rebuild(strategy: string, run: Run): Run {
    const from = run.last;
    const seen = this.seenSeq();
    // One millisecond's trades are sorted in JS order (SQL orders ids by bytes; see inTradeOrder).
    let group: ExpectationTradeRow[] = [];
    const flush = () => {
      for (const t of group.length > 1 ? inTradeOrder(group) : group)
        if (keyAfter(t.closedMs, t.id, from) && inRun(run.key, t.version, t.openedMs, t.closedMs)) fold(run, t);
      group = [];
    };
    const afterMs = Math.max(run.key.startMs - 1, Number.isFinite(from.closedMs) ? from.closedMs - 1 : -Infinity);
    for (const t of this.ledger.expectations.runTrades(strategy, afterMs)) {
      if (t.seq > seen) continue;
      if (group.length && t.closedMs !== group[0].closedMs) flush();
      group.push(t);
    }
    flush();
    run.late = undefined;
    this.runs.set(strategy, run);
    return run;
  }

  /** After a late trade: back to the newest checkpoint before it, or to the start of the run. */
  private resume(strategy: string, run: Run, late: TradeKey): Run {
    let k = run.checkpoints.length - 1;
    while (k >= 0 && !keyAfter(late.closedMs, late.id, run.checkpoints[k].last)) k--;
    if (k < 0) return this.rebuild(strategy, newRun(run.key, run.summary));
    const cp = run.checkpoints[k];
    return this.rebuild(strategy, {
      key: run.key,
      summary: run.summary,
      fold: structuredClone(cp.fold),
      last: cp.last,
      checkpoints: run.checkpoints.slice(0, k + 1),
    });
  }
}

function sameKey(a: ExpectationKey, b: ExpectationKey): boolean {
  return (
    a.version === b.version && a.startMs === b.startMs && a.deploys === b.deploys && a.expectation === b.expectation
  );
}

function newRun(key: ExpectationKey, summary: BacktestSummary): Run {
  return { key, summary, fold: expectationFoldStart(summary), last: { closedMs: -Infinity, id: '' }, checkpoints: [] };
}

function fold(run: Run, t: Trade): void {
  expectationFoldAdd(run.fold, t.pnl, t.fees, t.notional);
  run.last = { closedMs: t.closedMs, id: t.id };
  if (run.fold.n % CHECKPOINT_EVERY === 0) {
    run.checkpoints.push({ fold: structuredClone(run.fold), last: run.last });
    if (run.checkpoints.length > CHECKPOINTS) run.checkpoints.shift();
  }
}
