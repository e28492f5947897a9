// The always-valid p-value (mSPRT) and its confidence sequence, checked against a hand-worked
// case, against the mixture integral evaluated numerically (Simpson's rule on the raw trades'
// two-pass mean and variance, not the aggregate's), and for the properties a user relies on:
// monotone in the evidence, Bonferroni, the bounds at exactly p = α, and the same answer
// whatever the order of the trades folded into one scrape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Agg, addTrade, combine, empty } from '../src/analytics/aggregate.js';
import { msprt } from '../src/analytics/msprt.js';
import { ExperimentFold } from '../src/analytics/msprt-running.js';
import { Rng } from '../bench/detection/model.js';

function aggOf(xs: number[]): Agg {
  const a = empty();
  for (const x of xs) addTrade(a, x, 0);
  return a;
}

function relClose(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1e-300, Math.abs(expected)),
    `${what}: ${actual} vs ${expected} (rel ${Math.abs(actual - expected) / Math.abs(expected)} > ${tol})`,
  );
}

const OPTS = { tau: 0.25, alpha: 0.01, arms: 1 };

/** Two-pass mean and sample variance of raw numbers. */
function meanVar(xs: number[]): { mean: number; variance: number } {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  return { mean, variance: xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1) };
}

/**
 * ln Λ = ln ∫ [φ(Δ; θ, V) / φ(Δ; 0, V)] φ(θ; 0, τ²) dθ by Simpson's rule, in logs (shifted by
 * the integrand's largest exponent), over ±14 posterior standard deviations of θ.
 */
function logLrByIntegral(a: number[], b: number[], tauSd: number): number {
  const A = meanVar(a);
  const B = meanVar(b);
  const V = A.variance / a.length + B.variance / b.length;
  const tau2 = tauSd * tauSd * 0.5 * (A.variance + B.variance);
  const d = A.mean - B.mean;
  const logf = (th: number) =>
    (th * d) / V - (th * th) / (2 * V) - (th * th) / (2 * tau2) - 0.5 * Math.log(2 * Math.PI * tau2);
  const center = (d * tau2) / (V + tau2);
  const sd = Math.sqrt((V * tau2) / (V + tau2));
  const n = 20_000;
  const lo = center - 14 * sd;
  const h = (28 * sd) / n;
  const top = logf(center);
  let s = 0;
  for (let i = 0; i <= n; i++) {
    const w = i === 0 || i === n ? 1 : i % 2 ? 4 : 2;
    s += w * Math.exp(logf(lo + i * h) - top);
  }
  return top + Math.log((s * h) / 3);
}

test('the p-value and bounds of a hand-worked case: Λ = (2√2/3)·e^(1/6)', () => {
  // control 1,2,3,4 (var 5/3), candidate 2,4,6,8 (var 20/3): Δ = 2.5, V = 25/12, τ² = 0.25²·25/6 = 25/96,
  // V/(V+τ²) = 8/9, τ²Δ²/(2V(V+τ²)) = 1/6.
  const r = msprt(aggOf([2, 4, 6, 8]), aggOf([1, 2, 3, 4]), OPTS)!;
  relClose(r.logLr, Math.log((2 * Math.SQRT2) / 3) + 1 / 6, 1e-14, 'ln Λ');
  relClose(r.pValue, (3 / (2 * Math.SQRT2)) * Math.exp(-1 / 6), 1e-14, 'p');
  relClose(r.difference, 2.5, 1e-15, 'difference');
  relClose(r.variance, 25 / 12, 1e-15, 'V');
  // r = τ²/V = 1/8: radius² = V (1+r)/r (2 ln(1/α) + ln(1+r)) = 18.75 (2 ln 100 + ln 9/8)
  const radius = Math.sqrt(18.75 * (2 * Math.log(100) + Math.log(9 / 8)));
  relClose(r.lower, 2.5 - radius, 1e-14, 'lower');
  relClose(r.upper, 2.5 + radius, 1e-14, 'upper');
});

test('ln Λ equals the mixture integral computed numerically, for unequal sizes, variances and effects', () => {
  const rng = new Rng('msprt-integral');
  for (let k = 0; k < 40; k++) {
    const na = 2 + Math.floor(rng.uniform() * 300);
    const nb = 2 + Math.floor(rng.uniform() * 300);
    const sa = 0.1 + 5 * rng.uniform();
    const sb = 0.1 + 5 * rng.uniform();
    const shift = (rng.uniform() - 0.5) * 2 * sa;
    const a = Array.from({ length: na }, () => shift + sa * rng.normal());
    const b = Array.from({ length: nb }, () => sb * rng.normal());
    const tau = [0.05, 0.25, 1, 3][k % 4];
    const r = msprt(aggOf(a), aggOf(b), { tau, alpha: 0.05, arms: 1 })!;
    const want = logLrByIntegral(a, b, tau);
    assert.ok(Math.abs(r.logLr - want) <= 1e-9 * Math.max(1, Math.abs(want)), `case ${k}: ${r.logLr} vs ${want}`);
  }
});

