// The window engine: folds the ledger's trades into time buckets incrementally and answers
// exact windows (now - W, now] as a fold over buckets plus the two partial minutes at the
// edges. Each refresh reads only rows with seq above the last one seen.
//
// What a scrape costs (measured in bench/RESULTS.md):
// - a window folds cached aggregates of whole days, hours and 10-minute blocks, and minute
//   buckets only at its ends, so a 7d window is at most ~90 combines rather than 10,080;
// - the rows of an edge minute are read from SQL once and kept while a window ends in it
//   (new trades are appended), so a scrape reads no rows at all in the steady state, and a
//   minute with no trades or whose trades all lie inside the window needs no rows;
// - a late trade rebuilds one minute from SQL: whole-life series (versions, variants) keep
//   minute buckets for the recent past and fold them into hours after RECENT_MS.
// What a start costs: the bucket state is saved next to the ledger (a cache, see "saved
// state" below), so a restart reads only the trades recorded since the last save; without a
// usable state it reads every trade once, per strategy in (closed_at, id) order.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Statement } from 'better-sqlite3';
import {
  BucketSeries,
  addTrade,
  bucketStart,
  combineInto,
  empty,
  fold as foldAggs,
  inTradeOrder,
  keyAfter,
  type Agg,
} from '../analytics/index.js';
import { LedgerError } from '../errors.js';
import { faultOf, type Ledger } from '../ledger/ledger.js';
import {
  CusumRuns,
  inRun,
  sameRun,
  type CusumReading,
  type RunKey,
  type RunTrade,
  type SavedRun,
} from './cusum-runs.js';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const WINDOWS = { '1h': HOUR, '24h': DAY, '7d': 7 * DAY } as const;
export type WindowName = keyof typeof WINDOWS;

const MINUTE = 60_000;
/** Block sizes of the window cache: a block is the fold of the blocks of the size before it. */
const LEVELS = [MINUTE, 10 * MINUTE, HOUR, DAY];
/** Whole-life series keep minute buckets this long before folding them into hours. */
const RECENT_MS = 2 * HOUR;
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

// The rows this file reads: arrays rather than objects, because a start without state reads
// every trade of the ledger once (objects with all 13 columns take about twice as long).
type Row = [
  seq: number,
  id: string,
  closedMs: number,
  pnl: number,
  fees: number,
  version: number | null,
  experiment: string | null,
  variant: string | null,
  strategy: string,
  openedMs: number | null,
  notional: number | null,
  straddle: number,
];
const LEAN =
  'seq, id, closed_ms, pnl, fees, param_version, experiment, variant, strategy, opened_ms, notional, straddle';
type Trade = { closedMs: number; id: string; pnl: number; fees: number; notional: number | null };
const trade = (r: Row): Trade => ({ closedMs: r[2], id: r[1], pnl: r[3], fees: r[4], notional: r[10] });

interface Hour {
  start: number;
  agg: Agg;
  /** The greatest trade key folded in; closedMs Infinity when unknown (any later trade rebuilds the hour). */
  last: { closedMs: number; id: string };
}

/**
 * The whole-life aggregate of one series (a parameter version or an experiment variant), in
 * (closed_at, id) order: minute buckets for trades at or after `cutoff`, where late trades
 * land and rebuild one minute; before it, one aggregate per hour, rebuilt from SQL only when a
 * trade arrives more than RECENT_MS late.
 */
class LifeSeries {
  readonly recent = new BucketSeries(MINUTE);
  hours: Hour[] = [];
  private hoursTotal: Agg | undefined;

  constructor(
    readonly strategy: string,
    readonly keep: (r: Row) => boolean,
  ) {}

