// The self-starting CUSUM of src/analytics/cusum.ts: hand-worked values, the minimum
// sample, the clip, invariance to the PnL's unit and offset, and its behaviour on a
// stationary stream against a stream whose expectancy falls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CUSUM_CLIP, CUSUM_SHIFTS, cusumAdd, cusumResidual, cusumStart, cusumValues } from '../src/analytics/cusum.js';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

// A small seeded normal generator (mulberry32 + Box–Muller), so the statistical tests are
// the same numbers on every run.
function normals(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

test('hand-worked example: residuals against the reference, W in nats per shift', () => {
  // shifts 0.5, minimum 2 trades (the lag (n - 2)/3 stays 0 for 4 trades, so every trade
  // joins the reference right after it is scored). Trades 1, 3: mean 2, m2 2, sd √2 (the
  // recent sd starts equal to it). Trade 0: r = (0 - 2)/√2 · √(2/3) = -2/√3;
  // W = 0.5 (2/√3 - 0.25). Then mean 4/3, m2 = 2 + (-2)(0 - 4/3) = 14/3, sd = √(7/3); the
  // recent variance (1-α)(2 + α·4) = 2.03 < 7/3, so the reference sd is the scale.
  // Trade 2: r = (2 - 4/3)/√(7/3) · √(3/4); W = max(0, W + 0.5 (-r - 0.25)).
  const s = cusumStart([0.5]);
  cusumAdd(s, 1, 2);
  cusumAdd(s, 3, 2);
  assert.deepEqual(cusumValues(s, 2), [{ shift: 0.5, llr: 0 }]);
  cusumAdd(s, 0, 2);
  const w1 = 0.5 * (2 / Math.sqrt(3) - 0.25);
  close(s.llr[0], w1);
  close(s.ref.mean, 4 / 3);
  close(s.ref.m2, 14 / 3);
  const r = ((2 - 4 / 3) / Math.sqrt(7 / 3)) * Math.sqrt(3 / 4);
  close(cusumResidual(s, 2, 2)!, r);
  cusumAdd(s, 2, 2);
  close(s.llr[0], Math.max(0, w1 + 0.5 * (-r - 0.25)));
  // A good trade pulls W back to 0, never below.
  cusumAdd(s, 100, 2);
  assert.equal(s.llr[0], 0);
});

test('nothing is exported under the minimum sample; the first value is 0 for every shift', () => {
  const s = cusumStart();
  for (let i = 0; i < 19; i++) {
    cusumAdd(s, i % 2 ? 1 : -1, 20);
    assert.equal(cusumValues(s, 20), undefined, `after ${i + 1} trades`);
  }
  cusumAdd(s, -5, 20); // the 20th trade is still reference, not scored
  assert.deepEqual(
    cusumValues(s, 20),
    CUSUM_SHIFTS.map((shift) => ({ shift, llr: 0 })),
  );
  cusumAdd(s, -5, 20); // the 21st is scored against the first 20
  assert.ok(cusumValues(s, 20)!.every((v) => v.llr > 0));
});

test('one huge loss raises W by at most δ(clip + δ/2)', () => {
  const s = cusumStart([0.2, 0.5]);
  const z = normals(7);
  for (let i = 0; i < 200; i++) cusumAdd(s, z(), 20);
  const before = [...s.llr];
  cusumAdd(s, -1e9, 20);
  for (let i = 0; i < 2; i++) {
    const d = s.shifts[i];
    close(s.llr[i], before[i] + d * (CUSUM_CLIP - d / 2), 1e-9);
  }
});

test('a constant stream scores 0; a departure from it is extreme (±clip)', () => {
  const s = cusumStart([0.5]);
  for (let i = 0; i < 30; i++) cusumAdd(s, 2.5, 20);
  assert.equal(s.llr[0], 0);
  assert.equal(cusumResidual(s, 2.5, 20), 0);
  assert.equal(cusumResidual(s, 2.4, 20), -CUSUM_CLIP);
  assert.equal(cusumResidual(s, 2.6, 20), CUSUM_CLIP);
});

test('the statistic does not depend on the PnL unit or offset (a·pnl + b, a > 0)', () => {
  const z = normals(11);
  const pnls = Array.from({ length: 500 }, () => 0.1 + z());
  const a = cusumStart();
  const b = cusumStart();
  for (const x of pnls) {
    cusumAdd(a, x, 20);
    cusumAdd(b, 250 * x - 40, 20);
    for (let i = 0; i < a.llr.length; i++) close(a.llr[i], b.llr[i], 1e-9);
  }
});

test('stationary streams stay low; after a 1σ fall W(0.5) grows by about δ(1 - δ/2) = 0.375 per trade', () => {
  const z = normals(2026);
  let maxStationary = 0;
  for (let run = 0; run < 20; run++) {
    const s = cusumStart();
    for (let i = 0; i < 2000; i++) {
      cusumAdd(s, 0.1 + z(), 20);
      maxStationary = Math.max(maxStationary, ...s.llr);
    }
  }
  // ln(40,000 trades) ≈ 10.6: over 40k stationary trades the largest excursion stays near
  // or below that (a CUSUM's false alarms come about every e^h/(a few) trades).
  assert.ok(maxStationary < 12, `largest stationary W ${maxStationary}`);

  const s = cusumStart();
  for (let i = 0; i < 1000; i++) cusumAdd(s, 0.1 + z(), 20);
  s.llr = s.llr.map(() => 0);
  for (let i = 0; i < 100; i++) cusumAdd(s, 0.1 - 1 + z(), 20);
  const w = s.llr[CUSUM_SHIFTS.indexOf(0.5)];
  // Expected 37.5 (contamination of the running mean by the fall makes it a little less).
  assert.ok(w > 25 && w < 45, `W(0.5) after 100 trades at -1σ: ${w}`);
});

test('the newest (n - minTrades)/3 trades stay out of the reference (at most 1000): a fall is scored against the level before it', () => {
  const s = cusumStart([0.5]);
  for (let i = 0; i < 80; i++) cusumAdd(s, i % 2 ? 1 : -1, 20);
  // n 80: lag (80 - 20)/3 = 20, so the reference holds the first 60 trades.
  assert.equal(s.ref.n, 60);
  assert.equal(s.lagged.length, 20);
  close(s.ref.mean, 0);
  for (let i = 0; i < 10; i++) cusumAdd(s, -3, 20);
  // n 90: lag 23, reference 67 trades, all from before the fall.
  assert.equal(s.ref.n, 67);
  close(s.ref.mean, -1 / 67);
  // Without the lag the fall is already in the reference.
  const plain = cusumStart([0.5], { maxLag: 0 });
  for (let i = 0; i < 80; i++) cusumAdd(plain, i % 2 ? 1 : -1, 20);
  for (let i = 0; i < 10; i++) cusumAdd(plain, -3, 20);
  assert.equal(plain.ref.n, 90);
  assert.ok(s.llr[0] > plain.llr[0], `lagged ${s.llr[0]} vs plain ${plain.llr[0]}`);
  // The lag is capped.
  const long = cusumStart([0.5]);
  for (let i = 0; i < 5000; i++) cusumAdd(long, i % 2 ? 1 : -1, 20);
  assert.equal(long.lagged.length, 1000);
});

test('doubled volatility with the same mean: the recent sd keeps W low, the reference sd alone does not', () => {
  const z = normals(99);
  let alarmsRecent = 0;
  let alarmsPlain = 0;
  for (let run = 0; run < 20; run++) {
    const recent = cusumStart();
    const plain = cusumStart(CUSUM_SHIFTS, { scaleHalfLife: 0 });
    for (let i = 0; i < 1000; i++) {
      const x = 0.1 + z();
      cusumAdd(recent, x, 20);
      cusumAdd(plain, x, 20);
    }
    let maxRecent = 0;
    let maxPlain = 0;
    for (let i = 0; i < 1000; i++) {
      const x = 0.1 + 2 * z();
      cusumAdd(recent, x, 20);
      cusumAdd(plain, x, 20);
      maxRecent = Math.max(maxRecent, ...recent.llr);
      maxPlain = Math.max(maxPlain, ...plain.llr);
    }
    if (maxRecent > 10) alarmsRecent++;
    if (maxPlain > 10) alarmsPlain++;
  }
  assert.ok(alarmsRecent <= 2, `with the recent sd: ${alarmsRecent} of 20 runs above 10 nats`);
  assert.ok(alarmsPlain >= 5, `with the reference sd alone: ${alarmsPlain} of 20 runs above 10 nats`);
});

test('a non-finite PnL or a non-positive shift is refused', () => {
  assert.throws(() => cusumAdd(cusumStart(), Number.NaN, 20), /finite/);
  assert.throws(() => cusumAdd(cusumStart(), Infinity, 20), /finite/);
  assert.throws(() => cusumStart([0]), /positive/);
  assert.throws(() => cusumStart([-0.5]), /positive/);
});
