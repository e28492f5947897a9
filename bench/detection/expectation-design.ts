// Why the CUSUM against a version's expectation (src/analytics/expectation.ts) is built the
// way it is: the statistic alone, in trade time (no windows, no Prometheus), on the detection
// benchmark's PnL streams, each compared with a backtest of BACKTEST_TRADES trades drawn from
// the same process (so the expected mean and sd carry a real backtest's sampling error).
// Quick (a minute); part of bench/detection/expectation.ts.
import { summarizeBacktest } from '../../src/analytics/backtest.js';
import { EXPECTATION_SHIFTS, knownCusumAdd, knownCusumStart } from '../../src/analytics/expectation.js';
import { Rng, SCENARIOS, profile, shiftKl, type ScenarioName } from './model.js';
import { BACKTEST_TRADES } from './simulate.js';

export interface ExpectationDesignRow {
  threshold: number;
  halfLife: number;
  /** false alarms per 28,000 live trades (20 strategy-weeks at 200 a day) matching the backtest, by stream */
  falseAlarmsPer28k: Array<{ scenario: ScenarioName; per28k: number; streams: number }>;
  /** median live trades to the threshold when live is `promise` σ below the backtest from the first trade */
  delays: Array<{ promise: number; median: number }>;
}

export const HEALTHY: ScenarioName[] = ['stationary', 'regimes', 'garch', 'ar1'];

/** A healthy stream of the scenario (its process, or independent draws) and a backtest of it. */
function streamAndBacktest(scenario: ScenarioName, r: number, tag: string) {
  const sc = SCENARIOS[scenario];
  const pr = profile(sc.profiles[r % sc.profiles.length]);
  const rng = new Rng(`expectation-design-${tag}-${scenario}-${r}`);
  const next = sc.process ? sc.process(pr, rng) : () => sc.draw(pr, -1, rng);
  const bt = Array.from({ length: BACKTEST_TRADES }, (_, i) => ({
    pnl: next(-1),
    ret: null,
    fees: null,
    openedMs: null,
    closedMs: i + 1,
  }));
  const summary = summarizeBacktest(bt, { startMs: 0, endMs: BACKTEST_TRADES + 1 });
  return { next: () => next(-1), summary, pr };
}

/** Up-crossings of each threshold over `trades` live trades, those within 50 trades of the last time above counted once. */
function crossings(
  thresholds: number[],
  halfLife: number,
  scenario: ScenarioName,
  streams: number,
  trades: number,
): number[] {
  const n = thresholds.map(() => 0);
  for (let r = 0; r < streams; r++) {
    const { next, summary } = streamAndBacktest(scenario, r, 'fa');
    const s = knownCusumStart(summary.pnl!, summary.inflation, EXPECTATION_SHIFTS, halfLife);
    const last = thresholds.map(() => -Infinity);
    for (let i = 0; i < trades; i++) {
      knownCusumAdd(s, next());
      const w = Math.max(...s.llr);
      thresholds.forEach((h, j) => {
        if (w > h) {
          if (i - last[j] > 50) n[j]++;
          last[j] = i;
        }
      });
    }
  }
  return n.map((x) => x / streams);
}

/** Median live trades until the statistic passes each threshold, live `promise` σ below an (exact) backtest. */
function delays(thresholds: number[], halfLife: number, promise: number, runs: number): number[] {
  const out: number[][] = thresholds.map(() => []);
  for (let r = 0; r < runs; r++) {
    const pr = profile(['skew-loss', 'skew-win'][r % 2] as 'skew-loss');
    const rng = new Rng(`expectation-design-delay-${promise}-${r}`);
    // The backtest: BACKTEST_TRADES trades of the promised distribution.
    const bt = Array.from({ length: BACKTEST_TRADES }, (_, i) => ({
      pnl: pr.edge + promise + pr.noise.sample(rng),
      ret: null,
      fees: null,
      openedMs: null,
      closedMs: i + 1,
    }));
    const summary = summarizeBacktest(bt, { startMs: 0, endMs: BACKTEST_TRADES + 1 });
    const s = knownCusumStart(summary.pnl!, summary.inflation, EXPECTATION_SHIFTS, halfLife);
    const found = thresholds.map(() => Infinity);
    for (let k = 1; k <= 5000 && found.some((x) => x === Infinity); k++) {
      knownCusumAdd(s, pr.edge + pr.noise.sample(rng));
      const w = Math.max(...s.llr);
      thresholds.forEach((h, j) => {
        if (w > h && found[j] === Infinity) found[j] = k;
      });
    }
    found.forEach((k, j) => out[j].push(k));
  }
  return out.map((d) => {
    d.sort((a, b) => a - b);
    return d.length % 2 ? d[(d.length - 1) / 2] : (d[d.length / 2 - 1] + d[d.length / 2]) / 2;
  });
}

export function expectationDesign(
  thresholds = [8, 9, 10, 11, 12],
  halfLives = [10, 50],
  streams = 40,
  runs = 101,
): ExpectationDesignRow[] {
  const rows: ExpectationDesignRow[] = [];
  for (const halfLife of halfLives) {
    const fa = HEALTHY.map((scenario) => {
      const k = scenario === 'stationary' ? streams : Math.ceil(streams / 2);
      return { scenario, streams: k, per: crossings(thresholds, halfLife, scenario, k, 28_000) };
    });
    const d = [0.5, 1].map((promise) => ({ promise, medians: delays(thresholds, halfLife, promise, runs) }));
    thresholds.forEach((threshold, j) =>
      rows.push({
        threshold,
        halfLife,
        falseAlarmsPer28k: fa.map((x) => ({ scenario: x.scenario, per28k: x.per[j], streams: x.streams })),
        delays: d.map((x) => ({ promise: x.promise, median: x.medians[j] })),
      }),
    );
  }
  return rows;
}

/** Lorden's limit in trades, ln(ARL0)/KL, for live `promise` σ below a known reference. */
export function knownReferenceLimit(promise: number, arl0Trades: number): { skew: number; gaussian: number } {
  return { skew: Math.log(arl0Trades) / shiftKl(-promise), gaussian: Math.log(arl0Trades) / ((promise * promise) / 2) };
}
