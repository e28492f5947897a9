// The window engine: folds the ledger's trades, as they arrive, into what a scrape reads
// without touching the ledger's size: per strategy its rolling windows (window-set.ts), the
// windows of its current run, the whole-life series of each parameter version and experiment
// variant (life-series.ts), its straddling trades and the CUSUM of its run (cusum-runs.ts).
// Each refresh reads only rows with seq above the last one seen.
//
// Trades that arrive out of (closed_at, id) order cannot be appended: the bucket they land in
// is rebuilt from SQL at the next foreground refresh (a minute, or an hour of a whole-life
// series when more than two hours late). A deploy that re-attributes stored trades (a
// back-dated one) bumps the strategy's attribution epoch: its per-version series are re-read.
//
// What a start costs: the buckets are saved next to the ledger (state-file.ts), so a restart
// reads only the trades recorded since the last save; without a usable state it reads every
// trade once, per strategy in (closed_at, id) order, so nothing needs a rebuild.
//
// Over 350 lines on purpose: what is left here is the state the parts share (the last seq, the
// horizon and cutoff, buckets awaiting a rebuild, epochs) and the order of a refresh; the
// parts themselves are in window-set.ts, life-series.ts, cusum-runs.ts and state-file.ts.
import { existsSync } from 'node:fs';
import { bucketStart, empty, inTradeOrder, type Agg, type BucketSeries } from '../analytics/index.js';
import { LedgerError } from '../errors.js';
import { faultOf, type LeanTrade, type Ledger, type RowCheck } from '../ledger/index.js';
import { CusumRuns, inRun, sameRun, type CusumReading, type RunKey, type RunTrade } from './cusum-runs.js';
import { ExpectationRuns } from './expectation-runs.js';
import { HOUR, LifeSeries, MINUTE } from './life-series.js';
import { readStateFile, StateRejected, writeStateFile, type SavedSeries } from './state-file.js';
import {
  WINDOWS,
  foldIntoWindows,
  minuteChanged,
  pruneWindows,
  windowRange,
  windowSet,
  type MinuteReader,
  type WindowName,
  type WindowSet,
} from './window-set.js';

export { DAY, WINDOWS, type WindowName } from './window-set.js';
export { HOUR } from './life-series.js';

/** Whole-life series keep minute buckets this long before folding them into hours. */
const RECENT_MS = 2 * HOUR;
/** Rows read per query of a refresh. */
const PAGE = 20_000;

export interface EngineOptions {
  /** Where the bucket state is saved; null: never saved nor loaded. Default `<ledger>.sidecar-state`. */
  statePath?: string | null;
  /** Save right after a start that had to read at least this many trades (default 100,000). */
  stateMinTrades?: number;
  /** Then save at most this often, when trades arrived (default 10 minutes). */
  stateIntervalMs?: number;
  /**
   * The current CUSUM run of a strategy. Given, a start that reads every trade fills the runs
   * in the same pass (and saves them); without it each run is read at its first query.
   */
  runKey?: (strategy: string) => RunKey;
}

/**
 * The windows of the strategy's current run (the active version since its latest deploy, see
 * inRun): drift compares a version with its own history, never with another version's trades.
 * Rebuilt from the ledger (the last 7 days) when the run changes, that is at a deploy.
 */
interface RunWindows extends WindowSet {
  key: RunKey;
}

interface StrategyState extends WindowSet {
  run?: RunWindows;
  versions: Map<number, LifeSeries>;
  /** Per version, its trades that opened under it and closed after a later deploy. */
  straddles: Map<number, number>;
  /** experiment -> variant -> series */
  variants: Map<string, Map<string, LifeSeries>>;
  lastTradeMs: number;
}

function runWindowSet(name: string, key: RunKey): RunWindows {
  const k = { ...key };
  return { ...windowSet(name, (r) => inRun(k, r.version, r.openedMs, r.closedMs)), key: k };
}

