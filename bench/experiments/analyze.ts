// From the runs to the figures: false "decided" rates of A/A experiments with 95% intervals,
// and, with a real difference, the trades per arm each rule needs beside the trades a
// fixed-sample test of the same power needs.
import { DEFAULT_THRESHOLDS } from '../../src/sidecar/thresholds.js';
import { DAY } from '../detection/plan.js';
import type { OutcomeName } from './outcomes.js';
import { AA_FIXED, STEP_MS, type ExpOptions } from './plan.js';
import { fixedSampleSize } from './power.js';
import type { ReplayResult } from './replay.js';

export interface Rate {
  k: number;
  n: number;
  p: number;
  /** Wilson 95% interval */
  lo: number;
  hi: number;
}

export function wilson(k: number, n: number, z = 1.959963984540054): Rate {
  if (n === 0) return { k, n, p: NaN, lo: NaN, hi: NaN };
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  // At k = 0 (k = n) the lower (upper) bound is exactly 0 (1); the formula leaves rounding.
  return { k, n, p, lo: k === 0 ? 0 : Math.max(0, c - h), hi: k === n ? 1 : Math.min(1, c + h) };
}

export interface AaRow {
  arms: number;
  rate: number;
  runs: number;
  /** median trades per arm at the end of the longest length */
  tradesPerArm: number;
  lengths: Array<{ days: number; alert: Rate; cross: Rate; welch: Rate }>;
  /** the fixed-sample test read once at n trades per arm (runs that reached n) */
  fixed: Array<{ n: number; rate: Rate }>;
}

export interface AaOutcomeRow {
  arms: number;
  outcome: OutcomeName;
  alert: Rate;
  cross: Rate;
  welch: Rate;
}

export interface FxRow {
  arms: number;
  effect: number;
  outcome: OutcomeName;
  runs: number;
  horizonPerArm: number;
  /** the alert fired for arm c1, in the right direction, within the horizon */
  power: number;
  /** the alert fired for the wrong arm or direction first */
  wrong: number;
  /** trades per arm to the alert: median and 80th percentile (Infinity: beyond the horizon) */
  median: number;
  p80: number;
  /** the current value's first look under the line (no for:) */
  crossMedian: number;
  /** today's peeked Welch rule */
  welchMedian: number;
  /** trades per arm of a fixed-sample Welch test read once, with 50% and 80% power, from these runs */
  fixed50: number;
  fixed80: number;
  /** the same from the normal approximation (Gaussian, equal variances) */
  closed50: number;
  closed80: number;
  /** after first crossing, c1's current p rose above the line again */
  rose: number;
  /** the rule on the current p-value fired, then resolved before the end of the run */
  resolved: number;
}

export interface Analysis {
  aa: AaRow[];
  aaByOutcome: AaOutcomeRow[];
  fx: FxRow[];
}

const steps = (days: number) => Math.round((days * DAY) / STEP_MS);

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : NaN;
}

/** The smallest n (interpolated on the grid) at which the fixed test finds c1 better in a share ≥ q of runs. */
function fixedFor(runs: ReplayResult[], q: number): number {
  const alpha = DEFAULT_THRESHOLDS.experiment_p_value;
  const grid = runs[0]?.fixed ?? [];
  let prev: { n: number; power: number } | undefined;
  for (let k = 0; k < grid.length; k++) {
    const read = runs.map((r) => r.fixed[k]).filter((f) => f !== null);
    if (read.length < runs.length * 0.95) break; // the horizon is too short for this n in some runs
    const n = read[0].n;
    const power = read.filter((f) => f.pAdjusted < alpha && f.sign > 0).length / runs.length;
    if (power >= q) {
      if (!prev) return n;
      return prev.n + ((q - prev.power) / (power - prev.power)) * (n - prev.n);
    }
    prev = { n, power };
  }
  return Infinity;
}