  /** Adds a trade; returns the hour to rebuild when it cannot simply be appended. */
  add(row: Row, cutoff: number, dirtyMinutes: Dirty): number | undefined {
    const [, id, closedMs, pnl, fees] = row;
    const notional = row[10];
    if (closedMs >= cutoff) {
      if (this.recent.add(closedMs, id, pnl, fees, notional) === 'dirty')
        markDirty(dirtyMinutes, this.recent, this.strategy, this.keep, bucketStart(closedMs, MINUTE));
      return undefined;
    }
    const start = bucketStart(closedMs, HOUR);
    const last = this.hours[this.hours.length - 1];
    if (last && last.start === start && keyAfter(closedMs, id, last.last)) {
      addTrade(last.agg, pnl, fees, notional);
      last.last = { closedMs, id };
    } else if (!last || start > last.start) {
      this.hours.push({ start, agg: addTrade(empty(), pnl, fees, notional), last: { closedMs, id } });
    } else return start;
    this.hoursTotal = undefined;
    return undefined;
  }

  replaceHour(start: number, trades: Trade[]): void {
    const ordered = inTradeOrder(trades);
    const agg = empty();
    for (const t of ordered) addTrade(agg, t.pnl, t.fees, t.notional);
    const i = this.hours.findIndex((h) => h.start >= start);
    const at = i < 0 ? this.hours.length : i;
    const exists = at < this.hours.length && this.hours[at].start === start;
    const lastTrade = ordered[ordered.length - 1];
    const hour = lastTrade && { start, agg, last: { closedMs: lastTrade.closedMs, id: lastTrade.id } };
    if (hour) this.hours.splice(at, exists ? 1 : 0, hour);
    else if (exists) this.hours.splice(at, 1);
    this.hoursTotal = undefined;
  }

  /** Folds the minute buckets before `cutoff` (from `from` on) into hours. */
  compact(from: number, cutoff: number): void {
    if (this.recent.size === 0) return;
    for (let h = from; h < cutoff; h += HOUR) {
      const agg = this.recent.foldRange(h, h + HOUR);
      if (agg.n > 0) this.hours.push({ start: h, agg, last: { closedMs: Infinity, id: '' } });
    }
    this.recent.dropBefore(cutoff);
    this.hoursTotal = undefined;
  }

  total(): Agg {
    this.hoursTotal ??= foldAggs(this.hours.map((h) => h.agg));
    return combineInto({ ...this.hoursTotal }, this.recent.total());
  }
}

/** The rows of one minute, kept while a window edge lies in it (sorted by (closed_at, id)). */
interface EdgeRows {
  closed: number[];
  pnl: number[];
  fees: number[];
  notional: Array<number | null>;
  last: { closedMs: number; id: string };
  /** The refresh generation that last used it. */
  used: number;
}

