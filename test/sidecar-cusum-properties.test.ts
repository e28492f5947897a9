// Property-based tests (fast-check) of the sidecar's CUSUM runs on a real SQLite ledger: random
// interleavings of trade batches, late trades, deploys, engine refreshes, reads and restarts,
// and after every read the engine's value equals the definition computed from the ledger rows:
// the trades of the strategy closed strictly after its latest deploy's deployed_ms (all of them
// without a deploy) that the engine has read, sorted by (closed_ms, id) with ids compared as
// JavaScript strings, folded through cusumAdd from cusumStart, then cusumValues. "Has read":
// rows up to the ledger's max seq at the engine's last refresh (a read between an insert and the
// next refresh does not see the new rows; an engine not yet refreshed has read none).
// The long-run test also counts the rows of the engine's run query (a wrapper on its prepared
// statement), to see that a late trade is re-read from a checkpoint, not from the run's start.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import type { Statement } from 'better-sqlite3';
import fc from 'fast-check';
import { referenceCusum } from './support/cusum-reference.js';
import { rng } from '../src/demo/market.js';
import { Ledger } from '../src/ledger/ledger.js';
import type { TradeReads } from '../src/ledger/trade-reads.js';
import type { TradeInput } from '../src/model/trade.js';
import { runKeyOf } from '../src/sidecar/cusum-runs.js';
import { WindowEngine } from '../src/sidecar/engine.js';
import { tempDir } from './support/tmp.js';

const T0 = Date.UTC(2026, 2, 1, 9, 30);
const NAMES = ['trend', 'revert'];
/**
 * Id prefixes. Within one millisecond SQL sorts ids by UTF-8 bytes and JS by UTF-16 units:
 * '\uff01' and '\ue000' sort before '😀' / '𝟙' in SQL (EF/EE < F0) but after them in JS
 * (0xFF01, 0xE000 > 0xD83D).
 */
const PREFIXES = ['', 'a', 'Z', '\uff01', '😀', '\ue000', '𝟙'];
const MIN_TRADES = [2, 5, 20, 100];

// ---- scenario ----

type LateDepth = 'few' | 'checkpoint' | 'deep' | 'atDeploy';
type Op =
  /** `count` trades from the clock on; `sameMsPct` of them in the same millisecond as the one before, `latePct` a few trades late. */
  | { op: 'batch'; s: number; count: number; seed: number; sameMsPct: number; latePct: number }
  /** `n` trades closed before about `depth` trades already recorded (or exactly at a deploy's deployed_ms). */
  | { op: 'late'; s: number; depth: LateDepth; frac: number; n: number; seed: number }
  /** A deploy of parameter set `params` (a repeated set re-activates its version), now, back-dated, or twice in one millisecond. */
  | { op: 'deploy'; s: number; params: number; at: 'now' | 'back' | 'sameMs'; frac: number }
  | { op: 'refresh'; background: boolean }
  | { op: 'read'; s: number }
  /** A new engine on the same ledger and state file; `lose`: the state file is gone (a full start scan). */
  | { op: 'restart'; save: boolean; runKey: boolean; eager: boolean; lose: boolean; minTrades: number | null };

interface Scenario {
  strategies: number;
  minTrades: number[];
  runKey: boolean;
  ops: Op[];
}

const sArb = fc.nat({ max: 1 });
const fracArb = fc.integer({ min: 0, max: 999 }).map((k) => k / 1000);

function opArb(maxBatch: number): fc.Arbitrary<Op> {
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        op: fc.constant('batch' as const),
        s: sArb,
        count: fc.oneof(
          { weight: 5, arbitrary: fc.integer({ min: 1, max: 120 }) },
          { weight: 1, arbitrary: fc.integer({ min: 120, max: maxBatch }) },
        ),
        seed: fc.nat(),
        sameMsPct: fc.integer({ min: 0, max: 80 }),
        latePct: fc.integer({ min: 0, max: 20 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('late' as const),
        s: sArb,
        depth: fc.constantFrom<LateDepth>('few', 'few', 'checkpoint', 'deep', 'atDeploy'),
        frac: fracArb,
        n: fc.integer({ min: 1, max: 3 }),
        seed: fc.nat(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('deploy' as const),
        s: sArb,
        params: fc.nat({ max: 2 }),
        at: fc.constantFrom('now' as const, 'back' as const, 'sameMs' as const),
        frac: fracArb,
      }),
    },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('refresh' as const), background: fc.boolean() }) },
    { weight: 5, arbitrary: fc.record({ op: fc.constant('read' as const), s: sArb }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('restart' as const),
        save: fc.boolean(),
        runKey: fc.boolean(),
        eager: fc.boolean(),
        lose: fc.constantFrom(false, false, false, true),
        minTrades: fc.option(fc.constantFrom(...MIN_TRADES), { freq: 4 }),
      }),
    },
  );
}

