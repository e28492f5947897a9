// The CUSUM's long-run scale (issue 11): the reference's autocovariances kept online against
// a hand-worked example and a direct O(n·L) Newey–West computation; the inflation it gives
// on independent, AR(1) and regime-switching streams; and what it buys: a healthy strategy
// whose PnL comes in regimes stays under the alert's threshold, a fall is still detected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng } from '../src/demo/market.js';
import {
  CUSUM_LRV_MAX_LAG,
  CUSUM_SHIFTS,
  cusumAdd,
  cusumStart,
  cusumVarianceInflation,
  lrvAutocovariances,
  lrvBandwidth,
  bartlettRatio,
} from '../src/analytics/cusum.js';

const close = (a: number, b: number, rel = 1e-9) =>
  assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${a} != ${b}`);
const THRESHOLD = 10; // nats: cusum_threshold's default

/** The demo's seeded mulberry32, moved off 0 by half a step (the normals take a log): the same numbers on every run. */
function uniforms(seed: number): () => number {
  const next = rng(seed);
  return () => next() + 0.5 / 4294967296;
}
function normals(u: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** A healthy strategy in regimes: mean 0.1 ± 0.25 (σ of the noise), Markov, spells of 50 trades on average. */
function regimeStream(seed: number): () => number {
  const u = uniforms(seed);
  const z = normals(u);
  let good = u() < 0.5;
  return () => {
    if (u() < 1 / 50) good = !good;
    return 0.1 + (good ? 0.25 : -0.25) + z();
  };
}

/** Direct Newey–West: γ_k = (1/n) Σ_{t>k} (x_t - x̄)(x_{t-k} - x̄), ratio 1 + 2 Σ (1 - k/(b+1)) γ_k/γ_0. */
function directRatio(xs: number[], b: number): number {
  const n = xs.length;
  const m = xs.reduce((s, x) => s + x, 0) / n;
  const g = (k: number) => {
    let s = 0;
    for (let t = k; t < n; t++) s += (xs[t] - m) * (xs[t - k] - m);
    return s / n;
  };
  let lrv = g(0);
  for (let k = 1; k <= b; k++) lrv += 2 * (1 - k / (b + 1)) * g(k);
  return lrv / g(0);
}

test('hand-worked: reference 1, 2, 4, 5 has γ0 2.5, γ1 0.75, and at bandwidth 1 an inflation of 1 + 2·½·0.75/2.5 = 1.3', () => {
  // minTrades 2: the lag (n - 2)/3 is 0 for 4 trades, so all four are in the reference, and
  // the bandwidth is min(200, floor(4/3), 3) = 1. Deviations from the mean 3: -2, -1, 1, 2;
  // γ0 = (4 + 1 + 1 + 4)/4, γ1 = ((-1)(-2) + (1)(-1) + (2)(1))/4.
  const s = cusumStart([0.5]);
  for (const x of [1, 2, 4, 5]) cusumAdd(s, x, 2);
  assert.equal(s.ref.n, 4);
  assert.equal(lrvBandwidth(CUSUM_LRV_MAX_LAG, 4), 1);
  const g = lrvAutocovariances(s.lrv!, 4, 1);
  close(g[0], 2.5, 1e-12);
  close(g[1], 0.75, 1e-12);
  close(cusumVarianceInflation(s), 1.3, 1e-12);
  // Negatively correlated trades are not credited: the inflation is never below 1.
  const alt = cusumStart([0.5]);
  for (const x of [1, 5, 1, 5]) cusumAdd(alt, x, 2);
  assert.equal(cusumVarianceInflation(alt), 1);
});

test('the online autocovariances equal a direct O(n·L) computation, and the inflation the largest direct Newey–West ratio over 10, 20, 40, …, L', () => {
  // AR(1) ρ 0.4 around a level of 1000 (far from 0 next to the spread: the pivot keeps the
  // cross products exact enough).
  const z = normals(uniforms(17));
  const xs: number[] = [];
  let e = 0;
  for (let i = 0; i < 3000; i++) {
    e = 0.4 * e + Math.sqrt(1 - 0.16) * z();
    xs.push(1000 + e);
  }
  const s = cusumStart();
  for (const x of xs) cusumAdd(s, x, 20);
  // The reference is the run but the newest min(1000, (3000 - 20)/3) = 993 trades.
  const ref = xs.slice(0, xs.length - s.lagged.length);
  assert.equal(ref.length, s.ref.n);
  assert.equal(ref.length, 2007);
  const L = lrvBandwidth(CUSUM_LRV_MAX_LAG, ref.length);
  assert.equal(L, 200);
  const g = lrvAutocovariances(s.lrv!, ref.length, L);
  const m = ref.reduce((a, x) => a + x, 0) / ref.length;
  for (const k of [0, 1, 2, 7, 50, 199, 200]) {
    let d = 0;
    for (let t = k; t < ref.length; t++) d += (ref[t] - m) * (ref[t - k] - m);
    close(g[k], d / ref.length, 1e-7);
  }
  for (const b of [10, 40, 200]) close(bartlettRatio(g, b), directRatio(ref, b), 1e-7);
  const want = Math.max(...[10, 20, 40, 80, 160, 200].map((b) => directRatio(ref, b)));
  close(cusumVarianceInflation(s), want, 1e-7);
  // (1 + ρ)/(1 - ρ) = 2.33 in the long run; the estimate is near it.
  assert.ok(want > 1.9 && want < 2.8, `AR(1) 0.4 inflation ${want}`);
});

test('independent trades: the inflation stays near 1 (the scale and the delays of the design before)', () => {
  const z = normals(uniforms(5));
  const got: number[] = [];
  for (let run = 0; run < 10; run++) {
    const s = cusumStart();
    for (let i = 0; i < 3000; i++) cusumAdd(s, 0.1 + z(), 20);
    got.push(cusumVarianceInflation(s));
  }
  const mean = got.reduce((a, b) => a + b, 0) / got.length;
  assert.ok(mean < 1.25 && Math.max(...got) < 1.5, `inflations ${got.map((f) => f.toFixed(2)).join(' ')}`);
});

test('regimes (mean ±0.25σ, spells of 50 trades): the inflation measures their long-run variance, about 3.8× the variance', () => {
  // a²(1+φ)/(1-φ) with a 0.25, φ = 1 - 2/50: 3.06 over a variance of 1 + a²: (1 + 3.06)/1.0625 = 3.8.
  // Bartlett at L = 200 sees 80-90% of it (spells longer than the bandwidth are cut).
  const got: number[] = [];
  for (let run = 0; run < 10; run++) {
    const next = regimeStream(100 + run);
    const s = cusumStart();
    for (let i = 0; i < 6000; i++) cusumAdd(s, next(), 20);
    got.push(cusumVarianceInflation(s));
  }
  const mean = got.reduce((a, b) => a + b, 0) / got.length;
  assert.ok(mean > 2.8 && mean < 4.3, `inflations ${got.map((f) => f.toFixed(2)).join(' ')}`);
});

test('a healthy strategy in regimes stays under the threshold in most runs with the long-run scale, where the per-trade scale alarms in most', () => {
  // 40 runs of 3,000 trades. What is left is mostly the start of a run: while the reference
  // holds one or two spells no estimate can know that a switch of regime is not a fall.
  const runs = 40;
  let alarmedNow = 0;
  let alarmedBefore = 0;
  let lateNow = 0;
  for (let run = 0; run < runs; run++) {
    const now = cusumStart();
    const before = cusumStart(CUSUM_SHIFTS, { lrvMaxLag: 0 });
    const a = regimeStream(200 + run);
    const b = regimeStream(200 + run);
    let crossedNow = false;
    let crossedBefore = false;
    for (let i = 0; i < 3000; i++) {
      cusumAdd(now, a(), 20);
      cusumAdd(before, b(), 20);
      if (Math.max(...now.llr) > THRESHOLD) {
        if (!crossedNow && i >= 500) lateNow++;
        crossedNow = true;
      }
      if (Math.max(...before.llr) > THRESHOLD) crossedBefore = true;
    }
    if (crossedNow) alarmedNow++;
    if (crossedBefore) alarmedBefore++;
  }
  assert.ok(alarmedNow <= runs / 4, `long-run scale: ${alarmedNow} of ${runs} healthy runs crossed ${THRESHOLD} nats`);
  assert.ok(lateNow <= runs / 10, `long-run scale: ${lateNow} of ${runs} first crossed after 500 trades`);
  assert.ok(alarmedBefore >= (runs * 3) / 5, `per-trade scale: ${alarmedBefore} of ${runs}`);
});

/** Trades after a fall of `drop` σ, in a stream with `history` healthy trades before it, until W > threshold. */
function delay(next: () => number, history: number, drop: number, max = 5000): number {
  const s = cusumStart();
  for (let i = 0; i < history; i++) cusumAdd(s, next(), 20);
  s.llr = s.llr.map(() => 0);
  for (let d = 1; d <= max; d++) {
    cusumAdd(s, next() - drop, 20);
    if (Math.max(...s.llr) > THRESHOLD) return d;
  }
  return Infinity;
}

test('a 0.5σ fall is still detected: on independent trades about as fast as with the per-trade scale, in regimes within a few hundred trades', () => {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const iid = (seed: number) => {
    const z = normals(uniforms(seed));
    return () => 0.1 + z();
  };
  const now: number[] = [];
  const before: number[] = [];
  const regimes: number[] = [];
  for (let run = 0; run < 21; run++) {
    now.push(delay(iid(300 + run), 1400, 0.5));
    const s = cusumStart(CUSUM_SHIFTS, { lrvMaxLag: 0 });
    const next = iid(300 + run);
    for (let i = 0; i < 1400; i++) cusumAdd(s, next(), 20);
    s.llr = s.llr.map(() => 0);
    let d = 1;
    for (; d <= 5000; d++) {
      cusumAdd(s, next() - 0.5, 20);
      if (Math.max(...s.llr) > THRESHOLD) break;
    }
    before.push(d);
    regimes.push(delay(regimeStream(400 + run), 1400, 0.5));
  }
  assert.ok(
    median(now) <= 1.25 * median(before),
    `independent: median ${median(now)} trades, per-trade scale ${median(before)}`,
  );
  // In regimes a fall of 0.5σ is half a regime swing: the evidence takes longer, but comes.
  assert.ok(regimes.filter(Number.isFinite).length >= 19 && median(regimes) < 600, `regimes: ${regimes.join(' ')}`);
});

test("a prior inflation is a floor for the whole run: the run's own larger estimate wins, a smaller one does not", () => {
  const s = cusumStart(CUSUM_SHIFTS, { priorInflation: 5 });
  assert.equal(cusumVarianceInflation(s), 5, 'empty reference: the prior alone');
  // Alternating trades: negative lag-1 correlation, own ratio below 1 (so 1 without a prior).
  for (let i = 0; i < 3020; i++) cusumAdd(s, i % 2 ? 1 : -1, 20);
  assert.equal(cusumVarianceInflation(s), 5, 'after 3,000 trades of its own, still the prior');
  const own = cusumStart();
  for (let i = 0; i < 3020; i++) cusumAdd(own, i % 2 ? 1 : -1, 20);
  assert.equal(cusumVarianceInflation(own), 1);
  // Spells of 20 equal trades: the reference's own ratio is far above a prior of 2 (spells of
  // m identical trades make it about m), so the prior no longer matters.
  const blocks = cusumStart(CUSUM_SHIFTS, { priorInflation: 2 });
  for (let i = 0; i < 1000; i++) cusumAdd(blocks, Math.floor(i / 20) % 2 ? 1 : -1, 20);
  const plain = cusumStart();
  for (let i = 0; i < 1000; i++) cusumAdd(plain, Math.floor(i / 20) % 2 ? 1 : -1, 20);
  assert.ok(cusumVarianceInflation(plain) > 2, `own ratio ${cusumVarianceInflation(plain)}`);
  assert.equal(cusumVarianceInflation(blocks), cusumVarianceInflation(plain));
});

test("a prior worth w trades fades as the run's own reference grows: 1 + (prior - 1)·w/(w + n_ref)", () => {
  const s = cusumStart(CUSUM_SHIFTS, { priorInflation: 5, priorTrades: 200 });
  assert.equal(cusumVarianceInflation(s), 5, 'empty reference: the prior alone');
  for (let i = 0; i < 320; i++) cusumAdd(s, i % 2 ? 1 : -1, 20);
  // n 320: lag (320 - 20)/3 = 100, reference 220 trades: 1 + 4·200/420.
  assert.equal(s.ref.n, 220);
  close(cusumVarianceInflation(s), 1 + (4 * 200) / 420, 1e-12);
  assert.equal(cusumVarianceInflation(cusumStart()), 1, 'no prior: 1');
  for (const bad of [0.5, Number.NaN, Number.POSITIVE_INFINITY])
    assert.throws(() => cusumStart(CUSUM_SHIFTS, { priorInflation: bad }), RangeError);
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY])
    assert.throws(() => cusumStart(CUSUM_SHIFTS, { priorInflation: 2, priorTrades: bad }), RangeError);
});
