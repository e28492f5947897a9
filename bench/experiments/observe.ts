// What one experiment run shows at each scrape step that saw a trade, and when each decision
// rule would have said "decided":
// - the shipped alert (TradingExperimentDecided): the exported always-valid p-value (the
//   running minimum over every trade) of an arm below experiment_p_value, each side with
//   experiment_min_trades trades, held for the rule's `for:` (from the rule file as Prometheus
//   loaded it), first firing by bench/detection's firings(), the same code that turns the
//   range queries of the real Prometheus into alerts;
// - the same rule on the current value of the p-value instead (what exporting 1/Λ_n rather
//   than its running minimum would give): its first look under the line, whether it rose
//   above the line again, and whether that alert would have resolved;
// - today's rule before this change: Welch's p in place of the always-valid one, same
//   minimum sample, same `for:` (the peeked fixed-sample test);
// - the fixed-sample Welch test read once on the first n trades of each arm, for a grid of n.
import { addTrade, comparable, empty, welchTTest, type Agg } from '../../src/analytics/index.js';
import { alwaysValidTests, type ExperimentTest } from '../../src/sidecar/experiment-tests.js';
import type { Thresholds } from '../../src/sidecar/thresholds.js';
import { firings } from '../detection/alerts.js';
import { stepsOf, type ExpRunSpec } from './stream.js';

export interface RuleTiming {
  forMs: number;
  keepMs: number;
}

export interface Decision {
  step: number;
  variant: string;
  /** sign of mean(variant) − mean(control) then */
  sign: number;
  /** the experiment's trades (all arms) then */
  trades: number;
}

export interface Observed {
  trades: number;
  looks: number;
  /** the shipped alert's first firing */
  alert?: Decision;
  /** the first look with the current always-valid p below the line */
  cross?: Decision;
  /** after first crossing, arm c1's current p rose back above the line at a later look */
  rose: boolean;
  /** the rule on the current p-value: its first firing */
  current?: Decision;
  /** ... and that firing resolved before the end of the run (the current p stayed above the line for keep_firing_for) */
  resolved: boolean;
  /** today's peeked Welch rule, first firing */
  welch?: Decision;
  /** per grid n: the fixed-sample test (A/A: the smallest p over arms; with an effect: arm c1), Bonferroni */
  fixed: Array<{ n: number; pAdjusted: number; sign: number } | null>;
}

/** |t| below this can never give a two-sided Welch p < 0.01 (the t quantile only exceeds the normal's 2.5758). */
const WELCH_PREFILTER = 2.5758;

type Ranges = Map<string, { ranges: Array<[number, number]>; open?: number; signs: number[] }>;

export class Observer {
  private readonly th: Thresholds;
  private readonly steps: number;
  private readonly looksAt: number[] = [];
  private readonly tradesAt: number[] = [];
  private readonly alertHeld: Ranges = new Map();
  private readonly currentHeld: Ranges = new Map();
  private readonly welchHeld: Ranges = new Map();
  private readonly prefix: Agg[];
  private readonly atGrid: Agg[][];
  private cross?: Decision;
  private rose = false;
  private trades = 0;

  constructor(
    private readonly spec: ExpRunSpec,
    th: Thresholds,
    private readonly rule: RuleTiming,
  ) {
    this.th = th;
    this.steps = stepsOf(spec);
    this.prefix = Array.from({ length: spec.arms }, () => empty());
    this.atGrid = Array.from({ length: spec.arms }, () => []);
  }

  /** Every trade, in arrival order: the fixed-sample test's first n of each arm. */
  trade(arm: number, pnl: number): void {
    this.trades++;
    const p = addTrade(this.prefix[arm], pnl, 0);
    const k = this.spec.fixedGrid.indexOf(p.n);
    if (k >= 0) this.atGrid[arm][k] = { ...p };
  }

  /**
   * One scrape step that saw trades: the variants' aggregates, and the tests the snapshot
   * exported (computed here with the same function when not given).
   */
  look(step: number, variants: Array<{ variant: string; agg: Agg }>, tests?: ExperimentTest[]): void {
    this.looksAt.push(step);
    this.tradesAt.push(this.trades);
    const control = variants.find((v) => v.variant === 'control')?.agg;
    const th = this.th;
    tests ??= alwaysValidTests(variants, control, this.spec.arms - 1, th);
    const alpha = th.experiment_p_value;
    const byVariant = new Map(tests.map((t) => [t.variant, t]));
    for (const v of variants) {
      if (v.variant === 'control') continue;
      const t = byVariant.get(v.variant);
      const decided = t !== undefined && t.running.pValue < alpha;
      mark(this.alertHeld, v.variant, step, decided, t && t.running.lower > 0 ? 1 : -1);
      const below = t !== undefined && t.result.pValue < alpha;
      mark(this.currentHeld, v.variant, step, below, Math.sign(t?.result.difference ?? 0));
      if (below && !this.cross) this.cross = this.decision(step, v.variant, Math.sign(t.result.difference));
      if (!below && v.variant === 'c1' && this.cross?.variant === 'c1') this.rose = true;
      // Today's rule: Welch's p under the same minimum sample.
      let welch = false;
      let sign = 0;
      if (control && v.agg.n >= th.experiment_min_trades && control.n >= th.experiment_min_trades) {
        const cmp = comparable(v.agg, control);
        const a = cmp.a;
        const b = cmp.b;
        const se = Math.sqrt(a.m2 / (a.n - 1) / a.n + b.m2 / (b.n - 1) / b.n);
        const z = (a.mean - b.mean) / se;
        if (Math.abs(z) > WELCH_PREFILTER) {
          const w = welchTTest(a, b);
          welch = w !== undefined && w.pValue < alpha;
          sign = Math.sign(z);
        }
      }
      mark(this.welchHeld, v.variant, step, welch, sign);
    }
  }