/** Rolling windows over the trades of a strategy that `keep` selects. */
interface WindowSet {
  name: string;
  keep: (r: Row) => boolean;
  /** Minute buckets of the last 7 days (+1 minute): the rolling windows. */
  windows: BucketSeries;
  /** Per level of LEVELS after the first: folds of whole blocks of `windows`, dropped when one of their minutes changes. */
  blocks: Array<Map<number, Agg>>;
  /** Rows of the minutes the current windows start or end in. */
  edges: Map<number, EdgeRows>;
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

function windowSet(name: string, keep: (r: Row) => boolean): WindowSet {
  return {
    name,
    keep,
    windows: new BucketSeries(MINUTE),
    blocks: LEVELS.map(() => new Map<number, Agg>()),
    edges: new Map(),
  };
}

function runWindowSet(name: string, key: RunKey): RunWindows {
  const k = { ...key };
  return { ...windowSet(name, (r) => inRun(k, r[5], r[9], r[2])), key: k };
}

/** A minute of the window series changed: drop the cached blocks that contain it. */
function changed(s: WindowSet, minute: number): void {
  for (let k = 1; k < LEVELS.length; k++) s.blocks[k].delete(bucketStart(minute, LEVELS[k]));
}

/** Buckets awaiting a rebuild; `set`: the window set the series belongs to, if it is one (its caches are dropped too). */
type Dirty = Map<BucketSeries, { strategy: string; keep: (r: Row) => boolean; starts: Set<number>; set?: WindowSet }>;

function markDirty(
  dirty: Dirty,
  series: BucketSeries,
  strategy: string,
  keep: (r: Row) => boolean,
  start: number,
  set?: WindowSet,
): void {
  let d = dirty.get(series);
  if (!d) dirty.set(series, (d = { strategy, keep, starts: new Set(), set }));
  d.starts.add(start);
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
  private generation = 0;
  private started = false;
  private readonly dirty: Dirty = new Map();
  private readonly dirtyHours = new Map<LifeSeries, Set<number>>();
  /** How the first refresh got its buckets: 'state' (saved state + newer rows) or 'scan' (every trade). */
  startMode?: 'state' | 'scan';
  /** Why a saved state was not used or not written, if so (for the start-up log). */
  stateNote?: string;
  private readonly st: { after: Statement; byStrategy: Statement; range: Statement; atSeq: Statement; run: Statement };
  /** The CUSUM of each strategy's current run, fed by fold(). */
  private readonly cusumRuns = new CusumRuns((strategy, afterMs) => this.runTrades(strategy, afterMs));
  /** Each strategy's attribution epoch as last read: a change means a deploy re-attributed stored trades. */
  private epochs = new Map<string, number>();
  private readonly statePath: string | null;
  private readonly stateMinTrades: number;
  private readonly stateIntervalMs: number;
  private lastSaveAt = 0;
  private savedSeq = 0;

  constructor(
    private readonly ledger: Ledger,
    private readonly opts: EngineOptions = {},
  ) {
    const db = ledger.raw;
    // The engine's reads, here rather than in ledger.ts because only the engine needs the lean
    // shape (see Row); same table and index as the ledger's own reads.
    this.st = {
      after: db.prepare(`SELECT ${LEAN} FROM trades WHERE seq > ? ORDER BY seq LIMIT ?`).raw(),
      byStrategy: db.prepare(`SELECT ${LEAN} FROM trades WHERE strategy = ? AND seq <= ? ORDER BY closed_ms, id`).raw(),
      range: db
        .prepare(
          `SELECT ${LEAN} FROM trades WHERE strategy = ? AND closed_ms >= ? AND closed_ms < ? ORDER BY closed_ms, id`,
        )
        .raw(),
      atSeq: db.prepare('SELECT strategy, id, closed_ms FROM trades WHERE seq = ?').raw(),
      run: db
        .prepare(
          'SELECT seq, id, closed_ms, pnl, param_version, opened_ms, notional FROM trades WHERE strategy = ? AND closed_ms > ? ORDER BY closed_ms, id',
        )
        .raw(),
    };
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
    if (!background) this.generation++;
    let read = 0;
    // Buckets that received a trade out of order wait here until their rebuild succeeds: a
    // failed rebuild (a storage fault) is retried by the next refresh, not lost.
    const dirty = this.dirty;
    const dirtyHours = this.dirtyHours;
    const starting = !this.started;
    if (starting) {
      this.started = true;
      if (this.restore()) this.startMode = 'state';
      else {
        this.startMode = 'scan';
        read = this.scanAll(dirty, dirtyHours);
      }
    }
    for (;;) {
      const rows = this.sql('reading new trades', () => this.st.after.all(this.lastSeq, PAGE) as Row[]);
      for (const row of rows) this.fold(this.state(row[8]), row, dirty, dirtyHours);
      read += rows.length;
      if (rows.length) this.lastSeq = rows[rows.length - 1][0];
      if (rows.length < PAGE) break;
    }
    this.tradesSeen += read;
    // A scan has just read every trade as it is attributed now; saved state may predate a re-attribution.
    if (!background) this.checkAttribution(!(starting && this.startMode === 'scan'));
    // Rebuilds wait for a refresh that is followed by a read: at high rates a late trade's
    // minute holds many rows, and the timer would otherwise re-read it ten times a second.
    if (!background) this.rebuild(dirty, dirtyHours);
    const pending = dirty.size > 0 || dirtyHours.size > 0;
    if (cutoff > this.cutoff && !pending) {
      for (const series of this.lifeSeries()) series.compact(this.cutoff, cutoff);
      this.cutoff = cutoff;
    }
    for (const s of this.strategies.values()) {
      for (const set of s.run ? [s, s.run] : [s]) {
        set.windows.dropBefore(this.horizon);
        for (const cache of set.blocks) for (const t of cache.keys()) if (t < this.horizon) cache.delete(t);
        // Keep the edge rows the last snapshot used: the next one most likely needs the same minutes.
        for (const [m, e] of set.edges) if (e.used < this.generation - 1 || m < this.horizon) set.edges.delete(m);
      }
    }
    if (!pending) this.maybeSave(read, starting); // never save buckets awaiting a rebuild
    return read;
  }

  /** A start without saved state: every trade up to now, per strategy in (closed_at, id) order, so nothing is rebuilt. */
  private scanAll(dirty: Dirty, dirtyHours: Map<LifeSeries, Set<number>>): number {
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
        for (const row of this.st.byStrategy.iterate(name, maxSeq) as IterableIterator<Row>) {
          this.fold(s, row, dirty, dirtyHours);
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
        const hours = new Map<LifeSeries, Set<number>>();
        const minutes: Dirty = new Map();
        const fresh: StrategyState = { ...s, versions };
        this.sql('re-reading re-attributed trades', () => {
          for (const row of this.st.byStrategy.iterate(name, this.lastSeq) as IterableIterator<Row>) {
            if (row[5] === null) continue;
            if (row[11]) straddles.set(row[5], (straddles.get(row[5]) ?? 0) + 1);
            const series = this.versionSeries(fresh, row[5]);
            // SQL's (closed_at, id) order differs from ours only for astral ids within a millisecond.
            const hour = series.add(row, this.cutoff, minutes);
            if (hour !== undefined) hours.set(series, (hours.get(series) ?? new Set()).add(hour));
          }
        });
        this.rebuild(minutes, hours);
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
    if (!v) s.versions.set(version, (v = new LifeSeries(s.name, (r) => r[5] === version)));
    return v;
  }

  private variantSeries(s: StrategyState, experiment: string, variant: string): LifeSeries {
    let e = s.variants.get(experiment);
    if (!e) s.variants.set(experiment, (e = new Map<string, LifeSeries>()));
    let v = e.get(variant);
    if (!v) e.set(variant, (v = new LifeSeries(s.name, (r) => r[6] === experiment && r[7] === variant)));
    return v;
  }

  private *lifeSeries(): Iterable<LifeSeries> {
    for (const s of this.strategies.values()) {
      yield* s.versions.values();
      for (const e of s.variants.values()) yield* e.values();
    }
  }

  private fold(s: StrategyState, row: Row, dirty: Dirty, dirtyHours: Map<LifeSeries, Set<number>>): void {
    const closed = row[2];
    if (closed > s.lastTradeMs) s.lastTradeMs = closed;
    if (row[11] && row[5] !== null) s.straddles.set(row[5], (s.straddles.get(row[5]) ?? 0) + 1);
    this.cusumRuns.add(s.name, {
      closedMs: closed,
      id: row[1],
      pnl: row[3],
      version: row[5],
      openedMs: row[9],
      notional: row[10],
    });
    // Rows older than every window only feed the whole-life series.
    if (closed >= this.horizon) {
      this.foldWindows(s, row, dirty);
      if (s.run && s.run.keep(row)) this.foldWindows(s.run, row, dirty);
    }
    const feed = (series: LifeSeries) => {
      const hour = series.add(row, this.cutoff, dirty);
      if (hour === undefined) return;
      let hours = dirtyHours.get(series);
      if (!hours) dirtyHours.set(series, (hours = new Set()));
      hours.add(hour);
    };
    if (row[5] !== null) feed(this.versionSeries(s, row[5]));
    if (row[6] !== null && row[7] !== null) feed(this.variantSeries(s, row[6], row[7]));
  }

  private foldWindows(set: WindowSet, row: Row, dirty: Dirty): void {
    const closed = row[2];
    const minute = bucketStart(closed, MINUTE);
    if (set.windows.add(closed, row[1], row[3], row[4], row[10]) === 'dirty')
      markDirty(dirty, set.windows, set.name, set.keep, minute, set);
    changed(set, minute);
    const e = set.edges.get(minute);
    if (e && keyAfter(closed, row[1], e.last)) {
      e.closed.push(closed);
      e.pnl.push(row[3]);
      e.fees.push(row[4]);
      e.notional.push(row[10]);
      e.last = { closedMs: closed, id: row[1] };
    } else if (e) set.edges.delete(minute);
  }

  /** The run's windows for `key`, read from the ledger (trades of the last 7 days) when the run changed. */
  private runWindows(s: StrategyState, key: RunKey): RunWindows {
    if (s.run && sameRun(s.run.key, key)) return s.run;
    const run = runWindowSet(s.name, key);
    const dirty: Dirty = new Map();
    const from = Math.max(this.horizon, key.startMs);
    this.sql('reading the current run', () => {
      for (const row of this.st.range.iterate(s.name, from, Number.MAX_SAFE_INTEGER) as IterableIterator<Row>)
        if (row[0] <= this.lastSeq && run.keep(row)) this.foldWindows(run, row, dirty);
    });
    this.rebuild(dirty, new Map());
    s.run = run;
    return run;
  }

  /** Rebuilds from SQL, in order, the buckets that received a trade out of (closed_at, id) order. */
  private rebuild(dirty: Dirty, dirtyHours: Map<LifeSeries, Set<number>>): void {
    // Each bucket leaves the sets once rebuilt, so a read that fails leaves the rest for the next refresh.
    for (const [series, d] of dirty) {
      for (const start of d.starts) {
        series.replaceBucket(
          start,
          this.rows(d.strategy, start, start + MINUTE)
            .filter(d.keep)
            .map(trade),
        );
        if (d.set) {
          changed(d.set, start);
          d.set.edges.delete(start);
        }
        d.starts.delete(start);
      }
      dirty.delete(series);
    }
    for (const [series, hours] of dirtyHours) {
      for (const start of hours) {
        series.replaceHour(
          start,
          this.rows(series.strategy, start, start + HOUR)
            .filter(series.keep)
            .map(trade),
        );
        hours.delete(start);
      }
      dirtyHours.delete(series);
    }
  }

  /** Trades of [fromMs, toMs) in (closed_at, id) order, limited to rows this engine has seen. */
  private rows(strategy: string, fromMs: number, toMs: number): Row[] {
    const rows = this.sql('reading trades', () => this.st.range.all(strategy, fromMs, toMs) as Row[]);
    return rows.filter((r) => r[0] <= this.lastSeq);
  }

  /**
   * Aggregate of [lo, hi) within one minute. A minute without a bucket holds no trade; the
   * newest minute is whole when its last trade is before hi; otherwise the minute's rows.
   */
  private edgeAgg(s: WindowSet, lo: number, hi: number): Agg {
    if (lo >= hi) return empty();
    const minute = bucketStart(lo, MINUTE);
    const bucket = s.windows.bucket(minute);
    if (!bucket) return empty();
    if (lo === minute && (s.windows.lastKey()?.closedMs ?? Infinity) < hi) return bucket;
    let e = s.edges.get(minute);
    if (!e) {
      const rows = inTradeOrder(
        this.rows(s.name, minute, minute + MINUTE)
          .filter(s.keep)
          .map(trade),
      );
      const last = rows[rows.length - 1];
      e = {
        closed: rows.map((r) => r.closedMs),
        pnl: rows.map((r) => r.pnl),
        fees: rows.map((r) => r.fees),
        notional: rows.map((r) => r.notional),
        last: { closedMs: last?.closedMs ?? -Infinity, id: last?.id ?? '' },
        used: 0,
      };
      s.edges.set(minute, e);
    }
    e.used = this.generation;
    const agg = empty();
    // Sorted by closed_at: start at the first row >= lo.
    let i = 0;
    for (let k = e.closed.length; i < k;) {
      const mid = (i + k) >>> 1;
      if (e.closed[mid] < lo) i = mid + 1;
      else k = mid;
    }
    for (; i < e.closed.length && e.closed[i] < hi; i++) addTrade(agg, e.pnl[i], e.fees[i], e.notional[i]);
    return agg;
  }

  /** Fold of [from, to), both multiples of LEVELS[k]: whole blocks of the next level, blocks of this one at the ends. */
  private foldLevel(s: WindowSet, k: number, from: number, to: number): Agg {
    const up = LEVELS[k + 1];
    const a = up === undefined ? to : Math.ceil(from / up) * up;
    const b = up === undefined ? to : Math.floor(to / up) * up;
    if (a >= b) return this.foldBlocks(s, k, from, to);
    const acc = this.foldBlocks(s, k, from, a);
    combineInto(acc, this.foldLevel(s, k + 1, a, b));
    return combineInto(acc, this.foldBlocks(s, k, b, to));
  }

  /** Fold of the blocks of level k in [from, to), one by one (minute buckets for level 0). */
  private foldBlocks(s: WindowSet, k: number, from: number, to: number): Agg {
    if (k === 0) return s.windows.foldRange(from, to);
    const acc = empty();
    for (let t = from; t < to; t += LEVELS[k]) {
      let block = s.blocks[k].get(t);
      if (!block) s.blocks[k].set(t, (block = this.foldBlocks(s, k - 1, t, t + LEVELS[k])));
      combineInto(acc, block);
    }
    return acc;
  }

  /** Exact aggregate of trades with fromExclusive < closed_at <= toInclusive. */
  range(strategy: string, fromExclusive: number, toInclusive: number): Agg {
    const s = this.strategies.get(strategy);
    return s ? this.setRange(s, fromExclusive, toInclusive) : empty();
  }

  /** The same over the trades of the strategy's current run (`key`): see RunWindows. */
  runRange(strategy: string, key: RunKey, fromExclusive: number, toInclusive: number): Agg {
    const s = this.strategies.get(strategy);
    if (!s) return empty();
    return this.setRange(this.runWindows(s, key), fromExclusive, toInclusive);
  }

  private setRange(s: WindowSet, fromExclusive: number, toInclusive: number): Agg {
    const lo = fromExclusive + 1;
    const hi = toInclusive + 1; // [lo, hi)
    if (lo >= hi) return empty();
    const firstFull = Math.ceil(lo / MINUTE) * MINUTE;
    const endFull = Math.floor(hi / MINUTE) * MINUTE;
    if (firstFull > endFull) return this.edgeAgg(s, lo, hi); // inside one minute
    const acc = this.edgeAgg(s, lo, firstFull);
    if (firstFull < endFull) combineInto(acc, this.foldLevel(s, 0, firstFull, endFull));
    return combineInto(acc, this.edgeAgg(s, endFull, hi));
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
    for (const [seq, id, closedMs, pnl, version, openedMs, notional] of this.st.run.iterate(
      strategy,
      afterMs,
    ) as IterableIterator<[number, string, number, number, number | null, number | null, number | null]>)
      if (seq <= lastSeq) yield { closedMs, id, pnl, version, openedMs, notional };
  }

  private sql<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw new LedgerError(`${what} failed: ${(err as Error).message}`, faultOf(err), err);
    }
  }

