// One simulated experiment in trade time: the same trades as e2e.ts (stream.ts), folded into
// each arm's aggregate with the analytics' own addTrade, and read at every scrape step that saw
// a trade by the same functions the sidecar's snapshot calls (Observer: alwaysValidTests, the
// rule's conditions and its timing through firings()). Far cheaper than the real sidecar and
// Prometheus, so the error rates get the thousands of runs they need; bench/experiments runs a
// subset both ways and reports whether every decision agrees (docs/experiments.md).
import { addTrade, empty, type Agg } from '../../src/analytics/index.js';
import type { Thresholds } from '../../src/sidecar/thresholds.js';
import { Observer, type Observed, type RuleTiming } from './observe.js';
import { ARM_NAMES, tradeStream, type ExpRunSpec } from './stream.js';

export interface ReplayResult extends Observed {
  strategy: string;
}

export function replay(spec: ExpRunSpec, th: Thresholds, rule: RuleTiming): ReplayResult {
  const arms = ARM_NAMES.slice(0, spec.arms);
  const aggs: Agg[] = arms.map(() => empty());
  const variants = arms.map((variant, i) => ({ variant, agg: aggs[i] }));
  const observer = new Observer(spec, th, rule);
  let step = -1;
  for (const t of tradeStream(spec)) {
    if (t.step !== step && step >= 0) observer.look(step, variants);
    step = t.step;
    addTrade(aggs[t.arm], t.pnl, 0);
    observer.trade(t.arm, t.pnl);
  }
  if (step >= 0) observer.look(step, variants);
  return { strategy: spec.strategy, ...observer.finish() };
}