test('at each bound the mSPRT of the shifted difference reads exactly α: the bounds are the θ₀ it does not reject', () => {
  const a = [0.3, 2.1, -1.2, 4.4, 0.9, 1.7, -0.4, 2.8, 1.1, 0.2, 3.3];
  const b = [-0.5, 1.0, 0.1, -2.2, 0.7, 0.4, -1.1, 1.6];
  for (const arms of [1, 3]) {
    const opts = { tau: 0.5, alpha: 0.05, arms };
    const r = msprt(aggOf(a), aggOf(b), opts)!;
    for (const theta of [r.lower, r.upper]) {
      // Testing "difference = θ₀" is testing "no difference" after subtracting θ₀ from every trade of a.
      const shifted = msprt(aggOf(a.map((x) => x - theta)), aggOf(b), opts)!;
      relClose(shifted.pValue, 0.05, 1e-9, `arms ${arms}, θ₀ = ${theta}`);
    }
    assert.ok(r.lower < r.difference && r.difference < r.upper);
  }
});

test('the p-value falls as the observed difference grows and is the same for either sign', () => {
  const b = aggOf([1, -1, 2, -2, 0.5, -0.5, 1.5, -1.5]);
  let previous = Infinity;
  for (const shift of [0, 0.2, 0.5, 1, 2, 4, 8]) {
    const up = msprt(aggOf([1, -1, 2, -2, 0.5, -0.5, 1.5, -1.5].map((x) => x + shift)), b, OPTS)!;
    const down = msprt(aggOf([1, -1, 2, -2, 0.5, -0.5, 1.5, -1.5].map((x) => x - shift)), b, OPTS)!;
    relClose(up.pValue, down.pValue, 1e-12, `±${shift}`);
    assert.ok(up.pValue <= previous, `p at shift ${shift}: ${up.pValue} > ${previous}`);
    if (shift > 0 && previous < 1) assert.ok(up.pValue < previous);
    previous = up.pValue;
  }
  assert.ok(previous < 1e-4, `a shift of 5.5 sd over 8 trades each decides: p = ${previous}`);
});

test('more trades with the same means and spread: the p-value falls under a real difference and the interval narrows', () => {
  const base = [1, -1, 2, -2, 0.5, -0.5, 1.5, -1.5];
  let prevP = Infinity;
  let prevWidth = Infinity;
  for (const copies of [1, 2, 4, 8, 16, 32, 64]) {
    const b = aggOf(Array.from({ length: copies }, () => base).flat());
    const a = aggOf(Array.from({ length: copies }, () => base.map((x) => x + 0.5)).flat());
    const r = msprt(a, b, OPTS)!;
    assert.ok(r.upper - r.lower < prevWidth, `width at ×${copies}`);
    if (copies >= 4) assert.ok(r.pValue < prevP, `p at ×${copies}: ${r.pValue} ≥ ${prevP}`);
    prevP = r.pValue;
    prevWidth = r.upper - r.lower;
  }
  // With no difference at all, Λ = (1 + τ²/V)^(-1/2) < 1: p stays 1 however many trades.
  const same = aggOf(Array.from({ length: 64 }, () => base).flat());
  assert.equal(msprt(same, same, OPTS)!.pValue, 1);
});

test('Bonferroni: K candidate arms multiply the p-value by K and widen the bounds to level α/K', () => {
  const a = aggOf([3, 5, 4, 6, 5, 7, 4, 6, 5, 5]);
  const b = aggOf([1, 2, 0, 3, 1, 2, 2, 1, 0, 2]);
  const one = msprt(a, b, { ...OPTS, arms: 1 })!;
  const three = msprt(a, b, { ...OPTS, arms: 3 })!;
  assert.ok(one.pValue < 1 / 3);
  relClose(three.pValue, 3 * one.pValue, 1e-12, 'p × 3');
  // Level α/3 for each arm is level α with α' = α/3 for one arm.
  const same = msprt(a, b, { ...OPTS, alpha: OPTS.alpha / 3, arms: 1 })!;
  relClose(three.lower, same.lower, 1e-12, 'lower');
  relClose(three.upper, same.upper, 1e-12, 'upper');
  assert.ok(three.upper - three.lower > one.upper - one.lower);
});

