// A Freqtrade backtest result as the source of an expectation. Freqtrade writes
// `backtest-result-<date>.json` (up to 2024.11) or `backtest-result-<date>.zip` holding that
// JSON next to the configuration and the strategy's source (since 2024.12), and points at
// the newest with `.last_result.json` in the same folder. The JSON's `strategy.<Name>` holds
// `trades` (one record per closed trade: profit_abs net of fees, open_timestamp and
// close_timestamp in epoch milliseconds, amount, open_rate, close_rate, fee_open, fee_close,
// stake_amount, leverage, ...), `backtest_start_ts` and `backtest_end_ts` (ms).
//
// A trade's return is profit_abs over its notional amount · open_rate (stake · leverage),
// the `notional` a live trade carries; its fees are amount · open_rate · fee_open +
// amount · close_rate · fee_close.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { BacktestTrade } from '../analytics/backtest.js';
import { ConfigError } from '../errors.js';
import { isPlainObject } from '../model/names.js';
import { looksLikeZip, zipEntries, zipRead } from './zip.js';

export interface FreqtradeBacktest {
  /** the file read, and the entry within it for a zip */
  file: string;
  /** the Freqtrade strategy's name (its class) */
  strategy: string;
  stakeCurrency: string | null;
  /** oldest first by close */
  trades: BacktestTrade[];
  /** backtest_start_ts to backtest_end_ts, when the result has them */
  period?: { startMs: number; endMs: number };
  /** Freqtrade's own figures, for the summary the CLI prints beside edgewatch's */
  reported: { totalTrades?: number; tradesPerDay?: number; maxDrawdownAbs?: number };
}

const LAST = '.last_result.json';

/**
 * Reads a result file: a backtest-result-*.json, its .zip, `.last_result.json` or the folder
 * that holds it (its newest result). `strategy` picks one of several strategies of a
 * `--strategy-list` backtest.
 */
export function readFreqtradeBacktest(path: string, strategy?: string): FreqtradeBacktest {
  let file = path;
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, LAST);
  if (!existsSync(file)) throw new ConfigError(`no Freqtrade backtest result at ${file}`);
  if (basename(file) === LAST) file = latestOf(file);
  if (file.endsWith('.meta.json'))
    throw new ConfigError(
      `${file} is the metadata of a backtest: pass the result itself (the .json or .zip beside it)`,
    );
  const bytes = readFileSync(file);
  if (looksLikeZip(bytes)) {
    let entries;
    try {
      entries = zipEntries(bytes);
    } catch (err) {
      throw new ConfigError(`${file}: ${(err as Error).message}`);
    }
    const stem = basename(file).replace(/\.zip$/i, '');
    const jsons = entries.filter((e) => e.name.endsWith('.json') && !e.name.endsWith('_config.json'));
    const ordered = [
      ...jsons.filter((e) => e.name === `${stem}.json`),
      ...jsons.filter((e) => e.name !== `${stem}.json`),
    ];
    for (const entry of ordered) {
      let json: unknown;
      try {
        json = JSON.parse(zipRead(bytes, entry).toString('utf8'));
      } catch (err) {
        throw new ConfigError(`${file}: ${entry.name}: ${(err as Error).message}`);
      }
      if (isPlainObject(json) && isPlainObject(json.strategy))
        return parseFreqtradeResult(json, strategy, `${file}:${entry.name}`);
    }
    throw new ConfigError(
      `${file} holds no backtest result (entries: ${entries.map((e) => e.name).join(', ') || 'none'}): pass a backtest-result-*.zip of freqtrade backtesting`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ConfigError(`${file} is neither JSON nor a ZIP archive: ${(err as Error).message}`);
  }
  return parseFreqtradeResult(json, strategy, file);
}

function latestOf(last: string): string {
  let name: unknown;
  try {
    name = (JSON.parse(readFileSync(last, 'utf8')) as { latest_backtest?: unknown }).latest_backtest;
  } catch (err) {
    throw new ConfigError(`${last}: not readable JSON (${(err as Error).message})`);
  }
  if (typeof name !== 'string' || name === '' || name.includes('/'))
    throw new ConfigError(`${last} names no latest backtest ("latest_backtest")`);
  return join(dirname(last), name);
}

/** The result's JSON to trades. `file` names it in errors. */
export function parseFreqtradeResult(json: unknown, strategy: string | undefined, file: string): FreqtradeBacktest {
  const bad = (why: string) => new ConfigError(`${file} is not a Freqtrade backtest result: ${why}`);
  if (!isPlainObject(json) || !isPlainObject(json.strategy)) throw bad('no "strategy" object');
  const names = Object.keys(json.strategy);
  if (strategy !== undefined && !names.includes(strategy))
    throw new ConfigError(`${file} has no strategy "${strategy}": it holds ${names.join(', ') || 'none'}`);
  if (strategy === undefined && names.length !== 1)
    throw new ConfigError(
      `${file} holds ${names.length === 0 ? 'no strategy' : `several strategies (${names.join(', ')}): pick one with --freqtrade-strategy`}`,
    );
  const name = strategy ?? names[0];
  const s = json.strategy[name];
  if (!isPlainObject(s) || !Array.isArray(s.trades)) throw bad(`strategy.${name}.trades is not a list`);
  const trades: BacktestTrade[] = s.trades.map((t: unknown, i: number) => {
    if (!isPlainObject(t)) throw bad(`strategy.${name}.trades[${i}] is not an object`);
    const n = (k: string): number | null => (typeof t[k] === 'number' && Number.isFinite(t[k]) ? t[k] : null);
    const pnl = n('profit_abs');
    const closedMs = n('close_timestamp');
    if (pnl === null) throw bad(`strategy.${name}.trades[${i}].profit_abs is not a number`);
    if (closedMs === null) throw bad(`strategy.${name}.trades[${i}].close_timestamp is not a number (epoch ms)`);
    const opened = n('open_timestamp');
    const amount = n('amount');
    const openRate = n('open_rate');
    const closeRate = n('close_rate');
    const stake = n('stake_amount');
    const notional =
      amount !== null && openRate !== null && amount * openRate > 0
        ? amount * openRate
        : stake !== null && stake > 0
          ? stake * (n('leverage') ?? 1)
          : null;
    const feeOpen = n('fee_open');
    const feeClose = n('fee_close');
    const fees =
      amount !== null && openRate !== null && closeRate !== null && feeOpen !== null && feeClose !== null
        ? amount * openRate * feeOpen + amount * closeRate * feeClose
        : null;
    return {
      pnl,
      ret: notional === null ? null : pnl / notional,
      fees,
      openedMs: opened === null ? null : Math.round(opened),
      closedMs: Math.round(closedMs),
    };
  });
  const num = (k: string): number | undefined => (typeof s[k] === 'number' && Number.isFinite(s[k]) ? s[k] : undefined);
  const start = num('backtest_start_ts');
  const end = num('backtest_end_ts');
  return {
    file,
    strategy: name,
    stakeCurrency: typeof s.stake_currency === 'string' ? s.stake_currency : null,
    trades: trades.sort((a, b) => (a.closedMs as number) - (b.closedMs as number)),
    ...(start !== undefined && end !== undefined && end > start ? { period: { startMs: start, endMs: end } } : {}),
    reported: {
      totalTrades: num('total_trades'),
      tradesPerDay: num('trades_per_day'),
      maxDrawdownAbs: num('max_drawdown_abs'),
    },
  };
}
