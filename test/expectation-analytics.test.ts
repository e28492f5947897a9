// Live against expected, the statistics alone (src/analytics/expectation.ts, poisson.ts),
// against hand-worked values and against independent formulas.
import assert from 'node:assert/strict';
import test from 'node:test';
import type { BacktestSummary } from '../src/analytics/backtest.js';
import {
  compareWithExpectation,
  expectationFoldAdd,
  expectationFoldStart,
  knownCusumAdd,
  knownCusumResidual,
  knownCusumStart,
  outcomeDifference,
  tradeRate,
} from '../src/analytics/expectation.js';
import { gammaP, poissonCdf, poissonSf } from '../src/analytics/poisson.js';

const close = (a: number, b: number | undefined, eps = 1e-12) =>
  assert.ok(b !== undefined && Math.abs(a - b) <= eps * Math.max(1, Math.abs(a)), `expected ${a}, got ${b}`);
const Z = 1.959963984540054;
const HOUR = 3_600_000;

test('Poisson tails match hand-worked values and a direct sum at large counts', () => {
  const e2 = Math.exp(-2);
  close(e2, poissonCdf(0, 2));
  close(3 * e2, poissonCdf(1, 2));
  close(1 - 5 * e2, poissonSf(3, 2));
  assert.equal(poissonSf(0, 2), 1);
  assert.equal(poissonCdf(0, 0), 1);
  assert.equal(poissonSf(1, 0), 0);
  // A direct sum of the terms in log space, P(X ≤ k) at λ = 1000 and 5000.
  const direct = (k: number, lambda: number) => {
    let logTerm = -lambda;
    let s = Math.exp(logTerm);
    for (let i = 1; i <= k; i++) {
      logTerm += Math.log(lambda / i);
      s += Math.exp(logTerm);
    }
    return s;
  };
  for (const [k, lambda] of [
    [1000, 1000],
    [930, 1000],
    [5200, 5000],
  ])
    close(direct(k, lambda), poissonCdf(k, lambda), 1e-10);
  close(1 - direct(999, 1000), poissonSf(1000, 1000), 1e-10);
  // P(1, x) = 1 − e^−x.
  close(1 - Math.exp(-0.7), gammaP(1, 0.7));
  close(1 - Math.exp(-30), gammaP(1, 30));
});

test('the known-reference CUSUM matches hand-worked nats, clips outliers, and a wider spell raises its scale', () => {
  // Reference mean 1, sd 2, no recent scale (half-life 0): r = (x - 1)/2.
  const s = knownCusumStart({ mean: 1, sd: 2 }, 1, [0.5, 1], 0);
  knownCusumAdd(s, -1); // r = -1: W(0.5) = 0.5 (1 - 0.25) = 0.375, W(1) = 1 - 0.5 = 0.5
  assert.deepEqual(s.llr, [0.375, 0.5]);
  knownCusumAdd(s, -3); // r = -2: + 0.5 (2 - 0.25) = 0.875, + (2 - 0.5) = 1.5
  assert.deepEqual(s.llr, [1.25, 2]);
  knownCusumAdd(s, 5); // r = 2: + 0.5 (-2 - 0.25) = -1.125, + (-2.5): floored at 0
  assert.deepEqual(s.llr, [0.125, 0]);
  knownCusumAdd(s, -100); // r clipped to -4: + 0.5 (4 - 0.25) = 1.875, + 3.5
  assert.deepEqual(s.llr, [2, 3.5]);
  // The inflation divides residuals by √f: f = 4 halves them.
  const f = knownCusumStart({ mean: 1, sd: 2 }, 4, [1], 0);
  close(-0.5, knownCusumResidual(f, -1));
  // With the recent scale (half-life 10): the exponentially weighted variance follows
  // v ← (1 − α)(v + α e²), e = x − m, m ← m + α e, from m = 1, v = 4; the residual's scale is
  // max(2, √v). Trades of ±6 around 1 double the spread: the scale rises above 2.
  const w = knownCusumStart({ mean: 1, sd: 2 });
  const alpha = 1 - 2 ** (-1 / 10);
  let m = 1;
  let v = 4;
  for (let i = 0; i < 30; i++) {
    const x = i % 2 ? 7 : -5;
    close((x - 1) / Math.max(2, Math.sqrt(v)), knownCusumResidual(w, x), 1e-12);
    knownCusumAdd(w, x);
    const e = x - m;
    m += alpha * e;
    v = (1 - alpha) * (v + alpha * e * e);
  }
  assert.ok(Math.sqrt(v) > 5, `the scale follows the spread (${Math.sqrt(v)})`);
  assert.ok(Math.max(...w.llr) < 10, 'wider trades with the same mean stay under the line');
});

