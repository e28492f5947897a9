// The healthy demo (src/demo) against the CUSUM: replays the demo's 8-day back-fill for a
// few seeds (the same market, strategies, deploys and experiment as `npm start`), takes
// each strategy's current CUSUM run (the active version's trades from its latest deploy on, as the
// sidecar does) and reports the statistic's maximum over the run for each design.
// Usage: node dist/bench/detection/demo.js [seeds, default 42 (npm start's) and 1..11]
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
import { inRun, runKeyOf, type RunKey } from '../../src/sidecar/cusum-runs.js';
import { DEFAULT_THRESHOLDS } from '../../src/sidecar/thresholds.js';

export interface DemoRun {
  seed: number;
  strategy: string;
  /** trades of the current run (the active version from its latest deploy on) */
  trades: number;
  /** per design: the maximum of each shift's statistic over the run, in nats */
  max: Record<string, number[]>;
  /** lag-1 autocorrelation of the run's PnL */
  rho1: number;
  /** the shipped design's variance inflation at the end of the run, and of the previous run */
  inflation: number;
  prior: number;
}

/** The demo's runs for one seed: the trades the 8-day back-fill records, per strategy. */
export async function demoRuns(
  seed: number,
  nowMs = Date.UTC(2026, 0, 20),
): Promise<Array<{ strategy: string; pnl: number[]; previous: number[] }>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edgewatch-demo-'));
  const file = path.join(dir, 'demo.db');
  try {
    const bot = new DemoBot({ ledger: file, seed, logger: false });
    bot.backfill(nowMs);
    await bot.stop();
    const ledger = Ledger.open(file);
    try {
      return ['momentum', 'meanrev'].map((strategy) => {
        const deploys = ledger.deploys(strategy);
        const trades = ledger.tradesInRange(strategy, -Infinity, nowMs + 1);
        // A run as the sidecar folds it (src/sidecar/cusum-runs.ts inRun): the active version's
        // trades from its latest deploy on, in (closed_at, id) order, on returns when every trade
        // of the run carries a notional.
        const runOf = (key: RunKey, beforeMs = Infinity) => {
          const run = trades.filter(
            (t) => inRun(key, t.paramVersion, t.openedMs, t.closedMs) && (t.openedMs ?? t.closedMs) < beforeMs,
          );
          const returns = run.every((t) => t.notional !== null && t.notional > 0);
          return run.map((t) => (returns ? t.pnl / (t.notional as number) : t.pnl));
        };
        const key = runKeyOf(deploys, 0);
        const pnl = runOf(key);
        // The run the latest deploy ended: the previous key's trades before the latest deploy.
        const prevKey = runKeyOf(deploys.slice(0, -1), 0);
        const previous = deploys.length > 1 ? runOf(prevKey, key.startMs) : [];
        return { strategy, pnl, previous };
      });
    } finally {
      ledger.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function maxStatistic(
  pnl: number[],
  opts: CusumOptions,
  minTrades = DEFAULT_THRESHOLDS.cusum_min_trades,
): number[] {
  const s = cusumStart(CUSUM_SHIFTS, opts);
  const max = CUSUM_SHIFTS.map(() => 0);
  for (const x of pnl) {
    cusumAdd(s, x, minTrades);
    s.llr.forEach((v, i) => (max[i] = Math.max(max[i], v)));
  }
  return max;
}

function lag1(x: number[]): number {
  const m = x.reduce((a, b) => a + b, 0) / x.length;
  let c0 = 0,
    c1 = 0;
  for (let i = 0; i < x.length; i++) {
    c0 += (x[i] - m) ** 2;
    if (i) c1 += (x[i] - m) * (x[i - 1] - m);
  }
  return c1 / c0;
}

/**
 * The per-trade scale of the release before issue 11, the shipped long-run scale, and the
 * same with the inflation of the run the latest deploy ended as the prior (what a caller
 * that carries it across deploys would get; the sidecar does not, yet).
 */
export const DEMO_DESIGNS: Record<string, (previous: number[]) => CusumOptions> = {
  before: () => ({ lrvMaxLag: 0 }),
  after: () => ({}),
  'after, prior from the previous run': (previous) => ({ priorInflation: inflationOf(previous) }),
};

function inflationOf(pnl: number[]): number {
  const s = cusumStart();
  for (const x of pnl) cusumAdd(s, x, DEFAULT_THRESHOLDS.cusum_min_trades);
  return cusumVarianceInflation(s);
}

export async function demoReport(seeds: number[]): Promise<DemoRun[]> {
  const out: DemoRun[] = [];
  for (const seed of seeds)
    for (const { strategy, pnl, previous } of await demoRuns(seed)) {
      const max: Record<string, number[]> = {};
      for (const [name, opts] of Object.entries(DEMO_DESIGNS)) max[name] = maxStatistic(pnl, opts(previous));
      out.push({
        seed,
        strategy,
        trades: pnl.length,
        max,
        rho1: lag1(pnl),
        inflation: inflationOf(pnl),
        prior: inflationOf(previous),
      });
    }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const seeds = process.argv[2] ? process.argv[2].split(',').map(Number) : [42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  void demoReport(seeds).then((rows) => {
    const names = Object.keys(DEMO_DESIGNS);
    console.log(
      `| seed | strategy | trades in run | lag-1 autocorrelation | f at the end / of the previous run | ${names.map((n) => `max nats ${n} (δ 0.2 / 0.5)`).join(' | ')} |`,
    );
    console.log(`|---|---|---|---|---|${names.map(() => '---|').join('')}`);
    for (const r of rows)
      console.log(
        `| ${r.seed} | ${r.strategy} | ${r.trades} | ${r.rho1.toFixed(2)} | ${r.inflation.toFixed(2)} / ${r.prior.toFixed(2)} | ${names.map((n) => r.max[n].map((v) => v.toFixed(1)).join(' / ')).join(' | ')} |`,
      );
    const over = (n: string) => rows.filter((r) => Math.max(...r.max[n]) > DEFAULT_THRESHOLDS.cusum_threshold).length;
    console.log(
      `\nruns above ${DEFAULT_THRESHOLDS.cusum_threshold} nats: ${names.map((n) => `${n} ${over(n)} of ${rows.length}`).join(', ')}`,
    );
  });
}
