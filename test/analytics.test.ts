// The window aggregate and the window statistics of docs/statistics.md, checked against values
// worked out by hand (arithmetic in the comments) and against a naive reference that
// recomputes everything from the raw trade list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Agg,
  EMPTY,
  addTrade,
  combine,
  combineInto,
  comparable,
  empty,
  fold,
  single,
} from '../src/analytics/aggregate.js';
import { STAT_NAMES, sampleVariance, windowStats } from '../src/analytics/stats.js';
import * as analytics from '../src/analytics/index.js';

type Trade = [pnl: number, fees: number];

function aggOf(trades: Trade[]): Agg {
  const a = empty();
  for (const [pnl, fees] of trades) addTrade(a, pnl, fees);
  return a;
}

// Naive reference: straight from the definitions, no monoid. Variance by the two-pass
// formula, drawdown by an O(n²) scan over the cumulative sums P_0 = 0, P_1, ..., P_n.
function naive(trades: Trade[]) {
  const pnls = trades.map(([p]) => p);
  const n = pnls.length;
  const sum = pnls.reduce((s, x) => s + x, 0);
  const mean = n ? sum / n : 0;
  const m2 = pnls.reduce((s, x) => s + (x - mean) ** 2, 0);
  const prefix = [0];
  for (const p of pnls) prefix.push(prefix[prefix.length - 1] + p);
  let maxDrawdown = 0;
  for (let i = 0; i < prefix.length; i++) {
    for (let j = i; j < prefix.length; j++) maxDrawdown = Math.max(maxDrawdown, prefix[i] - prefix[j]);
  }
  return {
    n,
    sum,
    mean,
    m2,
    wins: pnls.filter((p) => p > 0).length,
    grossProfit: pnls.filter((p) => p > 0).reduce((s, x) => s + x, 0),
    grossLoss: pnls.filter((p) => p < 0).reduce((s, x) => s - x, 0),
    fees: trades.reduce((s, [, f]) => s + f, 0),
    maxPrefix: Math.max(...prefix),
    minPrefix: Math.min(...prefix),
    maxDrawdown,
    rn: 0,
    rmean: 0,
    rm2: 0, // no notional in these examples
  };
}

function assertAggClose(actual: Agg, expected: Agg, tol = 1e-9): void {
  assert.equal(actual.n, expected.n, 'n');
  assert.equal(actual.wins, expected.wins, 'wins');
  for (const k of [
    'sum',
    'mean',
    'm2',
    'grossProfit',
    'grossLoss',
    'fees',
    'maxPrefix',
    'minPrefix',
    'maxDrawdown',
  ] as const) {
    const scale = Math.max(1, Math.abs(expected[k]));
    assert.ok(Math.abs(actual[k] - expected[k]) <= tol * scale, `${k}: ${actual[k]} vs ${expected[k]}`);
  }
}

// Example A, by hand. pnl 10, -4, 6, -12, 3; fees 1, 0.5, 1, 2, 0.5.
//   trades 5, wins 3 (10, 6, 3), win_ratio 3/5 = 0.6
//   net_pnl 10 - 4 + 6 - 12 + 3 = 3, pnl_per_trade 3/5 = 0.6
//   gross_profit 10 + 6 + 3 = 19, gross_loss 4 + 12 = 16, profit_factor 19/16 = 1.1875
//   fees 1 + 0.5 + 1 + 2 + 0.5 = 5
//   cumulative 0, 10, 6, 12, 0, 3: peak 12 then 0, max_drawdown 12
//   deviations from 0.6: 9.4, -4.6, 5.4, -12.6, 2.4; squares 88.36 + 21.16 + 29.16 + 158.76
//   + 5.76 = 303.2 (check: Σx² - n·mean² = 305 - 1.8); sample variance 303.2/4 = 75.8
//   sharpe 0.6 / √75.8 = 0.6 / 8.706320 = 0.0689155
const EXAMPLE_A: Trade[] = [
  [10, 1],
  [-4, 0.5],
  [6, 1],
  [-12, 2],
  [3, 0.5],
];

test('window stats of a mixed window match the hand-worked values', () => {
  const s = windowStats(aggOf(EXAMPLE_A));
  assert.equal(s.trades, 5);
  assert.equal(s.win_ratio, 0.6);
  assert.equal(s.net_pnl, 3);
  assert.equal(s.pnl_per_trade, 0.6);
  assert.equal(s.gross_profit, 19);
  assert.equal(s.gross_loss, 16);
  assert.equal(s.profit_factor, 1.1875);
  assert.equal(s.fees, 5);
  assert.equal(s.max_drawdown, 12);
  assert.ok(Math.abs(s.sharpe_ratio! - 0.6 / Math.sqrt(75.8)) < 1e-12, `sharpe ${s.sharpe_ratio}`);
  assert.ok(Math.abs(s.sharpe_ratio! - 0.0689155) < 1e-7);
  assert.ok(Math.abs(sampleVariance(aggOf(EXAMPLE_A))! - 75.8) < 1e-12);
  // No trade carries a notional: every statistic but return_per_trade.
  assert.deepEqual(Object.keys(s).sort(), STAT_NAMES.filter((k) => k !== 'return_per_trade').sort());
});

