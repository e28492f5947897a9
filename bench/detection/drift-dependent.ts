// The drift alerts on the healthy dependent streams with and without the variance inflation
// of drift() (issue 11), in a trade-time simulation: Poisson trades as in the benchmark, the
// 24h window against the 7d-minus-24h baseline evaluated every `step`, an alarm when z <
// -drift_zscore on a step after a step without (keep_firing_for and for: are not applied).
// The inflation passed is what the sidecar would pass: the CUSUM run's
// cusumVarianceInflation(state) over the strategy's trades so far. The inflation is not wired
// into the sidecar (src/sidecar/snapshot.ts), so bench:detection measures the drift without
// it; this shows what it would change.
// Usage: node dist/bench/detection/drift-dependent.js [runs per cell, default 40]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addTrade, empty, type Agg } from '../../src/analytics/aggregate.js';
import { cusumAdd, cusumStart, cusumVarianceInflation } from '../../src/analytics/cusum.js';
import { drift } from '../../src/analytics/drift.js';
import { DEFAULT_THRESHOLDS } from '../../src/sidecar/thresholds.js';
import { Rng, SCENARIOS, profile, type ScenarioName } from './model.js';
import { DAY, HOUR, WEEK } from './plan.js';

const HEALTHY: ScenarioName[] = ['stationary', 'regimes', 'garch', 'ar1', 'ar1-t3'];

interface Row {
  rate: number;
  scenario: ScenarioName;
  weeks: number;
  /** alarm onsets of the pnl and win-ratio drift, without and with the inflation */
  pnl: [number, number];
  win: [number, number];
}

function aggOf(pnl: number[], from: number, to: number): Agg {
  const a = empty();
  for (let i = from; i < to; i++) addTrade(a, pnl[i], 0);
  return a;
}

export function driftDependent(rates: number[], runs: number, weeks = 4): Row[] {
  const z = DEFAULT_THRESHOLDS.drift_zscore;
  const min = DEFAULT_THRESHOLDS.drift_min_trades;
  const cusumMin = DEFAULT_THRESHOLDS.cusum_min_trades;
  const rows: Row[] = [];
  for (const rate of rates)
    for (const scenario of HEALTHY) {
      const sc = SCENARIOS[scenario];
      const row: Row = { rate, scenario, weeks: runs * weeks, pnl: [0, 0], win: [0, 0] };
      const step = rate >= 50 ? HOUR / 4 : HOUR;
      for (let r = 0; r < runs; r++) {
        const pr = profile(sc.profiles[r % sc.profiles.length]);
        const rng = new Rng(`drift-dependent/${rate}/${scenario}/${r}`);
        const draw = sc.process ? sc.process(pr, rng) : (ms: number) => sc.draw(pr, ms, rng);
        const times: number[] = [];
        const pnl: number[] = [];
        for (let t = rng.exponential(DAY / rate); t < weeks * WEEK; t += rng.exponential(DAY / rate)) {
          times.push(t);
          pnl.push(draw(-1));
        }
        const state = cusumStart();
        let folded = 0;
        const was = { pnl: [false, false], win: [false, false] };
        let lo7 = 0,
          lo24 = 0,
          hi = 0;
        for (let now = step; now <= weeks * WEEK; now += step) {
          while (hi < times.length && times[hi] <= now) hi++;
          while (lo7 < hi && times[lo7] <= now - 7 * DAY) lo7++;
          while (lo24 < hi && times[lo24] <= now - DAY) lo24++;
          while (folded < hi) cusumAdd(state, pnl[folded++], cusumMin);
          const recent = aggOf(pnl, lo24, hi);
          const baseline = aggOf(pnl, lo7, lo24);
          const fs = [1, cusumVarianceInflation(state)];
          fs.forEach((f, k) => {
            const d = drift(recent, baseline, min, f);
            const p = d.pnl_per_trade !== undefined && d.pnl_per_trade < -z;
            const w = d.win_ratio !== undefined && d.win_ratio < -z;
            if (p && !was.pnl[k]) row.pnl[k]++;
            if (w && !was.win[k]) row.win[k]++;
            was.pnl[k] = p;
            was.win[k] = w;
          });
        }
      }
      rows.push(row);
    }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const runs = Number(process.argv[2] ?? 40);
  const rates = (process.argv[3] ?? '10,50,200').split(',').map(Number);
  const rows = driftDependent(rates, runs);
  const f = (n: number, weeks: number) => (n / weeks).toFixed(3);
  console.log(
    `| trades/day | stream | pnl drift: independent z | pnl drift: inflated z | win-ratio drift: independent z | win-ratio drift: inflated z |`,
  );
  console.log('|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.rate} | ${r.scenario} | ${f(r.pnl[0], r.weeks)} (${r.pnl[0]}) | ${f(r.pnl[1], r.weeks)} (${r.pnl[1]}) | ${f(r.win[0], r.weeks)} (${r.win[0]}) | ${f(r.win[1], r.weeks)} (${r.win[1]}) |`,
    );
  console.log(`\nfalse alarms per strategy-week (onsets in ${runs} runs of 4 weeks per cell)`);
}
