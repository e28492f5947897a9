// One consistent view of everything the sidecar exports for a strategy at time `now`:
// windows, baseline, drift, per-version and per-experiment statistics. Computed on each
// scrape (and for the report) from the window engine and the ledger's small tables.
import {
  comparable,
  drift,
  empty,
  welchZ,
  windowStats,
  type Agg,
  type Drift,
  type WindowStats,
} from '../analytics/index.js';
import type { Ledger } from '../ledger/ledger.js';
import { runKeyOf, type CusumReading, type RunKey } from './cusum-runs.js';
import type { ExpectationReading } from './expectation-runs.js';
import { WINDOWS, type WindowEngine, type WindowName } from './engine.js';
import {
  alwaysValidTests,
  candidateArms,
  fixedSampleTests,
  type ExperimentTest,
  type FixedSampleTest,
} from './experiment-tests.js';
import { runningTests } from './experiment-minima.js';
import { thresholdsFor, type ThresholdConfig, type Thresholds } from './thresholds.js';

export interface VersionSnapshot {
  version: number;
  agg: Agg;
  stats: WindowStats;
  /** Trades of this version that closed after a later deploy (opened under it, counted for it). */
  straddling: number;
}

export interface ExperimentSnapshot {
  name: string;
  startedMs: number;
  stoppedMs: number | null;
  winner: string | null;
  variants: Array<{ variant: string; version: number; agg: Agg; stats: WindowStats }>;
  /** Candidate arms (variants but control): the Bonferroni factor of the tests. */
  arms: number;
  /** Each non-control variant against control (always-valid mSPRT), when both have the minimum sample. */
  tests: ExperimentTest[];
  /** Trades per arm declared up front, or null. */
  plannedTrades: number | null;
  /** The fixed-sample Welch tests at the planned size (with SnapshotOptions.fixedSample and a planned size). */
  fixed?: FixedSampleTest[];
}

export interface StrategySnapshot {
  strategy: string;
  windows: Record<WindowName, { agg: Agg; stats: WindowStats }>;
  /** The run's trades of the last 24h: drift's recent sample (the active version since its latest deploy). */
  recent: { agg: Agg; stats: WindowStats };
  /** The run's trades of the 7d window less the last 24h: drift's baseline. */
  baseline: { agg: Agg; stats: WindowStats };
  drift: Drift;
  /** What drift's PnL-per-trade z compares: the return on notional when every trade of both samples carries one. */
  driftOutcome: 'return' | 'pnl';
  active?: { version: number; hash: string; deployedMs: number };
  regression?: { version: number; previous: number; z: number; outcome: 'return' | 'pnl' };
  /** The version deployed before the active one (another version), if any. */
  previousVersion?: number;
  /** CUSUM of the run (the active version since its latest deploy); absent under cusum_min_trades trades. */
  cusum?: CusumReading;
  /** The same run against the active version's expectation (its backtest); absent without one. */
  expectation?: ExpectationReading;
  versions: VersionSnapshot[];
  experiments: ExperimentSnapshot[];
  lastTradeMs?: number;
  lastHeartbeatMs?: number;
  /** Trades of the same hour yesterday, (now − 25h, now − 24h]: what the report expects of the last hour (a session trader is quiet at night). */
  sameHourYesterday: number;
  thresholds: Thresholds;
}

export interface SnapshotOptions {
  keepVersions: number;
  thresholds: ThresholdConfig;
  /** Also include stopped experiments (the report does; /metrics shows running ones). */
  stoppedExperiments?: boolean;
  /** Also read the fixed-sample tests of experiments with a planned size (the report and the API; not /metrics). */
  fixedSample?: boolean;
}

/** The CUSUM run key of each strategy, as snapshot() reads it: for WindowEngine's `runKey` option. */
export function cusumRunKeys(ledger: Ledger, config: ThresholdConfig): (strategy: string) => RunKey {
  return (strategy) => runKeyOf(ledger.deploys(strategy), thresholdsFor(config, strategy).cusum_min_trades);
}

/** What a snapshot reads windows from: the window engine (or, in bench/, the naive SQL baseline). */
export type WindowSource = Pick<
  WindowEngine,
  | 'range'
  | 'runRange'
  | 'window'
  | 'strategyNames'
  | 'lastTradeMs'
  | 'versionTotals'
  | 'variantTotals'
  | 'cusum'
  | 'straddleCounts'
> &
  Partial<Pick<WindowEngine, 'expectations'>>;

export function snapshot(
  engine: WindowSource,
  ledger: Ledger,
  nowMs: number,
  opts: SnapshotOptions,
): StrategySnapshot[] {
  const names = [...new Set([...ledger.strategies(), ...engine.strategyNames()])].sort();
  const beats = new Map(ledger.heartbeats().map((h) => [h.strategy, h.lastMs]));
  return names.map((strategy) => strategySnapshot(engine, ledger, strategy, nowMs, opts, beats.get(strategy)));
}

/** The snapshot of one strategy (a read for one strategy need not compute all); undefined when it is unknown. */
export function snapshotOf(
  engine: WindowSource,
  ledger: Ledger,
  strategy: string,
  nowMs: number,
  opts: SnapshotOptions,
): StrategySnapshot | undefined {
  if (!ledger.strategies().includes(strategy) && !engine.strategyNames().includes(strategy)) return undefined;
  const beat = ledger.heartbeats().find((h) => h.strategy === strategy);
  return strategySnapshot(engine, ledger, strategy, nowMs, opts, beat?.lastMs);
}

