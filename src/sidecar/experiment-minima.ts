// The running minima of the always-valid tests (src/analytics/msprt-running.ts), kept per
// ledger: each read folds the experiment's trades that arrived since the previous one (in seq
// order, through the trades_by_experiment index), so a scrape costs the new trades only. A
// process that opens the ledger afresh (a restarted sidecar, the CLI) folds them all once and
// finds the same minima: they are a function of the ledger's trades, not of when it was read.
import { ExperimentFold, type RunningTest } from '../analytics/index.js';
import type { ExperimentInfo, Ledger } from '../ledger/ledger.js';
import type { Thresholds } from './thresholds.js';

const PAGE = 50_000;

interface Entry {
  /** the settings the fold was built with: another value (a threshold changed) rebuilds it */
  key: string;
  fold: ExperimentFold;
  lastSeq: number;
}

const byLedger = new WeakMap<Ledger, Map<string, Entry>>();

/**
 * The running test of each arm of an experiment, after every trade of it the ledger holds.
 * `arms` is the Bonferroni factor (candidate arms).
 */
export function runningTests(
  ledger: Ledger,
  strategy: string,
  exp: Pick<ExperimentInfo, 'name' | 'variants'>,
  arms: number,
  th: Thresholds,
): Map<string, RunningTest> {
  let entries = byLedger.get(ledger);
  if (!entries) byLedger.set(ledger, (entries = new Map<string, Entry>()));
  const id = JSON.stringify([strategy, exp.name]);
  const opts = {
    tau: th.experiment_mixture_tau,
    alpha: th.experiment_p_value,
    arms,
    minTrades: th.experiment_min_trades,
  };
  const key = JSON.stringify([opts, Object.keys(exp.variants).sort()]);
  let e = entries.get(id);
  if (!e || e.key !== key) {
    e = { key, fold: new ExperimentFold(Object.keys(exp.variants), opts), lastSeq: 0 };
    entries.set(id, e);
  }
  for (;;) {
    const rows = ledger.experimentTradesAfter(strategy, exp.name, e.lastSeq, PAGE);
    for (const r of rows) e.fold.add(r.variant, r.pnl, r.fees, r.notional);
    if (rows.length) e.lastSeq = rows[rows.length - 1].seq;
    if (rows.length < PAGE) break;
  }
  const out = new Map<string, RunningTest>();
  for (const v of Object.keys(exp.variants)) {
    const t = e.fold.test(v);
    if (t) out.set(v, t);
  }
  return out;
}
