// The trades of one simulated experiment, the same for the path through the real sidecar and
// Prometheus (e2e.ts) and the trade-time path (replay.ts): Poisson arrivals at `rate` a day,
// each to an arm drawn uniformly (equal allocation), its PnL from the outcome model, arm c1
// shifted by `effect` σ. A trade closed at t is seen at the first scrape step at or after t.
import { DAY } from '../detection/plan.js';
import { Rng, drawer, type OutcomeName } from './outcomes.js';

/** PnL of one σ, in quote currency (irrelevant to every statistic here). */
export const SCALE = 10;

export const ARM_NAMES = ['control', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'];

export interface ExpRunSpec {
  /** unique within its group */
  strategy: string;
  /** 'aa': every arm identical; 'effect': arm c1 better by `effect` σ */
  kind: 'aa' | 'effect';
  /** arms including control */
  arms: number;
  /** trades a day, all arms together */
  rate: number;
  outcome: OutcomeName;
  effect: number;
  seed: string;
  startMs: number;
  /** last scrape (inclusive), on the step grid */
  endMs: number;
  stepMs: number;
  /** trades per arm at which the fixed-sample Welch test is read */
  fixedGrid: number[];
}

export interface StreamTrade {
  closedMs: number;
  /** the scrape step that first sees it */
  step: number;
  arm: number;
  pnl: number;
}

/** The run's trades in order, up to endMs. */
export function* tradeStream(spec: ExpRunSpec): Generator<StreamTrade> {
  const rng = new Rng(spec.seed);
  const draw = drawer(spec.outcome, rng);
  let t = spec.startMs;
  for (;;) {
    t += rng.exponential(DAY / spec.rate);
    const closedMs = Math.floor(t);
    if (closedMs > spec.endMs) return;
    const arm = Math.floor(rng.uniform() * spec.arms);
    const x = draw(arm === 1 ? spec.effect : 0);
    yield {
      closedMs,
      step: Math.ceil((closedMs - spec.startMs) / spec.stepMs),
      arm,
      pnl: Math.round(SCALE * x * 1e6) / 1e6,
    };
  }
}

/** Scrape steps of a run, the first (at startMs) included. */
export function stepsOf(spec: ExpRunSpec): number {
  return Math.round((spec.endMs - spec.startMs) / spec.stepMs) + 1;
}