/** A bucket series awaiting the rebuild of some of its buckets from SQL. */
interface Pending {
  strategy: string;
  keep: (r: LeanTrade) => boolean;
  starts: Set<number>;
  /** The window set the series is the windows of, if it is one: its caches are dropped too. */
  set?: WindowSet;
}
type Rebuilds = Map<BucketSeries, Pending>;

function needRebuild(
  pending: Rebuilds,
  series: BucketSeries,
  strategy: string,
  keep: Pending['keep'],
  closedMs: number,
  set?: WindowSet,
): void {
  let d = pending.get(series);
  if (!d) pending.set(series, (d = { strategy, keep, starts: new Set(), set }));
  d.starts.add(bucketStart(closedMs, series.bucketMs));
}

const ALL = () => true;

export class WindowEngine {
  private lastSeq = 0;
  private readonly strategies = new Map<string, StrategyState>();
  /** Rows folded in (the ledger's trade count once the first refresh is done). */
  tradesSeen = 0;
  /** Start of the oldest minute any window can still need: older rows skip the window series. */
  private horizon = -Infinity;
  /** Whole-life series hold minute buckets from here on, hours before. */
  private cutoff = -Infinity;
  private started = false;
  /** Buckets that received a trade out of order, until their rebuild succeeds. */
  private readonly pending: Rebuilds = new Map();
  /** How the first refresh got its buckets: 'state' (saved state + newer rows) or 'scan' (every trade). */
  startMode?: 'state' | 'scan';
  /** Why a saved state was not used or not written, if so (for the start-up log). */
  stateNote?: string;
  /** The CUSUM of each strategy's current run, fed by fold(). */
  private readonly cusumRuns = new CusumRuns((strategy, afterMs) => this.runTrades(strategy, afterMs));
  /** Live against expected (src/sidecar/expectation-runs.ts), fed by fold() like the CUSUM. */
  readonly expectations: ExpectationRuns;
  /** Each strategy's attribution epoch as last read: a change means a deploy re-attributed stored trades. */
  private epochs = new Map<string, number>();
  private readonly statePath: string | null;
  private readonly stateMinTrades: number;
  private readonly stateIntervalMs: number;
  private lastSaveAt = 0;
  private savedSeq = 0;
  /** What windows read from SQL: one minute's trades of a set, that this engine has seen. */
  private readonly reader: MinuteReader = {
    generation: 0,
    minuteRows: (set, minute) => inTradeOrder(this.rows(set.name, minute, minute + MINUTE).filter(set.keep)),
  };

  constructor(
    private readonly ledger: Ledger,
    private readonly opts: EngineOptions = {},
  ) {
    this.expectations = new ExpectationRuns(ledger, () => this.lastSeq);
    this.statePath = opts.statePath === undefined ? `${ledger.path}.sidecar-state` : opts.statePath;
    this.stateMinTrades = opts.stateMinTrades ?? 100_000;
    this.stateIntervalMs = opts.stateIntervalMs ?? 10 * 60_000;
  }

  /**
   * Reads the rows added since the last refresh and folds them in. Returns how many.
   * `background`: a refresh between scrapes (the sidecar's timer). It leaves the rebuild of
   * buckets that received a trade out of order to the next foreground refresh, and does not
   * age the edge rows the last scrape read. Windows are exact only after a foreground refresh:
   * every reader calls one first.
   */
  refresh(nowMs: number, { background = false } = {}): number {
    this.horizon = Math.max(this.horizon, bucketStart(nowMs - WINDOWS['7d'], MINUTE) - MINUTE);
    const cutoff = bucketStart(nowMs - RECENT_MS, HOUR);
    if (this.cutoff === -Infinity) this.cutoff = cutoff;
    if (!background) this.reader.generation++;
    let read = 0;
    const starting = !this.started;
    if (starting) {
      this.started = true;
      if (this.restore()) this.startMode = 'state';
      else {
        this.startMode = 'scan';
        read = this.scanAll();
      }
    }
    const reads = this.ledger.tradeReads;
    for (;;) {
      let page = 0;
      this.sql('reading new trades', () => {
        for (const row of reads.arrivedAfter(this.lastSeq, PAGE)) {
          this.fold(this.state(row.strategy), row);
          this.lastSeq = row.seq;
          page++;
        }
      });
      read += page;
      if (page < PAGE) break;
    }
    this.tradesSeen += read;
    // A scan has just read every trade as it is attributed now; saved state may predate a re-attribution.
    if (!background) this.checkAttribution(!(starting && this.startMode === 'scan'));
    // Rebuilds wait for a refresh that is followed by a read: at high rates a late trade's
    // minute holds many rows, and the timer would otherwise re-read it ten times a second.
    if (!background) this.rebuild(this.pending);
    const waiting = this.pending.size > 0;
    if (cutoff > this.cutoff && !waiting) {
      for (const series of this.lifeSeries()) series.compact(this.cutoff, cutoff);
      this.cutoff = cutoff;
    }
    for (const s of this.strategies.values())
      for (const set of s.run ? [s, s.run] : [s]) pruneWindows(set, this.horizon, this.reader.generation);
    if (!waiting) this.maybeSave(read, starting); // never save buckets awaiting a rebuild
    return read;
  }

