// The window engine as the benchmarks changed it: cached hours, edge-minute rows kept between
// scrapes, whole-life minutes folded into hours, and the saved state that makes a restart read
// only new trades. Every figure is checked against a plain in-order fold of the trades in SQL.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { addTrade, empty, type Agg } from '../src/analytics/index.js';
import { Ledger } from '../src/ledger/ledger.js';
import type { TradeInput } from '../src/model/trade.js';
import { runKeyOf } from '../src/sidecar/cusum-runs.js';
import { HOUR, WINDOWS, WindowEngine } from '../src/sidecar/engine.js';
import { STRATEGIES, generateLedger, rng } from '../bench/generate.js';
import { referenceCusum as cusumReference, type ReferenceTrade } from './support/cusum-reference.js';
import { tempDir } from './support/tmp.js';

const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 20, 10, 17, 31, 250);

/** The reference: the trades of SQL, sorted by (closed_at, id) in JS order, folded one by one. */
function reference(ledger: Ledger, where: string, ...args: unknown[]): Agg {
  const rows = ledger.raw
    .prepare(`SELECT closed_ms AS closedMs, id, pnl, fees, notional FROM trades WHERE ${where}`)
    .all(...args) as Array<{ closedMs: number; id: string; pnl: number; fees: number; notional: number | null }>;
  rows.sort((a, b) => a.closedMs - b.closedMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const agg = empty();
  for (const r of rows) addTrade(agg, r.pnl, r.fees, r.notional);
  return agg;
}

function same(actual: Agg, expected: Agg, what: string): void {
  for (const k of Object.keys(expected) as Array<keyof Agg>)
    assert.ok(
      Math.abs(actual[k] - expected[k]) <= 1e-9 * Math.max(1, Math.abs(expected[k])),
      `${what}: ${k} is ${actual[k]}, expected ${expected[k]}`,
    );
}

/** The CUSUM reference (test/support/cusum-reference.ts): the run with its prior, sorted in JS, folded by the pure functions. */
function referenceCusum(ledger: Ledger, strategy: string, minTrades: number) {
  const deploys = ledger.deploys(strategy);
  const rows = ledger.raw
    .prepare(
      'SELECT closed_ms AS closedMs, id, pnl, notional, param_version AS version, coalesce(opened_ms, closed_ms) AS attributedMs FROM trades WHERE strategy = ?',
    )
    .all(strategy) as ReferenceTrade[];
  const ref = cusumReference(rows, deploys[deploys.length - 1], deploys[deploys.length - 2], minTrades);
  return { key: runKeyOf(deploys, minTrades), values: ref.values, trades: ref.trades };
}

function checkAll(engine: WindowEngine, ledger: Ledger, now: number, label: string): void {
  for (const s of STRATEGIES) {
    const ref = referenceCusum(ledger, s, 20);
    const got = engine.cusum(s, ref.key);
    assert.ok(ref.values, `${label} ${s}: the generated run should hold at least 20 trades`);
    assert.equal(got?.trades, ref.trades, `${label} ${s} CUSUM trades`);
    for (const [i, v] of ref.values.entries())
      assert.ok(
        Math.abs(got.values[i].llr - v.llr) <= 1e-9 * Math.max(1, v.llr),
        `${label} ${s} CUSUM ${v.shift}: ${got.values[i].llr}, expected ${v.llr}`,
      );
    for (const [name, w] of Object.entries(WINDOWS))
      same(
        engine.window(s, name as keyof typeof WINDOWS, now),
        reference(ledger, 'strategy = ? AND closed_ms > ? AND closed_ms <= ?', s, now - w, now),
        `${label} ${s} ${name}`,
      );
    same(
      engine.range(s, now - 7 * DAY, now - DAY),
      reference(ledger, 'strategy = ? AND closed_ms > ? AND closed_ms <= ?', s, now - 7 * DAY, now - DAY),
      `${label} ${s} 7d less 24h`,
    );
    // The run's windows (drift's samples): the active version's trades from its latest deploy on.
    const runWhere =
      'strategy = ? AND closed_ms > ? AND closed_ms <= ? AND param_version IS ? AND coalesce(opened_ms, closed_ms) >= ?';
    const start = Number.isFinite(ref.key.startMs) ? ref.key.startMs : -1e300;
    same(
      engine.runRange(s, ref.key, now - DAY, now),
      reference(ledger, runWhere, s, now - DAY, now, ref.key.version, start),
      `${label} ${s} run 24h`,
    );
    same(
      engine.runRange(s, ref.key, now - 7 * DAY, now - DAY),
      reference(ledger, runWhere, s, now - 7 * DAY, now - DAY, ref.key.version, start),
      `${label} ${s} run baseline`,
    );
    const straddles = ledger.raw
      .prepare(
        'SELECT param_version, count(*) FROM trades WHERE strategy = ? AND straddle = 1 AND param_version IS NOT NULL GROUP BY 1 ORDER BY 1',
      )
      .raw()
      .all(s);
    assert.deepEqual(
      [...engine.straddleCounts(s)].sort((a, b) => a[0] - b[0]),
      straddles,
      `${label} ${s} straddling trades`,
    );
    const versions = engine.versionTotals(s);
    const expected = ledger.raw
      .prepare('SELECT DISTINCT param_version FROM trades WHERE strategy = ? AND param_version IS NOT NULL')
      .pluck()
      .all(s) as number[];
    assert.deepEqual([...versions.keys()].sort(), expected.sort(), `${label} ${s} versions`);
    for (const v of expected)
      same(versions.get(v)!, reference(ledger, 'strategy = ? AND param_version = ?', s, v), `${label} ${s} v${v}`);
    for (const [variant, agg] of engine.variantTotals(s, 'bench-exp'))
      same(
        agg,
        reference(ledger, "strategy = ? AND experiment = 'bench-exp' AND variant = ?", s, variant),
        `${label} ${s} ${variant}`,
      );
  }
}

test('windows and whole-life totals stay exact while trades land on window edges, late, in the future and hours back, and a restart from the saved state agrees with a full read', (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'ledger.db');
  generateLedger(db, { trades: 20_000, days: 10, endMs: T0, lateShare: 0.02, seed: 7 });
  const ledger = Ledger.open(db);
  t.after(() => ledger.close());
  const statePath = join(dir, 'state');
  // The sidecar's engine: a start that reads every trade fills the CUSUM runs in the same pass.
  const runKey = (s: string) => runKeyOf(ledger.deploys(s), 20);
  const engine = new WindowEngine(ledger, { statePath, stateMinTrades: 0, runKey });
  let now = T0 + 1000;
  assert.equal(engine.refresh(now), 20_000);
  assert.equal(engine.startMode, 'scan');
  assert.ok(existsSync(statePath), 'a start that read the ledger saves the state');
  checkAll(engine, ledger, now, 'start');

  const expStartMs = ledger.getExperiment(STRATEGIES[0], 'bench-exp')!.startedMs;
  const rand = rng(11);
  let n = 0;
  for (let step = 0; step < 30; step++) {
    now += step % 10 === 9 ? 50 * 60_000 : Math.floor(rand() * 90_000); // sometimes far enough to fold minutes into hours
    const trades: TradeInput[] = [];
    for (let k = 0; k < 12; k++) {
      const strategy = STRATEGIES[Math.floor(rand() * STRATEGIES.length)];
      // Near every edge a window can have, in the future (clock skew), late, and hours back.
      const edge = [now, now - HOUR, now - DAY, now - 7 * DAY][Math.floor(rand() * 4)];
      // Exactly on an edge (now - W is out, now is in) or up to half a minute either side.
      const at = edge + (rand() < 0.3 ? [0, 1, -1][Math.floor(rand() * 3)] : Math.floor((rand() - 0.5) * 60_000));
      const closedMs =
        rand() < 0.1
          ? now + Math.floor(rand() * 60_000)
          : rand() < 0.1
            ? now - 3 * HOUR
            : rand() < 0.05
              ? now - 8 * DAY
              : at;
      // An experiment's trades close after it started (the ledger refuses others).
      const exp = strategy === STRATEGIES[0] && rand() < 0.5 && closedMs >= expStartMs;
      // Short random ids, so that trades at the same millisecond arrive out of id order.
      trades.push({
        strategy,
        id: `${'abcxyz'[Math.floor(rand() * 6)]}${n++}`,
        symbol: 'BTC-USD',
        side: 'long',
        closedMs: rand() < 0.2 ? now - 60_000 : closedMs,
        openedMs: null,
        pnl: Math.round((rand() - 0.45) * 2000) / 100,
        fees: 0.01,
        notional: 100,
        paramVersion: null,
        experiment: exp ? 'bench-exp' : null,
        variant: exp ? (rand() < 0.5 ? 'control' : 'candidate') : null,
      });
    }
    // Half of them folded by a background refresh (the sidecar's timer), which defers the
    // rebuilds of buckets a late trade touched to the next foreground refresh.
    const half = trades.length >> 1;
    ledger.insertTrades(trades.slice(0, half), now);
    const early = engine.refresh(now, { background: true });
    ledger.insertTrades(trades.slice(half), now);
    assert.equal(early + engine.refresh(now), trades.length, 'each refresh reads only the new rows');
    checkAll(engine, ledger, now, `step ${step}`);
  }

  now += 3 * HOUR;
  const restarted = new WindowEngine(ledger, { statePath });
  restarted.refresh(now);
  assert.equal(restarted.startMode, 'state');
  assert.equal(restarted.tradesSeen, 20_000 + n);
  checkAll(restarted, ledger, now, 'restart from state');
  restarted.saveState(); // as a clean stop would, with the CUSUM runs the checks just read
  const again = new WindowEngine(ledger, { statePath });
  assert.equal(again.refresh(now), 0, 'a state saved at a stop leaves nothing to read');
  checkAll(again, ledger, now, 'restart after a clean stop');
  const scanned = new WindowEngine(ledger, { statePath: null, runKey });
  scanned.refresh(now);
  assert.equal(scanned.startMode, 'scan');
  checkAll(scanned, ledger, now, 'full read');
  engine.refresh(now);
  checkAll(engine, ledger, now, 'kept running');
});