function strategySnapshot(
  engine: WindowSource,
  ledger: Ledger,
  strategy: string,
  nowMs: number,
  opts: SnapshotOptions,
  lastHeartbeatMs: number | undefined,
): StrategySnapshot {
  const thresholds = thresholdsFor(opts.thresholds, strategy);
  const windows = {} as StrategySnapshot['windows'];
  for (const name of Object.keys(WINDOWS) as WindowName[]) {
    const agg = engine.window(strategy, name, nowMs);
    windows[name] = { agg, stats: windowStats(agg) };
  }
  const deploys = ledger.deploys(strategy);
  const active = deploys[deploys.length - 1];
  // The run: the active version's trades from its latest deploy on (experiment candidates carry
  // other versions). Drift compares the run's last 24h with the run's earlier days, so it never
  // compares a new version with another version's trades; the CUSUM reads the same run.
  const run = runKeyOf(deploys, thresholds.cusum_min_trades);
  const recentAgg = engine.runRange(strategy, run, nowMs - WINDOWS['24h'], nowMs);
  // Baseline: the 7d window less the last 24h, so a decay is not diluted by itself.
  const baselineAgg = engine.runRange(strategy, run, nowMs - WINDOWS['7d'], nowMs - WINDOWS['24h']);
  const snap: StrategySnapshot = {
    strategy,
    windows,
    recent: { agg: recentAgg, stats: windowStats(recentAgg) },
    baseline: { agg: baselineAgg, stats: windowStats(baselineAgg) },
    drift: {},
    driftOutcome: 'pnl',
    versions: [],
    experiments: [],
    lastTradeMs: engine.lastTradeMs(strategy),
    lastHeartbeatMs,
    sameHourYesterday: engine.range(strategy, nowMs - WINDOWS['24h'] - WINDOWS['1h'], nowMs - WINDOWS['24h']).n,
    thresholds,
  };

  const totals = engine.versionTotals(strategy);
  // The CUSUM restarts at every deploy, also one that re-activates an earlier version.
  snap.cusum = engine.cusum(strategy, run);
  snap.expectation = engine.expectations?.read(strategy, deploys, nowMs);
  // Drift reads the same run: its z is divided by the root of the run's long-run variance
  // inflation (regimes, serial correlation), which the CUSUM estimates trade by trade.
  const c = comparable(recentAgg, baselineAgg);
  snap.drift = drift(c.a, c.b, thresholds.drift_min_trades, snap.cusum?.inflation);
  snap.driftOutcome = c.outcome;
  // Versions the rules and the report name are exported whatever their age: the active one,
  // the previous one (the regression names it) and the arms of running experiments.
  const needed = new Set<number>();
  let previous: number | undefined;
  if (active) {
    needed.add(active.version);
    snap.active = { version: active.version, hash: active.hash, deployedMs: active.deployedMs };
    // The previous version: the last one deployed before the active one that differs from it.
    previous = [...deploys].reverse().find((d) => d.version !== active.version)?.version;
    if (previous !== undefined) {
      snap.previousVersion = previous;
      needed.add(previous);
      const a = totals.get(active.version);
      const b = totals.get(previous);
      if (a && b && a.n >= thresholds.regression_min_trades && b.n >= thresholds.regression_min_trades) {
        const cmp = comparable(a, b);
        const z = welchZ(cmp.a, cmp.b);
        if (z !== undefined) snap.regression = { version: active.version, previous, z, outcome: cmp.outcome };
      }
    }
  }
  const experiments = ledger.experiments(strategy);
  for (const exp of experiments) if (exp.stoppedMs === null) for (const v of Object.values(exp.variants)) needed.add(v);
  const exported = new Set([...totals.keys()].sort((x, y) => y - x).slice(0, opts.keepVersions));
  for (const v of needed) if (totals.has(v)) exported.add(v);
  const straddling = engine.straddleCounts(strategy);
  snap.versions = [...exported]
    .sort((x, y) => x - y)
    .map((version) => {
      const agg = totals.get(version) as Agg;
      return { version, agg, stats: windowStats(agg), straddling: straddling.get(version) ?? 0 };
    });

  for (const exp of experiments) {
    if (exp.stoppedMs !== null && !opts.stoppedExperiments) continue;
    const vt = engine.variantTotals(strategy, exp.name);
    const variants = Object.entries(exp.variants).map(([variant, version]) => {
      const agg = vt.get(variant) ?? empty();
      return { variant, version, agg, stats: windowStats(agg) };
    });
    const arms = candidateArms(exp.variants);
    const planned = exp.plannedTrades;
    snap.experiments.push({
      name: exp.name,
      startedMs: exp.startedMs,
      stoppedMs: exp.stoppedMs,
      winner: exp.winner,
      variants,
      arms,
      tests: alwaysValidTests(
        variants,
        vt.get('control'),
        arms,
        thresholds,
        runningTests(ledger, strategy, exp, arms, thresholds),
      ),
      plannedTrades: planned,
      fixed:
        opts.fixedSample && planned !== null
          ? fixedSampleTests(
              ledger.firstVariantTrades(strategy, exp.name, planned),
              Object.keys(exp.variants),
              planned,
              arms,
            )
          : undefined,
    });
  }
  return snap;
}