  finish(): Observed {
    const fixed = this.spec.fixedGrid.map((n, k) => this.fixedAt(n, k));
    const current = this.firstFiring(this.currentHeld);
    return {
      trades: this.trades,
      looks: this.looksAt.length,
      alert: this.firstFiring(this.alertHeld),
      cross: this.cross,
      rose: this.rose,
      current,
      resolved: current !== undefined && this.resolves(this.currentHeld, current.variant),
      welch: this.firstFiring(this.welchHeld),
      fixed,
    };
  }

  /** The experiment's trades at `step`: those seen by the last look at or before it. */
  tradesAtStep(step: number): number {
    let lo = 0;
    let hi = this.looksAt.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.looksAt[mid] <= step) {
        found = this.tradesAt[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  private decision(step: number, variant: string, sign: number): Decision {
    return { step, variant, sign, trades: this.tradesAtStep(step) };
  }

  /** The first firing over all variants, by firings() on the steps each variant's condition held. */
  private firstFiring(held: Ranges): Decision | undefined {
    let best: Decision | undefined;
    for (const [variant, h] of held) {
      const ranges = h.open === undefined ? h.ranges : [...h.ranges, [h.open, this.steps] as [number, number]];
      const f = firstFire(ranges, this.steps, this.spec.stepMs, this.rule);
      if (f === undefined || (best && best.step <= f.step)) continue;
      best = this.decision(f.step, variant, h.signs[f.range]);
    }
    return best;
  }

  /** Whether the first firing of `variant`'s alert resolves before the end (firings() on every step it held). */
  private resolves(held: Ranges, variant: string): boolean {
    const h = held.get(variant)!;
    const ranges = h.open === undefined ? h.ranges : [...h.ranges, [h.open, this.steps] as [number, number]];
    const present: number[] = [];
    for (const [from, to] of ranges) for (let s = from; s < Math.min(to, this.steps); s++) present.push(s);
    const first = firings(present, this.steps, this.spec.stepMs, this.rule.forMs, this.rule.keepMs)[0];
    return first?.resolved !== undefined;
  }

  private fixedAt(n: number, k: number): { n: number; pAdjusted: number; sign: number } | null {
    const c = this.atGrid[0][k];
    if (!c) return null;
    let best: { n: number; pAdjusted: number; sign: number } | null = null;
    // A/A: any arm (the smallest p); with an effect: arm c1, the one to find.
    for (let a = 1; a < (this.spec.kind === 'effect' ? 2 : this.spec.arms); a++) {
      const g = this.atGrid[a][k];
      if (!g) return null; // an arm short of n: not read
      const w = welchTTest(g, c);
      if (!w) continue;
      const p = Math.min(1, (this.spec.arms - 1) * w.pValue);
      if (!best || p < best.pAdjusted) best = { n, pAdjusted: p, sign: Math.sign(w.t) };
    }
    return best;
  }
}

/** Records whether a condition holds from `step` on (until the next look), as [from, to) ranges. */
function mark(held: Ranges, variant: string, step: number, holds: boolean, sign: number): void {
  let h = held.get(variant);
  if (!h) held.set(variant, (h = { ranges: [], signs: [] }));
  if (holds && h.open === undefined) {
    h.open = step;
    h.signs.push(sign);
  } else if (!holds && h.open !== undefined) {
    h.ranges.push([h.open, step]);
    h.open = undefined;
  }
}

/** The first firing of an alert whose expression returned a label set on the steps of `ranges`. */
export function firstFire(
  ranges: Array<[number, number]>,
  steps: number,
  stepMs: number,
  rule: RuleTiming,
): { step: number; range: number } | undefined {
  const present: number[] = [];
  for (let r = 0; r < ranges.length; r++) {
    const [from, to] = ranges[r];
    for (let s = from; s < Math.min(to, steps); s++) present.push(s);
    const f = firings(present, steps, stepMs, rule.forMs, rule.keepMs)[0];
    if (f) return { step: f.fired, range: ranges.findIndex(([a, b]) => f.active >= a && f.active < b) };
  }
  return undefined;
}
