// The window engine: folds the ledger's trades into time buckets incrementally and answers
// exact windows (now - W, now] as a fold over buckets plus the two partial minutes at the
// edges (read from SQL). Each refresh reads only rows with seq above the last one seen.
import { BucketSeries, addTrade, bucketStart, combine, empty, type Agg } from '../analytics/index.js';
import type { Ledger, TradeRow } from '../ledger/ledger.js';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const WINDOWS = { '1h': HOUR, '24h': DAY, '7d': 7 * DAY } as const;
export type WindowName = keyof typeof WINDOWS;

/** Buckets of the rolling windows: one minute, kept for 7 days (+1 bucket). */
const WINDOW_BUCKET_MS = 60_000;
/** Buckets of whole-life series (versions, experiment variants): one hour, kept for ever. */
const LIFE_BUCKET_MS = HOUR;
const PAGE = 20_000;

interface StrategyState {
  windows: BucketSeries;
  versions: Map<number, BucketSeries>;
  /** experiment -> variant -> series */
  variants: Map<string, Map<string, BucketSeries>>;
  lastTradeMs: number;
}

type SeriesKind = { kind: 'window' } | { kind: 'version'; version: number } | { kind: 'variant'; experiment: string; variant: string };

export class WindowEngine {
  private lastSeq = 0;
  private readonly strategies = new Map<string, StrategyState>();
  /** Rows folded in since start (the ledger's trade count once the first refresh is done). */
  tradesSeen = 0;

  constructor(private readonly ledger: Ledger) {}

  /** Reads the rows added since the last refresh and folds them in. Returns how many. */
  refresh(nowMs: number): number {
    const dirty: Array<[string, BucketSeries, SeriesKind, number]> = [];
    let read = 0;
    for (;;) {
      const rows = this.ledger.tradesAfter(this.lastSeq, PAGE);
      for (const row of rows) this.add(row, dirty);
      read += rows.length;
      if (rows.length) this.lastSeq = rows[rows.length - 1].seq;
      if (rows.length < PAGE) break;
    }
    this.tradesSeen += read;
    this.rebuild(dirty);
    const horizon = bucketStart(nowMs - WINDOWS['7d'], WINDOW_BUCKET_MS) - WINDOW_BUCKET_MS;
    for (const s of this.strategies.values()) s.windows.dropBefore(horizon);
    return read;
  }

  private state(strategy: string): StrategyState {
    let s = this.strategies.get(strategy);
    if (!s) this.strategies.set(strategy, (s = { windows: new BucketSeries(WINDOW_BUCKET_MS), versions: new Map(), variants: new Map(), lastTradeMs: -Infinity }));
    return s;
  }

  private add(row: TradeRow, dirty: Array<[string, BucketSeries, SeriesKind, number]>): void {
    const s = this.state(row.strategy);
    if (row.closedMs > s.lastTradeMs) s.lastTradeMs = row.closedMs;
    const feed = (series: BucketSeries, kind: SeriesKind) => {
      if (series.add(row.closedMs, row.id, row.pnl, row.fees) === 'dirty') dirty.push([row.strategy, series, kind, bucketStart(row.closedMs, series.bucketMs)]);
    };
    feed(s.windows, { kind: 'window' });
    if (row.paramVersion !== null) {
      let v = s.versions.get(row.paramVersion);
      if (!v) s.versions.set(row.paramVersion, (v = new BucketSeries(LIFE_BUCKET_MS)));
      feed(v, { kind: 'version', version: row.paramVersion });
    }
    if (row.experiment !== null && row.variant !== null) {
      let e = s.variants.get(row.experiment);
      if (!e) s.variants.set(row.experiment, (e = new Map()));
      let v = e.get(row.variant);
      if (!v) e.set(row.variant, (v = new BucketSeries(LIFE_BUCKET_MS)));
      feed(v, { kind: 'variant', experiment: row.experiment, variant: row.variant });
    }
  }

  /** Rebuilds buckets that received a trade out of (closed_at, id) order, from SQL, in order. */
  private rebuild(dirty: Array<[string, BucketSeries, SeriesKind, number]>): void {
    const done = new Set<string>();
    for (const [strategy, series, kind, start] of dirty) {
      const key = `${strategy}\u0000${JSON.stringify(kind)}\u0000${start}`;
      if (done.has(key)) continue;
      done.add(key);
      const rows = this.rows(strategy, start, start + series.bucketMs).filter((r) =>
        kind.kind === 'window' ? true : kind.kind === 'version' ? r.paramVersion === kind.version : r.experiment === kind.experiment && r.variant === kind.variant,
      );
      series.replaceBucket(start, rows);
    }
  }

  /** Trades of [fromMs, toMs) in (closed_at, id) order, limited to rows this engine has seen. */
  private rows(strategy: string, fromMs: number, toMs: number): TradeRow[] {
    return this.ledger.tradesInRange(strategy, fromMs, toMs).filter((r) => r.seq <= this.lastSeq);
  }

  /** Aggregate of [fromMs, toMs) straight from SQL: the partial minutes at a window's edges. */
  private sqlAgg(strategy: string, fromMs: number, toMs: number): Agg {
    const agg = empty();
    if (fromMs < toMs) for (const r of this.rows(strategy, fromMs, toMs)) addTrade(agg, r.pnl, r.fees);
    return agg;
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
    if (firstFull >= endFull) return this.sqlAgg(strategy, lo, hi);
    const head = this.sqlAgg(strategy, lo, firstFull);
    const middle = s.windows.foldRange(firstFull, endFull);
    const tail = this.sqlAgg(strategy, endFull, hi);
    return combine(combine(head, middle), tail);
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

  /** Whole-life aggregate of each variant of an experiment. */
  variantTotals(strategy: string, experiment: string): Map<string, Agg> {
    const out = new Map<string, Agg>();
    for (const [v, series] of this.strategies.get(strategy)?.variants.get(experiment) ?? []) out.set(v, series.total());
    return out;
  }
}
