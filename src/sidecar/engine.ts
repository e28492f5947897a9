// The window engine: folds the ledger's trades into time buckets incrementally and answers
// exact windows (now - W, now] as a fold over buckets plus the two partial minutes at the
// edges (read from SQL). Each refresh reads only rows with seq above the last one seen.
//
// Cost of a scrape (bench/RESULTS.md): a window folds whole hours from a cache of hour
// aggregates and only the minutes of its two partial hours, so a 7d window is ~170 + 120
// combines instead of 10,080; the edge minutes are read once per scrape and shared by the
// windows that end in them. Cost of a start: the bucket state is saved next to the ledger
// (a cache, see StateFile), so a restart reads only the trades recorded since the last save;
// without a usable state it reads every trade once, per strategy in (closed_at, id) order.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Statement } from 'better-sqlite3';
import { BucketSeries, addTrade, bucketStart, combineInto, empty, type Agg } from '../analytics/index.js';
import { LedgerError } from '../errors.js';
import { faultOf, type Ledger } from '../ledger/ledger.js';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const WINDOWS = { '1h': HOUR, '24h': DAY, '7d': 7 * DAY } as const;
export type WindowName = keyof typeof WINDOWS;

/** Buckets of the rolling windows: one minute, kept for 7 days (+1 bucket). */
const WINDOW_BUCKET_MS = 60_000;
/** Buckets of whole-life series (versions, experiment variants): one hour, kept for ever. */
const LIFE_BUCKET_MS = HOUR;
const PAGE = 20_000;

export interface EngineOptions {
  /** Where the bucket state is saved; null: never saved nor loaded. Default `<ledger>.sidecar-state`. */
  statePath?: string | null;
  /** Save right after a start that had to read at least this many trades (default 100,000). */
  stateMinTrades?: number;
  /** Then save at most this often, when trades arrived (default 10 minutes). */
  stateIntervalMs?: number;
}

// The lean rows of this file's reads: arrays, not objects, because a start without state
// reads every trade of the ledger once (a third of the time objects with 13 fields take).
type Row = [seq: number, id: string, closedMs: number, pnl: number, fees: number, version: number | null, experiment: string | null, variant: string | null, strategy: string];
const LEAN = 'seq, id, closed_ms, pnl, fees, param_version, experiment, variant, strategy';

interface Series {
  buckets: BucketSeries;
  strategy: string;
  /** Which rows of the strategy belong to this series (for rebuilding a bucket from SQL). */
  keep: (r: Row) => boolean;
  /** Window series only: the strategy's hour cache, to drop an hour when one of its minutes changes. */
  hours?: Map<number, Agg>;
}

interface StrategyState {
  name: string;
  windows: Series;
  /** Folds of whole hours of `windows`, dropped when one of their minutes changes. */
  hours: Map<number, Agg>;
  versions: Map<number, Series>;
  /** experiment -> variant -> series */
  variants: Map<string, Map<string, Series>>;
  lastTradeMs: number;
}

type Dirty = Map<Series, Set<number>>;

export class WindowEngine {
  private lastSeq = 0;
  private readonly strategies = new Map<string, StrategyState>();
  /** Rows folded in (the ledger's trade count once the first refresh is done). */
  tradesSeen = 0;
  /** Start of the oldest minute any window can still need: older rows skip the window series. */
  private horizon = -Infinity;
  private started = false;
  /** How the first refresh got its buckets: 'state' (saved state + newer rows) or 'scan' (every trade). */
  startMode?: 'state' | 'scan';
  /** Why a saved state was not used or not written (for the start-up log), if it was not. */
  stateNote?: string;
  /** Rows of the edge minutes of the current scrape, shared by the windows that end in them. */
  private readonly edgeRows = new Map<string, Row[]>();
  private readonly st: { after: Statement; byStrategy: Statement; range: Statement; atSeq: Statement };
  private readonly statePath: string | null;
  private readonly stateMinTrades: number;
  private readonly stateIntervalMs: number;
  private lastSaveAt = 0;
  private savedSeq = 0;

