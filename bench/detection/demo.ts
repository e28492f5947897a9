// The healthy demo (src/demo) against the CUSUM: replays the demo's 8-day back-fill for a
// few seeds (the same market, strategies, deploys and experiment as `npm start`), then the
// market it trades live afterwards (--live-days, default 2.5: 30 minutes of `npm run stack --
// --fast`, whose ticks are simulated minutes 120 times faster; the healthy demo's trades are a
// function of the seed alone, so these are the trades the stack records), takes each
// strategy's current CUSUM run (the active version's trades from its latest deploy on, as the
// sidecar does) with its prior (the run the deploy ended, src/sidecar/cusum-prior.ts) and
// reports the statistic's maximum over the back-filled run and over the live part, per design.
// Usage: node dist/bench/detection/demo.js [seeds, default 42 (npm start's) and 1..11] [--live-days D]
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
import { inPrior } from '../../src/sidecar/cusum-prior.js';
import { inRun, runKeyOf } from '../../src/sidecar/cusum-runs.js';
import { DEFAULT_THRESHOLDS } from '../../src/sidecar/thresholds.js';

export interface DemoRun {
  seed: number;
  strategy: string;
  /** trades of the current run (the active version from its latest deploy on), back-filled and live */
  trades: number;
  live: number;
  /** per design: the maximum of each shift's statistic over the back-filled run and over the live part, in nats */
  max: Record<string, { backfill: number[]; live: number[] }>;
  /** lag-1 autocorrelation of the run's PnL */
  rho1: number;
  /** the long-run scale's variance inflation at the end of the run (no prior), and the prior */
  inflation: number;
  prior: number;
}

const MINUTE = 60_000;

/**
 * The demo's runs for one seed: the trades the 8-day back-fill records, then `liveDays` of
 * the market it trades live (one tick a simulated minute, as `npm start` ticks), per strategy.
 */
