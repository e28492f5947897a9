// BucketSeries: minute buckets of one series. The contract the sidecar relies on: after
// the caller rebuilds the dirty buckets from its (sorted) trades, every fold equals the
// fold of the same trades arriving in (closedMs, id) order, whatever order they came in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Agg, addTrade, empty } from '../src/analytics/aggregate.js';
import { BUCKET_MS, BucketSeries, bucketStart } from '../src/analytics/buckets.js';
import { naiveAgg } from './support/analytics-reference.js';

interface T {
  closedMs: number;
  id: string;
  pnl: number;
  fees: number;
}

const byKey = (a: T, b: T): number =>
  a.closedMs !== b.closedMs ? a.closedMs - b.closedMs : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

const naive = naiveAgg;

function assertAggClose(actual: Agg, expected: Agg, what = ''): void {
  assert.equal(actual.n, expected.n, `${what} n`);
  assert.equal(actual.wins, expected.wins, `${what} wins`);
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
    assert.ok(
      Math.abs(actual[k] - expected[k]) <= 1e-9 * Math.max(1, Math.abs(expected[k])),
      `${what} ${k}: ${actual[k]} vs ${expected[k]}`,
    );
  }
}

const M = BUCKET_MS;

test('bucketStart floors to the minute; a trade exactly at a start belongs to that bucket', () => {
  assert.equal(BUCKET_MS, 60_000);
  assert.equal(bucketStart(0), 0);
  assert.equal(bucketStart(59_999), 0);
  assert.equal(bucketStart(60_000), 60_000);
  assert.equal(bucketStart(60_001), 60_000);
  assert.equal(bucketStart(-1), -60_000);
  assert.equal(bucketStart(1_700_000_123_456), 1_700_000_100_000);
  assert.equal(bucketStart(12_345, 1_000), 12_000);

  const s = new BucketSeries();
  s.add(2 * M, 'a', 5, 0); // exactly at the start of minute 2
  s.add(2 * M - 1, 'b', -3, 0); // last millisecond of minute 1
  assert.equal(s.size, 2);
  assert.equal(s.foldRange(2 * M, 3 * M).sum, 5);
  assert.equal(s.foldRange(M, 2 * M).sum, -3);
  assert.equal(s.foldRange(M, 3 * M).n, 2);
});

test('foldRange takes whole buckets with from <= start < to, in time order', () => {
  const s = new BucketSeries();
  // Minutes 0..4 with pnl +4, -1, -6, +2, +1 (one trade each).
  [4, -1, -6, 2, 1].forEach((pnl, k) => s.add(k * M + 30_000, `t${k}`, pnl, 0));
  assert.equal(s.foldRange(M, 3 * M).n, 2); // minutes 1 and 2
  assert.equal(s.foldRange(M, 3 * M).sum, -7);
  assert.equal(s.foldRange(M + 1, 3 * M).n, 1); // from inside minute 1: minute 1 starts before it
  assert.equal(s.foldRange(3 * M, 3 * M).n, 0);
  assert.equal(s.foldRange(4 * M, 0).n, 0);
  assert.equal(s.foldRange(10 * M, 20 * M).n, 0);
  // Order: cumulative 0, 4, 3, -3, -1, 0 → drawdown 4 - (-3) = 7 across buckets 0..2.
  assert.equal(s.foldRange(0, 5 * M).maxDrawdown, 7);
  assert.equal(s.foldRange(-Infinity, Infinity).maxDrawdown, 7);
  assertAggClose(s.total(), s.foldRange(-Infinity, Infinity));
});

test("a trade that sorts before its bucket's last one answers dirty and is not added", () => {
  const s = new BucketSeries();
  assert.equal(s.add(10_000, 'b', 1, 0), 'appended');
  assert.equal(s.add(20_000, 'c', 2, 0), 'appended');
  assert.equal(s.add(15_000, 'a', -10, 0), 'dirty');
  assert.equal(s.total().n, 2);
  assert.equal(s.total().sum, 3);
  // The caller rebuilds the bucket from all its trades in order: 10s b, 15s a, 20s c.
  s.replaceBucket(0, [
    { closedMs: 10_000, id: 'b', pnl: 1, fees: 0 },
    { closedMs: 15_000, id: 'a', pnl: -10, fees: 0 },
    { closedMs: 20_000, id: 'c', pnl: 2, fees: 0 },
  ]);
  // cumulative 0, 1, -9, -7: drawdown 10
  assert.equal(s.total().n, 3);
  assert.equal(s.total().maxDrawdown, 10);
  assert.equal(s.add(30_000, 'd', 1, 0), 'appended');
  assert.equal(s.total().n, 4);
});

