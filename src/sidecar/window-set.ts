// Rolling windows over a set of a strategy's trades (all of them, or its current run): minute
// buckets of the last 7 days, and an exact aggregate of any (from, to] as a fold over them.
//
// What a window costs (measured in bench/RESULTS.md):
// - it folds cached aggregates of whole days, hours and 10-minute blocks, and minute buckets
//   only at its ends, so a 7d window is at most ~90 combines rather than 10,080;
// - the rows of an edge minute are read from SQL once and kept while a window ends in it (new
//   trades are appended), so a scrape reads no rows at all in the steady state, and a minute
//   with no trades or whose trades all lie inside the window needs no rows.
// Pure but for `minuteRows`, the caller's read of one minute's trades.
import { BucketSeries, addTrade, bucketStart, combineInto, empty, keyAfter, type Agg } from '../analytics/index.js';
import type { LeanTrade } from '../ledger/index.js';
import { HOUR, MINUTE } from './life-series.js';

export const DAY = 24 * HOUR;
export const WINDOWS = { '1h': HOUR, '24h': DAY, '7d': 7 * DAY } as const;
export type WindowName = keyof typeof WINDOWS;

/** Block sizes of the window cache: a block is the fold of the blocks of the size before it. */
const LEVELS = [MINUTE, 10 * MINUTE, HOUR, DAY];

/** The rows of one minute, kept while a window edge lies in it (sorted by (closed_at, id)). */
interface EdgeRows {
  closed: number[];
  pnl: number[];
  fees: number[];
  notional: Array<number | null>;
  last: { closedMs: number; id: string };
  /** The read generation that last used it. */
  used: number;
}

export interface WindowSet {
  /** the strategy */
  name: string;
  /** which of the strategy's trades belong to the set */
  keep: (r: LeanTrade) => boolean;
  /** Minute buckets of the last 7 days (+1 minute): the rolling windows. */
  windows: BucketSeries;
  /** Per level of LEVELS after the first: folds of whole blocks of `windows`, dropped when one of their minutes changes. */
  blocks: Array<Map<number, Agg>>;
  /** Rows of the minutes the current windows start or end in. */
  edges: Map<number, EdgeRows>;
}

/** How a window reads what it does not hold: the trades of one minute (already filtered by the set's keep). */
export interface MinuteReader {
  minuteRows(set: WindowSet, minute: number): Array<Pick<LeanTrade, 'closedMs' | 'id' | 'pnl' | 'fees' | 'notional'>>;
  /** The current read generation: edge rows unused for a generation are dropped. */
  generation: number;
}

export function windowSet(name: string, keep: (r: LeanTrade) => boolean): WindowSet {
  return {
    name,
    keep,
    windows: new BucketSeries(MINUTE),
    blocks: LEVELS.map(() => new Map<number, Agg>()),
    edges: new Map(),
  };
}

/** A minute of the window series changed: drop the cached blocks that contain it, and its edge rows when `rebuilt`. */
export function minuteChanged(s: WindowSet, minute: number, rebuilt = false): void {
  for (let k = 1; k < LEVELS.length; k++) s.blocks[k].delete(bucketStart(minute, LEVELS[k]));
  if (rebuilt) s.edges.delete(minute);
}

/** Adds a trade of the set. Returns true when its minute must be rebuilt from SQL (it arrived out of order). */
export function foldIntoWindows(set: WindowSet, row: LeanTrade): boolean {
  const closed = row.closedMs;
  const minute = bucketStart(closed, MINUTE);
  const dirty = set.windows.add(closed, row.id, row.pnl, row.fees, row.notional) === 'dirty';
  minuteChanged(set, minute);
  const e = set.edges.get(minute);
  if (e && keyAfter(closed, row.id, e.last)) {
    e.closed.push(closed);
    e.pnl.push(row.pnl);
    e.fees.push(row.fees);
    e.notional.push(row.notional);
    e.last = { closedMs: closed, id: row.id };
  } else if (e) set.edges.delete(minute);
  return dirty;
}

/** Forgets what no window can need any more: minutes before `horizon`, edge rows unused since the last generation. */
export function pruneWindows(set: WindowSet, horizon: number, generation: number): void {
  set.windows.dropBefore(horizon);
  for (const cache of set.blocks) for (const t of cache.keys()) if (t < horizon) cache.delete(t);
  // Keep the edge rows the last snapshot used: the next one most likely needs the same minutes.
  for (const [m, e] of set.edges) if (e.used < generation - 1 || m < horizon) set.edges.delete(m);
}

/** Exact aggregate of the set's trades with fromExclusive < closed_at <= toInclusive. */
export function windowRange(s: WindowSet, fromExclusive: number, toInclusive: number, read: MinuteReader): Agg {
  const lo = fromExclusive + 1;
  const hi = toInclusive + 1; // [lo, hi)
  if (lo >= hi) return empty();
  const firstFull = Math.ceil(lo / MINUTE) * MINUTE;
  const endFull = Math.floor(hi / MINUTE) * MINUTE;
  if (firstFull > endFull) return edgeAgg(s, lo, hi, read); // inside one minute
  const acc = edgeAgg(s, lo, firstFull, read);
  if (firstFull < endFull) combineInto(acc, foldLevel(s, 0, firstFull, endFull));
  return combineInto(acc, edgeAgg(s, endFull, hi, read));
}

/**
 * Aggregate of [lo, hi) within one minute. A minute without a bucket holds no trade; the
 * newest minute is whole when its last trade is before hi; otherwise the minute's rows.
 */
function edgeAgg(s: WindowSet, lo: number, hi: number, read: MinuteReader): Agg {
  if (lo >= hi) return empty();
  const minute = bucketStart(lo, MINUTE);
  const bucket = s.windows.bucket(minute);
  if (!bucket) return empty();
  if (lo === minute && (s.windows.lastKey()?.closedMs ?? Infinity) < hi) return bucket;
  let e = s.edges.get(minute);
  if (!e) {
    const rows = read.minuteRows(s, minute);
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
  e.used = read.generation;
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
function foldLevel(s: WindowSet, k: number, from: number, to: number): Agg {
  const up = LEVELS[k + 1];
  const a = up === undefined ? to : Math.ceil(from / up) * up;
  const b = up === undefined ? to : Math.floor(to / up) * up;
  if (a >= b) return foldBlocks(s, k, from, to);
  const acc = foldBlocks(s, k, from, a);
  combineInto(acc, foldLevel(s, k + 1, a, b));
  return combineInto(acc, foldBlocks(s, k, b, to));
}

/** Fold of the blocks of level k in [from, to), one by one (minute buckets for level 0). */
function foldBlocks(s: WindowSet, k: number, from: number, to: number): Agg {
  if (k === 0) return s.windows.foldRange(from, to);
  const acc = empty();
  for (let t = from; t < to; t += LEVELS[k]) {
    let block = s.blocks[k].get(t);
    if (!block) s.blocks[k].set(t, (block = foldBlocks(s, k - 1, t, t + LEVELS[k])));
    combineInto(acc, block);
  }
  return acc;
}