export async function demoRuns(
  seed: number,
  liveDays = 0,
  nowMs = Date.UTC(2026, 0, 20),
): Promise<Array<{ strategy: string; pnl: number[]; live: number; previous: number[] }>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edgewatch-demo-'));
  const file = path.join(dir, 'demo.db');
  try {
    const bot = new DemoBot({ ledger: file, seed, logger: false });
    bot.backfill(nowMs);
    // Live ticks record the same trades as back-filled ones (orders and the degradation aside).
    for (let i = 1; i <= Math.round(liveDays * 1440); i++) bot.tickAll(nowMs + i * MINUTE, true);
    await bot.stop();
    const ledger = Ledger.open(file);
    try {
      return ['momentum', 'meanrev'].map((strategy) => {
        const deploys = ledger.deploys(strategy);
        const trades = ledger.tradesInRange(strategy, -Infinity, Infinity);
        // A run as the sidecar folds it (src/sidecar/cusum-runs.ts inRun): the active version's
        // trades from its latest deploy on, in (closed_at, id) order, on returns when every trade
        // of the run carries a notional; its prior's sample as src/sidecar/cusum-prior.ts takes it.
        const outcomes = (ts: typeof trades) => {
          const returns = ts.every((t) => t.notional !== null && t.notional > 0);
          return ts.map((t) => (returns ? t.pnl / (t.notional as number) : t.pnl));
        };
        const key = runKeyOf(deploys, DEFAULT_THRESHOLDS.cusum_min_trades);
        const run = trades.filter((t) => inRun(key, t.paramVersion, t.openedMs, t.closedMs));
        const previous = trades.filter((t) =>
          inPrior(key.previous, key.startMs, t.paramVersion, t.openedMs, t.closedMs),
        );
        return {
          strategy,
          pnl: outcomes(run),
          live: run.filter((t) => t.closedMs > nowMs).length,
          previous: outcomes(previous),
        };
      });
    } finally {
      ledger.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The maximum of each shift's statistic over the run's trades before `from`, and from the value at `from - 1` on. */
export function maxStatistic(
  pnl: number[],
  opts: CusumOptions,
  from = pnl.length,
  minTrades = DEFAULT_THRESHOLDS.cusum_min_trades,
): { backfill: number[]; live: number[] } {
  const s = cusumStart(CUSUM_SHIFTS, opts);
  const backfill = CUSUM_SHIFTS.map(() => 0);
  const live = CUSUM_SHIFTS.map(() => 0);
  pnl.forEach((x, k) => {
    cusumAdd(s, x, minTrades);
    s.llr.forEach((v, i) => {
      if (k < from) backfill[i] = Math.max(backfill[i], v);
      if (k >= from - 1) live[i] = Math.max(live[i], v); // the first scrape shows the back-fill's last value
    });
  });
  return { backfill, live };
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
 * The per-trade scale of the release before issue 11, the long-run scale without a prior,
 * with the prior worth 200 trades of the reference (fading), and with the prior as a floor
 * for the whole run (shipped: what the sidecar exports).
 */
export const DEMO_DESIGNS: Record<string, (previous: number[]) => CusumOptions> = {
  'per-trade scale': () => ({ lrvMaxLag: 0 }),
  'long-run scale, no prior': () => ({}),
  'prior worth 200 trades': (previous) => ({ priorInflation: inflationOf(previous), priorTrades: 200 }),
  'prior as a floor (shipped)': (previous) => ({ priorInflation: inflationOf(previous) }),
};

function inflationOf(pnl: number[]): number {
  const s = cusumStart();
  for (const x of pnl) cusumAdd(s, x, DEFAULT_THRESHOLDS.cusum_min_trades);
  return cusumVarianceInflation(s);
}

export async function demoReport(seeds: number[], liveDays = 2.5): Promise<DemoRun[]> {
  const out: DemoRun[] = [];
  for (const seed of seeds)
    for (const { strategy, pnl, live, previous } of await demoRuns(seed, liveDays)) {
      const max: DemoRun['max'] = {};
      for (const [name, opts] of Object.entries(DEMO_DESIGNS))
        max[name] = maxStatistic(pnl, opts(previous), pnl.length - live);
      out.push({
        seed,
        strategy,
        trades: pnl.length,
        live,
        max,
        rho1: lag1(pnl),
        inflation: inflationOf(pnl),
        prior: inflationOf(previous),
      });
    }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--live-days');
  const liveDays = at >= 0 ? Number(args.splice(at, 2)[1]) : 2.5;
  if (!(liveDays >= 0)) throw new RangeError('--live-days must be a number ≥ 0');
  const seeds = args[0] ? args[0].split(',').map(Number) : [42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const h = DEFAULT_THRESHOLDS.cusum_threshold;
  void demoReport(seeds, liveDays).then((rows) => {
    const names = Object.keys(DEMO_DESIGNS);
    const cell = (m: { backfill: number[]; live: number[] }) =>
      `${Math.max(...m.backfill).toFixed(1)} / ${Math.max(...m.live).toFixed(1)}`;
    console.log(
      `| seed | strategy | trades in run (live) | lag-1 autocorrelation | f at the end / prior | ${names.map((n) => `${n}: max nats back-fill / live`).join(' | ')} |`,
    );
    console.log(`|---|---|---|---|---|${names.map(() => '---|').join('')}`);
    for (const r of rows)
      console.log(
        `| ${r.seed} | ${r.strategy} | ${r.trades} (${r.live}) | ${r.rho1.toFixed(2)} | ${r.inflation.toFixed(2)} / ${r.prior.toFixed(2)} | ${names.map((n) => cell(r.max[n])).join(' | ')} |`,
      );
    const over = (n: string, part: 'backfill' | 'live') => rows.filter((r) => Math.max(...r.max[n][part]) > h).length;
    console.log(
      `\nruns above ${h} nats (back-fill / ${liveDays} live days): ${names.map((n) => `${n} ${over(n, 'backfill')} / ${over(n, 'live')} of ${rows.length}`).join(', ')}`,
    );
  });
}