  /** A start without saved state: every trade up to now, per strategy in (closed_at, id) order, so nothing is rebuilt. */
  private scanAll(): number {
    const maxSeq = this.ledger.maxSeq();
    let read = 0;
    for (const name of this.ledger.strategies()) {
      const s = this.state(name);
      const key = this.opts.runKey?.(name);
      // The rows below come in (closed_at, id) order: the run's CUSUM and windows fill in the same pass.
      if (key) {
        this.cusumRuns.begin(name, key);
        s.run = runWindowSet(name, key);
      }
      this.sql('reading the ledger', () => {
        for (const row of this.ledger.tradeReads.ofStrategy(name, maxSeq)) {
          this.fold(s, row);
          read++;
        }
      });
    }
    this.lastSeq = maxSeq;
    return read;
  }

  private state(strategy: string): StrategyState {
    let s = this.strategies.get(strategy);
    if (!s)
      this.strategies.set(
        strategy,
        (s = {
          ...windowSet(strategy, ALL),
          versions: new Map(),
          straddles: new Map(),
          variants: new Map(),
          lastTradeMs: -Infinity,
        }),
      );
    return s;
  }

  /**
   * A deploy that re-attributed stored trades (a back-dated one) bumps the strategy's epoch:
   * its per-version series are rebuilt from the ledger, and its run and CUSUM re-read. Rare
   * (imports), so a full read of the strategy is fine. At the start only the epochs are noted.
   */
  private checkAttribution(rebuildChanged: boolean): void {
    const epochs = this.sql('reading attribution epochs', () => this.ledger.attributionEpochs());
    if (rebuildChanged) {
      for (const [name, epoch] of epochs) {
        if ((this.epochs.get(name) ?? 0) === epoch) continue;
        const s = this.strategies.get(name);
        if (!s) continue;
        const versions = new Map<number, LifeSeries>();
        const straddles = new Map<number, number>();
        const pending: Rebuilds = new Map();
        const fresh: StrategyState = { ...s, versions };
        this.sql('re-reading re-attributed trades', () => {
          for (const row of this.ledger.tradeReads.ofStrategy(name, this.lastSeq)) {
            if (row.version === null) continue;
            if (row.straddle) straddles.set(row.version, (straddles.get(row.version) ?? 0) + 1);
            this.feed(this.versionSeries(fresh, row.version), row, pending);
          }
        });
        // SQL's (closed_at, id) order differs from ours only for astral ids within a millisecond.
        this.rebuild(pending);
        s.versions = versions;
        s.straddles = straddles;
        s.run = undefined;
        this.cusumRuns.forget(name);
      }
    }
    this.epochs = epochs;
  }

  private versionSeries(s: StrategyState, version: number): LifeSeries {
    let v = s.versions.get(version);
    if (!v) s.versions.set(version, (v = new LifeSeries(s.name, (r) => r.version === version)));
    return v;
  }

