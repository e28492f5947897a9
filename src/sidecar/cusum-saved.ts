// What a state file's CUSUM run must look like to be continued rather than read again from the
// ledger (src/sidecar/cusum-runs.ts restore): a state of this release's design (shifts, lag,
// scale, long-run sums of this size, prior as a floor) with the priors it was saved with.
// Anything else (another release, a file edited by hand) is rebuilt: only a slower read is at stake.
import { CUSUM_SHIFTS, cusumStart, type CusumState } from '../analytics/index.js';

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

export function isState(s: unknown): s is CusumState {
  const c = s as CusumState;
  // The long-run scale's sums (issue 11) must be there, of this release's size: a state saved
  // before them has none and would be continued with the per-trade scale, so it is rebuilt.
  const l = c?.lrv;
  const fresh = cusumStart();
  const fl = fresh.lrv;
  const maxLag = fl?.maxLag;
  return (
    finite(c?.n) &&
    Array.isArray(c.lagged) &&
    c.lagged.every(finite) &&
    Array.isArray(c.llr) &&
    c.llr.every(finite) &&
    Array.isArray(c.shifts) &&
    c.shifts.join() === CUSUM_SHIFTS.join() &&
    c.llr.length === c.shifts.length &&
    finite(c.ref?.n) &&
    finite(c.ref?.mean) &&
    finite(c.ref?.m2) &&
    c.maxLag === fresh.maxLag &&
    c.alpha === fresh.alpha &&
    (c.ew === undefined || (finite(c.ew.mean) && finite(c.ew.variance))) &&
    typeof l === 'object' &&
    l !== null &&
    fl !== undefined &&
    l.maxLag === maxLag &&
    l.multiScale === fl.multiScale &&
    finite(l.prior) &&
    l.prior >= 1 &&
    l.priorTrades === fl.priorTrades &&
    finite(l.pivot) &&
    finite(l.sum) &&
    Array.isArray(l.cross) &&
    l.cross.length === maxLag + 1 &&
    l.cross.every(finite) &&
    Array.isArray(l.head) &&
    l.head.length <= maxLag &&
    l.head.every(finite) &&
    Array.isArray(l.tail) &&
    l.tail.length <= maxLag &&
    l.tail.every(finite) &&
    l.head.length === Math.min(maxLag, c.ref.n) &&
    l.tail.length === Math.min(maxLag, c.ref.n)
  );
}

/**
 * The saved priors (a run saved before they were carried has none) match the states', and
 * the previous run is (version, deployed_at) or null.
 */
export function isSavedPrior(
  prior: unknown,
  previous: unknown,
  state: CusumState,
  rstate: CusumState | undefined,
): boolean {
  if (!Array.isArray(prior) || prior.length !== 2 || !prior.every((f) => finite(f) && f >= 1)) return false;
  if (state.lrv?.prior !== prior[0] || (rstate !== undefined && rstate.lrv?.prior !== prior[1])) return false;
  if (previous === null) return prior[0] === 1 && prior[1] === 1;
  return (
    Array.isArray(previous) &&
    previous.length === 2 &&
    (previous[0] === null || Number.isInteger(previous[0])) &&
    (previous[1] === null || finite(previous[1]))
  );
}