// Returns on notional, by hand: pnl 10 on 1,000, -4 on 500, 6 without a notional, 3 on 0
// (no return): returns 0.01 and -0.008 over 2 trades; mean 0.001, deviations ±0.009,
// Σ squares 2 · 0.000081 = 0.000162.
test('return_per_trade averages pnl / notional over the trades that carry a notional > 0, and combines like the PnL fields', () => {
  const whole = addTrade(addTrade(addTrade(addTrade(empty(), 10, 0, 1000), -4, 0, 500), 6, 0, null), 3, 0, 0);
  assert.equal(whole.rn, 2);
  assert.ok(Math.abs(whole.rmean - 0.001) < 1e-15);
  assert.ok(Math.abs(whole.rm2 - 0.000162) < 1e-15);
  assert.ok(Math.abs(windowStats(whole).return_per_trade! - 0.001) < 1e-15);
  const parts = combine(addTrade(empty(), 10, 0, 1000), addTrade(addTrade(empty(), -4, 0, 500), 6, 0, null));
  assert.equal(parts.rn, 2);
  assert.ok(Math.abs(parts.rmean - 0.001) < 1e-15 && Math.abs(parts.rm2 - 0.000162) < 1e-15);
});

test('comparable picks the return on notional only when every trade of both samples carries one', () => {
  const sized = (pnl: number, notional: number | null) => addTrade(empty(), pnl, 0, notional);
  // Half the size, the same return: 1 on 1,000 and 0.5 on 500 are both 0.001.
  const big = combine(sized(1, 1000), sized(3, 1000));
  const small = combine(sized(0.5, 500), sized(1.5, 500));
  const c = comparable(small, big);
  assert.equal(c.outcome, 'return');
  assert.equal(c.a.mean, c.b.mean);
  const mixed = combine(small, sized(1, null));
  assert.equal(comparable(mixed, big).outcome, 'pnl');
  assert.equal(comparable(mixed, big).a.mean, mixed.mean);
});

test('an empty window has only trades = 0, no other key at all', () => {
  assert.deepStrictEqual(windowStats(empty()), { trades: 0 });
  assert.deepStrictEqual(windowStats(EMPTY), { trades: 0 });
  assert.deepStrictEqual(Object.keys(windowStats(fold([]))), ['trades']);
  assert.equal(sampleVariance(EMPTY), undefined);
});

test('one trade has every stat but sharpe (n < 2); a losing one has profit factor 0', () => {
  const win = windowStats(single(7, 0.25));
  assert.deepStrictEqual(win, {
    trades: 1,
    win_ratio: 1,
    net_pnl: 7,
    pnl_per_trade: 7,
    gross_profit: 7,
    gross_loss: 0,
    profit_factor: Infinity,
    max_drawdown: 0,
    fees: 0.25,
  });
  assert.ok(!('sharpe_ratio' in win));
  assert.equal(sampleVariance(single(7, 0)), undefined);
  // The prefix fields count P_0 = 0: one win peaks at 7 and never dips, one loss dips to -7.
  assert.deepStrictEqual([single(7, 0).maxPrefix, single(7, 0).minPrefix, single(7, 0).maxDrawdown], [7, 0, 0]);
  assert.deepStrictEqual([single(-7, 0).maxPrefix, single(-7, 0).minPrefix, single(-7, 0).maxDrawdown], [0, -7, 7]);
  const loss = windowStats(single(-7, 0));
  assert.equal(loss.profit_factor, 0); // 0 / 7
  assert.equal(loss.max_drawdown, 7);
  assert.equal(loss.win_ratio, 0);
});

test('all wins: profit factor is +Infinity, drawdown 0', () => {
  // 1, 2, 3: gross_profit 6, gross_loss 0 → +Inf; cumulative 0, 1, 3, 6 never falls.
  // mean 2, deviations -1, 0, 1, m2 = 2, variance 1, sharpe 2/1 = 2.
  const s = windowStats(
    aggOf([
      [1, 0],
      [2, 0],
      [3, 0],
    ]),
  );
  assert.equal(s.profit_factor, Infinity);
  assert.equal(s.gross_loss, 0);
  assert.equal(s.max_drawdown, 0);
  assert.equal(s.win_ratio, 1);
  assert.equal(s.sharpe_ratio, 2);
});

