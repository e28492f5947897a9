// The CUSUM of each strategy's current run (src/analytics/cusum.ts): the trades closed after
// the strategy's latest parameter deploy (all of its trades when it has none), folded in
// (closed_at, id) order. The window engine hands it every trade it reads; a trade that sorts
// before the last one folded in, a new deploy (also one that re-activates an old version) or
// another minimum sample makes the run stale, and the next query rebuilds it from the ledger.
// Why a rebuild rather than a correction: the statistic depends on the order of the trades,
// and late trades are rare; a rebuild reads one run with one indexed range query.
import { CUSUM_SHIFTS, cusumAdd, cusumStart, cusumValues, inTradeOrder, keyAfter, type CusumState, type TradeKey } from '../analytics/index.js';

/** What identifies a run: a change of any field starts a new one. */
export interface RunKey {
  /** deployed_at of the latest deploy (-Infinity: no deploy) */
  startMs: number;
  /** number of deploys so far: two deploys in the same millisecond are two runs */
  deploys: number;
  /** cusum_min_trades of the strategy */
  minTrades: number;
}

/** The run key of a strategy from its deploys (oldest first) and its cusum_min_trades. */
export function runKeyOf(deploys: ReadonlyArray<{ deployedMs: number }>, minTrades: number): RunKey {
  return { startMs: deploys[deploys.length - 1]?.deployedMs ?? -Infinity, deploys: deploys.length, minTrades };
}

export interface RunTrade extends TradeKey {
  pnl: number;
}

export interface CusumReading {
  /** one statistic per designed shift (σ of PnL per trade), in nats */
  values: Array<{ shift: number; llr: number }>;
  /** trades of the run so far */
  trades: number;
}

interface Run {
  key: RunKey;
  state: CusumState;
  last: TradeKey;
  stale: boolean;
}

/** What the state file keeps of a run (JSON: numbers round-trip exactly). */
export interface SavedRun {
  strategy: string;
  key: [startMs: number | null, deploys: number, minTrades: number];
  state: CusumState;
  last: TradeKey;
}

export class CusumRuns {
  private readonly runs = new Map<string, Run>();

  /**
   * `readRun` yields the strategy's trades closed after `afterMs` that the engine has seen, in
   * SQL's (closed_ms, id) order; it is iterated, so a long run is never held in memory.
   */
  constructor(private readonly readRun: (strategy: string, afterMs: number) => Iterable<RunTrade>) {}

  /** Starts the strategy's run empty, for a caller about to hand it every trade of the run in order. */
  begin(strategy: string, key: RunKey): void {
    this.runs.set(strategy, newRun(key));
  }

  /** A trade the engine read, in whatever order it arrived. */
  add(strategy: string, closedMs: number, id: string, pnl: number): void {
    const run = this.runs.get(strategy);
    if (!run || run.stale || closedMs <= run.key.startMs) return;
    if (!keyAfter(closedMs, id, run.last)) {
      run.stale = true;
      return;
    }
    fold(run, { closedMs, id, pnl });
  }

  /** The statistic of the strategy's current run; undefined under the minimum sample. */
  read(strategy: string, key: RunKey): CusumReading | undefined {
    let run = this.runs.get(strategy);
    if (!run || run.stale || run.key.startMs !== key.startMs || run.key.deploys !== key.deploys || run.key.minTrades !== key.minTrades) run = this.rebuild(strategy, key);
    const values = cusumValues(run.state, key.minTrades);
    return values && { values, trades: run.state.n };
  }

  private rebuild(strategy: string, key: RunKey): Run {
    let run = newRun(key);
    for (const t of this.readRun(strategy, key.startMs)) {
      if (!keyAfter(t.closedMs, t.id, run.last)) {
        // SQL orders ids by UTF-8 bytes, JS by UTF-16 units: they differ for a few astral
        // characters. Rare enough to read the run again and sort it in memory.
        run = newRun(key);
        for (const u of inTradeOrder([...this.readRun(strategy, key.startMs)])) fold(run, u);
        break;
      }
      fold(run, t);
    }
    this.runs.set(strategy, run);
    return run;
  }

  save(): SavedRun[] {
    const out: SavedRun[] = [];
    for (const [strategy, run] of this.runs)
      if (!run.stale && run.state.n > 0) out.push({ strategy, key: [Number.isFinite(run.key.startMs) ? run.key.startMs : null, run.key.deploys, run.key.minTrades], state: run.state, last: run.last });
    return out;
  }

  /** Takes the runs of a state file; anything that does not look like one is skipped (the next read rebuilds it). */
  restore(saved: unknown): void {
    if (!Array.isArray(saved)) return;
    for (const s of saved as SavedRun[]) {
      if (typeof s?.strategy !== 'string' || !Array.isArray(s.key) || !isState(s.state) || typeof s.last?.id !== 'string' || typeof s.last.closedMs !== 'number') continue;
      // A state of other designed shifts (another release) is rebuilt rather than continued.
      if (s.state.shifts.join() !== CUSUM_SHIFTS.join()) continue;
      const [startMs, deploys, minTrades] = s.key;
      this.runs.set(s.strategy, { key: { startMs: startMs ?? -Infinity, deploys, minTrades }, state: s.state, last: s.last, stale: false });
    }
  }

  clear(): void {
    this.runs.clear();
  }
}

function newRun(key: RunKey): Run {
  return { key: { ...key }, state: cusumStart(), last: { closedMs: -Infinity, id: '' }, stale: false };
}

function fold(run: Run, t: RunTrade): void {
  cusumAdd(run.state, t.pnl, run.key.minTrades);
  run.last = { closedMs: t.closedMs, id: t.id };
}

function isState(s: unknown): s is CusumState {
  const c = s as CusumState;
  return typeof c?.n === 'number' && Array.isArray(c.lagged) && Array.isArray(c.llr) && Array.isArray(c.shifts) && c.llr.length === c.shifts.length && typeof c.ref?.mean === 'number';
}
