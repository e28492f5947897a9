// The CUSUM of each strategy's current run (src/analytics/cusum.ts): the trades of the active
// parameter version attributed to its latest deploy or later (see inRun; all of the trades when
// the strategy has no deploy), folded in (closed_at, id) order. Candidate arms of an experiment
// carry other versions, so they never feed it; the control arm (the active version) does. The window engine hands it every trade it reads. The statistic
// depends on the order of the trades, so a trade that sorts before the last one folded in
// (late, or from a second writer) cannot simply be added: the next query resumes from the
// newest checkpoint before it (a copy of the state kept every CHECKPOINT_EVERY trades) and
// re-reads only the trades after that checkpoint, with one indexed range query. A new deploy
// (also one that re-activates an old version) or another minimum sample starts a new run,
// read from the ledger in full, together with the run the deploy ended, whose inflation is
// the new run's prior (src/sidecar/cusum-prior.ts).
import {
  cusumAdd,
  cusumValues,
  cusumVarianceInflation,
  inTradeOrder,
  keyAfter,
  type CusumState,
  type TradeKey,
} from '../analytics/index.js';
import {
  inPrior,
  previousRunOf,
  priorAdd,
  priorStart,
  priorValues,
  statesWithPrior,
  type PreviousRun,
  type PriorFold,
} from './cusum-prior.js';
import { isState, isSavedPrior } from './cusum-saved.js';

/** What identifies a run: a change of any field starts a new one. */
export interface RunKey {
  /** the active version (null: the strategy has no deploy) */
  version: number | null;
  /** deployed_at of the latest deploy (-Infinity: no deploy) */
  startMs: number;
  /** number of deploys so far: two deploys in the same millisecond are two runs */
  deploys: number;
  /** cusum_min_trades of the strategy */
  minTrades: number;
  /** the run the latest deploy ended, whose inflation is this run's prior (absent: no deploy, no prior) */
  previous?: PreviousRun;
}

/** The run key of a strategy from its deploys (in time order, the active one last) and its cusum_min_trades. */
export function runKeyOf(deploys: ReadonlyArray<{ deployedMs: number; version: number }>, minTrades: number): RunKey {
  const active = deploys[deploys.length - 1];
  return {
    version: active?.version ?? null,
    startMs: active?.deployedMs ?? -Infinity,
    deploys: deploys.length,
    minTrades,
    previous: previousRunOf(deploys),
  };
}

export function sameRun(a: RunKey, b: RunKey): boolean {
  return a.version === b.version && a.startMs === b.startMs && a.deploys === b.deploys && a.minTrades === b.minTrades;
}

/**
 * Whether a trade belongs to the run: it carries the active version and its attributed time
 * (opened_at, else closed_at) is at or after the latest deploy. So a trade that opened under
 * the previous version and closed after the deploy stays with the previous version.
 */
export function inRun(key: RunKey, version: number | null, openedMs: number | null, closedMs: number): boolean {
  return version === key.version && (openedMs ?? closedMs) >= key.startMs;
}

export interface RunTrade extends TradeKey {
  pnl: number;
  version: number | null;
  openedMs: number | null;
  notional: number | null;
}

/**
 * What the run's CUSUM reads per trade: the return on notional while every trade of the run
 * carries a notional (a change of position size is not a change of edge), else PnL. Both are
 * folded until the first trade without a notional, which drops the returns' state: no re-read.
 */
export type Outcome = 'return' | 'pnl';

export interface CusumReading {
  /** one statistic per designed shift (σ of PnL per trade), in nats */
  values: Array<{ shift: number; llr: number }>;
  /** trades of the run so far */
  trades: number;
  /** what the statistic reads per trade */
  outcome: Outcome;
  /** the run's long-run variance over its short-run variance (≥ 1, at least the prior): drift divides its z by its root */
  inflation: number;
}

/** A copy of the state is kept every this many trades of a run... */
const CHECKPOINT_EVERY = 1000;
/** ...the newest this many: a trade later than ~8,000 trades of its run makes a full read. */
const CHECKPOINTS = 8;

interface Checkpoint {
  state: CusumState;
  rstate?: CusumState;
  last: TradeKey;
}

interface Run {
  key: RunKey;
  /** The CUSUM of returns on notional, while every trade of the run carried one. */
  rstate?: CusumState;
  /** The CUSUM of PnL. */
  state: CusumState;
  last: TradeKey;
  /** Copies of the state, oldest first (not saved: a restarted run has none until it grows). */
  checkpoints: Checkpoint[];
  /** The earliest trade that arrived out of order since the last read, if any. */
  late?: TradeKey;
  /** The prior's sample being folded, until the run's first trade (then the states get their priors). */
  pending?: PriorFold;
}

