// Time buckets of one series (a strategy, a parameter version or an experiment variant):
// one aggregate per minute, so that any window of whole minutes is a fold over at most
// W / 1 min buckets, however many trades the ledger holds.
//
// Order matters (max drawdown), and trades can arrive late. A bucket only ever appends
// trades that sort after its last one; anything else marks it dirty and the caller, who
// owns the SQL, rebuilds it from its trades in (closedMs, id) order with replaceBucket.
import { type Agg, addTrade, combineInto, empty, fold } from './aggregate.js';

export const BUCKET_MS = 60_000;

/** Start of the bucket holding closedMs: a trade exactly at a start belongs to it. */
export function bucketStart(closedMs: number, bucketMs: number = BUCKET_MS): number {
  return Math.floor(closedMs / bucketMs) * bucketMs;
}

/** Trades are ordered by (closedMs, id), id compared as a plain JS string with <. */
export interface TradeKey {
  closedMs: number;
  id: string;
}

/** True when the trade (closedMs, id) sorts after `last`. */
export function keyAfter(closedMs: number, id: string, last: TradeKey): boolean {
  return closedMs > last.closedMs || (closedMs === last.closedMs && id > last.id);
}

/**
 * The trades in (closedMs, id) order, JS string order for ids: SQL sorts ids by UTF-8 bytes,
 * which differs for a few astral characters, so rows read in SQL order are checked (and sorted
 * only then, into a copy).
 */
export function inTradeOrder<T extends TradeKey>(trades: T[]): T[] {
  for (let k = 1; k < trades.length; k++)
    if (!keyAfter(trades[k].closedMs, trades[k].id, trades[k - 1]))
      return trades
        .slice()
        .sort((a, b) => (keyAfter(a.closedMs, a.id, b) ? 1 : keyAfter(b.closedMs, b.id, a) ? -1 : 0));
  return trades;
}

/** One bucket: its start, the fold of its trades, and the greatest trade key folded in. */
export interface SavedBucket {
  start: number;
  agg: Agg;
  /** closedMs Infinity when unknown (a bucket put whole): any trade added to it then reads 'dirty'. */
  last: TradeKey;
}
type Bucket = SavedBucket;

export class BucketSeries {
  readonly bucketMs: number;
  // Sorted by start. A late trade in an older minute may create a bucket in the middle.
  private buckets: Bucket[] = [];
  // Fold of all buckets, or undefined when it must be refolded.
  private totalCache: Agg | undefined = empty();

  constructor(bucketMs: number = BUCKET_MS) {
    if (!Number.isInteger(bucketMs) || bucketMs <= 0) {
      throw new RangeError(`bucketMs must be a positive integer, got ${bucketMs}`);
    }
    this.bucketMs = bucketMs;
  }

  get size(): number {
    return this.buckets.length;
  }

  /** Index of the first bucket with start >= s (buckets.length if none). */
  private lowerBound(s: number): number {
    let lo = 0;
    let hi = this.buckets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.buckets[mid].start < s) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Adds one trade. Appends it and answers 'appended' when the bucket is new or the
   * trade sorts after the bucket's last trade. Otherwise the trade is NOT added and the
   * answer is 'dirty': the caller, who owns the SQL, rebuilds the bucket with replaceBucket
   * from all of its trades in order. (Until then the bucket still appends in-order trades;
   * the rebuild replaces its contents anyway.)
   */
  add(closedMs: number, id: string, pnl: number, fees: number, notional: number | null = null): 'appended' | 'dirty' {
    if (!Number.isFinite(closedMs)) throw new RangeError(`closedMs must be finite, got ${closedMs}`);
    const start = bucketStart(closedMs, this.bucketMs);
    const n = this.buckets.length;
    // Fast path: the newest bucket or a new one after it (the common, in-order case).
    const lastStart = n > 0 ? this.buckets[n - 1].start : -Infinity;
    const i = start > lastStart ? n : start === lastStart ? n - 1 : this.lowerBound(start);
    if (i === n || this.buckets[i].start !== start) {
      const bucket: Bucket = { start, agg: addTrade(empty(), pnl, fees, notional), last: { closedMs, id } };
      this.buckets.splice(i, 0, bucket);
      // A bucket at the end extends the total by one trade; one in the middle reorders it.
      if (i === this.buckets.length - 1 && this.totalCache) addTrade(this.totalCache, pnl, fees, notional);
      else this.totalCache = undefined;
      return 'appended';
    }
    const bucket = this.buckets[i];
    if (!keyAfter(closedMs, id, bucket.last)) return 'dirty';
    addTrade(bucket.agg, pnl, fees, notional);
    bucket.last = { closedMs, id };
    if (i === this.buckets.length - 1 && this.totalCache) addTrade(this.totalCache, pnl, fees, notional);
    else this.totalCache = undefined;
    return 'appended';
  }

