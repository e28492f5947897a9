// Property-based tests (fast-check) of the aggregate monoid and the window statistics,
// against a naive reference computed straight from the trade list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Agg, EMPTY, addTrade, combine, combineInto, empty, fold, single } from '../src/analytics/aggregate.js';
import { STAT_NAMES, windowStats } from '../src/analytics/stats.js';
import { naiveAgg } from './support/analytics-reference.js';

type Trade = { pnl: number; fees: number };

function aggOf(trades: Trade[]): Agg {
  const a = empty();
  for (const t of trades) addTrade(a, t.pnl, t.fees);
  return a;
}

const naive = naiveAgg;

// Rounding errors of a sum are relative to the magnitudes summed, not to the result (which
// may cancel to ~0), so tolerances scale with Σ|pnl| (and (Σ|pnl|)² for m2).
function assertAggClose(actual: Agg, expected: Agg, trades: Trade[], what: string): void {
  assert.equal(actual.n, expected.n, `${what}: n`);
  assert.equal(actual.wins, expected.wins, `${what}: wins`);
  const mag = trades.reduce((s, t) => s + Math.abs(t.pnl), 0) + 1;
  const feeMag = trades.reduce((s, t) => s + t.fees, 0) + 1;
  const tol: Record<string, number> = {
    sum: mag,
    mean: mag,
    grossProfit: mag,
    grossLoss: mag,
    maxPrefix: mag,
    minPrefix: mag,
    maxDrawdown: mag,
    m2: mag * mag,
    fees: feeMag,
  };
  for (const [k, scale] of Object.entries(tol)) {
    const a = actual[k as keyof Agg];
    const e = expected[k as keyof Agg];
    assert.ok(Math.abs(a - e) <= 1e-12 * scale, `${what}: ${k} ${a} vs ${e}`);
  }
}

// Realistic PnL: cents, exact zeros (flat trades), and arbitrary doubles up to ±1e6.
const pnlArb = fc.oneof(
  fc.integer({ min: -100_000, max: 100_000 }).map((c) => c / 100),
  fc.constant(0),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }),
);
const tradeArb = fc.record({ pnl: pnlArb, fees: fc.integer({ min: 0, max: 1000 }).map((c) => c / 100) });
const tradesArb = fc.array(tradeArb, { maxLength: 60 });

test('property: combine is associative (to rounding), including the order-dependent drawdown', () => {
  fc.assert(
    fc.property(tradesArb, tradesArb, tradesArb, (x, y, z) => {
      const [a, b, c] = [aggOf(x), aggOf(y), aggOf(z)];
      const all = [...x, ...y, ...z];
      assertAggClose(combine(combine(a, b), c), combine(a, combine(b, c)), all, 'assoc');
      // And both equal the aggregate of the concatenation.
      assertAggClose(combine(combine(a, b), c), naive(all), all, 'vs naive');
    }),
    { numRuns: 300 },
  );
});

test('property: EMPTY is an exact identity on both sides', () => {
  fc.assert(
    fc.property(tradesArb, (x) => {
      const a = aggOf(x);
      assert.deepStrictEqual(combine(EMPTY, a), a);
      assert.deepStrictEqual(combine(a, EMPTY), a);
    }),
    { numRuns: 200 },
  );
});

test('property: the fold of any split of a sequence equals the naive aggregate of the whole', () => {
  fc.assert(
    fc.property(tradesArb, fc.array(fc.nat(), { maxLength: 8 }), (trades, cutsRaw) => {
      const cuts = [...new Set(cutsRaw.map((c) => c % (trades.length + 1)))].sort((p, q) => p - q);
      const parts: Agg[] = [];
      let from = 0;
      for (const cut of [...cuts, trades.length]) {
        parts.push(aggOf(trades.slice(from, cut))); // empty parts included on purpose
        from = cut;
      }
      assertAggClose(fold(parts), naive(trades), trades, 'fold');
      // Folding in place, pairwise from the right, gives the same.
      const right = parts.reduceRight((acc, p) => combine(p, acc), empty());
      assertAggClose(right, naive(trades), trades, 'right fold');
    }),
    { numRuns: 300 },
  );
});

test('property: addTrade is exactly combineInto(single(...)), trade by trade', () => {
  fc.assert(
    fc.property(tradesArb, (trades) => {
      const a = empty();
      const b = empty();
      for (const t of trades) {
        addTrade(a, t.pnl, t.fees);
        combineInto(b, single(t.pnl, t.fees));
      }
      assert.deepStrictEqual(a, b);
    }),
    { numRuns: 200 },
  );
});