test('flat trades (pnl == 0) count as trades, not wins; profit factor and sharpe absent', () => {
  const s = windowStats(
    aggOf([
      [0, 0.1],
      [0, 0.1],
      [0, 0.1],
    ]),
  );
  assert.deepStrictEqual(s, {
    trades: 3,
    win_ratio: 0,
    net_pnl: 0,
    pnl_per_trade: 0,
    gross_profit: 0,
    gross_loss: 0,
    max_drawdown: 0,
    fees: 0.1 + 0.1 + 0.1,
  });
  // -0 is flat too, and does not leak into net_pnl as -0.
  const negZero = windowStats(single(-0, 0));
  assert.equal(negZero.win_ratio, 0);
  assert.ok(Object.is(negZero.net_pnl, 0));
  // One win among flats: win ratio 1/3, profit factor +Inf (gross_loss 0 < gross_profit).
  const mixed = windowStats(
    aggOf([
      [0, 0],
      [5, 0],
      [0, 0],
    ]),
  );
  assert.equal(mixed.win_ratio, 1 / 3);
  assert.equal(mixed.profit_factor, Infinity);
});

test('drawdown starts from 0 at the window start: a first losing trade is a drawdown', () => {
  // -5, +2: cumulative 0, -5, -3. Largest fall from a running peak: 0 → -5 = 5.
  const a = aggOf([
    [-5, 0],
    [2, 0],
  ]);
  assert.equal(a.maxDrawdown, 5);
  assert.equal(a.maxPrefix, 0);
  assert.equal(a.minPrefix, -5);
  assert.equal(windowStats(a).max_drawdown, 5);
  // -3, +10, -4: cumulative 0, -3, 7, 3: falls 3 (0 → -3) and 4 (7 → 3): 4.
  assert.equal(
    aggOf([
      [-3, 0],
      [10, 0],
      [-4, 0],
    ]).maxDrawdown,
    4,
  );
});

test('a constant series has no sharpe (variance exactly 0), thanks to mean/m2', () => {
  const a = aggOf(Array.from({ length: 10 }, (): Trade => [0.1, 0]));
  assert.equal(a.m2, 0);
  assert.equal(sampleVariance(a), 0);
  assert.ok(!('sharpe_ratio' in windowStats(a)));
  // Combined from buckets, too.
  const b = fold([
    aggOf([
      [0.1, 0],
      [0.1, 0],
      [0.1, 0],
    ]),
    aggOf([
      [0.1, 0],
      [0.1, 0],
    ]),
  ]);
  assert.equal(b.m2, 0);
});

test('variance stays accurate when the mean dwarfs the spread (no Σx² cancellation)', () => {
  // 1e9 + 1, 1e9 + 2, 1e9 + 3, 1e9 + 4: variance of 1, 2, 3, 4 = (2.25 + .25 + .25 + 2.25)/3 = 5/3.
  const xs = [1, 2, 3, 4].map((k) => 1e9 + k);
  const a = fold([
    aggOf([
      [xs[0], 0],
      [xs[1], 0],
    ]),
    aggOf([
      [xs[2], 0],
      [xs[3], 0],
    ]),
  ]);
  assert.ok(Math.abs(sampleVariance(a)! - 5 / 3) < 1e-6, `variance ${sampleVariance(a)}`);
  // What the rejected Σx² bookkeeping would give here (the reason for the decision):
  const sum = xs.reduce((s, x) => s + x, 0);
  const sumSq = xs.reduce((s, x) => s + x * x, 0);
  const naiveVar = (sumSq - (sum * sum) / 4) / 3;
  assert.ok(Math.abs(naiveVar - 5 / 3) > 0.1, `Σx² variance ${naiveVar} happened to be accurate`);
});

test('combine: hand-worked drawdown across the boundary, and order matters', () => {
  // a = +4, -1: cumulative 0, 4, 3; its own drawdown 1. b = -6, +2: 0, -6, -4; drawdown 6.
  // a then b: 0, 4, 3, -3, -1: peak 4 (in a) to trough -3 (in b) = 7 = a.maxPrefix - (a.sum + b.minPrefix) = 4 - (3 - 6).
  // b then a: 0, -6, -4, 0, -1: largest fall 0 → -6 = 6.
  const a = aggOf([
    [4, 0],
    [-1, 0],
  ]);
  const b = aggOf([
    [-6, 0],
    [2, 0],
  ]);
  assert.equal(combine(a, b).maxDrawdown, 7);
  assert.equal(combine(b, a).maxDrawdown, 6);
  assert.equal(combine(a, b).maxPrefix, 4);
  assert.equal(combine(a, b).minPrefix, -3);
  assert.equal(combine(b, a).maxPrefix, 0);
  assert.equal(combine(b, a).minPrefix, -6);
  // Everything else is order-free.
  assert.equal(combine(a, b).sum, combine(b, a).sum);
  assert.equal(combine(a, b).m2, combine(b, a).m2);
  assertAggClose(
    combine(a, b),
    naive([
      [4, 0],
      [-1, 0],
      [-6, 0],
      [2, 0],
    ]),
  );
  assertAggClose(
    combine(b, a),
    naive([
      [-6, 0],
      [2, 0],
      [4, 0],
      [-1, 0],
    ]),
  );
});

