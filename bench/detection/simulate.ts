// One simulated strategy ("run"): its trades go into a real ledger (a temp SQLite file),
// the real WindowEngine and snapshot() compute the windows at each scrape step, the real
// SidecarMetrics exposition turns them into series, and the series are written as
// OpenMetrics samples with timestamps, ready for `promtool tsdb create-blocks-from
// openmetrics`.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../../src/ledger/ledger.js';
import type { TradeInput } from '../../src/model/trade.js';
import { WindowEngine } from '../../src/sidecar/engine.js';
import { SidecarMetrics } from '../../src/sidecar/exposition.js';
import { snapshot } from '../../src/sidecar/snapshot.js';
import { parseThresholds } from '../../src/sidecar/thresholds.js';
import { expectationFromTrades, type ExpectationInput } from '../../src/model/expectation.js';
import { Rng, SCENARIOS, profile } from './model.js';
import { DAY, WEEK, type RunSpec } from './plan.js';

/** PnL of one σ, in quote currency (the unit is irrelevant to every statistic here). */
const SCALE = 10;

export interface Trade {
  id: string;
  closedMs: number;
  pnl: number;
}

/** Poisson arrivals at `rate` a day from startMs to emitToMs, PnL from the scenario. */
export function tradesOf(spec: RunSpec): Trade[] {
  const rng = new Rng(spec.seed);
  const sc = SCENARIOS[spec.scenario];
  const pr = profile(spec.profile);
  const draw = sc.process ? sc.process(pr, rng) : (ms: number) => sc.draw(pr, ms, rng);
  const out: Trade[] = [];
  let t = spec.startMs;
  for (;;) {
    t += rng.exponential(DAY / spec.rate);
    const closedMs = Math.floor(t);
    if (closedMs > spec.emitToMs) break;
    const x = draw(closedMs - spec.changeMs);
    out.push({ id: `t${String(out.length).padStart(7, '0')}`, closedMs, pnl: Math.round(SCALE * x * 1e6) / 1e6 });
  }
  return out;
}

/** Trades of the backtest behind a run's expectation (issue 16): about a year at 2 a day. */
export const BACKTEST_TRADES = 1000;

/**
 * The expectation of a run's version: a backtest of BACKTEST_TRADES trades at the run's rate,
 * drawn from its profile with the edge raised by `promise` σ, summarised as the sidecar
 * summarises a trade list (so its mean and sd carry a real backtest's sampling error).
 */
export function backtestOf(spec: RunSpec, promise: number): ExpectationInput {
  const rng = new Rng(`${spec.seed}/backtest`);
  const pr = profile(spec.profile);
  const days = BACKTEST_TRADES / spec.rate;
  const start = spec.startMs - (days + 30) * DAY;
  const trades = Array.from({ length: BACKTEST_TRADES }, (_, i) => ({
    pnl: Math.round(SCALE * (pr.edge + promise + pr.noise.sample(rng)) * 1e6) / 1e6,
    ret: null,
    fees: null,
    openedMs: null,
    closedMs: Math.floor(start + ((i + 0.5) * days * DAY) / BACKTEST_TRADES),
  }));
  return expectationFromTrades(trades, { period: { startMs: start, endMs: start + days * DAY }, source: 'bench' });
}

export interface RunResult {
  strategy: string;
  rate: number;
  scenario: string;
  profile: string;
  changeMs: number;
  /** closed_at of the trades after the change (delays in trades count these) */
  afterChange: number[];
  trades: number;
  snapshots: number;
  samples: number;
}

export interface Sink {
  write(text: string): void;
}

// The series the evaluated rules read (the exposition has more; writing only these keeps
// the TSDB small). Window stats other than trades and win_ratio, 1h windows, versions'
// other stats and experiments are not read by any rule evaluated here.
const WANTED_THRESHOLDS = new Set([
  'drift_zscore',
  'drift_min_trades',
  'regression_zscore',
  'regression_min_trades',
  'cusum_threshold',
  'expectation_cusum_threshold',
]);

export function fmt(v: number): string {
  return v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
}

export function body(
  name: string,
  bot: string,
  labels: Partial<Record<string, string | number>>,
  value: number,
): string {
  let s = `${name}{bot="${bot}"`;
  for (const [k, v] of Object.entries(labels)) s += `,${k}="${v}"`;
  return `${s}} ${fmt(value)}`;
}

