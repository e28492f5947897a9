// Why the CUSUM of src/analytics/cusum.ts is built the way it is: the statistic alone, in
// trade time (no windows, no Prometheus), on the benchmark's PnL streams, for the plain
// self-starting CUSUM and with each refinement. Quick (seconds), part of bench:detection.
import { CUSUM_SHIFTS, cusumAdd, cusumStart, type CusumOptions } from '../../src/analytics/cusum.js';
import { Rng, SCENARIOS, profile, type ScenarioName } from './model.js';

export const SHIPPED_VARIANT = '+ long-run scale, largest over 10, 20, 40, …, L (shipped)';

export const DESIGN_VARIANTS: Array<{ name: string; opts: CusumOptions }> = [
  { name: 'plain self-starting', opts: { maxLag: 0, scaleHalfLife: 0, lrvMaxLag: 0 } },
  { name: '+ recent sd', opts: { maxLag: 0, lrvMaxLag: 0 } },
  { name: '+ lagged reference', opts: { scaleHalfLife: 0, lrvMaxLag: 0 } },
  { name: 'both (the design before issue 11)', opts: { lrvMaxLag: 0 } },
  { name: '+ long-run scale at the bandwidth L = min(200, n_ref/3)', opts: { lrvMultiScale: false } },
  { name: SHIPPED_VARIANT, opts: {} },
];

/** The healthy dependent streams (bench/detection/model.ts) whose false alarms the table also gives. */
export const DEPENDENT: ScenarioName[] = ['regimes', 'garch', 'ar1', 'ar1-t3'];

export interface DesignRow {
  variant: string;
  /**
   * false alarms per 28,000 trades (20 weeks at 200 a day) from a fresh run: up-crossings of
   * the threshold, those within 50 trades of the last time above it counted once (what
   * keep_firing_for does at a few hundred trades a day)
   */
  falseAlarmsPer28k: number;
  /**
   * the same on the healthy dependent streams (fewer streams: 40 of 28,000 trades each), and
   * per 5,600-trade run (4 weeks at 200 a day, from a fresh run: the start of a run is where
   * regimes are hardest to tell from a fall)
   */
  dependent: Array<{ scenario: ScenarioName; per28k: number; per5600: number }>;
  /** share of runs above the threshold within 1,400 trades after volatility doubles */
  volatilityAlarmed: number;
  /** median trades to the threshold after the change, by history length before it */
  delays: Array<{ scenario: ScenarioName; history: number; median: number }>;
}

const MIN = 20;

function stream(seed: string, scenario: ScenarioName, i: number) {
  const sc = SCENARIOS[scenario];
  const pr = profile(sc.profiles[i % sc.profiles.length]);
  const rng = new Rng(seed);
  if (sc.process) {
    const next = sc.process(pr, rng);
    return (after: boolean) => next(after ? 1 : -1);
  }
  return (after: boolean) => sc.draw(pr, after ? 1 : -1, rng);
}

/** Up-crossings of the threshold in fresh runs of `trades`, those within 50 trades of the last time above it counted once. */
function crossings(
  threshold: number,
  opts: CusumOptions,
  scenario: ScenarioName,
  streams: number,
  trades: number,
  tag: string,
): number {
  let n = 0;
  for (let r = 0; r < streams; r++) {
    const next = stream(`design-${tag}-${scenario === 'stationary' ? '' : scenario + '-'}${r}`, scenario, r);
    const s = cusumStart(CUSUM_SHIFTS, opts);
    let lastAbove = -Infinity;
    for (let i = 0; i < trades; i++) {
      cusumAdd(s, next(false), MIN);
      if (Math.max(...s.llr) > threshold) {
        if (i - lastAbove > 50) n++;
        lastAbove = i;
      }
    }
  }
  return n / streams;
}

export function cusumDesign(threshold: number, runs = 100, faStreams = 100): DesignRow[] {
  return DESIGN_VARIANTS.map(({ name, opts }) => {
    const falseAlarmsPer28k = crossings(threshold, opts, 'stationary', faStreams, 28_000, 'fa');
    const dependent = DEPENDENT.map((scenario) => ({
      scenario,
      per28k: crossings(threshold, opts, scenario, Math.ceil(faStreams / 2.5), 28_000, 'fa'),
      per5600: crossings(threshold, opts, scenario, faStreams * 2, 5_600, 'fa5600'),
    }));
    const firstAbove = (scenario: ScenarioName, r: number, history: number, max: number): number => {
      const next = stream(`design-${scenario}-${history}-${r}`, scenario, r);
      const s = cusumStart(CUSUM_SHIFTS, opts);
      for (let i = 0; i < history; i++) cusumAdd(s, next(false), MIN);
      s.llr = s.llr.map(() => 0);
      for (let d = 1; d <= max; d++) {
        cusumAdd(s, next(true), MIN);
        if (Math.max(...s.llr) > threshold) return d;
      }
      return Infinity;
    };
    let vol = 0;
    for (let r = 0; r < runs; r++) if (Number.isFinite(firstAbove('volatility-x2', r, 1400, 1400))) vol++;
    const delays: DesignRow['delays'] = [];
    for (const history of [100, 1400])
      for (const scenario of ['drop-1sd', 'drop-0.5sd', 'winprob-0.55-0.45'] as ScenarioName[]) {
        const d = Array.from({ length: runs }, (_, r) => firstAbove(scenario, r, history, 5000)).sort((a, b) => a - b);
        delays.push({ scenario, history, median: runs % 2 ? d[(runs - 1) / 2] : (d[runs / 2 - 1] + d[runs / 2]) / 2 });
      }
    return { variant: name, falseAlarmsPer28k, dependent, volatilityAlarmed: vol / runs, delays };
  });
}