// ---- the world: a ledger, an engine, and what the engine has read ----

interface World {
  ledger: Ledger;
  dir: string;
  statePath: string;
  names: string[];
  minTrades: number[];
  engine: WindowEngine;
  /** The ledger's max seq at the engine's last refresh: the rows it has read. */
  seen: number;
  now: number;
  nextId: number;
  /** Rows the engine's run query returned since the counter was reset. */
  rowsRead: number;
  st: { deploys: Statement; trades: Statement; nth: Statement; first: Statement; count: Statement };
}

function tradeOf(w: World, s: number, closedMs: number, pnl: number, rand: () => number): TradeInput {
  const id = `${PREFIXES[Math.floor(rand() * PREFIXES.length)]}-${(w.nextId++).toString(36)}`; // unique: no prefix holds a "-"
  return {
    strategy: w.names[s],
    id,
    symbol: 'BTC-USD',
    side: 'long',
    closedMs,
    openedMs: null,
    pnl,
    fees: 0.01,
    notional: 100,
    paramVersion: null,
    experiment: null,
    variant: null,
  };
}

/** PnL in cents, with flat trades, outliers and, now and then, a fall of the mean. */
function pnlOf(rand: () => number, shift: number): number {
  const u = rand();
  if (u < 0.05) return 0;
  if (u < 0.07) return Math.round((rand() - 0.5) * 2e6) / 100;
  return Math.round((rand() - 0.5 - shift) * 4000) / 100;
}

function startEngine(w: World, opts: { runKey: boolean; eager: boolean }): void {
  w.engine = new WindowEngine(w.ledger, {
    statePath: w.statePath,
    runKey: opts.runKey
      ? (strategy) => runKeyOf(w.ledger.deploys(strategy), w.minTrades[w.names.indexOf(strategy)])
      : undefined,
    ...(opts.eager ? { stateMinTrades: 0, stateIntervalMs: 0 } : {}),
  });
  w.seen = 0;
  // Count the rows of the engine's one query of a run (closed after a time, in SQL order), to
  // see that a late trade is re-read from a checkpoint and not from the start of the run.
  const reads = w.ledger.tradeReads as TradeReads & { counted?: boolean };
  if (!reads.counted) {
    const closedAfter = reads.closedAfter.bind(reads);
    reads.closedAfter = function* (strategy: string, afterMs: number) {
      for (const row of closedAfter(strategy, afterMs)) {
        w.rowsRead++;
        yield row;
      }
    };
    reads.counted = true;
  }
}

function refresh(w: World, background: boolean, stats: Stats): void {
  const first = w.engine.startMode === undefined;
  w.engine.refresh(w.now, { background });
  if (first) stats.starts[w.engine.startMode!]++;
  w.seen = w.ledger.maxSeq();
}

/** The definition (test/support/cusum-reference.ts), from the ledger rows the engine has read. */
function reference(w: World, s: number) {
  const name = w.names[s];
  // The active deploy and the one before it: the latest two in time (ties: the later arrival).
  const [active, previous] = (w.st.deploys.all(name) as Array<[number, number]>).map(([deployedMs, version]) => ({
    deployedMs,
    version,
  }));
  const rows = w.st.trades.all(name, w.seen) as Array<[number, string, number, number | null, number, number | null]>;
  const ref = referenceCusum(
    rows.map(([closedMs, id, pnl, version, attributedMs, notional]) => ({
      closedMs,
      id,
      pnl,
      version,
      attributedMs,
      notional,
    })),
    active,
    previous,
    w.minTrades[s],
  );
  // Ids of one millisecond that SQL orders otherwise than JavaScript (the runs are folded in JS order).
  const mismatch = ref.run.some(
    (t, i) =>
      i > 0 &&
      t.closedMs === ref.run[i - 1].closedMs &&
      Buffer.compare(Buffer.from(ref.run[i - 1].id), Buffer.from(t.id)) > 0,
  );
  return { values: ref.values, trades: ref.trades, mismatch };
}

