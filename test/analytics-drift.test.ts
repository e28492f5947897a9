// Drift statistics (docs/statistics.md, "Drift"): Welch z on pnl per trade, pooled two-proportion z
// on the win ratio, and the minimum-sample rule, on hand-worked examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Agg, addTrade, empty } from '../src/analytics/aggregate.js';
import { drift, twoProportionZ, welchZ } from '../src/analytics/drift.js';

function aggOf(pnls: number[]): Agg {
  const a = empty();
  for (const p of pnls) addTrade(a, p, 0);
  return a;
}

const repeat = (value: number, times: number): number[] => Array.from({ length: times }, () => value);

// Example W, by hand.
//   recent 2, 4, 6: n 3, mean 4, m2 = 4 + 0 + 4 = 8, variance 8/2 = 4
//   baseline 1, 1, 3, 3: n 4, mean 2, m2 = 1 + 1 + 1 + 1 = 4, variance 4/3
//   var_r/n_r + var_b/n_b = 4/3 + (4/3)/4 = 4/3 + 1/3 = 5/3
//   z = (4 - 2) / √(5/3) = 2 √(3/5) = √2.4 = 1.5491933384829668
const W_RECENT = aggOf([2, 4, 6]);
const W_BASELINE = aggOf([1, 1, 3, 3]);

test('Welch z matches the hand-worked example and flips sign when the sides swap', () => {
  const z = welchZ(W_RECENT, W_BASELINE)!;
  assert.ok(Math.abs(z - Math.sqrt(2.4)) < 1e-12, `z = ${z}`);
  assert.ok(Math.abs(z - 1.5491933384829668) < 1e-12);
  assert.ok(Math.abs(welchZ(W_BASELINE, W_RECENT)! + z) < 1e-12);
});

test('Welch z is undefined with fewer than 2 trades a side or no variance at all', () => {
  assert.equal(welchZ(aggOf([5]), W_BASELINE), undefined);
  assert.equal(welchZ(W_RECENT, aggOf([5])), undefined);
  assert.equal(welchZ(empty(), empty()), undefined);
  assert.equal(welchZ(aggOf([1, 1, 1]), aggOf([2, 2])), undefined); // denominator 0
  // One side constant is fine: only var_b/n_b remains. recent 1, 1, 1 (mean 1, var 0),
  // baseline 0, 2, 4 (mean 2, var (4 + 0 + 4)/2 = 4): z = (1 - 2) / √(4/3) = -√3/2.
  assert.ok(Math.abs(welchZ(aggOf([1, 1, 1]), aggOf([0, 2, 4]))! + Math.sqrt(3) / 2) < 1e-12);
});

// Example P, by hand. recent: 6 wins of 10, baseline: 12 wins of 30.
//   p_r = 0.6, p_b = 0.4, pooled p = 18/40 = 0.45
//   p(1-p)(1/n_r + 1/n_b) = 0.45 · 0.55 · (1/10 + 1/30) = 0.2475 · 4/30 = 0.033
//   z = (0.6 - 0.4) / √0.033 = 0.2 / 0.18165902... = 1.1009637651263606
const P_RECENT = aggOf([...repeat(1, 6), ...repeat(-1, 4)]);
const P_BASELINE = aggOf([...repeat(1, 12), ...repeat(-1, 18)]);

test('pooled two-proportion z matches the hand-worked example', () => {
  const z = twoProportionZ(P_RECENT, P_BASELINE)!;
  assert.ok(Math.abs(z - 0.2 / Math.sqrt(0.033)) < 1e-12, `z = ${z}`);
  assert.ok(Math.abs(z - 1.1009637651263606) < 1e-12);
  assert.ok(Math.abs(twoProportionZ(P_BASELINE, P_RECENT)! + z) < 1e-12);
});

test('two-proportion z counts flat trades as non-wins', () => {
  // recent 1, 0, 0, 0: 1 win of 4 (p_r = .25); baseline 1, 1, -1, 0: 2 of 4 (p_b = .5).
  // pooled 3/8; 3/8 · 5/8 · (1/4 + 1/4) = 15/128; z = -0.25 / √(15/128) = -0.7302967433402214
  const z = twoProportionZ(aggOf([1, 0, 0, 0]), aggOf([1, 1, -1, 0]))!;
  assert.ok(Math.abs(z - -0.25 / Math.sqrt(15 / 128)) < 1e-12, `z = ${z}`);
});

test('two-proportion z is undefined for an empty side or a pooled ratio of 0 or 1', () => {
  assert.equal(twoProportionZ(empty(), P_BASELINE), undefined);
  assert.equal(twoProportionZ(P_RECENT, empty()), undefined);
  assert.equal(twoProportionZ(aggOf([1, 2]), aggOf([3])), undefined); // p = 1
  assert.equal(twoProportionZ(aggOf([-1, 0]), aggOf([0])), undefined); // p = 0
});