test('property: drawdown identities — reversal keeps it, negation turns it into the largest rise', () => {
  // With P_k the prefix sums, the reversed sequence has prefix sums P_n - P_{n-k}, so its
  // falls Q_i - Q_j = P_{n-j} - P_{n-i} are exactly the original falls: same max drawdown.
  // Negating every pnl negates the prefix sums: its max drawdown is the original's
  // largest rise, max over i <= j of P_j - P_i (both counted from P_0 = 0).
  fc.assert(
    fc.property(tradesArb, fc.array(fc.nat(), { maxLength: 4 }), (trades, cutsRaw) => {
      const prefix = [0];
      for (const t of trades) prefix.push(prefix[prefix.length - 1] + t.pnl);
      let maxRise = 0;
      for (let i = 0; i < prefix.length; i++)
        for (let j = i; j < prefix.length; j++) maxRise = Math.max(maxRise, prefix[j] - prefix[i]);
      const mag = trades.reduce((s, t) => s + Math.abs(t.pnl), 0) + 1;
      // Built from chunks, so the combine path is exercised too.
      const chunked = (ts: Trade[]) => {
        const cuts = [...new Set(cutsRaw.map((c) => c % (ts.length + 1)))].sort((p, q) => p - q);
        const parts: Agg[] = [];
        let from = 0;
        for (const cut of [...cuts, ts.length]) {
          parts.push(aggOf(ts.slice(from, cut)));
          from = cut;
        }
        return fold(parts);
      };
      const forward = chunked(trades).maxDrawdown;
      const reversed = chunked(trades.slice().reverse()).maxDrawdown;
      const negated = chunked(trades.map((t) => ({ pnl: -t.pnl, fees: t.fees }))).maxDrawdown;
      assert.ok(Math.abs(reversed - forward) <= 1e-12 * mag, `reversed ${reversed} vs ${forward}`);
      assert.ok(Math.abs(negated - maxRise) <= 1e-12 * mag, `negated ${negated} vs rise ${maxRise}`);
    }),
    { numRuns: 200 },
  );
});

test('property: windowStats follows the table of docs/statistics.md for realistic trades', () => {
  fc.assert(
    fc.property(tradesArb, (trades) => {
      const s = windowStats(aggOf(trades));
      const r = naive(trades);
      assert.equal(s.trades, trades.length);
      if (trades.length === 0) {
        assert.deepStrictEqual(s, { trades: 0 });
        return;
      }
      for (const k of [
        'win_ratio',
        'net_pnl',
        'pnl_per_trade',
        'gross_profit',
        'gross_loss',
        'max_drawdown',
        'fees',
      ] as const) {
        assert.ok(k in s && typeof s[k] === 'number', k);
      }
      assert.equal(s.win_ratio, r.wins / r.n);
      assert.ok(s.gross_profit! >= 0 && s.gross_loss! >= 0 && s.max_drawdown! >= 0 && s.fees! >= 0);
      if (r.grossLoss > 0) {
        const pf = r.grossProfit / r.grossLoss; // may overflow to +Inf for a subnormal loss
        assert.ok(
          s.profit_factor === pf || Math.abs(s.profit_factor! - pf) <= 1e-12 * (1 + pf),
          `pf ${s.profit_factor} vs ${pf}`,
        );
      } else if (r.grossProfit > 0) assert.equal(s.profit_factor, Infinity);
      else assert.ok(!('profit_factor' in s));
      const variance = r.n > 1 ? r.m2 / (r.n - 1) : 0;
      if (r.n < 2) assert.ok(!('sharpe_ratio' in s), 'sharpe with n < 2');
      else if (new Set(trades.map((t) => t.pnl)).size === 1)
        assert.ok(!('sharpe_ratio' in s), 'sharpe of a constant series');
      else if (variance > 1e-6) {
        const expected = r.mean / Math.sqrt(variance);
        assert.ok(
          Math.abs(s.sharpe_ratio! - expected) <= 1e-8 * (1 + Math.abs(expected)),
          `sharpe ${s.sharpe_ratio} vs ${expected}`,
        );
      }
      for (const key of Object.keys(s)) assert.ok((STAT_NAMES as readonly string[]).includes(key), key);
      for (const v of Object.values(s)) assert.notEqual(v, undefined);
    }),
    { numRuns: 300 },
  );
});

test('property: windowStats never returns NaN for any finite input, however extreme', () => {
  // Every finite double, including ±1.7e308, subnormals and -0: sums may overflow to
  // ±Infinity here, but no statistic may come out as NaN (or as a present-but-undefined key).
  const anyFinite = fc.double({ noNaN: true, noDefaultInfinity: true });
  const extreme = fc.constantFrom(Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, -0, 1e300, -1e300);
  const trade = fc.record({ pnl: fc.oneof(anyFinite, extreme), fees: fc.oneof(anyFinite, extreme) });
  fc.assert(
    fc.property(fc.array(fc.array(trade, { maxLength: 12 }), { maxLength: 4 }), (chunks) => {
      // Through addTrade and through combine of chunks: both paths.
      const flat = chunks.flat();
      for (const agg of [aggOf(flat), fold(chunks.map(aggOf))]) {
        const s = windowStats(agg);
        assert.equal(s.trades, flat.length);
        for (const [k, v] of Object.entries(s)) {
          assert.ok(typeof v === 'number' && !Number.isNaN(v), `${k} = ${v}`);
        }
      }
    }),
    { numRuns: 500 },
  );
});