/** A late trade of the prior's sample: the whole run is read again. */
const BEFORE_ALL: TradeKey = { closedMs: -Infinity, id: '' };

/** What the state file keeps of a run (JSON: numbers round-trip exactly). */
export interface SavedRun {
  strategy: string;
  key: [startMs: number | null, deploys: number, minTrades: number, version: number | null];
  state: CusumState;
  last: TradeKey;
  rstate?: CusumState;
  /** the priors the states were started with (PnL, returns): runs saved without it are read again */
  prior: [pnl: number, returns: number];
  /** the run the latest deploy ended (version, deployed_at; null: none) */
  previous: [version: number | null, startMs: number | null] | null;
}

export class CusumRuns {
  private readonly runs = new Map<string, Run>();
  /** True when a run was read or rebuilt from the ledger since the last save(): worth saving. */
  changed = false;

  /**
   * `readRun` yields the strategy's trades closed after `afterMs` that the engine has seen, in
   * SQL's (closed_ms, id) order; it is iterated, so a long run is never held in memory.
   */
  constructor(private readonly readRun: (strategy: string, afterMs: number) => Iterable<RunTrade>) {}

  /** Starts the strategy's run empty, for a caller about to hand it every trade of the run in order. */
  begin(strategy: string, key: RunKey): void {
    this.runs.set(strategy, newRun(key));
    this.changed = true;
  }

  /** A trade the engine read, in whatever order it arrived. */
  add(strategy: string, t: RunTrade): void {
    const run = this.runs.get(strategy);
    if (!run) return;
    const { closedMs, id } = t;
    if (!inRun(run.key, t.version, t.openedMs, t.closedMs)) {
      if (!inPrior(run.key.previous, run.key.startMs, t.version, t.openedMs, closedMs)) return;
      // The prior's sample, in order while the run has no trade yet (a start reading every
      // trade); any other arrival changes the prior of every trade folded: read it all again.
      if (run.late === undefined && run.pending && keyAfter(closedMs, id, run.pending.last))
        priorAdd(run.pending, t, run.key.minTrades);
      else run.late = BEFORE_ALL;
      return;
    }
    if (run.late === undefined && keyAfter(closedMs, id, run.last)) fold(run, t);
    else if (run.late === undefined || keyAfter(run.late.closedMs, run.late.id, { closedMs, id }))
      run.late = { closedMs, id };
    // else: an earlier late trade already makes the next read re-read from before this one
  }

  /** The statistic of the strategy's current run; undefined under the minimum sample. */
  read(strategy: string, key: RunKey): CusumReading | undefined {
    let run = this.runs.get(strategy);
    if (!run || !sameRun(run.key, key)) run = this.rebuild(strategy, newRun(key));
    else if (run.late) run = this.resume(strategy, run, run.late);
    settle(run);
    const state = run.rstate ?? run.state;
    const values = cusumValues(state, key.minTrades);
    return (
      values && {
        values,
        trades: run.state.n,
        outcome: run.rstate ? 'return' : 'pnl',
        inflation: cusumVarianceInflation(state),
      }
    );
  }

  /** Folds the run's trades after `run.last` from the ledger into `run`. */
  private rebuild(strategy: string, run: Run): Run {
    const from = run.last;
    // One millisecond's trades are buffered and sorted: SQL orders ids by UTF-8 bytes, JS by
    // UTF-16 units, which differ for a few astral characters.
    let group: RunTrade[] = [];
    const flush = () => {
      for (const t of group.length > 1 ? inTradeOrder(group) : group) {
        if (keyAfter(t.closedMs, t.id, from) && inRun(run.key, t.version, t.openedMs, t.closedMs)) fold(run, t);
        else if (run.pending && inPrior(run.key.previous, run.key.startMs, t.version, t.openedMs, t.closedMs))
          priorAdd(run.pending, t, run.key.minTrades);
      }
      group = [];
    };
    // A trade of the run closed at or after the deploy (closed_at >= its attributed time); a
    // new run reads from the previous deploy on, for its prior.
    const afterMs = run.pending
      ? (run.key.previous?.startMs ?? -Infinity) - 1
      : Math.max(run.key.startMs - 1, Number.isFinite(from.closedMs) ? from.closedMs - 1 : -Infinity);
    for (const t of this.readRun(strategy, afterMs)) {
      if (group.length && t.closedMs !== group[0].closedMs) flush();
      group.push(t);
    }
    flush();
    settle(run);
    run.late = undefined;
    this.runs.set(strategy, run);
    this.changed = true;
    return run;
  }