  /**
   * Rebuilds one bucket from all of its trades. The trades
   * should come sorted by (closedMs, id); if they are not by our rule (JS string order),
   * they are sorted here. That matters for SQL: SQLite's BINARY collation orders UTF-8
   * bytes (code points), which differs from JS's UTF-16 order for ids that mix characters
   * above U+FFFF with ones in U+E000..U+FFFF. An empty list removes the bucket. A trade
   * outside the bucket throws: that is a bug in the caller's query.
   */
  replaceBucket(
    start: number,
    trades: Array<{ closedMs: number; id: string; pnl: number; fees: number; notional?: number | null }>,
  ): void {
    if (bucketStart(start, this.bucketMs) !== start) {
      throw new RangeError(`${start} is not a bucket start (bucket ${this.bucketMs} ms)`);
    }
    let ordered = trades;
    for (let k = 0; k < trades.length; k++) {
      const t = trades[k];
      if (bucketStart(t.closedMs, this.bucketMs) !== start) {
        throw new RangeError(`trade ${t.id} at ${t.closedMs} is not in bucket ${start}`);
      }
      if (k > 0 && ordered === trades && !keyAfter(t.closedMs, t.id, trades[k - 1])) {
        ordered = trades
          .slice()
          .sort((a, b) => (keyAfter(a.closedMs, a.id, b) ? 1 : keyAfter(b.closedMs, b.id, a) ? -1 : 0));
      }
    }
    const agg = empty();
    for (const t of ordered) addTrade(agg, t.pnl, t.fees, t.notional ?? null);
    const lastTrade = ordered[ordered.length - 1];
    const last: TradeKey | undefined = lastTrade && { closedMs: lastTrade.closedMs, id: lastTrade.id };
    const i = this.lowerBound(start);
    const exists = i < this.buckets.length && this.buckets[i].start === start;
    if (last === undefined) {
      if (exists) this.buckets.splice(i, 1);
    } else if (exists) {
      this.buckets[i] = { start, agg, last };
    } else {
      this.buckets.splice(i, 0, { start, agg, last });
    }
    this.totalCache = undefined;
  }

  /**
   * Puts a bucket folded elsewhere (e.g. an hour folded from minute buckets) at `start`,
   * replacing one that is there. Its `last` is unknown: a trade added to it reads 'dirty'.
   */
  put(start: number, agg: Agg): void {
    if (bucketStart(start, this.bucketMs) !== start) {
      throw new RangeError(`${start} is not a bucket start (bucket ${this.bucketMs} ms)`);
    }
    const bucket = { start, agg: { ...agg }, last: { closedMs: Infinity, id: '' } };
    const i = this.lowerBound(start);
    this.buckets.splice(i, i < this.buckets.length && this.buckets[i].start === start ? 1 : 0, bucket);
    this.totalCache = undefined;
  }

  /** The buckets in time order, for a state file: read them, do not change them. */
  saved(): readonly SavedBucket[] {
    return this.buckets;
  }

  /** Replaces every bucket with ones saved() gave (in time order, on this series' bucket starts). */
  restore(buckets: SavedBucket[]): void {
    for (let k = 0; k < buckets.length; k++) {
      const b = buckets[k];
      if (bucketStart(b.start, this.bucketMs) !== b.start || (k > 0 && b.start <= buckets[k - 1].start))
        throw new RangeError(`saved buckets are not in order on ${this.bucketMs} ms starts`);
    }
    this.buckets = buckets.slice();
    this.totalCache = undefined;
  }

  /** Fold of the whole buckets with fromStart <= start < toStartExclusive, in time order. */
  foldRange(fromStart: number, toStartExclusive: number): Agg {
    const acc = empty();
    for (let i = this.lowerBound(fromStart); i < this.buckets.length; i++) {
      const b = this.buckets[i];
      if (b.start >= toStartExclusive) break;
      combineInto(acc, b.agg);
    }
    return acc;
  }

  /** Fold of all buckets (a copy of the cached value). */
  total(): Agg {
    if (!this.totalCache) this.totalCache = fold(this.buckets.map((b) => b.agg));
    return { ...this.totalCache };
  }

  /** The aggregate of one bucket (a copy), if it exists. */
  bucket(start: number): Agg | undefined {
    const i = this.lowerBound(start);
    const b = this.buckets[i];
    return b && b.start === start ? { ...b.agg } : undefined;
  }

  /** Forgets the buckets that start before `start` (bounds memory to the longest window). */
  dropBefore(start: number): void {
    const i = this.lowerBound(start);
    if (i === 0) return;
    this.buckets.splice(0, i);
    this.totalCache = undefined;
  }

  /** The greatest (closedMs, id) appended so far, among the buckets still held. */
  lastKey(): TradeKey | undefined {
    const b = this.buckets[this.buckets.length - 1];
    return b ? { ...b.last } : undefined;
  }
}
