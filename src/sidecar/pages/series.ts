// The series a strategy page charts, from the window engine's hour blocks: cumulative net PnL
// over the 7d window and the rolling 24h win ratio. Pure: the aggregates come from a range
// reader (the engine's range() of one strategy), this file cuts the window and adds them up.
import type { Agg } from '../../analytics/index.js';
import { HOUR } from '../engine.js';

export interface Point {
  t: number;
  v: number;
}

/**
 * The 7d window (fromMs, nowMs] cut at whole hours: `head` holds (fromMs, firstHour),
 * `hours[i]` the hour [firstHour + i·1h, +1h), `tail` [lastHour, nowMs]. Their sum is the
 * window, so the last point of the cumulative series is the window's net PnL.
 */
export interface HourCut {
  fromMs: number;
  nowMs: number;
  firstHour: number;
  head: Agg;
  hours: Agg[];
  tail: Agg;
}

/** Where the whole hours of (fromMs, nowMs] begin and end. */
export function hourBounds(fromMs: number, nowMs: number): { firstHour: number; lastHour: number } {
  const firstHour = Math.ceil(fromMs / HOUR) * HOUR;
  return { firstHour, lastHour: Math.max(firstHour, Math.floor(nowMs / HOUR) * HOUR) };
}

/** An exact aggregate of fromExclusive < closed_at <= toInclusive: WindowEngine.range of one strategy. */
export type RangeReader = (fromExclusive: number, toInclusive: number) => Agg;

/**
 * The window (fromMs, nowMs] cut at whole hours. Each whole hour [h, h + 1h) is read as the
 * range (h − 1 ms, h + 1h − 1 ms]: bounds on whole minutes, which the engine answers from the
 * hour blocks its windows already cache, without reading a trade; only the two partial hours
 * at the ends touch edge minutes, as a window does.
 */
export function hourCut(range: RangeReader, fromMs: number, nowMs: number): HourCut {
  const { firstHour, lastHour } = hourBounds(fromMs, nowMs);
  const hours: Agg[] = [];
  for (let h = firstHour; h < lastHour; h += HOUR) hours.push(range(h - 1, h + HOUR - 1));
  return {
    fromMs,
    nowMs,
    firstHour,
    head: range(fromMs, firstHour - 1),
    hours,
    tail: range(lastHour - 1, nowMs),
  };
}

/** Cumulative net PnL at the window start (0), at each hour boundary and at now. */
export function cumulativePnl(c: HourCut): Point[] {
  const out: Point[] = [{ t: c.fromMs, v: 0 }];
  let sum = c.head.sum;
  out.push({ t: c.firstHour, v: sum });
  c.hours.forEach((h, i) => {
    sum += h.sum;
    out.push({ t: c.firstHour + (i + 1) * HOUR, v: sum });
  });
  sum += c.tail.sum;
  if (c.nowMs > out[out.length - 1].t) out.push({ t: c.nowMs, v: sum });
  else out[out.length - 1].v = sum;
  return out;
}

/**
 * Win ratio of the 24 whole hours before each hour boundary (wins / trades, the definition of
 * edgewatch_window_win_ratio), from the first boundary with 24 hours behind it; a boundary
 * whose 24 hours hold no trade has no point. `last`: the 24h window's own value at now.
 */
export function rollingWinRatio(c: HourCut, last: number | undefined): Point[] {
  const out: Point[] = [];
  let wins = 0;
  let n = 0;
  c.hours.forEach((h, i) => {
    wins += h.wins;
    n += h.n;
    if (i >= 24) {
      wins -= c.hours[i - 24].wins;
      n -= c.hours[i - 24].n;
    }
    if (i >= 23 && n > 0) out.push({ t: c.firstHour + (i + 1) * HOUR, v: wins / n });
  });
  if (last !== undefined) out.push({ t: c.nowMs, v: last });
  return out;
}

/** The value of a step series at time t: the last point at or before t (0 before the first). */
export function valueAt(points: Point[], t: number): number {
  let v = 0;
  for (const p of points) {
    if (p.t > t) break;
    v = p.v;
  }
  return v;
}