test('drift is absent below minTrades on either side and present at exactly minTrades', () => {
  // recent n = 10, baseline n = 30 (Example P).
  // Welch part: recent mean 0.2, m2 = 6·0.8² + 4·1.2² = 3.84 + 5.76 = 9.6, variance 9.6/9;
  // baseline mean -0.2, m2 = 12·1.2² + 18·0.8² = 17.28 + 11.52 = 28.8, variance 28.8/29;
  // z = 0.4 / √(9.6/9/10 + 28.8/29/30) = 0.4 / √0.1397701 = 1.0699...
  const atMin = drift(P_RECENT, P_BASELINE, 10);
  assert.ok(Math.abs(atMin.pnl_per_trade! - 0.4 / Math.sqrt(9.6 / 9 / 10 + 28.8 / 29 / 30)) < 1e-12);
  assert.ok(Math.abs(atMin.pnl_per_trade! - 1.0699) < 1e-4);
  assert.ok(Math.abs(atMin.win_ratio! - 0.2 / Math.sqrt(0.033)) < 1e-12);
  assert.deepStrictEqual(drift(P_RECENT, P_BASELINE, 11), {}); // recent 10 < 11
  assert.deepStrictEqual(drift(P_BASELINE, P_RECENT, 11), {}); // baseline 10 < 11
  assert.deepStrictEqual(Object.keys(drift(P_RECENT, P_BASELINE, 0)).sort(), ['pnl_per_trade', 'win_ratio']);
});

test('drift leaves out (no key) a statistic that is undefined even above minTrades', () => {
  // All wins on both sides: win-ratio z undefined (p = 1); the pnl z still exists.
  const d = drift(aggOf([1, 2, 3]), aggOf([2, 2, 5]), 3);
  assert.ok(!('win_ratio' in d));
  assert.equal(typeof d.pnl_per_trade, 'number');
  // Both present: recent 1, 1, -1, -1 (mean 0, m2 4, var 4/3); baseline 1, -1, -1, -1
  // (mean -0.5, m2 1.5² + 3·0.5² = 3, var 1): z = 0.5 / √(4/3/4 + 1/4) = 0.5 / √(7/12).
  const c = drift(aggOf([1, 1, -1, -1]), aggOf([1, -1, -1, -1]), 4);
  assert.ok(Math.abs(c.pnl_per_trade! - 0.5 / Math.sqrt(7 / 12)) < 1e-12);
  assert.ok('win_ratio' in c);
  // Constant pnl 0 on both sides: Welch undefined (no variance), win ratio undefined (p = 0).
  const flat = drift(aggOf([0, 0, 0]), aggOf([0, 0, 0]), 3);
  assert.deepStrictEqual(flat, {});
  // Constant but different win ratios: Welch undefined, win ratio present.
  const wr = drift(aggOf([1, 1, 1]), aggOf([-1, -1, -1]), 3);
  assert.deepStrictEqual(Object.keys(wr), ['win_ratio']);
});

test('a decaying recent window gives negative drift (the direction the alerts test)', () => {
  const baseline = aggOf([...repeat(2, 30), ...repeat(-1, 20)]);
  const recent = aggOf([...repeat(2, 8), ...repeat(-1, 22)]);
  const d = drift(recent, baseline, 20);
  assert.ok(d.pnl_per_trade! < 0);
  assert.ok(d.win_ratio! < 0);
});

test('a variance inflation f divides each z by √f (both variances of the z times f); per statistic, and never below 1', () => {
  // Example W: z = √2.4; with f = 4 every variance is 4x, z = √2.4 / 2. The win ratios of
  // example W: recent 3 of 3, baseline 4 of 4 wins give no z (pooled ratio 1), so the
  // two-proportion example P is used for the win ratio.
  const plain = drift(W_RECENT, W_BASELINE, 2);
  const inflated = drift(W_RECENT, W_BASELINE, 2, 4);
  assert.ok(Math.abs(inflated.pnl_per_trade! - Math.sqrt(2.4) / 2) < 1e-12);
  assert.equal(plain.win_ratio, undefined);
  assert.equal(inflated.win_ratio, undefined);
  const p = drift(P_RECENT, P_BASELINE, 1, { win: 2.25 });
  assert.ok(Math.abs(p.win_ratio! - 0.2 / Math.sqrt(0.033) / 1.5) < 1e-12);
  assert.equal(p.pnl_per_trade, drift(P_RECENT, P_BASELINE, 1).pnl_per_trade, 'no pnl inflation given: unchanged');
  // Omitted, 1, below 1 or not finite: the independent-trades statistic.
  for (const f of [undefined, 1, 0.5, 0, -3, Number.NaN, Number.POSITIVE_INFINITY])
    assert.deepEqual(drift(W_RECENT, W_BASELINE, 2, f), plain, `f = ${f}`);
});