test('ties on closedMs are ordered by id as a plain JS string; an equal key is not "after"', () => {
  const s = new BucketSeries();
  assert.equal(s.add(5_000, 'a', 1, 0), 'appended');
  assert.equal(s.add(5_000, 'b', 1, 0), 'appended'); // 'a' < 'b'
  assert.equal(s.add(5_000, 'b', 1, 0), 'dirty'); // same key again
  const t = new BucketSeries();
  assert.equal(t.add(5_000, '9', 1, 0), 'appended');
  assert.equal(t.add(5_000, '10', 1, 0), 'dirty'); // '10' < '9' as strings
  assert.equal(t.add(5_000, 'A', 1, 0), 'appended'); // '9' < 'A' (code units)
  assert.equal(t.add(5_000, 'a', 1, 0), 'appended'); // 'A' < 'a'
});

test('a late trade in an older minute creates its bucket in time order', () => {
  const s = new BucketSeries();
  assert.equal(s.add(5 * M, 'x', -6, 0), 'appended');
  assert.equal(s.add(9 * M, 'y', 2, 0), 'appended');
  assert.equal(s.add(1 * M, 'w', 4, 0), 'appended'); // new bucket before both
  assert.equal(s.add(7 * M, 'z', -1, 0), 'appended'); // new bucket in the middle
  assert.equal(s.size, 4);
  // In time order: 4 (min 1), -6 (min 5), -1 (min 7), 2 (min 9): cumulative 0, 4, -2, -3, -1.
  const all = s.total();
  assert.equal(all.maxDrawdown, 7);
  assert.equal(all.sum, -1);
  assert.equal(s.foldRange(5 * M, 8 * M).maxDrawdown, 7); // -6, -1: cumulative 0, -6, -7
  assert.equal(s.foldRange(5 * M, 8 * M).minPrefix, -7);
  assert.deepEqual(s.lastKey(), { closedMs: 9 * M, id: 'y' });
});

test('a dirty bucket still appends a trade that sorts after its last one (the rebuild replaces it anyway)', () => {
  const s = new BucketSeries();
  s.add(10_000, 'b', 1, 0);
  assert.equal(s.add(5_000, 'a', 1, 0), 'dirty');
  assert.equal(s.add(20_000, 'c', 1, 0), 'appended');
  assert.deepEqual(s.lastKey(), { closedMs: 20_000, id: 'c' });
});

test('replaceBucket refuses trades outside the bucket, and an empty rebuild removes the bucket', () => {
  const s = new BucketSeries();
  s.add(M + 1, 'a', 1, 0);
  assert.throws(() => s.replaceBucket(M + 5, []), RangeError); // not a bucket start
  assert.throws(() => s.replaceBucket(M, [{ closedMs: 2 * M, id: 'x', pnl: 1, fees: 0 }]), RangeError);
  assert.throws(() => s.replaceBucket(M, [{ closedMs: M + 2, id: 'x', pnl: NaN, fees: 0 }]), RangeError);
  assert.equal(s.total().n, 1); // a refused rebuild changes nothing
  // Rebuilding a bucket that does not exist yet creates it, in order.
  s.replaceBucket(0, [{ closedMs: 7, id: 'z', pnl: -2, fees: 0.5 }]);
  assert.equal(s.size, 2);
  assert.equal(s.total().maxDrawdown, 2); // -2 then +1
  // An empty rebuild removes the bucket.
  s.replaceBucket(M, []);
  assert.equal(s.size, 1);
  assert.equal(s.total().sum, -2);
  assert.equal(s.total().fees, 0.5);
});

