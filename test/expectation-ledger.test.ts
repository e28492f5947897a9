// Expectations of parameter versions: the validation (src/model/expectation.ts), the summary
// of a backtest's trades (src/analytics/backtest.ts) against hand-worked values, and the
// ledger's table (src/ledger/expectations.ts) on real SQLite files.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { maxDrawdown, meanSd, summarizeBacktest, varianceInflation } from '../src/analytics/backtest.js';
import { NotFoundError, ValidationError } from '../src/errors.js';
import { Ledger, SCHEMA_VERSION } from '../src/ledger/index.js';
import { MAX_OUTCOMES, expectationFromTrades, validateExpectation } from '../src/model/expectation.js';
import { tempDir } from './support/tmp.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 2, 1, 12);
const T0 = Date.UTC(2025, 0, 1);
const close = (a: number, b: number | null | undefined, eps = 1e-12) =>
  assert.ok(b != null && Math.abs(a - b) <= eps * Math.max(1, Math.abs(a)), `expected ${a}, got ${b}`);

/** Six times the block 10, -5, 20, -15, 5: 30 trades, one every 2.4 hours from T0 (12 days). */
const PATTERN = [10, -5, 20, -15, 5];
const wireTrades = (n = 30) =>
  Array.from({ length: n }, (_, i) => ({ pnl: PATTERN[i % 5], closed_at: T0 + (i + 1) * 0.1 * DAY, fees: 0.5 }));

function detailsOf(fn: () => unknown): Array<{ path: string; message: string; index?: number }> {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, `a ValidationError, got ${String(err)}`);
    return err.details;
  }
  assert.fail('no error');
}

test('the summary of a backtest matches hand-worked values: mean, sd, win ratio, drawdown, rate, fee, inflation', () => {
  // 10, -5, 20, -15, 5: mean 3, deviations 7, -8, 17, -18, 2, squares sum 730, sd √(730/4).
  close(3, meanSd(PATTERN).mean);
  close(Math.sqrt(730 / 4), meanSd(PATTERN).sd);
  // Cumulative 10, 5, 25, 10, 15: the fall from 25 to 10.
  assert.equal(maxDrawdown(PATTERN), 15);
  assert.equal(maxDrawdown([-3, -4, 2]), 7, 'the running sum starts at 0: a first loss is a drawdown');
  // Thirty trades: Σ squared deviations 6 · 730 = 4380 over 29; 3 wins in 5; 30 trades over 3 days.
  const s = summarizeBacktest(
    Array.from({ length: 30 }, (_, i) => ({
      pnl: PATTERN[i % 5],
      ret: null,
      fees: 0.5,
      openedMs: null,
      closedMs: T0 + (i * DAY) / 10,
    })),
    { startMs: T0, endMs: T0 + 3 * DAY },
  );
  close(3, s.pnl?.mean);
  close(Math.sqrt(4380 / 29), s.pnl?.sd);
  close(0.6, s.winRatio);
  assert.equal(s.maxDrawdown, 15);
  close(10, s.tradesPerDay);
  close(0.5, s.feePerTrade);
  assert.equal(s.ret, null, 'no return without a return on every trade');
});

test('the variance inflation of a backtest matches Bartlett by hand: runs of one sign inflate, alternation does not', () => {
  // 1, 1, 1, -1, -1, -1: mean 0, L = min(200, 6/3, 5) = 2; γ0 = 1, γ1 = 3/6, γ2 = 0;
  // 1 + 2 (2/3 · 1/2 + 1/3 · 0) = 5/3.
  close(5 / 3, varianceInflation([1, 1, 1, -1, -1, -1]));
  // Alternating: γ1 = -5/6, γ2 = 4/6, 1 + 2 (2/3 · -5/6 + 1/3 · 4/6) = 1/3, floored at 1.
  assert.equal(varianceInflation([1, -1, 1, -1, 1, -1]), 1);
  assert.equal(varianceInflation([4, 4, 4, 4]), 1, 'no variance: nothing to inflate');
});