export function analyze(o: ExpOptions, aa: ReplayResult[], fx: ReplayResult[]): Analysis {
  const alpha = DEFAULT_THRESHOLDS.experiment_p_value;
  const by = <T>(xs: T[], key: (x: T) => string) => {
    const m = new Map<string, T[]>();
    for (const x of xs) {
      const k = key(x);
      let l = m.get(k);
      if (!l) m.set(k, (l = []));
      l.push(x);
    }
    return m;
  };
  // Runs carry their cell in the strategy name: `${tag}-${arms}-${rate|effect}-${outcome}-${i}`.
  const parts = (r: ReplayResult) => r.strategy.split('-');
  const armsOf = (r: ReplayResult) => Number(parts(r)[1]);
  const cellOf = (r: ReplayResult) => Number(parts(r)[2]);
  const outcomeOf = (r: ReplayResult) => parts(r).slice(3, -1).join('-') as OutcomeName;
  const lengths = [o.days / 4, o.days / 2, o.days];
  const fired = (d: { step: number } | undefined, days: number) => d !== undefined && d.step <= steps(days);

  const aaRows: AaRow[] = [];
  for (const [key, runs] of by(aa, (r) => `${armsOf(r)}/${cellOf(r)}`)) {
    const [arms, rate] = key.split('/').map(Number);
    aaRows.push({
      arms,
      rate,
      runs: runs.length,
      tradesPerArm: quantile(
        runs.map((r) => r.trades / arms),
        0.5,
      ),
      lengths: lengths.map((days) => ({
        days,
        alert: wilson(runs.filter((r) => fired(r.alert, days)).length, runs.length),
        cross: wilson(runs.filter((r) => fired(r.cross, days)).length, runs.length),
        welch: wilson(runs.filter((r) => fired(r.welch, days)).length, runs.length),
      })),
      fixed: AA_FIXED.map((n, k) => {
        const read = runs.map((r) => r.fixed[k]).filter((f) => f !== null);
        return { n, rate: wilson(read.filter((f) => f.pAdjusted < alpha).length, read.length) };
      }),
    });
  }
  aaRows.sort((a, b) => a.arms - b.arms || a.rate - b.rate);

  const aaByOutcome: AaOutcomeRow[] = [];
  for (const [key, runs] of by(aa, (r) => `${armsOf(r)}/${outcomeOf(r)}`)) {
    const [arms, outcome] = key.split('/');
    aaByOutcome.push({
      arms: Number(arms),
      outcome: outcome as OutcomeName,
      alert: wilson(runs.filter((r) => r.alert).length, runs.length),
      cross: wilson(runs.filter((r) => r.cross).length, runs.length),
      welch: wilson(runs.filter((r) => r.welch).length, runs.length),
    });
  }
  aaByOutcome.sort((a, b) => a.arms - b.arms || o.outcomes.indexOf(a.outcome) - o.outcomes.indexOf(b.outcome));

  const fxRows: FxRow[] = [];
  for (const [key, runs] of by(fx, (r) => `${armsOf(r)}/${cellOf(r)}/${outcomeOf(r)}`)) {
    const [a, e, outcome] = key.split('/');
    const arms = Number(a);
    const effect = Number(e);
    const right = (d: ReplayResult['alert']) => d !== undefined && d.variant === 'c1' && d.sign > 0;
    const perArm = (d: ReplayResult['alert'], ok: boolean) => (ok && d ? d.trades / arms : Infinity);
    const alertAt = runs.map((r) => perArm(r.alert, right(r.alert)));
    const k = Math.max(1, arms - 1);
    fxRows.push({
      arms,
      effect,
      outcome: outcome as OutcomeName,
      runs: runs.length,
      horizonPerArm: Math.max(...runs[0].fixed.filter((f) => f).map((f) => f!.n), 0),
      power: runs.filter((r) => right(r.alert)).length / runs.length,
      wrong: runs.filter((r) => r.alert && !right(r.alert)).length / runs.length,
      median: quantile(alertAt, 0.5),
      p80: quantile(alertAt, 0.8),
      crossMedian: quantile(
        runs.map((r) => perArm(r.cross, right(r.cross))),
        0.5,
      ),
      welchMedian: quantile(
        runs.map((r) => perArm(r.welch, right(r.welch))),
        0.5,
      ),
      fixed50: fixedFor(runs, 0.5),
      fixed80: fixedFor(runs, 0.8),
      closed50: fixedSampleSize(effect, alpha / k, 0.5),
      closed80: fixedSampleSize(effect, alpha / k, 0.8),
      rose: runs.filter((r) => r.rose).length / runs.length,
      resolved: runs.filter((r) => r.resolved).length / runs.length,
    });
  }
  fxRows.sort(
    (x, y) =>
      x.arms - y.arms ||
      x.effect - y.effect ||
      o.effectOutcomes.indexOf(x.outcome) - o.effectOutcomes.indexOf(y.outcome),
  );
  return { aa: aaRows, aaByOutcome, fx: fxRows };
}