test("replaceBucket puts unsorted trades in (closedMs, id) JS order, e.g. SQLite's code-point order", () => {
  // SQLite's BINARY collation sorts UTF-8 bytes (code points): U+FF01 '！' < U+1F600 '😀'.
  // JS compares UTF-16 code units: '😀' (0xD83D 0xDE00) < '！' (0xFF01). Our rule is JS's.
  const emoji = '\u{1F600}';
  const bang = '\uFF01';
  assert.ok(emoji < bang);
  const sqlOrder = [
    { closedMs: 1_000, id: bang, pnl: 5, fees: 0 },
    { closedMs: 1_000, id: emoji, pnl: -8, fees: 0 },
  ];
  const s = new BucketSeries();
  assert.equal(s.add(1_000, bang, 5, 0), 'appended');
  assert.equal(s.add(1_000, emoji, -8, 0), 'dirty'); // sorts first by JS order
  s.replaceBucket(0, sqlOrder);
  // JS order: -8 then +5: cumulative 0, -8, -3 → drawdown 8 (SQL order would give 0, 5, -3 → 8 too,
  // so check the prefix extremes, which differ: JS order never rises above 0).
  assert.equal(s.total().maxPrefix, 0);
  assert.equal(s.total().minPrefix, -8);
  assert.deepEqual(s.lastKey(), { closedMs: 1_000, id: bang });
  // Any shuffled list rebuilds to the same bucket as the sorted one.
  const trades = [3, 1, 4, 1, 5, 9, 2, 6].map((pnl, k) => ({
    closedMs: 100 * (k % 3),
    id: `i${k}`,
    pnl: pnl - 4,
    fees: 0,
  }));
  const sorted = trades.slice().sort(byKey);
  const a = new BucketSeries();
  const b = new BucketSeries();
  a.replaceBucket(0, sorted);
  b.replaceBucket(0, trades.slice().reverse());
  assert.deepStrictEqual(b.total(), a.total());
  assert.deepStrictEqual(b.lastKey(), a.lastKey());
  assert.deepStrictEqual(
    trades.map((t) => t.id),
    ['i0', 'i1', 'i2', 'i3', 'i4', 'i5', 'i6', 'i7'],
  ); // input untouched
});

test('dropBefore forgets older buckets; folds cover the rest', () => {
  const s = new BucketSeries();
  for (let k = 0; k < 10; k++) s.add(k * M + 1_000, `t${k}`, k % 2 ? -k : k, 0.1);
  s.add(2 * M, 'early', 1, 0); // before t2 in minute 2: dirty
  s.dropBefore(4 * M);
  assert.equal(s.size, 6);
  // Remaining pnl 4, -5, 6, -7, 8, -9.
  assert.equal(s.total().n, 6);
  assert.equal(s.total().sum, -3);
  assert.equal(s.foldRange(0, 6 * M).n, 2);
  s.dropBefore(4 * M); // idempotent
  assert.equal(s.size, 6);
  s.dropBefore(100 * M);
  assert.equal(s.size, 0);
  assert.equal(s.total().n, 0);
  assert.equal(s.lastKey(), undefined);
});

test('total() is a copy, lastKey() tracks the greatest key, bucket() reads one bucket', () => {
  const s = new BucketSeries();
  assert.equal(s.lastKey(), undefined);
  assert.equal(s.total().n, 0);
  s.add(3 * M, 'a', 2, 0);
  s.add(3 * M + 5, 'b', -1, 0);
  const t = s.total();
  t.n = 999;
  t.sum = 999;
  assert.equal(s.total().n, 2);
  assert.equal(s.total().sum, 1);
  assert.deepEqual(s.lastKey(), { closedMs: 3 * M + 5, id: 'b' });
  s.add(M, 'old', 1, 0); // older minute: the last key does not move
  assert.deepEqual(s.lastKey(), { closedMs: 3 * M + 5, id: 'b' });
  assert.equal(s.bucket(3 * M)!.n, 2);
  assert.equal(s.bucket(2 * M), undefined);
});

test('the constructor refuses a bucket width that is not a positive integer', () => {
  assert.throws(() => new BucketSeries(0), RangeError);
  assert.throws(() => new BucketSeries(-60_000), RangeError);
  assert.throws(() => new BucketSeries(1.5), RangeError);
  assert.equal(new BucketSeries(1_000).bucketMs, 1_000);
  assert.throws(() => new BucketSeries().add(NaN, 'x', 1, 0), RangeError);
});

// ---- property: any arrival order + rebuilds = in-order arrival ----

const tradeArb = fc.record({
  // 8 minutes, with extra weight on exact bucket starts and on a few shared instants.
  closedMs: fc.oneof(
    fc.integer({ min: 0, max: 8 * M - 1 }),
    fc.integer({ min: 0, max: 7 }).map((k) => k * M),
    fc.constantFrom(1_000, 61_000, 61_000, 300_500),
  ),
  id: fc.string({ minLength: 1, maxLength: 3 }),
  pnl: fc.oneof(
    fc.integer({ min: -5000, max: 5000 }).map((c) => c / 100),
    fc.constant(0),
    fc.double({ min: -100, max: 100, noNaN: true }),
  ),
  fees: fc.integer({ min: 0, max: 100 }).map((c) => c / 100),
});
// (closedMs, id) is unique per trade in the ledger.
const tradesArb = fc.uniqueArray(tradeArb, { maxLength: 80, selector: (t) => `${t.closedMs}\u0000${t.id}` });