  constructor(private readonly ledger: Ledger, opts: EngineOptions = {}) {
    const db = ledger.raw;
    // The engine's reads, kept here rather than in ledger.ts because only the engine needs the
    // lean shape (see Row); same tables and index as the ledger's own reads.
    this.st = {
      after: db.prepare(`SELECT ${LEAN} FROM trades WHERE seq > ? ORDER BY seq LIMIT ?`).raw(),
      byStrategy: db.prepare(`SELECT ${LEAN} FROM trades WHERE strategy = ? AND seq <= ? ORDER BY closed_ms, id`).raw(),
      range: db.prepare(`SELECT ${LEAN} FROM trades WHERE strategy = ? AND closed_ms >= ? AND closed_ms < ? ORDER BY closed_ms, id`).raw(),
      atSeq: db.prepare('SELECT strategy, id, closed_ms FROM trades WHERE seq = ?').raw(),
    };
    this.statePath = opts.statePath === undefined ? `${ledger.path}.sidecar-state` : opts.statePath;
    this.stateMinTrades = opts.stateMinTrades ?? 100_000;
    this.stateIntervalMs = opts.stateIntervalMs ?? 10 * 60_000;
  }

  /** Reads the rows added since the last refresh and folds them in. Returns how many. */
  refresh(nowMs: number): number {
    const horizon = bucketStart(nowMs - WINDOWS['7d'], WINDOW_BUCKET_MS) - WINDOW_BUCKET_MS;
    if (horizon > this.horizon) this.horizon = horizon;
    let read = 0;
    const dirty: Dirty = new Map();
    const starting = !this.started;
    if (starting) {
      this.started = true;
      if (this.restore()) this.startMode = 'state';
      else {
        this.startMode = 'scan';
        read = this.scanAll(dirty);
      }
    }
    for (;;) {
      const rows = this.sql('reading new trades', () => this.st.after.all(this.lastSeq, PAGE) as Row[]);
      for (const row of rows) this.fold(this.state(row[8]), row, dirty);
      read += rows.length;
      if (rows.length) this.lastSeq = rows[rows.length - 1][0];
      if (rows.length < PAGE) break;
    }
    this.tradesSeen += read;
    this.rebuild(dirty);
    for (const s of this.strategies.values()) {
      s.windows.buckets.dropBefore(this.horizon);
      for (const h of s.hours.keys()) if (h < this.horizon) s.hours.delete(h);
    }
    if (read || this.edgeRows.size > 64) this.edgeRows.clear();
    this.maybeSave(read, starting);
    return read;
  }

  /** A start without saved state: every trade up to now, per strategy in (closed_at, id) order, so no bucket is rebuilt. */
  private scanAll(dirty: Dirty): number {
    const maxSeq = this.ledger.maxSeq();
    let read = 0;
    for (const name of this.ledger.strategies()) {
      const s = this.state(name);
      this.sql('reading the ledger', () => {
        for (const row of this.st.byStrategy.iterate(name, maxSeq) as IterableIterator<Row>) {
          this.fold(s, row, dirty);
          read++;
        }
      });
    }
    this.lastSeq = maxSeq;
    return read;
  }

  private state(strategy: string): StrategyState {
    let s = this.strategies.get(strategy);
    if (!s) {
      const hours = new Map<number, Agg>();
      const windows = { buckets: new BucketSeries(WINDOW_BUCKET_MS), strategy, keep: () => true, hours };
      this.strategies.set(strategy, (s = { name: strategy, windows, hours, versions: new Map(), variants: new Map(), lastTradeMs: -Infinity }));
    }
    return s;
  }

  private versionSeries(s: StrategyState, version: number): Series {
    let v = s.versions.get(version);
    if (!v) s.versions.set(version, (v = { buckets: new BucketSeries(LIFE_BUCKET_MS), strategy: s.name, keep: (r) => r[5] === version }));
    return v;
  }

  private variantSeries(s: StrategyState, experiment: string, variant: string): Series {
    let e = s.variants.get(experiment);
    if (!e) s.variants.set(experiment, (e = new Map()));
    let v = e.get(variant);
    if (!v) e.set(variant, (v = { buckets: new BucketSeries(LIFE_BUCKET_MS), strategy: s.name, keep: (r) => r[6] === experiment && r[7] === variant }));
    return v;
  }

  private fold(s: StrategyState, row: Row, dirty: Dirty): void {
    const closed = row[2];
    if (closed > s.lastTradeMs) s.lastTradeMs = closed;
    // Rows older than every window still feed the whole-life series, never the minute buckets.
    if (closed >= this.horizon) {
      this.feed(s.windows, row, dirty);
      s.hours.delete(bucketStart(closed, HOUR));
    }
    if (row[5] !== null) this.feed(this.versionSeries(s, row[5]), row, dirty);
    if (row[6] !== null && row[7] !== null) this.feed(this.variantSeries(s, row[6], row[7]), row, dirty);
  }

  private feed(series: Series, row: Row, dirty: Dirty): void {
    if (series.buckets.add(row[2], row[1], row[3], row[4]) === 'dirty') {
      let starts = dirty.get(series);
      if (!starts) dirty.set(series, (starts = new Set()));
      starts.add(bucketStart(row[2], series.buckets.bucketMs));
    }
  }