  // ---- saved state ----
  //
  // A cache of the buckets, written next to the ledger (atomically: temp file + rename) after a
  // start that read many trades and then every stateIntervalMs while trades arrive. It is used
  // only when the ledger still holds, at the saved seq, the very row it was saved after; any
  // doubt (another file, another format, unreadable) means a full read. Trades are never deleted
  // from a ledger; a ledger pruned by hand needs its state file removed.

  private maybeSave(read: number, starting: boolean): void {
    const now = performance.now();
    if (starting) this.lastSaveAt = now;
    if (
      this.statePath === null ||
      this.ledger.raw.readonly ||
      (this.lastSeq === this.savedSeq && !this.cusumRuns.changed)
    )
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
    if (this.statePath === null || this.ledger.raw.readonly || !this.ledger.isOpen) return;
    this.rebuild(this.dirty, this.dirtyHours); // what a background refresh left pending
    if (this.lastSeq !== this.savedSeq || this.cusumRuns.changed) {
      this.save(this.statePath);
      this.savedSeq = this.lastSeq;
    }
  }

  /** Writes the state file now. */
  save(path: string): void {
    const check =
      this.lastSeq > 0 ? (this.st.atSeq.get(this.lastSeq) as [string, string, number] | undefined) : undefined;
    const series: SeriesHeader[] = [];
    const numbers: number[] = [];
    const ids: string[] = [];
    const put = (head: Omit<SeriesHeader, 'count' | 'hours'>, buckets: Array<Bucket | Hour>, hours = 0) => {
      series.push({ ...head, count: buckets.length - hours, hours });
      for (const b of buckets) {
        numbers.push(b.start, b.last.closedMs);
        for (const f of AGG_FIELDS) numbers.push(b.agg[f]);
        ids.push(b.last.id);
      }
    };
    const life = (head: Omit<SeriesHeader, 'count' | 'hours'>, l: LifeSeries) =>
      put(head, [...l.hours, ...internals(l.recent)], l.hours.length);
    const strategies = [...this.strategies.values()].map((s) => {
      put({ strategy: s.name }, internals(s.windows));
      if (s.run)
        put(
          {
            strategy: s.name,
            run: [
              Number.isFinite(s.run.key.startMs) ? s.run.key.startMs : null,
              s.run.key.deploys,
              s.run.key.minTrades,
              s.run.key.version,
            ],
          },
          internals(s.run.windows),
        );
      for (const [version, v] of s.versions) life({ strategy: s.name, version }, v);
      for (const [experiment, variants] of s.variants)
        for (const [variant, v] of variants) life({ strategy: s.name, experiment, variant }, v);
      return [s.name, s.lastTradeMs] as [string, number];
    });
    const header: StateHeader = {
      format: STATE_FORMAT,
      fields: AGG_FIELDS,
      lastSeq: this.lastSeq,
      check: check ?? null,
      tradesSeen: this.tradesSeen,
      cutoff: this.cutoff,
      strategies,
      series,
      ids,
      cusum: this.cusumRuns.save(),
      epochs: [...this.epochs],
      straddles: [...this.strategies.values()].flatMap((s) =>
        [...s.straddles].map(([v, n]) => [s.name, v, n] as [string, number, number]),
      ),
    };
    const json = Buffer.from(JSON.stringify(header));
    const pad = (8 - ((4 + json.length) % 8)) % 8;
    const out = Buffer.alloc(4 + json.length + pad + numbers.length * 8);
    out.writeUInt32LE(json.length, 0);
    json.copy(out, 4);
    new Float64Array(out.buffer, out.byteOffset + 4 + json.length + pad, numbers.length).set(numbers);
    writeFileSync(`${path}.tmp`, out);
    renameSync(`${path}.tmp`, path);
  }

