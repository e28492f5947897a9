// The definition of a strategy's exported CUSUM, for tests, written out from the docs rather
// than from src/sidecar: the run is the active version's trades whose time (opened_at, else
// closed_at) is at or after its deploy; its prior is the inflation of the previous run's
// trades (the version before it, from its deploy on; the unversioned trades before a first
// deploy) that closed before the active deploy. Both in (closed_at, JS id) order, through the
// pure functions; returns on notional when every trade of the sample carries one.
import { cusumAdd, cusumStart, cusumValues, cusumVarianceInflation } from '../../src/analytics/index.js';

export interface ReferenceTrade {
  closedMs: number;
  id: string;
  pnl: number;
  notional: number | null;
  version: number | null;
  /** opened_at, else closed_at */
  attributedMs: number;
}

type Deploy = { deployedMs: number; version: number };

const byKey = (a: ReferenceTrade, b: ReferenceTrade) =>
  a.closedMs - b.closedMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const withNotional = (ts: ReferenceTrade[]) => ts.every((t) => t.notional !== null && t.notional > 0);

function inflation(xs: number[], minTrades: number): number {
  const s = cusumStart();
  for (const x of xs) cusumAdd(s, x, minTrades);
  return cusumVarianceInflation(s);
}

/** The statistic of the run of `active` (none: every unversioned trade) with the prior of `previous`. */
export function referenceCusum(
  trades: ReferenceTrade[],
  active: Deploy | undefined,
  previous: Deploy | undefined,
  minTrades: number,
) {
  const startMs = active?.deployedMs ?? -Infinity;
  const version = active?.version ?? null;
  const run = trades.filter((t) => t.version === version && t.attributedMs >= startMs).sort(byKey);
  let prior = 1;
  if (active) {
    const pv = previous?.version ?? null;
    const ps = previous?.deployedMs ?? -Infinity;
    const sample = trades.filter((t) => t.version === pv && t.attributedMs >= ps && t.closedMs < startMs).sort(byKey);
    const pnlPrior = inflation(
      sample.map((t) => t.pnl),
      minTrades,
    );
    const returnsPrior = withNotional(sample)
      ? inflation(
          sample.map((t) => t.pnl / (t.notional as number)),
          minTrades,
        )
      : pnlPrior;
    prior = withNotional(run) ? returnsPrior : pnlPrior;
  }
  const returns = withNotional(run);
  const state = cusumStart(undefined, { priorInflation: prior });
  for (const t of run) cusumAdd(state, returns ? t.pnl / (t.notional as number) : t.pnl, minTrades);
  return { values: cusumValues(state, minTrades), trades: run.length, prior, run };
}