test('a saved state from another ledger, or a damaged one, is ignored and the ledger is read in full', (t) => {
  const dir = tempDir(t);
  const a = join(dir, 'a.db');
  const b = join(dir, 'b.db');
  generateLedger(a, { trades: 3_000, days: 3, endMs: T0, seed: 1 });
  generateLedger(b, { trades: 3_000, days: 3, endMs: T0, seed: 2 });
  const la = Ledger.open(a);
  const lb = Ledger.open(b);
  t.after(() => {
    la.close();
    lb.close();
  });
  new WindowEngine(la, { stateMinTrades: 0 }).refresh(T0);
  copyFileSync(`${a}.sidecar-state`, `${b}.sidecar-state`);
  const other = new WindowEngine(lb);
  assert.equal(other.refresh(T0), 3_000);
  assert.equal(other.startMode, 'scan');
  assert.match(other.stateNote ?? '', /another ledger/);

  truncateSync(`${a}.sidecar-state`, 2000);
  const damaged = new WindowEngine(la);
  assert.equal(damaged.refresh(T0), 3_000);
  assert.equal(damaged.startMode, 'scan');
  assert.match(damaged.stateNote ?? '', /unreadable/);
  writeFileSync(`${a}.sidecar-state`, 'not a state file');
  const garbage = new WindowEngine(la);
  garbage.refresh(T0);
  assert.equal(garbage.startMode, 'scan');
});

test('an engine on a read-only ledger (the CLI report) never writes a state file', (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'ledger.db');
  generateLedger(db, { trades: 2_000, days: 2, endMs: T0 });
  const ledger = Ledger.open(db, { readonly: true });
  t.after(() => ledger.close());
  const engine = new WindowEngine(ledger, { stateMinTrades: 0 });
  assert.equal(engine.refresh(T0), 2_000);
  assert.equal(existsSync(`${db}.sidecar-state`), false);
});
