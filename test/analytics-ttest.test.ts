// Student's t CDF (our own implementation, see src/analytics/ttest.ts for why) and the
// Welch t-test, checked against closed forms, published table values, reference values
// computed independently at high precision, and hand-worked Welch examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Agg, addTrade, empty } from '../src/analytics/aggregate.js';
import { studentTCdf, studentTTwoSidedP, welchTTest } from '../src/analytics/ttest.js';

function aggOf(pnls: number[]): Agg {
  const a = empty();
  for (const p of pnls) addTrade(a, p, 0);
  return a;
}

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: ${actual} vs ${expected} (|diff| ${Math.abs(actual - expected)} > ${tol})`,
  );
}

function relClose(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.abs(expected),
    `${what}: ${actual} vs ${expected} (rel ${Math.abs(actual - expected) / Math.abs(expected)} > ${tol})`,
  );
}

const T_GRID = [0, 1e-8, 0.01, 0.3, 0.5, 1, 1.5, 2, 2.5, 3, 4, 6, 10, 30, 100, 1e3, 1e6];

test('t CDF matches published table values', () => {
  // One-sided 95%, 97.5%, 99.5% critical values as printed in the usual tables
  // (3 decimals), so the CDF hits 0.95 / 0.975 / 0.995 only up to the rounding of t:
  // |Δt| ≤ 0.0005 times the density (< 0.1) leaves < 5e-5.
  const table: Array<[t: number, df: number, p: number]> = [
    [12.706, 1, 0.975],
    [4.303, 2, 0.975],
    [2.776, 4, 0.975],
    [2.228, 10, 0.975],
    [2.042, 30, 0.975],
    [1.812, 10, 0.95],
    [3.169, 10, 0.995],
    [63.657, 1, 0.995],
  ];
  for (const [t, df, p] of table) close(studentTCdf(t, df), p, 5e-5, `t=${t} df=${df}`);
  // df → ∞ is the normal: Φ(1.96) = 0.9750021; at df = 1e7 the t correction is ~1e-8.
  close(studentTCdf(1.96, 1e7), 0.975002, 1e-6, 't=1.96 df=1e7');
  close(studentTCdf(1.96, Infinity), 0.9750021048517795, 1e-15, 't=1.96 df=∞');
  close(studentTCdf(-1, Infinity), 0.15865525393145707, 1e-15, 't=-1 df=∞');
});

test('t CDF matches the closed forms for df = 1, 2, 3, 4 to 1e-12', () => {
  for (const at of T_GRID) {
    for (const t of [at, -at]) {
      // df = 1 is Cauchy: 1/2 + atan(t)/π
      close(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-12, `df=1 t=${t}`);
      // df = 2: 1/2 + t / (2 √(2 + t²))
      close(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-12, `df=2 t=${t}`);
      // df = 3: 1/2 + (u/(1+u²) + atan u)/π with u = t/√3
      const u = t / Math.sqrt(3);
      close(studentTCdf(t, 3), 0.5 + (u / (1 + u * u) + Math.atan(u)) / Math.PI, 1e-12, `df=3 t=${t}`);
      // df = 4: 1/2 + (3/8) · s · (1 - s²/3) with s = t / √(4 + t²)... written as
      // 1/2 + (3/8)(t/√(1+t²/4))(1 - t²/(12(1+t²/4))); checked for t = 1.7 against
      // a 40-digit value (0.91782252936497493182).
      const q = 1 + (t * t) / 4;
      close(studentTCdf(t, 4), 0.5 + (3 / 8) * (t / Math.sqrt(q)) * (1 - (t * t) / (12 * q)), 1e-12, `df=4 t=${t}`);
    }
  }
  close(studentTCdf(1.7, 4), 0.91782252936497493182, 1e-15, 'df=4 t=1.7');
});

test('far tails keep their relative accuracy (no 1 - x cancellation)', () => {
  // Cauchy lower tail: F(-t) = atan(1/t)/π for t > 0, exact without cancellation.
  for (const t of [10, 1e3, 1e6, 1e12, 1e100, 1e300]) {
    relClose(studentTCdf(-t, 1), Math.atan(1 / t) / Math.PI, 1e-12, `df=1 t=-${t}`);
  }
  // df = 2: F(-t) = (1 - t/√(2+t²))/2 = 1 / (√(2+t²) (√(2+t²) + t)), the stable form.
  for (const t of [10, 1e3, 1e6]) {
    const r = Math.sqrt(2 + t * t);
    relClose(studentTCdf(-t, 2), 1 / (r * (r + t)), 1e-12, `df=2 t=-${t}`);
  }
  // Two-sided p-value straight from the tail: 2 F(-|t|).
  relClose(studentTTwoSidedP(1e6, 1), (2 * Math.atan(1e-6)) / Math.PI, 1e-12, 'p df=1 t=1e6');
});

test('t CDF matches independent 40-digit values, including non-integer and huge df', () => {
  // Reference: mpmath 1.3 (mp.dps = 40), 1 - betainc(df/2, 1/2, 0, df/(df+t²), regularized)/2
  // for t > 0 and its complement for t < 0. Our error on the whole grid we checked
  // (df 0.1 … 1e12, t 0.05 … 30) was below 1e-12 relative on the smaller tail.
  const ref: Array<[df: number, t: number, cdf: number]> = [
    [0.3, 2, 0.71786515051960863037],
    [2.5, -1.3, 0.15024339463535412447],
    [7.3, 3, 0.99050972448843324712],
    [10.5, 2.228, 0.97560253247986174044],
    [29.9, -2.5, 0.0090679757495425707533],
    [150.5, 4, 0.99995049115041127747],
    [1234.5, -1.96, 0.025110238040236212934],
    [31622.8, 2.5, 0.99378782283965773853],
    [1e5, -3, 0.001350230442032359595],
    [1e7, 1.96, 0.97500209098734290593],
    [1e9, -4, 0.000031671244108233817322],
    [3.7, -30, 7.4285206261760140958e-6],
    [1.5, -1e6, 3.7708524320132162022e-10],
  ];
  for (const [df, t, cdf] of ref) {
    // Relative accuracy on the smaller tail, min(F, 1 - F).
    const got = studentTCdf(t, df);
    const tail = Math.min(cdf, 1 - cdf);
    assert.ok(Math.abs(got - cdf) <= 1e-11 * tail, `df=${df} t=${t}: ${got} vs ${cdf}`);
  }
});

test('t CDF: 0.5 at t = 0, symmetric, monotone in t, limits at ±Infinity', () => {
  for (const df of [0.01, 0.5, 1, 2.5, 10, 1e3, 1e5, 1e9, Infinity]) {
    assert.equal(studentTCdf(0, df), 0.5);
    assert.equal(studentTCdf(Infinity, df), 1);
    assert.equal(studentTCdf(-Infinity, df), 0);
    let prev = 0;
    for (const t of [-1e6, -30, -5, -2, -1, -0.1, 0, 0.1, 1, 2, 5, 30, 1e6]) {
      const v = studentTCdf(t, df);
      assert.ok(v >= prev && v >= 0 && v <= 1, `df=${df} t=${t}: ${v} after ${prev}`);
      prev = v;
      close(studentTCdf(-t, df), 1 - v, 1e-15, `symmetry df=${df} t=${t}`);
    }
  }
});

test('t CDF with non-integer df is consistent: heavier tails for smaller df, between neighbours', () => {
  // The tail P(T < -t), t > 0, shrinks as df grows (strictly: tails are computed
  // directly, so even 1e-60 tails compare); the CDF at +t grows (until it rounds to 1).
  for (let df = 0.5; df <= 60; df += 0.5) {
    for (const t of [0.2, 1, 2.228, 4, 15]) {
      assert.ok(studentTCdf(-t, df) > studentTCdf(-t, df + 0.5), `t=-${t} df=${df}`);
      assert.ok(studentTCdf(t, df) <= studentTCdf(t, df + 0.5), `t=${t} df=${df}`);
    }
  }
  const lo = studentTCdf(2.228, 10);
  const mid = studentTCdf(2.228, 10.5);
  const hi = studentTCdf(2.228, 11);
  assert.ok(lo < mid && mid < hi);
});

test('t CDF is continuous across the large-df method switch and tends to the normal', () => {
  // Below df = 1e5 (or far out in the tail) the continued fraction is used, above it
  // Fisher's expansion: the two must agree where they meet.
  for (const t of [0.5, 1.96, 3, 5]) {
    const below = studentTCdf(-t, 1e5 * (1 - 1e-12));
    const above = studentTCdf(-t, 1e5);
    assert.ok(Math.abs(below - above) <= 1e-11 * above, `t=${t}: ${below} vs ${above}`);
  }
  // Tail switch at t² = 0.1 √df, e.g. df = 1e8: t² = 1000. The tail moves by a relative
  // t²·Δt/t = 1000 · 2e-15 = 2e-12 between the two points; both methods are ~1e-11 there.
  const df = 1e8;
  const tIn = Math.sqrt(1000) * (1 - 1e-15);
  const tOut = Math.sqrt(1000) * (1 + 1e-15);
  assert.ok(tIn * tIn < 1000 && tOut * tOut > 1000, 'the two points straddle the switch');
  const a = studentTCdf(-tIn, df);
  const b = studentTCdf(-tOut, df);
  assert.ok(a > 0 && Math.abs(a - b) <= 1e-10 * a, `${a} vs ${b}`);
  // Monotone in df up to the normal.
  let prev = 0;
  for (const d of [10, 1e3, 1e5, 1e7, 1e9, 1e12, 1e300, Infinity]) {
    const v = studentTCdf(1.96, d);
    assert.ok(v >= prev, `df=${d}`);
    prev = v;
  }
});

test('t CDF refuses meaningless input with NaN, and survives extremes', () => {
  assert.ok(Number.isNaN(studentTCdf(NaN, 3)));
  assert.ok(Number.isNaN(studentTCdf(1, 0)));
  assert.ok(Number.isNaN(studentTCdf(1, -2)));
  assert.ok(Number.isNaN(studentTCdf(1, NaN)));
  for (const df of [1e-300, 1e-8, 0.01, 1, 1e5, 1e300, Infinity]) {
    for (const t of [-1.7e308, -1e200, -1e30, -1e10, -1e-300, 1e-300, 1e10, 1e30, 1e200, 1.7e308]) {
      const v = studentTCdf(t, df);
      assert.ok(v >= 0 && v <= 1, `df=${df} t=${t}: ${v}`);
    }
  }
});

test('Welch t-test: hand-worked example with df exactly 3', () => {
  // a = 2, 4, 6: mean 4, variance 4, n 3 → s_a = 4/3
  // b = 1, 1, 3, 3: mean 2, variance 4/3, n 4 → s_b = 1/3
  // t = (4 - 2) / √(4/3 + 1/3) = 2 / √(5/3) = √2.4 = 1.5491933...
  // df = (5/3)² / ((4/3)²/2 + (1/3)²/3) = (25/9) / (8/9 + 1/27) = (25/9) / (25/27) = 3
  // p (df = 3, closed form with u = t/√3 = √0.8): 1 - (2/π)(u/(1+u²) + atan u)
  //   = 1 - (2/π)(0.4969040 + 0.7297277) = 0.2191020
  const r = welchTTest(aggOf([2, 4, 6]), aggOf([1, 1, 3, 3]))!;
  close(r.t, Math.sqrt(2.4), 1e-12, 't');
  close(r.df, 3, 1e-12, 'df');
  const u = Math.sqrt(0.8);
  close(r.pValue, 1 - (2 / Math.PI) * (u / (1 + u * u) + Math.atan(u)), 1e-12, 'p');
  close(r.pValue, 0.219102037417048, 1e-12, 'p (40-digit reference)');
  // Swapping the sides flips t, keeps df and p.
  const s = welchTTest(aggOf([1, 1, 3, 3]), aggOf([2, 4, 6]))!;
  close(s.t, -r.t, 1e-12, 't swapped');
  close(s.pValue, r.pValue, 1e-15, 'p swapped');
});

test('Welch t-test: hand-worked example with fractional df', () => {
  // a = 1..5: mean 3, variance 10/4 = 2.5, s_a = 2.5/5 = 1/2
  // b = 2, 4, ..., 14: mean 8, m2 = 36+16+4+0+4+16+36 = 112, variance 112/6 = 56/3, s_b = 8/3
  // t = (3 - 8) / √(1/2 + 8/3) = -5 / √(19/6) = -2.8097574347450819
  // df = (19/6)² / ((1/2)²/4 + (8/3)²/6) = (361/36) / (539/432) = 4332/539 = 8.0371057513914657
  // p = 0.022747255279670925 (40-digit incomplete beta at that df)
  const r = welchTTest(aggOf([1, 2, 3, 4, 5]), aggOf([2, 4, 6, 8, 10, 12, 14]))!;
  close(r.t, -5 / Math.sqrt(19 / 6), 1e-12, 't');
  close(r.df, 4332 / 539, 1e-12, 'df');
  relClose(r.pValue, 0.022747255279670925, 1e-11, 'p');
});

test('Welch t-test: one constant side uses the other variance alone (df = n - 1)', () => {
  // a = 1, 1, 1 (variance 0), b = 0, 2, 4 (mean 2, variance 4, s_b = 4/3):
  // t = (1 - 2) / √(4/3) = -√3/2, df = (4/3)² / ((4/3)²/2) = 2,
  // p (df = 2) = 1 - |t| / √(2 + t²) = 1 - 0.8660254 / √2.75 = 0.4777670
  const r = welchTTest(aggOf([1, 1, 1]), aggOf([0, 2, 4]))!;
  close(r.t, -Math.sqrt(3) / 2, 1e-12, 't');
  close(r.df, 2, 1e-12, 'df');
  close(r.pValue, 1 - Math.sqrt(3) / 2 / Math.sqrt(2.75), 1e-12, 'p');
});

test('Welch t-test is undefined with fewer than 2 trades a side or both variances 0', () => {
  assert.equal(welchTTest(aggOf([1]), aggOf([1, 2, 3])), undefined);
  assert.equal(welchTTest(aggOf([1, 2, 3]), aggOf([])), undefined);
  assert.equal(welchTTest(aggOf([1, 1]), aggOf([2, 2, 2])), undefined);
  // Equal means: t = 0, p = 1.
  const r = welchTTest(aggOf([1, 3]), aggOf([0, 2, 4]))!;
  assert.equal(r.t, 0);
  assert.equal(r.pValue, 1);
});

test('Welch t-test on large samples: a clear difference gives a tiny p, none a large one', () => {
  // 5000 trades a side from a deterministic generator: same spread, means 0.1 apart.
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const a = empty();
  const b = empty();
  const c = empty();
  for (let i = 0; i < 5000; i++) {
    addTrade(a, rnd() - 0.5 + 0.1, 0);
    addTrade(b, rnd() - 0.5, 0);
    addTrade(c, rnd() - 0.5, 0);
  }
  const diff = welchTTest(a, b)!;
  assert.ok(diff.pValue < 1e-20, `p = ${diff.pValue}`);
  assert.ok(diff.df > 9000 && diff.df < 10000, `df = ${diff.df}`);
  const same = welchTTest(c, b)!;
  assert.ok(same.pValue > 0.001, `p = ${same.pValue}`);
});
