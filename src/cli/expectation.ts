// `edgewatch params expect <version>`: records what a version's backtest promised, from a
// Freqtrade backtest result (--freqtrade) or a JSON file shaped like the body of
// POST /v1/params/:strategy/:version/expectation (--file). Writes the ledger directly (WAL:
// safe beside a running sidecar, which compares from its next scrape), like `experiments stop`.
// `edgewatch params expectation <version>`: shows the stored expectation and, for the active
// version, how its live trades compare.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ConfigError, ValidationError, formatDetail } from '../errors.js';
import type { ExpectationRecord } from '../ledger/expectations.js';
import { expectationFromTrades, validateExpectation, type ExpectationInput } from '../model/expectation.js';
import { versionLabel } from '../model/names.js';
import { expectationJson } from '../sidecar/http/routes-expectation.js';
import { readFreqtradeBacktest } from './freqtrade-backtest.js';
import { knownStrategy, needStrategy, version, withLedger } from './inspect.js';

export interface ExpectOpts {
  db?: string;
  strategy?: string;
  freqtrade?: string;
  freqtradeStrategy?: string;
  file?: string;
  feePerTrade?: string;
  note?: string;
  json?: boolean;
}

const print = (x: unknown): void => {
  process.stdout.write(`${typeof x === 'string' ? x : JSON.stringify(x, null, 2)}\n`);
};

/** The expectation to store, from the options; usage mistakes are ConfigErrors (exit 2). */
function inputOf(opts: ExpectOpts): { input: ExpectationInput; from: string; freqtrade?: string } {
  if ((opts.freqtrade === undefined) === (opts.file === undefined))
    throw new ConfigError(
      'give the backtest with --freqtrade <result .json/.zip or folder> or --file <expectation.json>, one of them',
    );
  let fee: number | undefined;
  if (opts.feePerTrade !== undefined) {
    fee = Number(opts.feePerTrade);
    if (opts.feePerTrade.trim() === '' || !Number.isFinite(fee) || fee < 0)
      throw new ConfigError(`--fee-per-trade must be a number ≥ 0 in the quote currency (got "${opts.feePerTrade}")`);
  }
  if (opts.note !== undefined && opts.note.length > 1000)
    throw new ConfigError('--note must be at most 1000 characters');
  if (opts.freqtrade !== undefined) {
    if (opts.freqtradeStrategy !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.freqtradeStrategy))
      throw new ConfigError(
        '--freqtrade-strategy must be the strategy class name of the backtest, e.g. SampleStrategy',
      );
    const bt = readFreqtradeBacktest(opts.freqtrade, opts.freqtradeStrategy);
    const source = `freqtrade ${basename(bt.file.split(':')[0])} (${bt.strategy})`;
    try {
      const input = expectationFromTrades(bt.trades, { period: bt.period, feePerTrade: fee, source, note: opts.note });
      const r = bt.reported;
      const reported =
        r.totalTrades !== undefined
          ? `Freqtrade reported ${r.totalTrades} trades${r.tradesPerDay !== undefined ? `, ${r.tradesPerDay} a day` : ''}${r.maxDrawdownAbs !== undefined ? `, max drawdown ${fmt(r.maxDrawdownAbs)}${bt.stakeCurrency ? ` ${bt.stakeCurrency}` : ''}` : ''}`
          : undefined;
      return { input, from: source, freqtrade: reported };
    } catch (err) {
      throw new ConfigError(`${bt.file}: ${(err as Error).message}`);
    }
  }
  const file = opts.file as string;
  let body: unknown;
  try {
    body = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`--file ${file}: ${(err as Error).message}`);
  }
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const b = body as Record<string, unknown>;
    if (fee !== undefined) b.fee_per_trade = fee;
    if (opts.note !== undefined) b.note = opts.note;
    b.source ??= basename(file);
  }
  try {
    return { input: validateExpectation(body, 'wire', Date.now()), from: basename(file) };
  } catch (err) {
    if (err instanceof ValidationError)
      throw new ConfigError(
        `--file ${file} is not a valid expectation: ${err.details.slice(0, 5).map(formatDetail).join('; ')}`,
      );
    throw err;
  }
}

export function paramsExpect(label: string, opts: ExpectOpts): void {
  needStrategy(opts.strategy);
  const { input, from, freqtrade } = inputOf(opts);
  withLedger(
    opts.db,
    (ledger) => {
      const strategy = knownStrategy(ledger, opts.strategy);
      const v = version(ledger, strategy, label);
      const r = ledger.expectations.set(strategy, v.version, input, Date.now());
      if (opts.json)
        return print({
          strategy,
          param_version: versionLabel(v.version),
          created: r.created,
          expectation: expectationJson(r.record),
        });
      print(
        r.created
          ? `expectation of ${versionLabel(v.version)} (${strategy}) stored from ${from}${r.record.previous ? ` (replaces the earlier one, which is kept)` : ''}:`
          : `${versionLabel(v.version)} (${strategy}) already has this expectation: nothing stored`,
      );
      print(describe(r.record));
      if (freqtrade) print(`  ${freqtrade}`);
    },
    false,
  );
}

export function paramsExpectation(label: string, opts: { db?: string; strategy?: string; json?: boolean }): void {
  needStrategy(opts.strategy);
  withLedger(opts.db, (ledger) => {
    const strategy = knownStrategy(ledger, opts.strategy);
    const v = version(ledger, strategy, label);
    const e = ledger.expectations.latest(strategy, v.version);
    if (!e)
      throw new ConfigError(
        `${versionLabel(v.version)} of ${strategy} has no expectation: record one with edgewatch params expect ${versionLabel(v.version)} --strategy ${strategy} --freqtrade <result>`,
      );
    if (opts.json) return print({ strategy, param_version: versionLabel(v.version), expectation: expectationJson(e) });
    print(
      `expectation of ${versionLabel(v.version)} (${strategy}), from ${e.source ?? 'an unnamed source'}, recorded ${new Date(e.createdMs).toISOString()}:`,
    );
    print(describe(e));
  });
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

/** The expectation in a few indented lines. */
export function describe(e: ExpectationRecord): string {
  const s = e.summary;
  const days =
    s.periodStartMs !== null && s.periodEndMs !== null
      ? ` over ${fmt((s.periodEndMs - s.periodStartMs) / 86_400_000)} days`
      : '';
  const lines = [`  ${s.trades} trades${days}, ${fmt(s.tradesPerDay)} a day`];
  if (s.pnl) lines.push(`  PnL per trade ${fmt(s.pnl.mean)} (sd ${fmt(s.pnl.sd)})`);
  if (s.ret)
    lines.push(`  return per trade ${(s.ret.mean * 100).toPrecision(3)}% (sd ${(s.ret.sd * 100).toPrecision(3)}%)`);
  const more = [
    s.winRatio !== null ? `win ratio ${(s.winRatio * 100).toFixed(1)}%` : '',
    s.maxDrawdown !== null ? `max drawdown ${fmt(s.maxDrawdown)}` : '',
    s.feePerTrade !== null ? `fee per trade ${fmt(s.feePerTrade)}` : '',
    s.inflation > 1 ? `variance inflation ${s.inflation.toFixed(2)}` : '',
  ].filter(Boolean);
  if (more.length) lines.push(`  ${more.join(', ')}`);
  if (e.outcomes)
    lines.push(
      `  ${e.outcomes} trade outcomes kept${e.outcomesDropped ? ` (${e.outcomesDropped} older ones summarised only)` : ''}`,
    );
  return lines.join('\n');
}
