// Alert thresholds, exported as edgewatch_threshold{strategy,name} so that the alert rules
// compare against series instead of literals, and an operator tunes one strategy without
// touching the rules.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { rejectUnknownKeys } from '../config-check.js';
import { NAME_RE, isPlainObject } from '../model/names.js';

// drift_zscore, regression_zscore and the CUSUM's two are tuned from the detection benchmark
// (docs/alerting.md): at most about one false alarm per 20 strategy-weeks at 2 to 200 trades
// a day, all alerts together.
export const DEFAULT_THRESHOLDS = {
  drift_min_trades: 20,
  drift_zscore: 4,
  max_drawdown: 1000,
  regression_zscore: 3.5,
  regression_min_trades: 30,
  cusum_threshold: 10,
  cusum_min_trades: 20,
  expectation_cusum_threshold: 10,
  experiment_p_value: 0.01,
  experiment_min_trades: 30,
  // The always-valid p-value's mixture prior scale: the size of difference (in standard
  // deviations of the per-trade outcome) it is most ready to find quickly. 0.25 from
  // bench/experiments (docs/experiments.md): within 10% of the fastest over 0.1σ to 1σ.
  experiment_mixture_tau: 0.25,
  heartbeat_max_age_seconds: 300,
  order_error_ratio: 0.05,
  no_trades_expected: 5,
  // Not a trading threshold: the hour (UTC, 0-23) at which the daily report alert fires
  // (prometheus/rules/daily.yml), per strategy like the rest.
  daily_report_hour_utc: 7,
} as const;

export type ThresholdName = keyof typeof DEFAULT_THRESHOLDS;
export type Thresholds = Record<ThresholdName, number>;
export const THRESHOLD_NAMES = Object.keys(DEFAULT_THRESHOLDS) as ThresholdName[];

export interface ThresholdConfig {
  defaults: Thresholds;
  strategies: Record<string, Partial<Thresholds>>;
}

/**
 * Parses `{"defaults": {...}, "strategies": {"name": {...}}}` (both optional). Every name is
 * checked, so a typo such as "max_drawdwn" stops the sidecar instead of being ignored.
 */
export function parseThresholds(json: unknown, source: string): ThresholdConfig {
  const config: ThresholdConfig = { defaults: { ...DEFAULT_THRESHOLDS }, strategies: {} };
  if (json === undefined) return config;
  if (!isPlainObject(json))
    throw new ConfigError(`${source}: must be a JSON object {"defaults": {...}, "strategies": {"<strategy>": {...}}}`);
  rejectUnknownKeys(json, ['defaults', 'strategies'], source);
  if (json.defaults !== undefined) Object.assign(config.defaults, checkSet(json.defaults, `${source} defaults`));
  if (json.strategies !== undefined) {
    if (!isPlainObject(json.strategies))
      throw new ConfigError(`${source}: "strategies" must be an object {"<strategy>": {...}}`);
    for (const [name, set] of Object.entries(json.strategies)) {
      if (!NAME_RE.test(name)) throw new ConfigError(`${source}: strategy name "${name}" is not a valid name`);
      config.strategies[name] = checkSet(set, `${source} strategies.${name}`);
    }
  }
  return config;
}

function checkSet(set: unknown, where: string): Partial<Thresholds> {
  if (!isPlainObject(set)) throw new ConfigError(`${where}: must be an object of threshold names to numbers`);
  rejectUnknownKeys(set, THRESHOLD_NAMES, where);
  for (const [k, v] of Object.entries(set))
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new ConfigError(`${where}.${k}: must be a finite number ≥ 0 (got ${JSON.stringify(v)})`);
    else if (k === 'daily_report_hour_utc' && !(Number.isInteger(v) && v <= 23))
      throw new ConfigError(`${where}.${k}: must be a whole hour 0-23 (UTC) (got ${JSON.stringify(v)})`);
  return set;
}

/** Reads EDGEWATCH_THRESHOLDS (inline JSON) or EDGEWATCH_THRESHOLDS_FILE. */
export function loadThresholds(inline: string | undefined, file: string | undefined): ThresholdConfig {
  if (inline && file) throw new ConfigError('set EDGEWATCH_THRESHOLDS or EDGEWATCH_THRESHOLDS_FILE, not both');
  let text: string | undefined = inline;
  let source = 'EDGEWATCH_THRESHOLDS';
  if (file) {
    source = `EDGEWATCH_THRESHOLDS_FILE (${file})`;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${source}: cannot read the file: ${(err as Error).message}`);
    }
  }
  if (!text) return parseThresholds(undefined, source);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${source}: not valid JSON: ${(err as Error).message}`);
  }
  return parseThresholds(json, source);
}

export function thresholdsFor(config: ThresholdConfig, strategy: string): Thresholds {
  return { ...config.defaults, ...config.strategies[strategy] };
}