function shuffle<X>(xs: X[], seed: number): X[] {
  const out = xs.slice();
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

// What the sidecar does: note the buckets add() answered 'dirty' for, and rebuild each from
// the trades it has seen, sorted.
function rebuildDirty(s: BucketSeries, seen: T[], dirty: Set<number>): void {
  for (const start of dirty) {
    s.replaceBucket(start, seen.filter((t) => bucketStart(t.closedMs) === start).sort(byKey));
  }
  dirty.clear();
}

test('property: shuffled arrival + rebuilds of dirty buckets = in-order arrival (total and every range)', () => {
  fc.assert(
    fc.property(tradesArb, fc.integer(), fc.double({ min: 0, max: 1, noNaN: true }), (trades, seed, rebuildRate) => {
      const sorted = trades.slice().sort(byKey);
      const inOrder = new BucketSeries();
      for (const t of sorted) assert.equal(inOrder.add(t.closedMs, t.id, t.pnl, t.fees), 'appended');

      const shuffled = new BucketSeries();
      const seen: T[] = [];
      const dirty = new Set<number>();
      let k = seed;
      for (const t of shuffle(trades, seed)) {
        seen.push(t);
        if (shuffled.add(t.closedMs, t.id, t.pnl, t.fees) === 'dirty') dirty.add(bucketStart(t.closedMs));
        k = (Math.imul(k, 1103515245) + 12345) >>> 0;
        if (k / 2 ** 32 < rebuildRate) rebuildDirty(shuffled, seen, dirty); // sometimes mid-stream
        // Invariant after every step: the cached total is the fold of the buckets.
        assertAggClose(shuffled.total(), shuffled.foldRange(-Infinity, Infinity), 'cache');
      }
      rebuildDirty(shuffled, seen, dirty);

      assert.equal(shuffled.size, inOrder.size);
      assertAggClose(shuffled.total(), naive(sorted), 'total vs naive');
      assertAggClose(shuffled.total(), inOrder.total(), 'total');
      assertAggClose(inOrder.total(), naive(sorted), 'in-order total vs naive');
      for (let from = 0; from <= 8; from++) {
        for (let to = from; to <= 8; to++) {
          const got = shuffled.foldRange(from * M, to * M);
          assertAggClose(got, inOrder.foldRange(from * M, to * M), `range ${from}..${to}`);
          assertAggClose(
            got,
            naive(sorted.filter((t) => t.closedMs >= from * M && t.closedMs < to * M)),
            `range ${from}..${to} vs naive`,
          );
        }
      }
      assert.deepEqual(shuffled.lastKey(), inOrder.lastKey());
    }),
    { numRuns: 150 },
  );
});

test('property: the incrementally updated total equals a fresh fold after any mix of operations', () => {
  fc.assert(
    fc.property(tradesArb, fc.array(fc.integer({ min: 0, max: 8 }), { maxLength: 3 }), (trades, drops) => {
      const s = new BucketSeries();
      let held: T[] = []; // model: the trades of the buckets the series still holds
      const dirty = new Set<number>();
      trades.forEach((t, i) => {
        held.push(t);
        if (s.add(t.closedMs, t.id, t.pnl, t.fees) === 'dirty') dirty.add(bucketStart(t.closedMs));
        if (i % 7 === 6) rebuildDirty(s, held, dirty);
        if (i % 11 === 10 && drops.length) {
          const boundary = drops.shift()! * M;
          s.dropBefore(boundary);
          held = held.filter((h) => bucketStart(h.closedMs) >= boundary);
          for (const d of dirty) if (d < boundary) dirty.delete(d);
        }
        assertAggClose(s.total(), s.foldRange(-Infinity, Infinity), `after op ${i}`);
      });
      rebuildDirty(s, held, dirty);
      assertAggClose(s.total(), naive(held.sort(byKey)), 'held trades');
    }),
    { numRuns: 150 },
  );
});

test('total after in-order appends across new buckets equals the naive fold', () => {
  const s = new BucketSeries();
  const trades: T[] = [];
  let seed = 99;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let ms = 0;
  for (let i = 0; i < 2000; i++) {
    ms += Math.floor(rnd() * 20_000);
    const t = { closedMs: ms, id: `id${i}`, pnl: Math.round((rnd() - 0.5) * 1000) / 100, fees: 0.01 };
    trades.push(t);
    assert.equal(s.add(t.closedMs, t.id, t.pnl, t.fees), 'appended');
  }
  assertAggClose(s.total(), naive(trades));
  const a = empty();
  for (const t of trades) addTrade(a, t.pnl, t.fees);
  assert.deepStrictEqual(s.total(), a); // the O(1) cache update is exactly addTrade
});