test('an expectation from a trade list orders trades by close, keeps outcomes and summarises them all', () => {
  const body = { trades: [...wireTrades()].reverse(), source: 'backtest 2025-01' };
  const e = validateExpectation(body, 'wire', NOW);
  assert.equal(e.summary.trades, 30);
  close(3, e.summary.pnl?.mean);
  // The period runs from the first close to the last: 0.1 to 3.0 days, 2.9 days.
  close(30 / 2.9, e.summary.tradesPerDay);
  assert.equal(e.summary.maxDrawdown, 15, 'in close order, not in the reversed order sent');
  assert.deepEqual(
    e.outcomes?.slice(0, 5).map((o) => o.pnl),
    PATTERN,
  );
  assert.equal(e.source, 'backtest 2025-01');
  // An import longer than the cap keeps the newest MAX_OUTCOMES and summarises all.
  const long = Array.from({ length: MAX_OUTCOMES + 5 }, (_, i) => ({
    pnl: i < 5 ? 1000 : PATTERN[i % 5],
    ret: null,
    fees: null,
    openedMs: null,
    closedMs: T0 + i * 60_000,
  }));
  const big = expectationFromTrades(long);
  assert.equal(big.outcomes?.length, MAX_OUTCOMES);
  assert.equal(big.outcomesDropped, 5);
  assert.equal(big.summary.trades, MAX_OUTCOMES + 5);
  assert.ok(!big.outcomes?.some((o) => o.pnl === 1000), 'the oldest five were dropped');
});

test('a summary is taken as sent; trades per day may come from the period', () => {
  const e = validateExpectation(
    {
      summary: { trades: 120, pnl_mean: 1.5, pnl_sd: 10, win_ratio: 0.55, max_drawdown: 80 },
      period_start: '2025-01-01T00:00:00Z',
      period_end: '2025-01-31T00:00:00Z',
      fee_per_trade: 0.2,
    },
    'wire',
    NOW,
  );
  close(4, e.summary.tradesPerDay); // 120 trades in 30 days
  assert.deepEqual(e.summary.pnl, { mean: 1.5, sd: 10 });
  assert.equal(e.summary.ret, null);
  assert.equal(e.summary.feePerTrade, 0.2);
  assert.equal(e.summary.inflation, 1);
  assert.equal(e.outcomes, null);
  const sdk = validateExpectation(
    { summary: { trades: 40, tradesPerDay: 2, returnMean: 0.001, returnSd: 0.01 } },
    'sdk',
    NOW,
  );
  assert.deepEqual(sdk.summary.ret, { mean: 0.001, sd: 0.01 });
});