  /** Loads the state file when it belongs to this ledger. Returns false (and notes why) otherwise. */
  private restore(): boolean {
    const path = this.statePath;
    if (path === null || !existsSync(path)) return false;
    try {
      const file = readFileSync(path);
      const length = file.readUInt32LE(0);
      const header = JSON.parse(file.subarray(4, 4 + length).toString('utf8')) as StateHeader;
      if (header.format !== STATE_FORMAT || header.fields.join() !== AGG_FIELDS.join())
        return this.reject('it was written by another version');
      const row =
        header.lastSeq > 0 ? (this.st.atSeq.get(header.lastSeq) as [string, string, number] | undefined) : undefined;
      if (header.lastSeq > 0 && (!row || !header.check || row.join('\u0000') !== header.check.join('\u0000')))
        return this.reject('it belongs to another ledger');
      const pad = (8 - ((4 + length) % 8)) % 8;
      const numbers = new Float64Array(
        file.buffer.slice(file.byteOffset + 4 + length + pad, file.byteOffset + file.length),
      );
      const width = 2 + AGG_FIELDS.length;
      let at = 0;
      let n = 0;
      const take = (count: number): Bucket[] => {
        const out: Bucket[] = [];
        for (let k = 0; k < count; k++, at += width, n++) {
          if (at + width > numbers.length) throw new Error('truncated');
          const agg = empty();
          AGG_FIELDS.forEach((f, i) => (agg[f] = numbers[at + 2 + i]));
          out.push({ start: numbers[at], agg, last: { closedMs: numbers[at + 1], id: header.ids[n] } });
        }
        return out;
      };
      for (const [name, lastTradeMs] of header.strategies) this.state(name).lastTradeMs = lastTradeMs ?? -Infinity;
      for (const h of header.series) {
        const s = this.state(h.strategy);
        if (h.run) {
          const [startMs, deploys, minTrades, version] = h.run;
          s.run = runWindowSet(s.name, { version, startMs: startMs ?? -Infinity, deploys, minTrades });
          setInternals(s.run.windows, take(h.count));
          continue;
        }
        if (h.version === undefined && h.experiment === undefined) {
          setInternals(s.windows, take(h.count));
          continue;
        }
        const life =
          h.version !== undefined
            ? this.versionSeries(s, h.version)
            : this.variantSeries(s, h.experiment as string, h.variant as string);
        life.hours = take(h.hours);
        setInternals(life.recent, take(h.count));
      }
      // Minutes before the saved cutoff are already hours; later ones fold in as time passes.
      this.cutoff = Math.min(this.cutoff, header.cutoff);
      this.cusumRuns.restore(header.cusum);
      this.epochs = new Map(header.epochs);
      for (const [name, version, n] of header.straddles) this.state(name).straddles.set(version, n);
      this.lastSeq = this.savedSeq = header.lastSeq;
      this.tradesSeen = header.tradesSeen;
      return true;
    } catch (err) {
      this.strategies.clear();
      this.cusumRuns.clear();
      this.dirty.clear();
      this.dirtyHours.clear();
      return this.reject(`it is unreadable (${(err as Error).message})`);
    }
  }

