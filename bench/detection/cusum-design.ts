// Why the CUSUM of src/analytics/cusum.ts is built the way it is: the statistic alone, in
// trade time (no windows, no Prometheus), on the benchmark's PnL streams, for the plain
// self-starting CUSUM and with each refinement. Quick (seconds), part of bench:detection.
import { CUSUM_SHIFTS, cusumAdd, cusumStart, type CusumOptions } from '../../src/analytics/cusum.js';
import { Rng, SCENARIOS, profile, type ScenarioName } from './model.js';

export const DESIGN_VARIANTS: Array<{ name: string; opts: CusumOptions }> = [
  { name: 'plain self-starting', opts: { maxLag: 0, scaleHalfLife: 0 } },
  { name: '+ recent sd', opts: { maxLag: 0 } },
  { name: '+ lagged reference', opts: { scaleHalfLife: 0 } },
  { name: 'both (shipped design)', opts: {} },
];

export interface DesignRow {
  variant: string;
  /**
   * false alarms per 28,000 trades (20 weeks at 200 a day) from a fresh run: up-crossings of
   * the threshold, those within 50 trades of the last time above it counted once (what
   * keep_firing_for does at a few hundred trades a day)
   */
  falseAlarmsPer28k: number;
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
  return (after: boolean) => sc.draw(pr, after ? 1 : -1, rng);
}

export function cusumDesign(threshold: number, runs = 100, faStreams = 100): DesignRow[] {
  return DESIGN_VARIANTS.map(({ name, opts }) => {
    let crossings = 0;
    for (let r = 0; r < faStreams; r++) {
      const next = stream(`design-fa-${r}`, 'stationary', r);
      const s = cusumStart(CUSUM_SHIFTS, opts);
      let lastAbove = -Infinity;
      for (let i = 0; i < 28_000; i++) {
        cusumAdd(s, next(false), MIN);
        if (Math.max(...s.llr) > threshold) {
          if (i - lastAbove > 50) crossings++;
          lastAbove = i;
        }
      }
    }
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
    return { variant: name, falseAlarmsPer28k: crossings / faStreams, volatilityAlarmed: vol / runs, delays };
  });
}