test('bad expectations are refused with every problem named by its path', () => {
  assert.deepEqual(
    detailsOf(() => validateExpectation({ summary: {}, trades: [] }, 'wire', NOW)).map((d) => d.path),
    ['trades'],
  );
  const d = detailsOf(() =>
    validateExpectation(
      { summary: { trades: 12, pnl_mean: 1, win_ratio: 1.5, max_drawdown: -1, pnl_sdev: 2 } },
      'wire',
      NOW,
    ),
  );
  assert.deepEqual(d.map((x) => x.path).sort(), [
    'summary.max_drawdown',
    'summary.pnl_sd',
    'summary.pnl_sdev',
    'summary.trades',
    'summary.trades_per_day',
    'summary.win_ratio',
  ]);
  assert.match(d.find((x) => x.path === 'summary.trades')?.message ?? '', /at least 30/);
  assert.match(d.find((x) => x.path === 'summary.pnl_sdev')?.message ?? '', /unknown field/);
  assert.match(
    detailsOf(() => validateExpectation({ summary: { trades: 40, trades_per_day: 1 } }, 'wire', NOW))[0].message,
    /mean and sd of PnL per trade/,
  );
  assert.match(
    detailsOf(() =>
      validateExpectation({ summary: { trades: 40, trades_per_day: 1, pnl_mean: 1, pnl_sd: 0 } }, 'wire', NOW),
    )[0].message,
    /greater than 0/,
  );
  // Trade lists: too short, a bad item (with its index), mixed returns, no times and no period.
  assert.match(detailsOf(() => validateExpectation({ trades: wireTrades(29) }, 'wire', NOW))[0].message, /30 to 10000/);
  const bad = wireTrades();
  (bad[3] as Record<string, unknown>).pnl = '12';
  (bad[7] as Record<string, unknown>).closed_at = NOW + DAY;
  assert.deepEqual(
    detailsOf(() => validateExpectation({ trades: bad }, 'wire', NOW)).map((x) => [x.index, x.path]),
    [
      [3, 'pnl'],
      [7, 'closed_at'],
    ],
  );
  const mixed = wireTrades().map((t, i) => (i < 10 ? { ...t, return: 0.01 } : t));
  assert.match(
    detailsOf(() => validateExpectation({ trades: mixed }, 'wire', NOW))[0].message,
    /every trade or for none \(10 of 30/,
  );
  const untimed = wireTrades().map((t) => ({ pnl: t.pnl }));
  assert.equal(detailsOf(() => validateExpectation({ trades: untimed }, 'wire', NOW))[0].path, 'period_start');
  const flat = wireTrades().map((t) => ({ ...t, pnl: 1 }));
  assert.match(detailsOf(() => validateExpectation({ trades: flat }, 'wire', NOW))[0].message, /same PnL/);
  assert.equal(
    detailsOf(() =>
      validateExpectation(
        { summary: { trades: 40 }, period_start: '2025-02-01T00:00:00Z', period_end: '2025-01-01T00:00:00Z' },
        'wire',
        NOW,
      ),
    )[0].path,
    'period_end',
  );
});

test('the ledger keeps every expectation of a version, the newest in force; a resend stores nothing', (t) => {
  const l = Ledger.open(join(tempDir(t), 'e.db'));
  t.after(() => l.close());
  assert.equal(l.schemaVersion(), SCHEMA_VERSION);
  l.deployParams('s', { x: 1 }, {}, T0);
  const input = validateExpectation({ trades: wireTrades(), fee_per_trade: 0.25, note: 'first' }, 'wire', NOW);
  const a = l.expectations.set('s', 1, input, NOW);
  assert.equal(a.created, true);
  assert.equal(a.record.previous, 0);
  assert.equal(a.record.outcomes, 30);
  assert.equal(a.record.summary.feePerTrade, 0.25, "the fee given wins over the trades' mean fee");
  const again = l.expectations.set(
    's',
    1,
    validateExpectation({ trades: wireTrades(), fee_per_trade: 0.25, note: 'first' }, 'wire', NOW),
    NOW + 1,
  );
  assert.equal(again.created, false);
  assert.equal(again.record.seq, a.record.seq);
  const stamp = l.expectations.stamp();
  const b = l.expectations.set(
    's',
    1,
    validateExpectation({ summary: { trades: 50, trades_per_day: 3, pnl_mean: 2, pnl_sd: 9 } }, 'wire', NOW),
    NOW + 2,
  );
  assert.equal(b.created, true);
  assert.ok(l.expectations.stamp() > stamp);
  const latest = l.expectations.latest('s', 1);
  assert.equal(latest?.seq, b.record.seq);
  assert.equal(latest?.previous, 1, 'the first one is kept');
  assert.equal(latest?.outcomes, 0);
  assert.deepEqual(
    l.expectations
      .outcomes(a.record.seq)
      .slice(0, 5)
      .map((o) => o.pnl),
    PATTERN,
  );
  assert.equal(l.expectations.latest('s', 2), undefined);
  assert.throws(
    () => l.expectations.set('s', 2, input, NOW),
    (e: Error) => e instanceof NotFoundError && /no version v2/.test(e.message),
  );
  assert.throws(() => l.expectations.set('nosuch', 1, input, NOW), NotFoundError);
  assert.equal(l.raw.prepare('SELECT count(*) FROM expectations').pluck().get(), 2, 'the refusals stored nothing');
});

test('a schema-3 ledger gains the expectations table and keeps its rows', (t) => {
  const file = join(tempDir(t), 'old.db');
  const old = Ledger.open(file);
  old.deployParams('s', { x: 1 }, {}, T0);
  old.raw.exec('DROP TABLE expectations; DELETE FROM schema_migrations WHERE version > 3');
  old.close();
  const l = Ledger.open(file);
  t.after(() => l.close());
  assert.equal(l.schemaVersion(), SCHEMA_VERSION);
  assert.equal(l.deploys('s').length, 1);
  assert.equal(
    l.expectations.set('s', 1, validateExpectation({ trades: wireTrades() }, 'wire', NOW), NOW).created,
    true,
  );
});