test('the difference and its 95% interval count both samples; one trade uses the expected sd', () => {
  // Live 0, 2, 4, 6: mean 3, m2 20, sd √(20/3) > 2. Expected mean 5, sd 2, 100 backtest trades.
  const live = { n: 4, mean: 3, m2: 20 };
  const se = Math.sqrt(20 / 3 / 4 + 4 / 100);
  const d = outcomeDifference(live, { mean: 5, sd: 2 }, 100);
  close(-2, d?.value);
  close(-2 - Z * se, d?.lower);
  close(-2 + Z * se, d?.upper);
  close(-2 / se, d?.z);
  // One trade: the expected sd stands in for the live one; f = 2 doubles the variance.
  const one = outcomeDifference({ n: 1, mean: 1, m2: 0 }, { mean: 5, sd: 2 }, 100, 2);
  close(-4 - Z * Math.sqrt(2 * (4 + 4 / 100)), one?.lower);
  assert.equal(outcomeDifference({ n: 0, mean: 0, m2: 0 }, { mean: 5, sd: 2 }, 100), undefined);
});

test('the trade rate against the backtest: ratio and both Poisson tails', () => {
  // 10 a day for 12 hours: 5 expected, 2 seen.
  const r = tradeRate(2, 10, 12 * HOUR);
  close(5, r.expected);
  close(0.4, r.ratio);
  close(Math.exp(-5) * (1 + 5 + 12.5), r.pFewer);
  close(1 - 6 * Math.exp(-5), r.pMore);
  const start = tradeRate(0, 10, 0);
  assert.equal(start.ratio, undefined, 'nothing expected yet: no ratio');
  assert.equal(tradeRate(3, 10, 2 * HOUR).ratio, undefined, 'under one trade expected: no ratio');
  close(3, tradeRate(3, 10, 2.4 * HOUR).ratio);
  assert.equal(start.pFewer, 1);
});

const EXPECTED: BacktestSummary = {
  trades: 100,
  tradesPerDay: 4,
  pnl: { mean: 1, sd: 2 },
  ret: { mean: 0.01, sd: 0.02 },
  winRatio: 0.55,
  maxDrawdown: 10,
  feePerTrade: 0.1,
  periodStartMs: null,
  periodEndMs: null,
  inflation: 1,
};

test('a run against its expectation: returns while every trade has a notional, drawdown, costs against edge', () => {
  const f = expectationFoldStart(EXPECTED);
  const direct = knownCusumStart({ mean: 0.01, sd: 0.02 });
  for (const [pnl, notional] of [
    [-1, 100],
    [3, 100],
    [-4, 100],
  ]) {
    expectationFoldAdd(f, pnl, 0.3, notional);
    knownCusumAdd(direct, pnl / notional);
  }
  // 12 hours after the deploy, 2 trades expected.
  let c = compareWithExpectation(f, EXPECTED, 12 * HOUR);
  assert.equal(c.outcome, 'return');
  assert.equal(c.trades, 3);
  close(-0.02 / 3, c.live?.mean); // (-0.01 + 0.03 - 0.04) / 3
  close(-0.02 / 3 - 0.01, c.difference?.value);
  assert.deepEqual(
    c.cusum?.map((x) => x.llr),
    direct.llr,
  );
  close(1.5, c.rate.ratio);
  // Cumulative -1, 2, -2: the fall from 2 to -2 against the backtest's 10.
  assert.equal(c.drawdown.live, 4);
  close(0.4, c.drawdown.ratio);
  // Fees 0.3 a trade against 0.1 assumed; PnL -2/3 a trade against 1: net -5/3, of which
  // 0.2 is costs and -5/3 + 0.2 the edge before fees.
  close(0.2, c.costs?.costs);
  close(-5 / 3, c.costs?.net);
  close(-5 / 3 + 0.2, c.costs?.edge);
  // A trade without a notional: the returns stop, the comparison reads PnL from the start of the run.
  expectationFoldAdd(f, 2, 0.3, null);
  c = compareWithExpectation(f, EXPECTED, 12 * HOUR);
  assert.equal(c.outcome, 'pnl');
  close(0, c.live?.mean); // (-1 + 3 - 4 + 2) / 4
  close(-1, c.difference?.value);
  const pnlOnly = knownCusumStart({ mean: 1, sd: 2 });
  for (const x of [-1, 3, -4, 2]) knownCusumAdd(pnlOnly, x);
  assert.deepEqual(
    c.cusum?.map((x) => x.llr),
    pnlOnly.llr,
  );
  // Without fees on live trades there is no split; without PnL nor returns no outcome.
  const g = expectationFoldStart(EXPECTED);
  expectationFoldAdd(g, 1, 0, null);
  assert.equal(compareWithExpectation(g, EXPECTED, HOUR).costs, undefined);
  const returnsOnly = { ...EXPECTED, pnl: null };
  const h = expectationFoldStart(returnsOnly);
  expectationFoldAdd(h, 1, 0, null);
  const none = compareWithExpectation(h, returnsOnly, HOUR);
  assert.equal(none.outcome, null);
  assert.equal(none.cusum, undefined);
  close(4 / 24, none.rate.expected); // 4 a day, for an hour
});