interface Stats {
  scenarios: number;
  ops: number;
  trades: number;
  reads: number;
  defined: number;
  maxRun: number;
  sqlJsMismatch: number;
  starts: { scan: number; state: number };
  late: Record<LateDepth, number>;
  deploys: { now: number; back: number; sameMs: number; reactivated: number };
  resumedFromCheckpoint: number;
  fullReread: number;
}

function newStats(): Stats {
  return {
    scenarios: 0,
    ops: 0,
    trades: 0,
    reads: 0,
    defined: 0,
    maxRun: 0,
    sqlJsMismatch: 0,
    starts: { scan: 0, state: 0 },
    late: { few: 0, checkpoint: 0, deep: 0, atDeploy: 0 },
    deploys: { now: 0, back: 0, sameMs: 0, reactivated: 0 },
    resumedFromCheckpoint: 0,
    fullReread: 0,
  };
}

function close(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

/** Reads the engine's CUSUM of strategy `s` and compares it with the reference. Returns the rows the engine read. */
function check(w: World, s: number, label: string, stats: Stats): { rowsRead: number; trades: number } {
  const name = w.names[s];
  const key = runKeyOf(w.ledger.deploys(name), w.minTrades[s]);
  w.rowsRead = 0;
  const got = w.engine.cusum(name, key);
  const rowsRead = w.rowsRead;
  const ref = reference(w, s);
  stats.reads++;
  stats.maxRun = Math.max(stats.maxRun, ref.trades);
  if (ref.mismatch) stats.sqlJsMismatch++;
  const what = `${label}: ${name} (run of ${ref.trades} trades, min ${w.minTrades[s]}, key ${JSON.stringify(key)})`;
  if (ref.values === undefined) {
    assert.equal(
      got,
      undefined,
      `${what}: under the minimum sample the engine should export nothing, got ${JSON.stringify(got)}`,
    );
    return { rowsRead, trades: ref.trades };
  }
  stats.defined++;
  assert.ok(got, `${what}: the engine exported nothing`);
  assert.equal(got.trades, ref.trades, `${what}: trade count`);
  assert.equal(got.values.length, ref.values.length, `${what}: number of shifts`);
  for (const [i, v] of ref.values.entries()) {
    assert.equal(got.values[i].shift, v.shift, `${what}: shift ${i}`);
    assert.ok(
      close(got.values[i].llr, v.llr),
      `${what}: CUSUM of a fall of ${v.shift}σ is ${got.values[i].llr}, expected ${v.llr}`,
    );
  }
  return { rowsRead, trades: ref.trades };
}

function open(base: string, sc: Scenario): World {
  const dir = mkdtempSync(join(base, 'run-'));
  const ledger = Ledger.open(join(dir, 'ledger.db'), { synchronous: 'NORMAL' });
  const db = ledger.raw;
  const w: World = {
    ledger,
    dir,
    statePath: join(dir, 'state'),
    names: NAMES.slice(0, sc.strategies),
    minTrades: sc.minTrades.slice(0, sc.strategies),
    engine: undefined as unknown as WindowEngine,
    seen: 0,
    now: T0,
    nextId: 0,
    rowsRead: 0,
    st: {
      // The active deploy and the one before it: the latest in time (ties: the later arrival).
      deploys: db
        .prepare(
          'SELECT deployed_ms, version FROM param_deploys WHERE strategy = ? ORDER BY deployed_ms DESC, seq DESC LIMIT 2',
        )
        .raw(),
      trades: db
        .prepare(
          'SELECT closed_ms, id, pnl, param_version, coalesce(opened_ms, closed_ms), notional FROM trades WHERE strategy = ? AND seq <= ?',
        )
        .raw(),
      // The closed_ms of the strategy's (k+1)-th newest trade, in SQL order (close enough for "late by about k trades").
      nth: db
        .prepare('SELECT closed_ms FROM trades WHERE strategy = ? ORDER BY closed_ms DESC, id DESC LIMIT 1 OFFSET ?')
        .pluck(),
      first: db.prepare('SELECT min(closed_ms) FROM trades WHERE strategy = ?').pluck(),
      count: db.prepare('SELECT count(*) FROM trades WHERE strategy = ?').pluck(),
    },
  };
  startEngine(w, { runKey: sc.runKey, eager: false });
  return w;
}

function tradeCount(w: World, s: number): number {
  return w.st.count.get(w.names[s]) as number;
}

/** closed_ms about `k` trades back (before every trade when there are fewer). */
function closedBefore(w: World, s: number, k: number): number {
  const at = w.st.nth.get(w.names[s], Math.max(0, k - 1)) as number | undefined;
  if (at !== undefined) return at - 1;
  const first = w.st.first.get(w.names[s]) as number | null;
  return first === null ? w.now : first - 1;
}

/** Applies one op; returns the depth (trades recorded after it) of a late trade, if it was one. */
function apply(w: World, op: Op, label: string, stats: Stats): number | undefined {
  const s = op.op === 'refresh' || op.op === 'restart' ? 0 : op.s % w.names.length;
  switch (op.op) {
    case 'batch': {
      const rand = rng(op.seed);
      const shift = rand() < 0.3 ? rand() * 0.3 : 0;
      const trades: TradeInput[] = [];
      let t = w.now;
      for (let i = 0; i < op.count; i++) {
        t += rand() * 100 < op.sameMsPct ? 0 : 1 + Math.floor(rand() * 5000);
        const closedMs = rand() * 100 < op.latePct ? t - 1 - Math.floor(rand() * 20_000) : t;
        trades.push(tradeOf(w, s, closedMs, pnlOf(rand, shift), rand));
      }
      w.now = Math.max(w.now, t);
      w.ledger.insertTrades(trades, w.now);
      return undefined;
    }
    case 'late': {
      const rand = rng(op.seed);
      const total = tradeCount(w, s);
      let closedMs: number;
      let depth = 0;
      if (op.depth === 'atDeploy') {
        const deploys = w.ledger.deploys(w.names[s]);
        // Mostly the latest deploy (the start of the run, which excludes the trade), else an earlier one.
        closedMs = deploys.length
          ? deploys[rand() < 0.7 ? deploys.length - 1 : Math.floor(rand() * deploys.length)].deployedMs
          : w.now;
      } else {
        depth =
          op.depth === 'few'
            ? 1 + Math.floor(op.frac * 5)
            : op.depth === 'checkpoint'
              ? 1000 + Math.floor(op.frac * 5800)
              : 8001 + Math.floor(op.frac * Math.max(0, total - 8001));
        closedMs = closedBefore(w, s, depth);
      }
      stats.late[op.depth]++;
      const trades: TradeInput[] = [];
      for (let i = 0; i < op.n; i++)
        trades.push(tradeOf(w, s, closedMs - (i === 0 ? 0 : Math.floor(rand() * 3)), pnlOf(rand, 0), rand));
      w.ledger.insertTrades(trades, w.now);
      return depth;
    }
    case 'deploy': {
      const name = w.names[s];
      const versions = w.ledger.versions(name).length;
      const params = { lookback: 10 + op.params, label: `set-${op.params}` };
      let at = w.now;
      if (op.at === 'back')
        at = closedBefore(w, s, 1 + Math.floor(op.frac * tradeCount(w, s))) + (op.frac < 0.5 ? 1 : 0); // at a trade's closed_ms, or just before it
      const res = w.ledger.deployParams(name, params, { source: 'test', note: `${label} ${op.at}` }, at);
      if (op.at === 'sameMs')
        w.ledger.deployParams(
          name,
          { lookback: 10 + ((op.params + 1) % 3), label: `set-${(op.params + 1) % 3}` },
          { source: 'test', note: `${label} same ms` },
          at,
        );
      stats.deploys[op.at]++;
      if (!res.created && versions > 0) stats.deploys.reactivated++;
      return undefined;
    }
    case 'refresh':
      w.now += 1;
      refresh(w, op.background, stats);
      return undefined;
    case 'read':
      check(w, s, label, stats);
      return undefined;
    case 'restart':
      if (op.save) w.engine.saveState();
      if (op.lose) rmSync(w.statePath, { force: true });
      if (op.minTrades !== null) w.minTrades[0] = op.minTrades; // the operator changed the first strategy's cusum_min_trades: a new run
      startEngine(w, { runKey: op.runKey, eager: op.eager });
      return undefined;
  }
}

/** Every strategy once more; then a clean stop and a start from the saved state. */
function finish(w: World, sc: Scenario, stats: Stats): void {
  w.now += 1;
  refresh(w, false, stats);
  for (let s = 0; s < w.names.length; s++) check(w, s, 'final read', stats);
  w.engine.saveState();
  assert.ok(existsSync(w.statePath) || w.ledger.maxSeq() === 0, 'a clean stop leaves a state file');
  startEngine(w, { runKey: sc.runKey, eager: false });
  refresh(w, false, stats);
  for (let s = 0; s < w.names.length; s++)
    check(w, s, 'read after a clean stop and a start from the saved state', stats);
}

function runScenario(base: string, sc: Scenario, stats: Stats, before: (w: World) => void = () => {}): void {
  const w = open(base, sc);
  try {
    before(w);
    sc.ops.forEach((op, i) => apply(w, op, `op ${i} ${JSON.stringify(op)}`, stats));
    finish(w, sc, stats);
    stats.scenarios++;
    stats.ops += sc.ops.length;
    stats.trades += w.ledger.maxSeq();
  } finally {
    w.ledger.close();
    rmSync(w.dir, { recursive: true, force: true });
  }
}

const scenarioArb = (maxOps: number, maxBatch: number): fc.Arbitrary<Scenario> =>
  fc.record({
    strategies: fc.integer({ min: 1, max: 2 }),
    minTrades: fc.tuple(fc.constantFrom(...MIN_TRADES), fc.constantFrom(...MIN_TRADES)),
    runKey: fc.boolean(),
    ops: fc.array(opArb(maxBatch), { minLength: 1, maxLength: maxOps, size: 'max' }),
  });

test('property: after any interleaving of batches, late trades, deploys, refreshes and restarts, every CUSUM read equals the fold of the run in (closed_at, JS id) order', (t) => {
  const base = tempDir(t);
  const stats = newStats();
  fc.assert(
    fc.property(scenarioArb(80, 1500), (sc) => runScenario(base, sc, stats)),
    { numRuns: 150, includeErrorInReport: true },
  );
  t.diagnostic(JSON.stringify(stats));
  assert.ok(
    stats.defined > 0 && stats.starts.state > 0 && stats.starts.scan > 0,
    'the scenarios read defined values and started both from saved state and by a scan',
  );
});

test('property: in a run of more than 8,000 trades a late trade resumes from the newest checkpoint before it (reading ~1,000 trades plus the late ones), one older than every checkpoint re-reads the whole run, and both give the in-order value', (t) => {
  const base = tempDir(t);
  const stats = newStats();
  const bigArb = fc.record({
    sc: scenarioArb(12, 300),
    size: fc.integer({ min: 8_600, max: 10_500 }),
    deployFirst: fc.boolean(),
    seed: fc.nat(),
    sameMsPct: fc.integer({ min: 0, max: 50 }),
    latePct: fc.integer({ min: 0, max: 3 }),
    few: fracArb,
    mid: fracArb,
    deep: fracArb,
  });
  fc.assert(
    fc.property(bigArb, ({ sc, size, deployFirst, seed, sameMsPct, latePct, few, mid, deep }) => {
      // The engine must start by a scan and keep its checkpoints: no restart in the forced part.
      runScenario(base, { ...sc, runKey: true }, stats, (w) => {
        if (deployFirst)
          w.ledger.deployParams(w.names[0], { lookback: 1 }, { source: 'test', note: 'before the run' }, w.now);
        apply(w, { op: 'batch', s: 0, count: size, seed, sameMsPct, latePct }, 'big batch', stats);
        if (w.names.length > 1)
          apply(w, { op: 'batch', s: 1, count: 200, seed: seed + 1, sameMsPct, latePct }, 'second strategy', stats);
        refresh(w, false, stats);
        assert.equal(w.engine.startMode, 'scan');
        check(w, 0, 'first read of the big run', stats);
        for (const [depth, frac] of [
          ['few', few],
          ['checkpoint', mid],
          ['deep', deep],
        ] as Array<[LateDepth, number]>) {
          const label = `after a trade late by ${depth}`;
          const d = apply(w, { op: 'late', s: 0, depth, frac, n: 1, seed: seed + 2 }, label, stats)!;
          w.now += 1;
          refresh(w, false, stats);
          const { rowsRead, trades } = check(w, 0, label, stats);
          if (depth === 'deep') {
            assert.ok(
              rowsRead >= trades,
              `${label} (${d} trades back): older than every checkpoint, the whole run of ${trades} is read again, read ${rowsRead}`,
            );
            stats.fullReread++;
          } else {
            // Back to the newest checkpoint before the late trade: at most ~1,000 trades before it.
            assert.ok(
              rowsRead < trades && rowsRead <= d + 1000 + 100,
              `${label} (${d} trades back): should resume from a checkpoint, read ${rowsRead} of ${trades}`,
            );
            stats.resumedFromCheckpoint++;
          }
        }
      });
    }),
    { numRuns: 8, includeErrorInReport: true },
  );
  t.diagnostic(JSON.stringify(stats));
  assert.ok(stats.maxRun > 8_000, 'a run longer than the checkpoints kept');
});
