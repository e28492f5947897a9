// What `npm run bench:experiments` simulates: the A/A grid (arms × trade rates × outcome
// models, each run four weeks long and read at one, two and four weeks), the runs with a real
// difference (arms × effect × outcome), and the subset run end to end through the real sidecar
// and Prometheus. Sizes are options, so the smoke test and the full run share the code.
import { EPOCH_MS, DAY, MINUTE } from '../detection/plan.js';
import { OUTCOMES, type OutcomeName } from './outcomes.js';
import { fixedSampleSize } from './power.js';
import type { ExpRunSpec } from './stream.js';

export interface ExpOptions {
  arms: number[];
  /** A/A trade rates, a day, all arms together */
  rates: number[];
  /** A/A length in days (also read at a quarter and a half of it) */
  days: number;
  outcomes: OutcomeName[];
  /** A/A runs per (arms, rate, outcome) in trade time */
  aaRuns: number;
  effects: number[];
  effectOutcomes: OutcomeName[];
  /** runs per (arms, effect, outcome) */
  effectRuns: number;
  effectRate: number;
  /** A/A runs per (arms, rate) through the real sidecar and Prometheus */
  e2eRuns: number;
  /** runs per (arms, effect) through the real sidecar and Prometheus */
  e2eEffectRuns: number;
  e2eEffects: number[];
  workers: number;
  seed: string;
  /** results.md and results.json */
  out: string;
  /** the plot (SVG) */
  plot: string;
}

export const DEFAULTS: ExpOptions = {
  arms: [2, 4],
  rates: [10, 50, 250],
  days: 28,
  outcomes: OUTCOMES,
  aaRuns: 300,
  effects: [0.25, 0.5, 1],
  effectOutcomes: ['gaussian', 'skew-loss', 'skew-win', 't3'],
  effectRuns: 150,
  effectRate: 100,
  e2eRuns: 8,
  e2eEffectRuns: 4,
  e2eEffects: [0.5, 1],
  workers: 2,
  seed: 'edgewatch-experiments-1',
  out: 'bench/experiments/results',
  plot: 'docs/experiments-trades-to-decision.svg',
};

/** One minute: the scrape-and-evaluate step of every run (the rule's `for:` is 30 of them). */
export const STEP_MS = MINUTE;

const ALPHA = 0.01;

/** The horizon of a run with a real difference: four times the trades per arm a fixed test needs for 80% power. */
export function horizonPerArm(effect: number, arms: number): number {
  return 4 * fixedSampleSize(effect, ALPHA / (arms - 1), 0.8);
}

/** The fixed-sample grid of a run with a real difference: 10 to the horizon, geometric, 40 points. */
export function fixedGrid(effect: number, arms: number): number[] {
  const top = horizonPerArm(effect, arms);
  const out = new Set<number>();
  for (let i = 0; i < 40; i++) out.add(Math.round(10 * Math.pow(top / 10, i / 39)));
  return [...out];
}

/** The A/A fixed-sample reads: the test read once at these planned sizes (when reached). */
export const AA_FIXED = [50, 200, 1000];

function endOf(startMs: number, days: number): number {
  return startMs + Math.ceil((days * DAY) / STEP_MS) * STEP_MS;
}

export function aaSpecs(o: ExpOptions, runs = o.aaRuns, tag = 'aa'): ExpRunSpec[] {
  const out: ExpRunSpec[] = [];
  for (const arms of o.arms)
    for (const rate of o.rates)
      for (const outcome of o.outcomes)
        for (let i = 0; i < runs; i++) {
          const strategy = `${tag}-${arms}-${rate}-${outcome}-${i}`;
          out.push({
            strategy,
            kind: 'aa',
            arms,
            rate,
            outcome,
            effect: 0,
            seed: `${o.seed}/${strategy}`,
            startMs: EPOCH_MS,
            endMs: endOf(EPOCH_MS, o.days),
            stepMs: STEP_MS,
            fixedGrid: AA_FIXED,
          });
        }
  return out;
}

export function effectSpecs(
  o: ExpOptions,
  effects = o.effects,
  outcomes = o.effectOutcomes,
  runs = o.effectRuns,
  tag = 'fx',
): ExpRunSpec[] {
  const out: ExpRunSpec[] = [];
  for (const arms of o.arms)
    for (const effect of effects)
      for (const outcome of outcomes)
        for (let i = 0; i < runs; i++) {
          const strategy = `${tag}-${arms}-${effect}-${outcome}-${i}`;
          // Long enough for the horizon per arm, with a margin for the Poisson arrivals.
          const days = (1.15 * horizonPerArm(effect, arms) * arms) / o.effectRate + 1;
          out.push({
            strategy,
            kind: 'effect',
            arms,
            rate: o.effectRate,
            outcome,
            effect,
            seed: `${o.seed}/${strategy}`,
            startMs: EPOCH_MS,
            endMs: endOf(EPOCH_MS, days),
            stepMs: STEP_MS,
            fixedGrid: fixedGrid(effect, arms),
          });
        }
  return out;
}

/** Trades of an end-to-end A/A run (fewer at a rate too low to reach them in `days`). */
export const E2E_TRADES = 1400;

/**
 * The end-to-end subset: A/A at each rate, long enough for about E2E_TRADES trades (10 a day
 * for four weeks gives 280), on the skewed and the fat-tailed outcome; and runs with a real
 * difference at 200 trades a day for 3 days, which make the alert fire.
 */
export function e2eSpecs(o: ExpOptions): ExpRunSpec[] {
  const aa = aaSpecs({ ...o, outcomes: ['skew-loss', 't3'] }, Math.ceil(o.e2eRuns / 2), 'e2e-aa').map((s) => ({
    ...s,
    endMs: endOf(s.startMs, Math.min(o.days, E2E_TRADES / s.rate)),
  }));
  const fx = effectSpecs({ ...o, effectRate: 200 }, o.e2eEffects, ['skew-loss'], o.e2eEffectRuns, 'e2e-fx').map(
    (s) => ({ ...s, endMs: Math.min(s.endMs, endOf(s.startMs, 3)) }),
  );
  return [...aa, ...fx];
}
