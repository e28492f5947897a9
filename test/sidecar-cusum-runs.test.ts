// CusumRuns on a real ledger: a late trade makes the next read resume from the newest
// checkpoint before it and re-read only the trades after it; the values equal a fold of the
// whole run in (closed_at, id) order through the pure functions.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { cusumAdd, cusumStart, cusumValues } from '../src/analytics/index.js';
import { Ledger } from '../src/ledger/ledger.js';
import type { TradeInput } from '../src/model/trade.js';
import { CusumRuns, type RunTrade } from '../src/sidecar/cusum-runs.js';
import { rng } from '../bench/generate.js';
import { tempDir } from './support/tmp.js';

const T0 = Date.UTC(2026, 10, 1);
const trade = (id: string, closedMs: number, pnl: number): TradeInput => ({
  strategy: 's',
  id,
  symbol: 'X',
  side: 'long',
  closedMs,
  openedMs: null,
  pnl,
  fees: 0,
  notional: null,
  paramVersion: null,
  experiment: null,
  variant: null,
});

test('a late trade resumes the CUSUM from the newest checkpoint before it, reads only the trades after that, and gives the in-order value', (t) => {
  const ledger = Ledger.open(join(tempDir(t), 'l.db'), { synchronous: 'NORMAL' });
  t.after(() => ledger.close());
  const read = ledger.raw
    .prepare('SELECT id, closed_ms, pnl FROM trades WHERE strategy = ? AND closed_ms > ? ORDER BY closed_ms, id')
    .raw();
  let rowsRead = 0;
  const runs = new CusumRuns(function* (strategy, afterMs): Iterable<RunTrade> {
    for (const [id, closedMs, pnl] of read.iterate(strategy, afterMs) as IterableIterator<[string, number, number]>) {
      rowsRead++;
      yield { id, closedMs, pnl, version: null, openedMs: null, notional: null };
    }
  });
  const rand = rng(3);
  const all: TradeInput[] = [];
  const record = (x: TradeInput) => {
    all.push(x);
    ledger.insertTrades([x], x.closedMs);
    runs.add('s', { closedMs: x.closedMs, id: x.id, pnl: x.pnl, version: null, openedMs: null, notional: null });
  };
  const key = { version: null, startMs: T0, deploys: 1, minTrades: 20 };
  runs.begin('s', key);
  for (let i = 0; i < 5000; i++)
    record(trade(`t${String(i).padStart(5, '0')}`, T0 + 1 + i * 1000, Math.round((rand() - 0.5) * 2000) / 100));
  const reference = () => {
    const state = cusumStart();
    for (const x of [...all].sort((a, b) => a.closedMs - b.closedMs || (a.id < b.id ? -1 : 1)))
      cusumAdd(state, x.pnl, 20);
    return cusumValues(state, 20)!;
  };
  const same = (what: string) => {
    const got = runs.read('s', key)!;
    assert.equal(got.trades, all.length, what);
    for (const [i, v] of reference().entries())
      assert.ok(
        Math.abs(got.values[i].llr - v.llr) <= 1e-9 * Math.max(1, v.llr),
        `${what}: ${got.values[i].llr} vs ${v.llr}`,
      );
  };
  rowsRead = 0;
  same('in order');
  assert.equal(rowsRead, 0, 'an in-order run reads nothing');

  // Late by 300 trades: back to the checkpoint at 4,000 trades; read again from the checkpoint's
  // own last trade (skipped): 1 + 1,000 trades after it + the late one.
  record(trade('late-1', T0 + 1 + 4700 * 1000 + 500, -40));
  same('after a trade 300 trades late');
  assert.equal(rowsRead, 1002);
  // Two late trades before one read: the earlier decides; in-order trades after them wait too.
  rowsRead = 0;
  record(trade('late-2', T0 + 1 + 3500 * 1000 + 500, 25));
  record(trade('late-3', T0 + 1 + 4500 * 1000 + 500, -5));
  record(trade('next', T0 + 1 + 6000 * 1000, 1));
  same('after two late trades');
  assert.equal(rowsRead, 1 + 5004 - 3000, 'back to the checkpoint at 3,000 trades');
  // Older than every checkpoint kept: the whole run is read again.
  rowsRead = 0;
  record(trade('very-late', T0 + 1 + 10 * 1000 + 500, -30));
  same('after a trade older than every checkpoint');
  assert.equal(rowsRead, all.length);
});

test('a run saved before the long-run scale (no lrv sums) is rebuilt from the trades at restore, one saved by this release is continued', () => {
  const trades: RunTrade[] = [];
  const rand = rng(11);
  for (let i = 0; i < 300; i++)
    trades.push({
      id: `t${String(i).padStart(4, '0')}`,
      closedMs: T0 + 1 + i * 1000,
      pnl: Math.round((rand() - 0.45) * 2000) / 100,
      version: null,
      openedMs: null,
      notional: null,
    });
  let rowsRead = 0;
  const source = function* (_strategy: string, afterMs: number): Iterable<RunTrade> {
    for (const t of trades)
      if (t.closedMs > afterMs) {
        rowsRead++;
        yield t;
      }
  };
  const key = { version: null, startMs: T0, deploys: 1, minTrades: 20 };
  const runs = new CusumRuns(source);
  runs.begin('s', key);
  for (const t of trades) runs.add('s', t);
  const want = runs.read('s', key)!;
  const saved = runs.save();
  assert.ok(saved[0].state.lrv, 'this release saves the sums');

  const current = new CusumRuns(source);
  current.restore(JSON.parse(JSON.stringify(saved)));
  rowsRead = 0;
  assert.deepEqual(current.read('s', key), want);
  assert.equal(rowsRead, 0, 'a state of this release is continued');

  // The previous release's state: the same fields but no long-run sums.
  const old = JSON.parse(JSON.stringify(saved)) as typeof saved;
  delete (old[0].state as Partial<(typeof old)[0]['state']>).lrv;
  const upgraded = new CusumRuns(source);
  upgraded.restore(old);
  rowsRead = 0;
  assert.deepEqual(upgraded.read('s', key), want);
  assert.equal(rowsRead, trades.length, 'the old state is rebuilt from every trade of the run');
});