  private variantSeries(s: StrategyState, experiment: string, variant: string): LifeSeries {
    let e = s.variants.get(experiment);
    if (!e) s.variants.set(experiment, (e = new Map<string, LifeSeries>()));
    let v = e.get(variant);
    if (!v) e.set(variant, (v = new LifeSeries(s.name, (r) => r.experiment === experiment && r.variant === variant)));
    return v;
  }

  private *lifeSeries(): Iterable<LifeSeries> {
    for (const s of this.strategies.values()) {
      yield* s.versions.values();
      for (const e of s.variants.values()) yield* e.values();
    }
  }

  private feed(series: LifeSeries, row: LeanTrade, pending: Rebuilds): void {
    const dirty = series.add(row, this.cutoff);
    if (dirty) needRebuild(pending, dirty, series.strategy, series.keep, row.closedMs);
  }

  private foldWindows(set: WindowSet, row: LeanTrade): void {
    if (foldIntoWindows(set, row)) needRebuild(this.pending, set.windows, set.name, set.keep, row.closedMs, set);
  }

  /** One trade into everything that holds it. `row` may be reused by the caller: nothing keeps it. */
  private fold(s: StrategyState, row: LeanTrade): void {
    const closed = row.closedMs;
    if (closed > s.lastTradeMs) s.lastTradeMs = closed;
    if (row.straddle && row.version !== null) s.straddles.set(row.version, (s.straddles.get(row.version) ?? 0) + 1);
    this.cusumRuns.add(s.name, {
      closedMs: closed,
      id: row.id,
      pnl: row.pnl,
      version: row.version,
      openedMs: row.openedMs,
      notional: row.notional,
    });
    this.expectations.add(s.name, row.id, closed, row.pnl, row.fees, row.version, row.openedMs, row.notional);
    // Rows older than every window only feed the whole-life series.
    if (closed >= this.horizon) {
      this.foldWindows(s, row);
      if (s.run && s.run.keep(row)) this.foldWindows(s.run, row);
    }
    if (row.version !== null) this.feed(this.versionSeries(s, row.version), row, this.pending);
    if (row.experiment !== null && row.variant !== null)
      this.feed(this.variantSeries(s, row.experiment, row.variant), row, this.pending);
  }

  /** The run's windows for `key`, read from the ledger (trades of the last 7 days) when the run changed. */
  private runWindows(s: StrategyState, key: RunKey): RunWindows {
    if (s.run && sameRun(s.run.key, key)) return s.run;
    const run = runWindowSet(s.name, key);
    const pending: Rebuilds = new Map();
    const from = Math.max(this.horizon, key.startMs);
    this.sql('reading the current run', () => {
      for (const row of this.ledger.tradeReads.closedBetween(s.name, from, Number.MAX_SAFE_INTEGER))
        if (row.seq <= this.lastSeq && run.keep(row) && foldIntoWindows(run, row))
          needRebuild(pending, run.windows, run.name, run.keep, row.closedMs, run);
    });
    this.rebuild(pending);
    s.run = run;
    return run;
  }

  /** Rebuilds from SQL, in order, the buckets that received a trade out of (closed_at, id) order. */
  private rebuild(pending: Rebuilds): void {
    // Each bucket leaves the sets once rebuilt, so a read that fails leaves the rest for the next refresh.
    for (const [series, d] of pending) {
      for (const start of d.starts) {
        series.replaceBucket(start, this.rows(d.strategy, start, start + series.bucketMs).filter(d.keep));
        if (d.set) minuteChanged(d.set, start, true);
        d.starts.delete(start);
      }
      pending.delete(series);
    }
  }

  /** Trades of [fromMs, toMs) in (closed_at, id) order, limited to rows this engine has seen. */
  private rows(strategy: string, fromMs: number, toMs: number): LeanTrade[] {
    const rows = this.sql('reading trades', () => this.ledger.tradeReads.closedBetweenAll(strategy, fromMs, toMs));
    return rows.filter((r) => r.seq <= this.lastSeq);
  }