  private reject(why: string): false {
    this.stateNote = `window state ${this.statePath} not used: ${why}; reading the whole ledger`;
    return false;
  }
}

// 3: trades attributed by time (schema 2), runs keyed by version, run windows saved.
const STATE_FORMAT = 3;
/** The fields of Agg, in the order the state file stores them. */
const AGG_FIELDS = Object.keys(empty()) as Array<keyof Agg>;

interface SeriesHeader {
  strategy: string;
  version?: number;
  experiment?: string;
  variant?: string;
  /** The run windows of this key (startMs null: no deploy). */
  run?: [startMs: number | null, deploys: number, minTrades: number, version: number | null];
  /** Minute buckets, after `hours` hour aggregates (whole-life series). */
  count: number;
  hours: number;
}

interface StateHeader {
  format: number;
  fields: string[];
  lastSeq: number;
  /** strategy, id, closed_ms of the row at lastSeq: proof that the state belongs to this ledger. */
  check: [string, string, number] | null;
  tradesSeen: number;
  cutoff: number;
  strategies: Array<[string, number]>;
  series: SeriesHeader[];
  /** The id of the last trade of each bucket, in bucket order. */
  ids: string[];
  /** The CUSUM runs (absent in files of earlier releases: rebuilt at the first scrape). */
  cusum?: SavedRun[];
  /** The attribution epochs the buckets were built at. */
  epochs: Array<[string, number]>;
  /** Straddling trades per strategy and version. */
  straddles: Array<[string, number, number]>;
}

// BucketSeries (src/analytics/buckets.ts) has no public way to list or restore its buckets, so
// the state file reads and writes its private array here, with a check that it still has the
// shape this code expects. To replace with public BucketSeries methods once those exist.
interface Bucket {
  start: number;
  agg: Agg;
  last: { closedMs: number; id: string };
}

function internals(series: BucketSeries): Bucket[] {
  const buckets = (series as unknown as { buckets?: unknown }).buckets;
  if (!Array.isArray(buckets)) throw new Error('BucketSeries changed shape: cannot save its buckets');
  return buckets as Bucket[];
}

function setInternals(series: BucketSeries, buckets: Bucket[]): void {
  const inner = series as unknown as { buckets?: unknown; totalCache?: Agg };
  if (!Array.isArray(inner.buckets) || !('totalCache' in inner))
    throw new Error('BucketSeries changed shape: cannot restore its buckets');
  inner.buckets = buckets;
  inner.totalCache = undefined;
}
