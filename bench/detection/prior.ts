// The CUSUM's prior (src/sidecar/cusum-prior.ts) in trade time: what carrying the inflation
// of the run a deploy ended into the next run buys in false alarms, and costs in delay.
// Every stream of bench/detection/model.ts is cut into runs by a deploy every RUN trades (the
// strategy unchanged: a healthy stream goes on through it); each run is a fresh CUSUM whose
// prior is the inflation of the run before (none for the first). Quick (a minute or two).
// Usage: node dist/bench/detection/prior.js [streams per cell, default 40]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CUSUM_SHIFTS,
  cusumAdd,
  cusumStart,
  cusumVarianceInflation,
  type CusumOptions,
} from '../../src/analytics/cusum.js';
import { DEFAULT_THRESHOLDS } from '../../src/sidecar/thresholds.js';
import { Rng, SCENARIOS, profile, type ScenarioName } from './model.js';

const MIN = DEFAULT_THRESHOLDS.cusum_min_trades;
const H = DEFAULT_THRESHOLDS.cusum_threshold;

/** How the prior enters the run: none (the release before), worth 200 trades, or a floor (shipped). */
export const PRIOR_VARIANTS: Array<{ name: string; opts: (prior: number) => CusumOptions }> = [
  { name: 'no prior', opts: () => ({}) },
  { name: 'prior worth 200 trades', opts: (prior) => ({ priorInflation: prior, priorTrades: 200 }) },
  { name: 'prior as a floor (shipped)', opts: (prior) => ({ priorInflation: prior }) },
];

function stream(seed: string, scenario: ScenarioName, i: number): (after: boolean) => number {
  const sc = SCENARIOS[scenario];
  const pr = profile(sc.profiles[i % sc.profiles.length]);
  const rng = new Rng(seed);
  if (sc.process) {
    const next = sc.process(pr, rng);
    return (after: boolean) => next(after ? 1 : -1);
  }
  return (after: boolean) => sc.draw(pr, after ? 1 : -1, rng);
}

function inflationOf(xs: number[]): number {
  const s = cusumStart();
  for (const x of xs) cusumAdd(s, x, MIN);
  return cusumVarianceInflation(s);
}

/**
 * False alarms per run on a healthy stream cut into `runs` runs of `runTrades`: up-crossings
 * of the threshold, those within 50 trades of the last time above it counted once; the first
 * run (no run before it, so no prior) is not counted.
 */
export function falseAlarmsPerRun(scenario: ScenarioName, streams: number, runs: number, runTrades: number) {
  const out = PRIOR_VARIANTS.map(() => 0);
  for (let r = 0; r < streams; r++) {
    const next = stream(`prior-fa-${scenario}-${r}`, scenario, r);
    let previous: number[] = [];
    for (let k = 0; k < runs; k++) {
      const xs = Array.from({ length: runTrades }, () => next(false));
      if (k > 0) {
        const prior = inflationOf(previous);
        PRIOR_VARIANTS.forEach((v, i) => {
          const s = cusumStart(CUSUM_SHIFTS, v.opts(prior));
          let lastAbove = -Infinity;
          xs.forEach((x, t) => {
            cusumAdd(s, x, MIN);
            if (Math.max(...s.llr) > H) {
              if (t - lastAbove > 50) out[i]++;
              lastAbove = t;
            }
          });
        });
      }
      previous = xs;
    }
  }
  return out.map((n) => n / (streams * (runs - 1)));
}

/**
 * Trades from a change to the threshold, in a run of `history` healthy trades after a deploy
 * that ended a healthy run of `before` trades; Infinity when not within `max`. Per variant.
 */
export function delays(scenario: ScenarioName, streams: number, before: number, history: number, max = 5000) {
  const out: number[][] = PRIOR_VARIANTS.map(() => []);
  for (let r = 0; r < streams; r++) {
    const next = stream(`prior-delay-${scenario}-${before}-${history}-${r}`, scenario, r);
    const prior = before > 0 ? inflationOf(Array.from({ length: before }, () => next(false))) : 1;
    const hist = Array.from({ length: history }, () => next(false));
    const after = Array.from({ length: max }, () => next(true));
    PRIOR_VARIANTS.forEach((v, i) => {
      const s = cusumStart(CUSUM_SHIFTS, v.opts(prior));
      for (const x of hist) cusumAdd(s, x, MIN);
      s.llr = s.llr.map(() => 0);
      let d = Infinity;
      for (let t = 0; t < max; t++) {
        cusumAdd(s, after[t], MIN);
        if (Math.max(...s.llr) > H) {
          d = t + 1;
          break;
        }
      }
      out[i].push(d);
    });
  }
  return out.map((ds) => {
    ds.sort((a, b) => a - b);
    const n = ds.length;
    return {
      median: n % 2 ? ds[(n - 1) / 2] : (ds[n / 2 - 1] + ds[n / 2]) / 2,
      seen: ds.filter(Number.isFinite).length / n,
    };
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const streams = Number(process.argv[2] ?? 40);
  const names = PRIOR_VARIANTS.map((v) => v.name);
  console.log(
    `False alarms per run (${H} nats), healthy streams cut by a deploy every N trades, ${streams} streams × 5 runs (the first, without a run before it, not counted):\n`,
  );
  console.log(`| stream | run of | ${names.join(' | ')} |`);
  console.log(`|---|---|${names.map(() => '---|').join('')}`);
  for (const scenario of ['stationary', 'regimes', 'garch', 'ar1', 'ar1-t3'] as ScenarioName[])
    for (const runTrades of [400, 1400]) {
      const fa = falseAlarmsPerRun(scenario, streams, 5, runTrades);
      console.log(`| ${scenario} | ${runTrades} | ${fa.map((x) => x.toFixed(3)).join(' | ')} |`);
    }
  console.log(
    `\nMedian trades from the change to ${H} nats (share seen within 5,000), in a run of H trades after a deploy that ended a healthy run of 1,400, ${streams} streams:\n`,
  );
  console.log(`| change | stream history H | ${names.join(' | ')} |`);
  console.log(`|---|---|${names.map(() => '---|').join('')}`);
  for (const scenario of ['drop-1sd', 'drop-0.5sd', 'winprob-0.55-0.45'] as ScenarioName[])
    for (const history of [100, 1400]) {
      const d = delays(scenario, streams, 1400, history);
      console.log(
        `| ${scenario} | ${history} | ${d.map((x) => `${Number.isFinite(x.median) ? x.median : '>5000'} (${Math.round(100 * x.seen)}%)`).join(' | ')} |`,
      );
    }
}