  /** Exact aggregate of trades with fromExclusive < closed_at <= toInclusive. */
  range(strategy: string, fromExclusive: number, toInclusive: number): Agg {
    const s = this.strategies.get(strategy);
    return s ? windowRange(s, fromExclusive, toInclusive, this.reader) : empty();
  }

  /** The same over the trades of the strategy's current run (`key`): see RunWindows. */
  runRange(strategy: string, key: RunKey, fromExclusive: number, toInclusive: number): Agg {
    const s = this.strategies.get(strategy);
    if (!s) return empty();
    return windowRange(this.runWindows(s, key), fromExclusive, toInclusive, this.reader);
  }

  window(strategy: string, name: WindowName, nowMs: number): Agg {
    return this.range(strategy, nowMs - WINDOWS[name], nowMs);
  }

  strategyNames(): string[] {
    return [...this.strategies.keys()].sort();
  }

  lastTradeMs(strategy: string): number | undefined {
    const t = this.strategies.get(strategy)?.lastTradeMs;
    return t === undefined || t === -Infinity ? undefined : t;
  }

  /** Whole-life aggregate of each parameter version of a strategy. */
  versionTotals(strategy: string): Map<number, Agg> {
    const out = new Map<number, Agg>();
    for (const [v, series] of this.strategies.get(strategy)?.versions ?? []) out.set(v, series.total());
    return out;
  }

  /** Per version, the trades that opened under it and closed after a later deploy. */
  straddleCounts(strategy: string): Map<number, number> {
    return new Map(this.strategies.get(strategy)?.straddles ?? []);
  }

  /** Whole-life aggregate of each variant of an experiment. */
  variantTotals(strategy: string, experiment: string): Map<string, Agg> {
    const out = new Map<string, Agg>();
    for (const [v, series] of this.strategies.get(strategy)?.variants.get(experiment) ?? []) out.set(v, series.total());
    return out;
  }

  /**
   * The CUSUM of the strategy's current run (the active version's trades from `key.startMs`, its latest
   * deploy); undefined under `key.minTrades` trades.
   */
  cusum(strategy: string, key: RunKey): CusumReading | undefined {
    return this.sql('reading the current run', () => this.cusumRuns.read(strategy, key));
  }

  /** The trades of a run the engine has seen, in SQL order, one row at a time. */
  private *runTrades(strategy: string, afterMs: number): Iterable<RunTrade> {
    const lastSeq = this.lastSeq;
    for (const t of this.ledger.tradeReads.closedAfter(strategy, afterMs)) if (t.seq <= lastSeq) yield t;
  }

