// One simulated experiment in trade time: the same trades as e2e.ts (stream.ts), folded into
// each arm's aggregate with the analytics' own addTrade, and read at every scrape step that saw
// a trade by the same functions the sidecar's snapshot calls (ExperimentFold for the running
// minima, alwaysValidTests; the Observer applies the rule's conditions and its timing through
// firings()). Far cheaper than the real sidecar and
// Prometheus, so the error rates get the thousands of runs they need; bench/experiments runs a
// subset both ways and reports whether every decision agrees (docs/experiments.md).
import { ExperimentFold, type RunningTest } from '../../src/analytics/index.js';
import { alwaysValidTests } from '../../src/sidecar/experiment-tests.js';
import type { Thresholds } from '../../src/sidecar/thresholds.js';
import { Observer, type Observed, type RuleTiming } from './observe.js';
import { ARM_NAMES, tradeStream, type ExpRunSpec } from './stream.js';

export interface ReplayResult extends Observed {
  strategy: string;
}

export function replay(spec: ExpRunSpec, th: Thresholds, rule: RuleTiming): ReplayResult {
  const arms = ARM_NAMES.slice(0, spec.arms);
  const candidates = spec.arms - 1;
  // The running minima as the sidecar folds them (experiment-minima.ts), trade by trade.
  const fold = new ExperimentFold(arms, {
    tau: th.experiment_mixture_tau,
    alpha: th.experiment_p_value,
    arms: candidates,
    minTrades: th.experiment_min_trades,
  });
  const variants = arms.map((variant) => ({ variant, agg: fold.aggs.get(variant)! }));
  const observer = new Observer(spec, th, rule);
  const look = (step: number) => {
    const running = new Map<string, RunningTest>();
    for (const v of arms) {
      const r = fold.test(v);
      if (r) running.set(v, r);
    }
    observer.look(step, variants, alwaysValidTests(variants, fold.aggs.get('control'), candidates, th, running));
  };
  let step = -1;
  for (const t of tradeStream(spec)) {
    if (t.step !== step && step >= 0) look(step);
    step = t.step;
    fold.add(arms[t.arm], t.pnl, 0, null);
    observer.trade(t.arm, t.pnl);
  }
  if (step >= 0) look(step);
  return { strategy: spec.strategy, ...observer.finish() };
}