  /** Rebuilds buckets that received a trade out of (closed_at, id) order, from SQL, in order. */
  private rebuild(dirty: Dirty): void {
    for (const [series, starts] of dirty)
      for (const start of starts) {
        const rows = this.rows(series.strategy, start, start + series.buckets.bucketMs).filter(series.keep);
        series.buckets.replaceBucket(start, rows.map((r) => ({ closedMs: r[2], id: r[1], pnl: r[3], fees: r[4] })));
        series.hours?.delete(bucketStart(start, HOUR));
      }
  }

  /** Trades of [fromMs, toMs) in (closed_at, id) order, limited to rows this engine has seen. */
  private rows(strategy: string, fromMs: number, toMs: number): Row[] {
    const rows = this.sql('reading trades', () => this.st.range.all(strategy, fromMs, toMs) as Row[]);
    return rows.filter((r) => r[0] <= this.lastSeq);
  }

  /**
   * Aggregate of [lo, hi) within one minute. SQL only when the minute holds trades and the
   * range cuts it: a minute without a bucket has none, and the newest minute is whole when its
   * last trade is before hi. The rows of a minute are read once per scrape.
   */
  private edgeAgg(s: StrategyState, lo: number, hi: number): Agg {
    if (lo >= hi) return empty();
    const minute = bucketStart(lo, WINDOW_BUCKET_MS);
    const bucket = s.windows.buckets.bucket(minute);
    if (!bucket) return empty();
    if (lo === minute && (s.windows.buckets.lastKey()?.closedMs ?? Infinity) < hi) return bucket;
    return this.edgeRowsAgg(s.name, minute, lo, hi);
  }

  private edgeRowsAgg(strategy: string, minute: number, lo: number, hi: number): Agg {
    const agg = empty();
    const key = `${strategy}\u0000${minute}`;
    let rows = this.edgeRows.get(key);
    if (!rows) this.edgeRows.set(key, (rows = this.rows(strategy, minute, minute + WINDOW_BUCKET_MS)));
    for (const r of rows) if (r[2] >= lo && r[2] < hi) addTrade(agg, r[3], r[4]);
    return agg;
  }

  /** Fold of the minute buckets in [from, to) (both minute starts): cached whole hours, minutes at the ends. */
  private foldMinutes(s: StrategyState, from: number, to: number): Agg {
    const firstHour = Math.ceil(from / HOUR) * HOUR;
    const endHour = Math.floor(to / HOUR) * HOUR;
    const minutes = s.windows.buckets;
    if (firstHour >= endHour) return minutes.foldRange(from, to);
    const acc = minutes.foldRange(from, firstHour);
    for (let h = firstHour; h < endHour; h += HOUR) {
      let hour = s.hours.get(h);
      if (!hour) s.hours.set(h, (hour = minutes.foldRange(h, h + HOUR)));
      combineInto(acc, hour);
    }
    return combineInto(acc, minutes.foldRange(endHour, to));
  }

  /** Exact aggregate of trades with fromExclusive < closed_at <= toInclusive. */
  range(strategy: string, fromExclusive: number, toInclusive: number): Agg {
    const s = this.strategies.get(strategy);
    const lo = fromExclusive + 1;
    const hi = toInclusive + 1; // [lo, hi)
    if (!s || lo >= hi) return empty();
    const B = WINDOW_BUCKET_MS;
    const firstFull = Math.ceil(lo / B) * B;
    const endFull = Math.floor(hi / B) * B;
    if (firstFull > endFull) return this.edgeAgg(s, lo, hi); // inside one minute
    const acc = this.edgeAgg(s, lo, firstFull);
    if (firstFull < endFull) combineInto(acc, this.foldMinutes(s, firstFull, endFull));
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
    for (const [v, series] of this.strategies.get(strategy)?.versions ?? []) out.set(v, series.buckets.total());
    return out;
  }