test('combine is associative on a hand example and EMPTY is a two-sided identity', () => {
  const a = aggOf(EXAMPLE_A.slice(0, 2));
  const b = aggOf(EXAMPLE_A.slice(2, 3));
  const c = aggOf(EXAMPLE_A.slice(3));
  const left = combine(combine(a, b), c);
  const right = combine(a, combine(b, c));
  assertAggClose(left, right, 1e-12);
  assertAggClose(left, naive(EXAMPLE_A), 1e-12);
  assert.deepStrictEqual(combine(EMPTY, a), a);
  assert.deepStrictEqual(combine(a, EMPTY), a);
  assert.deepStrictEqual(fold([EMPTY, a, EMPTY]), a);
});

test('combine does not mutate its inputs; combineInto mutates and returns the target', () => {
  const a = aggOf([
    [1, 0],
    [-2, 0],
  ]);
  const b = aggOf([[3, 1]]);
  const aCopy = { ...a };
  const bCopy = { ...b };
  const c = combine(a, b);
  assert.deepStrictEqual(a, aCopy);
  assert.deepStrictEqual(b, bCopy);
  const t = { ...a };
  assert.equal(combineInto(t, b), t);
  assert.deepStrictEqual(t, c);
  assert.deepStrictEqual(b, bCopy);
  // Self-combine reads b before writing: x then x. x = 2, -5; x then x: cumulative
  // 0, 2, -3, -1, -6: peak 2 to -6 = 8 (and not 2·x's own 5 or anything from a half-written x).
  const x = aggOf([
    [2, 0],
    [-5, 0],
  ]);
  combineInto(x, x);
  assertAggClose(
    x,
    naive([
      [2, 0],
      [-5, 0],
      [2, 0],
      [-5, 0],
    ]),
    1e-12,
  );
  assert.equal(x.maxDrawdown, 8);
  assert.equal(x.sum, -6);
});

test('addTrade equals combining with single(), bit for bit', () => {
  const viaAdd = empty();
  const viaCombine = empty();
  for (const [p, f] of EXAMPLE_A) {
    addTrade(viaAdd, p, f);
    combineInto(viaCombine, single(p, f));
  }
  assert.deepStrictEqual(viaAdd, viaCombine);
});

test('EMPTY is frozen and empty() is fresh', () => {
  assert.ok(Object.isFrozen(EMPTY));
  assert.throws(() => addTrade(EMPTY, 1, 0), TypeError);
  const e1 = empty();
  addTrade(e1, 1, 0);
  assert.equal(empty().n, 0);
  assert.equal(EMPTY.n, 0);
});

test('a non-finite pnl or fee is refused instead of poisoning the aggregate', () => {
  assert.throws(() => single(NaN, 0), RangeError);
  assert.throws(() => single(Infinity, 0), RangeError);
  assert.throws(() => addTrade(empty(), 1, NaN), RangeError);
});

test('fold of a longer sequence split anywhere equals the naive reference', () => {
  // Deterministic pseudo-random trades (LCG) so a failure reproduces.
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const trades: Trade[] = Array.from({ length: 200 }, () => [
    Math.round((rnd() - 0.48) * 2000) / 100,
    Math.round(rnd() * 50) / 100,
  ]);
  const whole = naive(trades);
  for (const size of [1, 3, 7, 50, 199, 200]) {
    const parts: Agg[] = [];
    for (let i = 0; i < trades.length; i += size) parts.push(aggOf(trades.slice(i, i + size)));
    assertAggClose(fold(parts), whole);
  }
});

test('the index re-exports every part of the module', () => {
  for (const name of [
    'empty',
    'combine',
    'windowStats',
    'welchZ',
    'twoProportionZ',
    'drift',
    'studentTCdf',
    'welchTTest',
    'BucketSeries',
    'bucketStart',
    'BUCKET_MS',
    'STAT_NAMES',
    'EMPTY',
  ]) {
    assert.ok(name in analytics, name);
  }
});