test('the same trades folded in any order within a scrape give the same p-value and bounds', () => {
  const trade = fc.double({ min: -1000, max: 1000, noNaN: true });
  fc.assert(
    fc.property(
      fc.array(trade, { minLength: 3, maxLength: 40 }),
      fc.array(trade, { minLength: 3, maxLength: 40 }),
      fc.integer(),
      (xa, xb, seed) => {
        const rng = new Rng(`perm-${seed}`);
        const shuffle = (xs: number[]) => {
          const out = [...xs];
          for (let i = out.length - 1; i > 0; i--) {
            const j = Math.floor(rng.uniform() * (i + 1));
            [out[i], out[j]] = [out[j], out[i]];
          }
          return out;
        };
        // Sorted, shuffled, and as two halves combined (as the engine folds buckets).
        const r1 = msprt(aggOf(xa), aggOf(xb), OPTS);
        const r2 = msprt(aggOf(shuffle(xa)), aggOf([...xb].sort((x, y) => x - y)), OPTS);
        const h = Math.floor(xa.length / 2);
        const r3 = msprt(combine(aggOf(xa.slice(h)), aggOf(xa.slice(0, h))), aggOf(shuffle(xb)), OPTS);
        if (r1 === undefined) return r2 === undefined && r3 === undefined;
        for (const r of [r2!, r3!]) {
          const tol = 1e-9;
          const near = (x: number, y: number) => Math.abs(x - y) <= tol * Math.max(1, Math.abs(y));
          if (!near(r.pValue, r1.pValue) || !near(r.lower, r1.lower) || !near(r.upper, r1.upper)) return false;
        }
        return true;
      },
    ),
    { numRuns: 300 },
  );
});

test('no p-value under 2 trades a side, without any spread, or with options out of range', () => {
  const a = aggOf([1, 2, 3]);
  assert.equal(msprt(aggOf([1]), a, OPTS), undefined);
  assert.equal(msprt(a, aggOf([5]), OPTS), undefined);
  assert.equal(msprt(aggOf([2, 2, 2]), aggOf([1, 1]), OPTS), undefined);
  // One constant side is fine: the other carries the spread.
  assert.ok(msprt(aggOf([2, 2, 2]), a, OPTS));
  for (const bad of [
    { tau: 0 },
    { tau: -1 },
    { tau: Infinity },
    { alpha: 0 },
    { alpha: 1 },
    { arms: 0 },
    { arms: NaN },
  ])
    assert.equal(msprt(a, aggOf([0, 1, 5]), { ...OPTS, ...bad }), undefined, JSON.stringify(bad));
});

test('the running test is the minimum of the p-value and the intersection of the bounds over every prefix of the trades', () => {
  const rng = new Rng('running-min');
  const opts = { tau: 0.25, alpha: 0.01, arms: 2, minTrades: 5 };
  const fold = new ExperimentFold(['control', 'c1', 'c2'], opts);
  const trades: Record<string, number[]> = { control: [], c1: [], c2: [] };
  const minP: Record<string, number> = {};
  const lo: Record<string, number> = {};
  const hi: Record<string, number> = {};
  for (let i = 0; i < 400; i++) {
    const v = ['control', 'c1', 'c2'][Math.floor(rng.uniform() * 3)];
    const x = (v === 'c1' ? 0.8 : 0) + rng.normal();
    trades[v].push(x);
    fold.add(v, x, 0, null);
    // Independently: msprt on the prefix, for every arm the trade can move.
    for (const arm of ['c1', 'c2']) {
      if (v !== 'control' && v !== arm) continue;
      if (trades[arm].length < 5 || trades.control.length < 5) continue;
      const r = msprt(aggOf(trades[arm]), aggOf(trades.control), opts)!;
      minP[arm] = Math.min(minP[arm] ?? Infinity, r.pValue);
      lo[arm] = Math.max(lo[arm] ?? -Infinity, r.lower);
      hi[arm] = Math.min(hi[arm] ?? Infinity, r.upper);
    }
    for (const arm of ['c1', 'c2']) {
      const t = fold.test(arm);
      if (minP[arm] === undefined) {
        assert.equal(t, undefined);
        continue;
      }
      relClose(t!.pValue, minP[arm], 1e-9, `p ${arm} at ${i}`);
      relClose(t!.lower, lo[arm], 1e-9, `lower ${arm} at ${i}`);
      relClose(t!.upper, hi[arm], 1e-9, `upper ${arm} at ${i}`);
      assert.equal(t!.outcome, 'pnl');
    }
  }
  // Once under the line it stays there, whatever follows: 200 identical-looking trades later.
  const decided = fold.test('c1')!;
  assert.ok(decided.pValue < 0.01, `c1 decided: ${decided.pValue}`);
  for (let i = 0; i < 200; i++) fold.add(i % 2 ? 'c1' : 'control', rng.normal(), 0, null);
  assert.ok(fold.test('c1')!.pValue <= decided.pValue);
});

test('a trade without notional switches the comparison from returns to PnL and restarts the running test', () => {
  const opts = { tau: 0.25, alpha: 0.01, arms: 1, minTrades: 3 };
  const fold = new ExperimentFold(['control', 'c1'], opts);
  for (let i = 0; i < 10; i++) {
    fold.add('control', 1 + (i % 3), 0, 100);
    fold.add('c1', 2 + (i % 3), 0, 100);
  }
  assert.equal(fold.test('c1')!.outcome, 'return');
  fold.add('c1', 2.5, 0, null);
  const t = fold.test('c1')!;
  assert.equal(t.outcome, 'pnl');
  const now = msprt(fold.aggs.get('c1')!, fold.aggs.get('control')!, opts)!;
  relClose(t.pValue, now.pValue, 1e-12, 'restarted at the current PnL test');
  relClose(t.lower, now.lower, 1e-12, 'lower');
});
