// The baseline a user would write by hand: every scrape aggregates the raw trades with SQL
// (sums and counts, a window function for the drawdown, GROUP BY for versions and variants).
// It plugs into the sidecar's own snapshot and exposition, so it exports exactly the same
// series and the only difference measured is where the numbers come from.
import type Database from 'better-sqlite3';
import { cusumAdd, cusumStart, cusumValues, cusumVarianceInflation, type Agg } from '../src/analytics/index.js';
import type { CusumReading, RunKey } from '../src/sidecar/cusum-runs.js';
import { WINDOWS, type WindowName } from '../src/sidecar/engine.js';
import type { WindowSource } from '../src/sidecar/snapshot.js';

const SUMS = `count(*) AS n, coalesce(sum(pnl > 0), 0) AS wins, coalesce(sum(pnl), 0) AS sum,
  coalesce(sum(pnl * pnl), 0) AS sq, coalesce(sum(CASE WHEN pnl > 0 THEN pnl END), 0) AS gp,
  coalesce(sum(CASE WHEN pnl < 0 THEN -pnl END), 0) AS gl, coalesce(sum(fees), 0) AS fees,
  coalesce(sum(notional > 0), 0) AS rn, coalesce(sum(CASE WHEN notional > 0 THEN pnl / notional END), 0) AS rs,
  coalesce(sum(CASE WHEN notional > 0 THEN (pnl / notional) * (pnl / notional) END), 0) AS rsq`;

// Largest fall of the running sum from its running peak (the peak starts at 0), per group.
const drawdown = (where: string, group: string) => `
  SELECT ${group} AS g, max(0, max(peak - cum)) AS dd FROM (
    SELECT ${group}, cum, max(0, max(cum) OVER (PARTITION BY ${group} ORDER BY closed_ms, id ROWS UNBOUNDED PRECEDING)) AS peak FROM (
      SELECT ${group}, closed_ms, id, sum(pnl) OVER (PARTITION BY ${group} ORDER BY closed_ms, id ROWS UNBOUNDED PRECEDING) AS cum
      FROM trades WHERE ${where}))
  GROUP BY ${group}`;

interface SumsRow {
  g?: string | number;
  n: number;
  wins: number;
  sum: number;
  sq: number;
  gp: number;
  gl: number;
  fees: number;
  rn: number;
  rs: number;
  rsq: number;
}

function agg(r: SumsRow | undefined, dd: number): Agg {
  if (!r || r.n === 0)
    return {
      n: 0,
      wins: 0,
      sum: 0,
      mean: 0,
      m2: 0,
      grossProfit: 0,
      grossLoss: 0,
      fees: 0,
      maxPrefix: 0,
      minPrefix: 0,
      maxDrawdown: 0,
      rn: 0,
      rmean: 0,
      rm2: 0,
    };
  const mean = r.sum / r.n;
  // The textbook formula a user writes (and the reason the engine does not: it cancels badly).
  const m2 = Math.max(0, r.sq - r.sum * mean);
  const rmean = r.rn ? r.rs / r.rn : 0;
  return {
    n: r.n,
    wins: r.wins,
    sum: r.sum,
    mean,
    m2,
    grossProfit: r.gp,
    grossLoss: r.gl,
    fees: r.fees,
    maxPrefix: 0,
    minPrefix: 0,
    maxDrawdown: dd,
    rn: r.rn,
    rmean,
    rm2: Math.max(0, r.rsq - r.rs * rmean),
  };
}

export class NaiveWindows implements WindowSource {
  private readonly st;

  constructor(db: Database.Database) {
    const window = 'strategy = @strategy AND closed_ms > @from AND closed_ms <= @to';
    const runWindow = `${window} AND param_version IS @version AND coalesce(opened_ms, closed_ms) >= @start`;
    this.st = {
      sums: db.prepare(`SELECT ${SUMS} FROM trades WHERE ${window}`),
      drawdown: db.prepare(drawdown(window, 'strategy')),
      runSums: db.prepare(`SELECT ${SUMS} FROM trades WHERE ${runWindow}`),
      runDrawdown: db.prepare(drawdown(runWindow, 'strategy')),
      versionSums: db.prepare(
        `SELECT param_version AS g, ${SUMS} FROM trades WHERE strategy = ? AND param_version IS NOT NULL GROUP BY param_version`,
      ),
      versionDrawdown: db.prepare(drawdown('strategy = ? AND param_version IS NOT NULL', 'param_version')),
      variantSums: db.prepare(
        `SELECT variant AS g, ${SUMS} FROM trades WHERE strategy = ? AND experiment = ? GROUP BY variant`,
      ),
      variantDrawdown: db.prepare(drawdown('strategy = ? AND experiment = ?', 'variant')),
      strategies: db.prepare('SELECT DISTINCT strategy FROM trades ORDER BY strategy').pluck(),
      straddles: db.prepare(
        'SELECT param_version AS version, count(*) AS n FROM trades WHERE strategy = ? AND straddle = 1 AND param_version IS NOT NULL GROUP BY param_version',
      ),
      last: db.prepare('SELECT max(closed_ms) FROM trades WHERE strategy = ?').pluck(),
      run: db
        .prepare(
          'SELECT pnl, notional FROM trades WHERE strategy = ? AND param_version IS ? AND coalesce(opened_ms, closed_ms) >= ? ORDER BY closed_ms, id',
        )
        .raw(),
      // The prior's sample (src/sidecar/cusum-prior.ts): the previous run's trades closed before the deploy.
      priorSample: db
        .prepare(
          'SELECT pnl, notional FROM trades WHERE strategy = ? AND param_version IS ? AND coalesce(opened_ms, closed_ms) >= ? AND closed_ms < ? ORDER BY closed_ms, id',
        )
        .raw(),
    };
  }

