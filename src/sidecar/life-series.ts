// The whole-life aggregate of one series of a strategy (a parameter version or an experiment
// variant), in (closed_at, id) order: minute buckets for trades at or after the cutoff (about
// two hours ago), where late trades land and rebuild one minute; hour buckets before it, so a
// version that traded for a year holds ~8,800 aggregates, not ~525,000. An hour is rebuilt
// from SQL only when a trade arrives more than two hours late.
import { BucketSeries, combineInto, type Agg } from '../analytics/index.js';
import type { LeanTrade } from '../ledger/index.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;

export class LifeSeries {
  /** Minute buckets from the cutoff on. */
  readonly recent = new BucketSeries(MINUTE);
  /** Hour buckets before the cutoff (hours folded from minutes have no known last trade). */
  readonly past = new BucketSeries(HOUR);

  constructor(
    readonly strategy: string,
    /** Which of the strategy's trades belong to the series (for rebuilds from SQL). */
    readonly keep: (r: LeanTrade) => boolean,
  ) {}

  /** Adds a trade. Returns the bucket series whose bucket of this trade must be rebuilt from SQL, if any. */
  add(row: LeanTrade, cutoff: number): BucketSeries | undefined {
    const series = row.closedMs >= cutoff ? this.recent : this.past;
    return series.add(row.closedMs, row.id, row.pnl, row.fees, row.notional) === 'dirty' ? series : undefined;
  }

  /** Folds the minute buckets of [from, cutoff) into hours and forgets them. */
  compact(from: number, cutoff: number): void {
    if (this.recent.size === 0) return;
    for (let h = from; h < cutoff; h += HOUR) {
      const agg = this.recent.foldRange(h, h + HOUR);
      if (agg.n > 0) this.past.put(h, agg);
    }
    this.recent.dropBefore(cutoff);
  }

  total(): Agg {
    return combineInto(this.past.total(), this.recent.total());
  }
}
