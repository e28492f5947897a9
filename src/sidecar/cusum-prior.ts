// The prior of a CUSUM run (src/analytics/cusum.ts, priorInflation): the long-run variance
// inflation of the run the latest deploy ended, so that the start of a run, whose reference
// cannot yet see regimes longer than itself, keeps what the strategy showed before.
//
// Why from the ledger and not from memory: the exported statistic must be the same whether
// the sidecar was running at the deploy or started after it. So the prior is a function of
// stored trades only: the trades of the previous run (its version, attributed at or after its
// deploy, as inRun says) that closed before the new deploy, folded in (closed_at, id) order
// through a fresh CUSUM, on returns on notional when every one of them carries a notional,
// else on PnL. Trades that closed after the new deploy (positions still open at it) are left
// out, so the set is closed at the deploy: only a late arrival can change it, and then the run
// is read again. Before the first deploy there is no run to end and no prior; the first
// deploy's prior is the unversioned trades before it (history recorded before any deploy).
import {
  CUSUM_SHIFTS,
  cusumAdd,
  cusumStart,
  cusumVarianceInflation,
  type CusumState,
  type TradeKey,
} from '../analytics/index.js';

/** The run a deploy ended: its version (null: trades before the first deploy) and deployed_at. */
export interface PreviousRun {
  version: number | null;
  /** deployed_at of the deploy that started it (-Infinity: before the first deploy) */
  startMs: number;
}

/** The previous run of the run started at `startMs`, from the strategy's deploys in time order. */
export function previousRunOf(
  deploys: ReadonlyArray<{ deployedMs: number; version: number }>,
): PreviousRun | undefined {
  if (deploys.length === 0) return undefined;
  const before = deploys[deploys.length - 2];
  return { version: before?.version ?? null, startMs: before?.deployedMs ?? -Infinity };
}

/** Whether a trade is in the sample the prior of the run started at `startMs` is measured on. */
export function inPrior(
  previous: PreviousRun | undefined,
  startMs: number,
  version: number | null,
  openedMs: number | null,
  closedMs: number,
): boolean {
  return (
    previous !== undefined &&
    version === previous.version &&
    (openedMs ?? closedMs) >= previous.startMs &&
    closedMs < startMs
  );
}

/** The prior's sample folded so far, in (closed_at, id) order. */
export interface PriorFold {
  pnl: CusumState;
  /** returns on notional, while every trade so far carried one */
  returns?: CusumState;
  last: TradeKey;
}

export function priorStart(): PriorFold {
  return { pnl: cusumStart(), returns: cusumStart(), last: { closedMs: -Infinity, id: '' } };
}

/** Folds the next trade of the sample (the caller keeps the order). */
export function priorAdd(
  p: PriorFold,
  t: TradeKey & { pnl: number; notional: number | null },
  minTrades: number,
): void {
  if (p.returns) {
    if (t.notional !== null && t.notional > 0) cusumAdd(p.returns, t.pnl / t.notional, minTrades);
    else p.returns = undefined;
  }
  cusumAdd(p.pnl, t.pnl, minTrades);
  p.last = { closedMs: t.closedMs, id: t.id };
}

/**
 * The priors of the new run's two statistics: of PnL, and of returns on notional (the
 * sample's returns when every trade of it carried a notional, else its PnL: the ratio has no
 * unit). 1 for an empty sample.
 */
export function priorValues(p: PriorFold): { pnl: number; returns: number } {
  const pnl = cusumVarianceInflation(p.pnl);
  return { pnl, returns: p.returns ? cusumVarianceInflation(p.returns) : pnl };
}

/** The new run's fresh states, with their priors. */
export function statesWithPrior(prior: { pnl: number; returns: number }): { state: CusumState; rstate: CusumState } {
  return {
    state: cusumStart(CUSUM_SHIFTS, { priorInflation: prior.pnl }),
    rstate: cusumStart(CUSUM_SHIFTS, { priorInflation: prior.returns }),
  };
}