  range(strategy: string, fromExclusive: number, toInclusive: number): Agg {
    const p = { strategy, from: fromExclusive, to: toInclusive };
    const dd = this.st.drawdown.get(p) as { dd: number } | undefined;
    return agg(this.st.sums.get(p) as SumsRow, dd?.dd ?? 0);
  }

  runRange(strategy: string, key: RunKey, fromExclusive: number, toInclusive: number): Agg {
    const p = {
      strategy,
      from: fromExclusive,
      to: toInclusive,
      version: key.version,
      start: Number.isFinite(key.startMs) ? key.startMs : -1e300,
    };
    const dd = this.st.runDrawdown.get(p) as { dd: number } | undefined;
    return agg(this.st.runSums.get(p) as SumsRow, dd?.dd ?? 0);
  }

  window(strategy: string, name: WindowName, nowMs: number): Agg {
    return this.range(strategy, nowMs - WINDOWS[name], nowMs);
  }

  strategyNames(): string[] {
    return this.st.strategies.all() as string[];
  }

  lastTradeMs(strategy: string): number | undefined {
    return (this.st.last.get(strategy) as number | null) ?? undefined;
  }

  straddleCounts(strategy: string): Map<number, number> {
    return new Map(
      (this.st.straddles.all(strategy) as Array<{ version: number; n: number }>).map((r) => [r.version, r.n]),
    );
  }

  versionTotals(strategy: string): Map<number, Agg> {
    const dd = new Map(
      (this.st.versionDrawdown.all(strategy) as Array<{ g: number; dd: number }>).map((r) => [r.g, r.dd]),
    );
    return new Map(
      (this.st.versionSums.all(strategy) as SumsRow[]).map((r) => [r.g as number, agg(r, dd.get(r.g as number) ?? 0)]),
    );
  }

  /** The CUSUM a user would compute by hand: every trade of the run, folded on every scrape. */
  cusum(strategy: string, key: RunKey): CusumReading | undefined {
    const rows = this.st.run.all(strategy, key.version, Number.isFinite(key.startMs) ? key.startMs : -1e300) as Array<
      [number, number | null]
    >;
    const returns = rows.every(([, notional]) => notional !== null && notional > 0);
    let prior = 1;
    if (key.previous) {
      const sample = this.st.priorSample.all(
        strategy,
        key.previous.version,
        Number.isFinite(key.previous.startMs) ? key.previous.startMs : -1e300,
        key.startMs,
      ) as Array<[number, number | null]>;
      const sampleReturns = returns && sample.every(([, notional]) => notional !== null && notional > 0);
      const p = cusumStart();
      for (const [pnl, notional] of sample)
        cusumAdd(p, sampleReturns ? pnl / (notional as number) : pnl, key.minTrades);
      prior = cusumVarianceInflation(p);
    }
    const state = cusumStart(undefined, { priorInflation: prior });
    for (const [pnl, notional] of rows) cusumAdd(state, returns ? pnl / (notional as number) : pnl, key.minTrades);
    const values = cusumValues(state, key.minTrades);
    return (
      values && {
        values,
        trades: state.n,
        outcome: returns ? 'return' : 'pnl',
        inflation: cusumVarianceInflation(state),
      }
    );
  }

  variantTotals(strategy: string, experiment: string): Map<string, Agg> {
    const dd = new Map(
      (this.st.variantDrawdown.all(strategy, experiment) as Array<{ g: string; dd: number }>).map((r) => [r.g, r.dd]),
    );
    return new Map(
      (this.st.variantSums.all(strategy, experiment) as SumsRow[]).map((r) => [
        r.g as string,
        agg(r, dd.get(r.g as string) ?? 0),
      ]),
    );
  }
}