  /** After a late trade: back to the newest checkpoint before it, or to the start of the run. */
  private resume(strategy: string, run: Run, late: TradeKey): Run {
    let k = run.checkpoints.length - 1;
    while (k >= 0 && !keyAfter(late.closedMs, late.id, run.checkpoints[k].last)) k--;
    if (k < 0) return this.rebuild(strategy, newRun(run.key));
    const cp = run.checkpoints[k];
    const resumed: Run = {
      key: run.key,
      state: structuredClone(cp.state),
      rstate: cp.rstate && structuredClone(cp.rstate),
      last: cp.last,
      checkpoints: run.checkpoints.slice(0, k + 1),
    };
    return this.rebuild(strategy, resumed);
  }

  save(): SavedRun[] {
    const out: SavedRun[] = [];
    for (const [strategy, run] of this.runs)
      if (run.late === undefined && run.pending === undefined && run.state.n > 0)
        out.push({
          strategy,
          key: [
            Number.isFinite(run.key.startMs) ? run.key.startMs : null,
            run.key.deploys,
            run.key.minTrades,
            run.key.version,
          ],
          state: run.state,
          last: run.last,
          ...(run.rstate ? { rstate: run.rstate } : {}),
          prior: [run.state.lrv?.prior ?? 1, run.rstate?.lrv?.prior ?? run.state.lrv?.prior ?? 1],
          previous: run.key.previous
            ? [run.key.previous.version, Number.isFinite(run.key.previous.startMs) ? run.key.previous.startMs : null]
            : null,
        });
    this.changed = false;
    return out;
  }

  /** Takes the runs of a state file; anything that does not look like one of this release is skipped (the next read rebuilds it). */
  restore(saved: unknown): void {
    this.runs.clear();
    if (!Array.isArray(saved)) return;
    for (const s of saved as SavedRun[]) {
      if (
        typeof s?.strategy !== 'string' ||
        !Array.isArray(s.key) ||
        s.key.length !== 4 ||
        (s.rstate !== undefined && !isState(s.rstate)) ||
        !isState(s.state) ||
        typeof s.last?.id !== 'string' ||
        typeof s.last.closedMs !== 'number' ||
        // Saved before the prior was carried (or tampered with): the states' priors must be the saved ones.
        !isSavedPrior(s.prior, s.previous, s.state, s.rstate)
      )
        continue;
      const [startMs, deploys, minTrades, version] = s.key;
      if (
        !(startMs === null || Number.isFinite(startMs)) ||
        !Number.isInteger(deploys) ||
        !Number.isInteger(minTrades) ||
        !(version === null || Number.isInteger(version))
      )
        continue;
      this.runs.set(s.strategy, {
        key: {
          version,
          startMs: startMs ?? -Infinity,
          deploys,
          minTrades,
          ...(s.previous ? { previous: { version: s.previous[0], startMs: s.previous[1] ?? -Infinity } } : {}),
        },
        state: s.state,
        rstate: s.rstate,
        last: s.last,
        checkpoints: [],
      });
    }
  }

  clear(): void {
    this.runs.clear();
  }

  /** Forgets one strategy's run (its trades were re-attributed): the next read rebuilds it. */
  forget(strategy: string): void {
    this.runs.delete(strategy);
  }
}

function newRun(key: RunKey): Run {
  return {
    key: { ...key },
    ...statesWithPrior({ pnl: 1, returns: 1 }),
    last: { closedMs: -Infinity, id: '' },
    checkpoints: [],
    ...(key.previous ? { pending: priorStart() } : {}),
  };
}

/** Gives a run without trades yet the priors of the sample folded so far. */
function settle(run: Run): void {
  if (!run.pending) return;
  const states = statesWithPrior(priorValues(run.pending));
  run.state = states.state;
  run.rstate = states.rstate;
  run.pending = undefined;
}

function fold(run: Run, t: RunTrade): void {
  settle(run);
  if (run.rstate) {
    if (t.notional !== null && t.notional > 0) cusumAdd(run.rstate, t.pnl / t.notional, run.key.minTrades);
    else run.rstate = undefined;
  }
  cusumAdd(run.state, t.pnl, run.key.minTrades);
  run.last = { closedMs: t.closedMs, id: t.id };
  if (run.state.n % CHECKPOINT_EVERY === 0) {
    run.checkpoints.push({
      state: structuredClone(run.state),
      rstate: run.rstate && structuredClone(run.rstate),
      last: run.last,
    });
    if (run.checkpoints.length > CHECKPOINTS) run.checkpoints.shift();
  }
}
