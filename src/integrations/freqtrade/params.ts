// A Freqtrade strategy's parameters as an edgewatch parameter set: the strategy settings of
// GET /api/v1/show_config and the spaces of a hyperopt parameter file (<Strategy>.json, as
// `freqtrade hyperopt` writes it next to the strategy). Pure, apart from reading the file.
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../../errors.js';
import { NAME_RE } from '../../model/names.js';
import { validateParams, type Json, type ParamSet } from '../../model/params.js';

/** show_config keys that are the strategy's settings (the rest is the bot's plumbing). */
export const CONFIG_KEYS = [
  'strategy_version',
  'timeframe',
  'minimal_roi',
  'stoploss',
  'trailing_stop',
  'trailing_stop_positive',
  'trailing_stop_positive_offset',
  'trailing_only_offset_is_reached',
] as const;

/** Hyperopt spaces that show_config already reports as in force (minimal_roi, stoploss, trailing_*). */
const COVERED_BY_CONFIG = new Set(['roi', 'stoploss', 'trailing']);

export interface ParamsFile {
  path: string;
  strategy: string;
  /** The spaces: buy, sell, roi, stoploss, trailing, protection, ... */
  params: Record<string, Json>;
  mtimeMs: number;
}

/**
 * Reads a hyperopt parameter file: {"strategy_name": ..., "params": {space: {...}}, ...}.
 * A file that cannot be read or is not of that shape is a ConfigError naming it.
 */
export function readParamsFile(path: string): ParamsFile {
  let text: string;
  let mtimeMs: number;
  try {
    text = readFileSync(path, 'utf8');
    mtimeMs = statSync(path).mtimeMs;
  } catch (err) {
    throw new ConfigError(`hyperopt parameter file ${path}: cannot read it: ${(err as Error).message}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`hyperopt parameter file ${path} is not JSON: ${(err as Error).message}`);
  }
  const b = body as { strategy_name?: unknown; params?: unknown };
  if (typeof body !== 'object' || body === null || typeof b.strategy_name !== 'string')
    throw new ConfigError(`hyperopt parameter file ${path} has no "strategy_name" (is it a <Strategy>.json?)`);
  if (typeof b.params !== 'object' || b.params === null || Array.isArray(b.params))
    throw new ConfigError(`hyperopt parameter file ${path} has no "params" object`);
  return { path, strategy: b.strategy_name, params: b.params as Record<string, Json>, mtimeMs };
}

/**
 * The parameter set of a strategy: show_config's strategy settings (when the API is read)
 * and the hyperopt file's spaces. With show_config, the roi/stoploss/trailing spaces are
 * left out: the strategy loaded them, so minimal_roi/stoploss/trailing_* already show them.
 * Throws a ValidationError when the result is not a valid parameter set.
 */
export function strategyParams(config: Record<string, unknown> | undefined, file: ParamsFile | undefined): ParamSet {
  const out: Record<string, unknown> = {};
  if (config) for (const k of CONFIG_KEYS) if (Object.hasOwn(config, k)) out[k] = config[k] ?? null;
  if (file)
    for (const [space, v] of Object.entries(file.params)) {
      if (config && COVERED_BY_CONFIG.has(space)) continue;
      if (NAME_RE.test(space)) out[space] = v;
    }
  return validateParams(out);
}

/** The deploy to record, or why there is none yet. */
export type DeployPlan =
  | { deploy: true; strategy: string; params: ParamSet; deployedMs: number; note: string }
  | { deploy: false; reason: string };

export interface ParamsInput {
  /** show_config of the API, when read. */
  config?: Record<string, unknown>;
  file?: ParamsFile;
  /** When the running Freqtrade started (it loaded the strategy and the file then). */
  startupMs: number | null;
  nowMs: number;
}

/**
 * What to deploy: the parameters in force and since when. Freqtrade loads its strategy (and
 * the hyperopt file) when it starts, so the parameters are in force from its start time; a
 * file changed after that start is not in force yet and waits for the next start. Without a
 * start time, the time of this read.
 */
export function planDeploy(input: ParamsInput): DeployPlan {
  const strategy = typeof input.config?.strategy === 'string' ? input.config.strategy : input.file?.strategy;
  if (strategy === undefined) return { deploy: false, reason: 'no strategy name (show_config or parameter file)' };
  if (input.config === undefined && input.file === undefined) return { deploy: false, reason: 'no parameters' };
  if (input.file && input.file.strategy !== strategy)
    throw new ConfigError(
      `hyperopt parameter file ${input.file.path} is for strategy "${input.file.strategy}", Freqtrade runs "${strategy}"`,
    );
  if (input.file && input.startupMs !== null && input.file.mtimeMs > input.startupMs)
    return {
      deploy: false,
      reason: `${input.file.path} changed after Freqtrade started: it takes effect at Freqtrade's next start`,
    };
  const deployedMs = Math.min(input.startupMs ?? input.nowMs, input.nowMs);
  const from = [input.config ? 'show_config' : null, input.file ? input.file.path : null].filter(Boolean).join(' + ');
  const version = typeof input.config?.strategy_version === 'string' ? ` ${input.config.strategy_version}` : '';
  return {
    deploy: true,
    strategy,
    params: strategyParams(input.config, input.file),
    deployedMs,
    note: `Freqtrade ${strategy}${version} (${from})`.slice(0, 1000),
  };
}