  private sql<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw new LedgerError(`${what} failed: ${(err as Error).message}`, faultOf(err), err);
    }
  }

  // ---- saved state (state-file.ts) ----
  //
  // Written after a start that read many trades and then every stateIntervalMs while trades
  // arrive. Used only when the ledger still holds, at the saved seq, the very row it was saved
  // after; any doubt (another file, another format, unreadable) means a full read. Trades are
  // never deleted from a ledger; a ledger pruned by hand needs its state file removed.

  private maybeSave(read: number, starting: boolean): void {
    const now = performance.now();
    if (starting) this.lastSaveAt = now;
    if (this.statePath === null || this.ledger.readonly || (this.lastSeq === this.savedSeq && !this.cusumRuns.changed))
      return;
    if (starting ? read < this.stateMinTrades : now - this.lastSaveAt < this.stateIntervalMs) return;
    this.lastSaveAt = now;
    try {
      this.save(this.statePath);
      this.savedSeq = this.lastSeq;
    } catch (err) {
      // Only a slower next start is at stake: note it and carry on.
      this.stateNote = `saving the window state to ${this.statePath} failed: ${(err as Error).message}`;
    }
  }

  /** Saves the state now if it can (a path, a writable ledger) and trades arrived since the last save: for a clean stop. */
  saveState(): void {
    this.lastSaveAt = 0;
    if (this.statePath === null || this.ledger.readonly || !this.ledger.isOpen) return;
    this.rebuild(this.pending); // what a background refresh left pending
    if (this.lastSeq !== this.savedSeq || this.cusumRuns.changed) {
      this.save(this.statePath);
      this.savedSeq = this.lastSeq;
    }
  }

  /** Writes the state file now. */
  save(path: string): void {
    const series: SavedSeries[] = [];
    const life = (head: SavedSeries['head'], l: LifeSeries) =>
      series.push({ head, buckets: l.recent.saved(), hours: l.past.saved() });
    for (const s of this.strategies.values()) {
      series.push({ head: { strategy: s.name }, buckets: s.windows.saved() });
      if (s.run) {
        const k = s.run.key;
        const run: SavedSeries['head']['run'] = [
          Number.isFinite(k.startMs) ? k.startMs : null,
          k.deploys,
          k.minTrades,
          k.version,
        ];
        series.push({ head: { strategy: s.name, run }, buckets: s.run.windows.saved() });
      }
      for (const [version, v] of s.versions) life({ strategy: s.name, version }, v);
      for (const [experiment, variants] of s.variants)
        for (const [variant, v] of variants) life({ strategy: s.name, experiment, variant }, v);
    }
    writeStateFile(path, {
      lastSeq: this.lastSeq,
      check: this.checkAt(this.lastSeq),
      tradesSeen: this.tradesSeen,
      cutoff: this.cutoff,
      strategies: [...this.strategies.values()].map((s) => [s.name, s.lastTradeMs]),
      series,
      cusum: this.cusumRuns.save(),
      epochs: [...this.epochs],
      straddles: [...this.strategies.values()].flatMap((s) =>
        [...s.straddles].map(([v, n]) => [s.name, v, n] as [string, number, number]),
      ),
    });
  }

  private checkAt(seq: number): RowCheck | null {
    return seq > 0 ? (this.ledger.tradeReads.checkAt(seq) ?? null) : null;
  }

  /** Loads the state file when it belongs to this ledger. Returns false (and notes why) otherwise. */
  private restore(): boolean {
    const path = this.statePath;
    if (path === null || !existsSync(path)) return false;
    try {
      const state = readStateFile(path);
      const row = this.checkAt(state.lastSeq);
      if (state.lastSeq > 0 && (!row || !state.check || row.join('\u0000') !== state.check.join('\u0000')))
        throw new StateRejected('it belongs to another ledger');
      for (const [name, lastTradeMs] of state.strategies) this.state(name).lastTradeMs = lastTradeMs ?? -Infinity;
      for (const { head, buckets, hours } of state.series) {
        const s = this.state(head.strategy);
        if (head.run) {
          const [startMs, deploys, minTrades, version] = head.run;
          s.run = runWindowSet(s.name, { version, startMs: startMs ?? -Infinity, deploys, minTrades });
          s.run.windows.restore([...buckets]);
        } else if (head.version === undefined && head.experiment === undefined) s.windows.restore([...buckets]);
        else {
          const life =
            head.version !== undefined
              ? this.versionSeries(s, head.version)
              : this.variantSeries(s, head.experiment as string, head.variant as string);
          life.past.restore([...(hours ?? [])]);
          life.recent.restore([...buckets]);
        }
      }
      // Minutes before the saved cutoff are already hours; later ones fold in as time passes.
      this.cutoff = Math.min(this.cutoff, state.cutoff);
      this.cusumRuns.restore(state.cusum);
      this.epochs = new Map(state.epochs);
      for (const [name, version, n] of state.straddles) this.state(name).straddles.set(version, n);
      this.lastSeq = this.savedSeq = state.lastSeq;
      this.tradesSeen = state.tradesSeen;
      return true;
    } catch (err) {
      this.strategies.clear();
      this.cusumRuns.clear();
      this.pending.clear();
      const why = err instanceof StateRejected ? err.message : `it is unreadable (${(err as Error).message})`;
      this.stateNote = `window state ${this.statePath} not used: ${why}; reading the whole ledger`;
      return false;
    }
  }
}