/** Reads the current series of one strategy from the real exposition registry. */
async function seriesOf(metrics: SidecarMetrics, bot: string): Promise<string[]> {
  const out: string[] = [];
  const get = async (name: string) => (await metrics.registry.getSingleMetric(name)!.get()).values;
  for (const v of await get('edgewatch_drift_zscore')) out.push(body('edgewatch_drift_zscore', bot, v.labels, v.value));
  for (const name of ['edgewatch_window_trades', 'edgewatch_window_win_ratio'])
    for (const v of await get(name)) if (v.labels.window !== '1h') out.push(body(name, bot, v.labels, v.value));
  for (const v of await get('edgewatch_threshold'))
    if (WANTED_THRESHOLDS.has(String(v.labels.name))) out.push(body('edgewatch_threshold', bot, v.labels, v.value));
  for (const name of [
    'edgewatch_active_param_version_info',
    'edgewatch_version_trades',
    'edgewatch_version_regression_zscore',
    'edgewatch_cusum_statistic',
    'edgewatch_expectation_cusum_statistic',
  ])
    for (const v of await get(name)) out.push(body(name, bot, v.labels, v.value));
  return out;
}

let shared: SidecarMetrics | undefined;

/**
 * Simulates one run and writes its samples to `sink`. A snapshot is taken at the first
 * step and at every step with an event since the previous one (a trade closing, or a
 * trade's closed_at + 24h or + 7d passing, or a deploy): between events every exported
 * value is a function of an unchanged set of trades per window, so the previous samples
 * are repeated. `everyStep` takes a snapshot on every step instead; the smoke test checks
 * that both write the same series, with values equal but for the last bits (the engine
 * folds a window's edge minutes in another order as the scrape time moves).
 */
export async function simulateRun(
  spec: RunSpec,
  tmpDir: string,
  bot: string,
  sink: Sink,
  everyStep = false,
): Promise<RunResult> {
  const trades = tradesOf(spec);
  const sc = SCENARIOS[spec.scenario];
  const path = join(tmpDir, `${spec.strategy}.db`);
  const ledger = Ledger.open(path, { synchronous: 'NORMAL' });
  const metrics = (shared ??= new SidecarMetrics());
  const opts = { keepVersions: 5, thresholds: parseThresholds(undefined, 'defaults') };
  try {
    ledger.deployParams(
      spec.strategy,
      { strategy: spec.strategy, version: 1 },
      { source: 'bench', note: 'first version' },
      spec.startMs,
    );
    if (sc.expectation && sc.stationary)
      ledger.expectations.set(spec.strategy, 1, backtestOf(spec, sc.expectation.promise), spec.startMs);
    const deployMs = sc.deploy ? spec.changeMs : undefined;
    const engine = new WindowEngine(ledger);
    // Event times, ascending.
    const events: number[] = [];
    for (const t of trades) events.push(t.closedMs, t.closedMs + DAY, t.closedMs + WEEK);
    if (deployMs !== undefined) events.push(deployMs);
    events.sort((a, b) => a - b);
    let ev = 0;
    let next = 0; // next trade to insert
    let deployed = false;
    let lines: string[] = [];
    let snapshots = 0;
    let samples = 0;
    let buf = '';
    for (let now = spec.emitFromMs; now <= spec.emitToMs; now += spec.stepMs) {
      let changed = now === spec.emitFromMs || everyStep;
      while (ev < events.length && events[ev] <= now) {
        ev++;
        changed = true;
      }
      if (changed) {
        // Trades closed up to now, then a deploy due now (trades after it carry the new version).
        const batch: TradeInput[] = [];
        while (next < trades.length && trades[next].closedMs <= now) {
          const t = trades[next++];
          batch.push({
            strategy: spec.strategy,
            id: t.id,
            symbol: 'SIM',
            side: 'long',
            closedMs: t.closedMs,
            openedMs: null,
            pnl: t.pnl,
            fees: 0,
            notional: null,
            paramVersion: null,
            experiment: null,
            variant: null,
          });
        }
        if (batch.length) ledger.insertTrades(batch, now);
        if (deployMs !== undefined && !deployed && deployMs <= now) {
          ledger.deployParams(
            spec.strategy,
            { strategy: spec.strategy, version: 2 },
            { source: 'bench', note: 'the regressing deploy' },
            deployMs,
          );
          if (sc.expectation)
            ledger.expectations.set(spec.strategy, 2, backtestOf(spec, sc.expectation.promise), deployMs);
          deployed = true;
        }
        engine.refresh(now);
        metrics.apply(snapshot(engine, ledger, now, opts));
        lines = await seriesOf(metrics, bot);
        snapshots++;
      }
      const ts = ` ${now / 1000}\n`;
      for (const l of lines) buf += l + ts;
      samples += lines.length;
      if (buf.length > 1 << 20) {
        sink.write(buf);
        buf = '';
      }
    }
    if (buf) sink.write(buf);
    return {
      strategy: spec.strategy,
      rate: spec.rate,
      scenario: spec.scenario,
      profile: spec.profile,
      changeMs: spec.changeMs,
      afterChange: trades.filter((t) => t.closedMs > spec.changeMs).map((t) => t.closedMs),
      trades: trades.length,
      snapshots,
      samples,
    };
  } finally {
    ledger.close();
    for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
  }
}
