// The healthy demo's strategies over months: how often the CUSUM crosses its line per
// strategy-week when a deploy (of the same parameters: the strategy unchanged) cuts the
// stream into runs every few days. The demo's market (src/demo/market.ts) switches regimes
// every ~4 simulated hours, and each strategy's edge depends on them (momentum's on trends,
// mean reversion's on ranges), so this is the demo's own false-alarm rate, next to the
// benchmark's streams (bench/detection/model.ts). Each run's prior is the inflation of the run
// before it (src/sidecar/cusum-prior.ts); "floor at the inflation of all its trades" uses the
// inflation of all the strategy's trades (months: about what a prior could know at best).
// Usage: node dist/bench/detection/demo-long.js [seeds, default 101..106] [--days D, default 100] [--run-days R, default 4,7]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CUSUM_SHIFTS,
  cusumAdd,
  cusumStart,
  cusumVarianceInflation,
  type CusumOptions,
} from '../../src/analytics/cusum.js';
import { DemoBot } from '../../src/demo/bot.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { inRun, runKeyOf } from '../../src/sidecar/cusum-runs.js';
import { DEFAULT_THRESHOLDS } from '../../src/sidecar/thresholds.js';

const MINUTE = 60_000;
const DAY = 1440 * MINUTE;
const MIN = DEFAULT_THRESHOLDS.cusum_min_trades;
const H = DEFAULT_THRESHOLDS.cusum_threshold;

/** Returns on notional and close times of each strategy's current run, `days` of live market after the back-fill. */
async function longRuns(seed: number, days: number): Promise<Record<string, Array<[number, number]>>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edgewatch-demo-long-'));
  const file = path.join(dir, 'demo.db');
  const nowMs = Date.UTC(2026, 0, 20);
  try {
    const bot = new DemoBot({ ledger: file, seed, logger: false });
    bot.backfill(nowMs);
    for (let i = 1; i <= days * 1440; i++) bot.tickAll(nowMs + i * MINUTE, true);
    await bot.stop();
    const ledger = Ledger.open(file);
    try {
      const out: Record<string, Array<[number, number]>> = {};
      for (const strategy of ['momentum', 'meanrev']) {
        const key = runKeyOf(ledger.deploys(strategy), MIN);
        out[strategy] = ledger
          .tradesInRange(strategy, -Infinity, Infinity)
          .filter((t) => inRun(key, t.paramVersion, t.openedMs, t.closedMs))
          .map((t) => [t.pnl / (t.notional as number), t.closedMs - key.startMs]);
      }
      return out;
    } finally {
      ledger.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function inflationOf(xs: number[]): number {
  const s = cusumStart();
  for (const x of xs) cusumAdd(s, x, MIN);
  return cusumVarianceInflation(s);
}

const VARIANTS: Array<{ name: string; opts: (prior: number, truth: number) => CusumOptions }> = [
  { name: 'no prior', opts: () => ({}) },
  { name: 'prior worth 200 trades', opts: (prior) => ({ priorInflation: prior, priorTrades: 200 }) },
  { name: 'prior as a floor (shipped)', opts: (prior) => ({ priorInflation: prior }) },
  { name: 'floor at the inflation of all its trades', opts: (_, truth) => ({ priorInflation: truth }) },
];

/** Alarm episodes: crossings of the line more than a day (the alert's hold) after the last time above it. */
function episodes(run: Array<[number, number]>, opts: CusumOptions): number {
  const s = cusumStart(CUSUM_SHIFTS, opts);
  let n = 0;
  let lastAbove = -Infinity;
  for (const [x, t] of run) {
    cusumAdd(s, x, MIN);
    if (Math.max(...s.llr) > H) {
      if (t - lastAbove > DAY) n++;
      lastAbove = t;
    }
  }
  return n;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args.splice(at, 2)[1] : fallback;
  };
  const days = Number(opt('--days', '100'));
  const runDays = opt('--run-days', '4,7').split(',').map(Number);
  const seeds = (args[0] ?? '101,102,103,104,105,106').split(',').map(Number);
  const data = [];
  for (const seed of seeds) data.push(await longRuns(seed, days));
  console.log(
    `Alarm episodes per strategy-week, ${seeds.length} seeds × ${days} simulated days, a deploy every R days (the first run, without a prior, not counted):\n`,
  );
  console.log(
    `| strategy | R | strategy-weeks | inflation of all trades | ${VARIANTS.map((v) => v.name).join(' | ')} |`,
  );
  console.log(`|---|---|---|---|${VARIANTS.map(() => '---|').join('')}`);
  for (const strategy of ['momentum', 'meanrev'])
    for (const r of runDays) {
      const counts = VARIANTS.map(() => 0);
      let weeks = 0;
      const truths: number[] = [];
      for (const d of data) {
        const trades = d[strategy];
        const truth = inflationOf(trades.map(([x]) => x));
        truths.push(truth);
        let previous: number[] = [];
        for (let k = 0; (k + 1) * r * DAY <= trades[trades.length - 1][1]; k++) {
          const run = trades.filter(([, t]) => t >= k * r * DAY && t < (k + 1) * r * DAY);
          if (k > 0) {
            weeks += r / 7;
            const prior = inflationOf(previous);
            VARIANTS.forEach((v, i) => (counts[i] += episodes(run, v.opts(prior, truth))));
          }
          previous = run.map(([x]) => x);
        }
      }
      console.log(
        `| ${strategy} | ${r} d | ${weeks.toFixed(0)} | ${truths.map((f) => f.toFixed(1)).join(', ')} | ${counts.map((c) => (c / weeks).toFixed(2)).join(' | ')} |`,
      );
    }
}