  /** Whole-life aggregate of each variant of an experiment. */
  variantTotals(strategy: string, experiment: string): Map<string, Agg> {
    const out = new Map<string, Agg>();
    for (const [v, series] of this.strategies.get(strategy)?.variants.get(experiment) ?? []) out.set(v, series.buckets.total());
    return out;
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
  // doubt (other file, other format, unreadable) means a full read. Trades are never deleted
  // from a ledger; a ledger pruned by hand needs its state file removed.

  private maybeSave(read: number, starting: boolean): void {
    const now = performance.now();
    if (starting) this.lastSaveAt = now;
    if (this.statePath === null || this.ledger.raw.readonly || this.lastSeq === this.savedSeq) return;
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

  /** Writes the state file now (also used by the benchmark). */
  save(path: string): void {
    const check = this.lastSeq > 0 ? (this.st.atSeq.get(this.lastSeq) as [string, string, number] | undefined) : undefined;
    const series: SeriesHeader[] = [];
    const numbers: number[] = [];
    const ids: string[] = [];
    const put = (s: Series, head: Omit<SeriesHeader, 'count'>) => {
      const buckets = internals(s.buckets);
      series.push({ ...head, count: buckets.length });
      for (const b of buckets) {
        numbers.push(b.start, b.last.closedMs);
        for (const f of AGG_FIELDS) numbers.push(b.agg[f]);
        ids.push(b.last.id);
      }
    };
    const strategies = [...this.strategies.values()].map((s) => {
      put(s.windows, { strategy: s.name });
      for (const [version, v] of s.versions) put(v, { strategy: s.name, version });
      for (const [experiment, variants] of s.variants) for (const [variant, v] of variants) put(v, { strategy: s.name, experiment, variant });
      return [s.name, s.lastTradeMs] as [string, number];
    });
    const header: StateHeader = { format: STATE_FORMAT, fields: AGG_FIELDS, lastSeq: this.lastSeq, check: check ?? null, tradesSeen: this.tradesSeen, strategies, series, ids };
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
      if (header.format !== STATE_FORMAT || header.fields.join() !== AGG_FIELDS.join()) return this.reject('it was written by another version');
      const row = header.lastSeq > 0 ? (this.st.atSeq.get(header.lastSeq) as [string, string, number] | undefined) : undefined;
      if (header.lastSeq > 0 && (!row || !header.check || row.join('\u0000') !== header.check.join('\u0000'))) return this.reject('it belongs to another ledger');
      const pad = (8 - ((4 + length) % 8)) % 8;
      const numbers = new Float64Array(file.buffer.slice(file.byteOffset + 4 + length + pad, file.byteOffset + file.length));
      const width = 2 + AGG_FIELDS.length;
      let at = 0;
      let bucket = 0;
      for (const [name, lastTradeMs] of header.strategies) this.state(name).lastTradeMs = lastTradeMs ?? -Infinity;
      for (const h of header.series) {
        const s = this.state(h.strategy);
        const series = h.version !== undefined ? this.versionSeries(s, h.version) : h.experiment !== undefined ? this.variantSeries(s, h.experiment, h.variant as string) : s.windows;
        const buckets: Bucket[] = [];
        for (let k = 0; k < h.count; k++, at += width, bucket++) {
          const agg = empty();
          AGG_FIELDS.forEach((f, i) => (agg[f] = numbers[at + 2 + i]));
          buckets.push({ start: numbers[at], agg, last: { closedMs: numbers[at + 1], id: header.ids[bucket] } });
        }
        if (at > numbers.length) throw new Error('truncated');
        setInternals(series.buckets, buckets);
      }
      this.lastSeq = this.savedSeq = header.lastSeq;
      this.tradesSeen = header.tradesSeen;
      return true;
    } catch (err) {
      this.strategies.clear();
      return this.reject(`it is unreadable (${(err as Error).message})`);
    }
  }

  private reject(why: string): false {
    this.stateNote = `window state ${this.statePath} not used: ${why}; reading the whole ledger`;
    return false;
  }
}

const STATE_FORMAT = 1;
/** The fields of Agg, in the order the state file stores them. */
const AGG_FIELDS = Object.keys(empty()) as Array<keyof Agg>;

interface SeriesHeader {
  strategy: string;
  version?: number;
  experiment?: string;
  variant?: string;
  count: number;
}

interface StateHeader {
  format: number;
  fields: string[];
  lastSeq: number;
  /** strategy, id, closed_ms of the row at lastSeq: proof that the state belongs to this ledger. */
  check: [string, string, number] | null;
  tradesSeen: number;
  strategies: Array<[string, number]>;
  series: SeriesHeader[];
  /** The id of the last trade of each bucket, in bucket order. */
  ids: string[];
}

// BucketSeries (src/analytics/buckets.ts) has no public way to list or restore its buckets, so
// the state file reads and writes its private array here, with a check that it still has the
// shape this code expects. To replace with BucketSeries.toBuckets()/fromBuckets() once those exist.
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
  if (!Array.isArray(inner.buckets) || !('totalCache' in inner)) throw new Error('BucketSeries changed shape: cannot restore its buckets');
  inner.buckets = buckets;
  inner.totalCache = undefined;
}
