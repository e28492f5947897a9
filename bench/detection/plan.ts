// What a benchmark run simulates: trade rates, scenarios, runs per cell, and the timeline
// of each rate group (one Prometheus TSDB per rate). Sizes are options, so the smoke test
// in npm test and the full `npm run bench:detection` share all the code.
import { SCENARIOS, type ProfileName, type ScenarioName } from './model.js';
import { readFlags, splitList } from '../args.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const WEEK = 7 * DAY;

/** Monday 2026-01-05 00:00 UTC: the start of every group's timeline. */
export const EPOCH_MS = Date.UTC(2026, 0, 5);

export interface Options {
  rates: number[];
  scenarios: ScenarioName[];
  /** runs per (rate, decay scenario) */
  runs: number;
  /** stationary runs per rate, each `weeks` long from a fresh version */
  stationaryRuns: number;
  weeks: number;
  /** parallel simulation processes */
  workers: number;
  /** override the scrape/evaluation step of every group (ms) */
  stepMs?: number;
  /** override the post-change horizon of every group (ms) */
  horizonMs?: number;
  /** output folder for results.json and results.md */
  out: string;
  /** the plot's path without extension (.svg, and .png when rsvg-convert is installed) */
  plot: string;
  /** keep the generated TSDBs (in the temp folder) */
  keep: boolean;
  /** write each rate group's evaluated alert data here (JSON), to re-run the report alone */
  save?: string;
  /** read the groups from a --save folder instead of simulating (report only) */
  load?: string;
  /** the snapshot on every step instead of only on steps with an event (slow; for the equivalence check) */
  everyStep: boolean;
  seed: string;
}

export const FULL: Omit<Options, 'out' | 'plot' | 'keep' | 'everyStep'> = {
  rates: [2, 10, 50, 200],
  // The expectation scenarios (issue 16) run in their own benchmark, bench/detection/expectation.ts.
  scenarios: (Object.keys(SCENARIOS) as ScenarioName[]).filter((s) => !SCENARIOS[s].expectation),
  runs: 30,
  stationaryRuns: 40,
  weeks: 4,
  workers: 2,
  seed: 'edgewatch-detection-1',
};

/**
 * Scrape = rule-evaluation step per rate. The drift statistics change only when a trade
 * enters a window or leaves it (3 events per trade), so a step well below the time between
 * events reproduces what a 15s scrape sees, up to one step of delay: 1 min at 200 trades a
 * day (an event every 2.4 min), 2 min at 50, 5 min at 10, 15 min at 2 (an event every 4 h).
 */
export function stepFor(rate: number): number {
  const table: Record<number, number> = { 200: 1, 50: 2, 10: 5, 2: 15 };
  const min = table[rate] ?? Math.max(1, Math.min(15, Math.floor(100 / rate)));
  return min * MINUTE;
}

/**
 * How long after the change a decay run is watched: long enough for the slowest limit the
 * windowed rules could meet (a 0.5σ fall at 2 a day needs ≈ 31 trades, 15 days).
 */
export function horizonFor(rate: number): number {
  if (rate >= 200) return 7 * DAY;
  if (rate >= 50) return 14 * DAY;
  if (rate >= 10) return 28 * DAY;
  return 56 * DAY;
}

/** History before the change: a full 7d baseline and at least 100 trades. */
export function preHistoryFor(rate: number, stepMs: number): number {
  const ms = Math.max(7 * DAY, Math.ceil(100 / rate) * DAY);
  return Math.ceil(ms / stepMs) * stepMs;
}

export interface RunSpec {
  /** the strategy name, unique within its group */
  strategy: string;
  rate: number;
  scenario: ScenarioName;
  profile: ProfileName;
  seed: string;
  /** the version is deployed and trading starts */
  startMs: number;
  /** the change (decay runs); for stationary runs the start of the watched span */
  changeMs: number;
  /** first and last scrape written (inclusive), both on the group's step grid */
  emitFromMs: number;
  emitToMs: number;
  stepMs: number;
}

export interface Group {
  rate: number;
  bot: string;
  stepMs: number;
  changeMs: number;
  fromMs: number;
  toMs: number;
  horizonMs: number;
  runs: RunSpec[];
}

export function plan(opts: Options): Group[] {
  return opts.rates.map((rate) => {
    const stepMs = opts.stepMs ?? stepFor(rate);
    const horizonMs = Math.ceil((opts.horizonMs ?? horizonFor(rate)) / stepMs) * stepMs;
    const changeMs = EPOCH_MS + preHistoryFor(rate, stepMs);
    const fromMs = changeMs - Math.ceil(DAY / stepMs) * stepMs;
    const stationaryTo = fromMs + Math.ceil((opts.weeks * WEEK) / stepMs) * stepMs;
    const runs: RunSpec[] = [];
    for (const scenario of opts.scenarios) {
      const sc = SCENARIOS[scenario];
      const n = sc.stationary ? opts.stationaryRuns : opts.runs;
      for (let i = 0; i < n; i++) {
        const strategy = `${scenario}-${String(i).padStart(3, '0')}`;
        const common = {
          strategy,
          rate,
          scenario,
          profile: sc.profiles[i % sc.profiles.length],
          seed: `${opts.seed}/${rate}/${strategy}`,
          stepMs,
        };
        if (sc.stationary)
          runs.push({ ...common, startMs: fromMs, changeMs: fromMs, emitFromMs: fromMs, emitToMs: stationaryTo });
        else runs.push({ ...common, startMs: EPOCH_MS, changeMs, emitFromMs: fromMs, emitToMs: changeMs + horizonMs });
      }
    }
    const toMs = Math.max(...runs.map((r) => r.emitToMs), changeMs);
    return { rate, bot: `rate${rate}`, stepMs, changeMs, fromMs, toMs, horizonMs, runs };
  });
}

export function parseArgs(
  argv: string[],
  defaults: Omit<Options, 'out' | 'plot' | 'keep' | 'everyStep'> = FULL,
): Options {
  const opts: Options = {
    ...defaults,
    out: 'bench/detection/results',
    plot: 'docs/alerting-delay-vs-false-alarms',
    keep: false,
    everyStep: false,
  };
  for (const { name: flag, value, num } of readFlags(argv)) {
    switch (flag) {
      case '--rates':
        opts.rates = splitList(value()).map(Number);
        break;
      case '--scenarios':
        opts.scenarios = splitList(value()) as ScenarioName[];
        break;
      case '--runs':
        opts.runs = Math.round(num());
        break;
      case '--stationary-runs':
        opts.stationaryRuns = Math.round(num());
        break;
      case '--weeks':
        opts.weeks = num();
        break;
      case '--workers':
        opts.workers = Math.round(num());
        break;
      case '--step-minutes':
        opts.stepMs = num() * MINUTE;
        break;
      case '--horizon-days':
        opts.horizonMs = num() * DAY;
        break;
      case '--out':
        opts.out = value();
        break;
      case '--plot':
        opts.plot = value();
        break;
      case '--seed':
        opts.seed = value();
        break;
      case '--keep':
        opts.keep = true;
        break;
      case '--save':
        opts.save = value();
        break;
      case '--load':
        opts.load = value();
        break;
      case '--every-step':
        opts.everyStep = true;
        break;
      case '--quick':
        Object.assign(opts, { runs: 4, stationaryRuns: 6, weeks: 2 });
        break;
      default:
        throw new Error(`unknown option ${flag} (see docs/alerting.md, "Reproduce")`);
    }
  }
  for (const s of opts.scenarios)
    if (!(s in SCENARIOS)) throw new Error(`unknown scenario ${s}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  for (const r of opts.rates) if (!(r > 0)) throw new Error(`bad rate ${r}`);
  if (!opts.scenarios.includes('stationary'))
    throw new Error('the stationary scenario is needed for false-alarm rates');
  return opts;
}
