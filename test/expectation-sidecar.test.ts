// edgewatch_expectation_* on a real sidecar: which trades the comparison counts (the active
// version's since its latest deploy), in which order (closed_at, id, whatever the arrival
// order), when it restarts (a deploy, a new expectation), and that a restart of the sidecar
// gives the same values. Hand-worked values in the comments; the CUSUM is compared with the
// known-reference CUSUM of src/analytics/expectation.ts fed the same outcomes (its own
// hand-worked test is in test/expectation-analytics.test.ts).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { knownCusumAdd, knownCusumStart } from '../src/analytics/expectation.js';
import { sidecar, wireTrade } from './support/sidecar.js';
import { find, tempDir, value, type Sample } from './support/tmp.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const NOW = Date.UTC(2026, 10, 27, 12, 0, 30, 500);
const close = (a: number, b: number | undefined, eps = 1e-9) =>
  assert.ok(b !== undefined && Math.abs(a - b) <= eps * Math.max(1, Math.abs(a)), `expected ${a}, got ${b}`);
const Z = 1.959963984540054;

const EXPECTATION = {
  summary: { trades: 100, trades_per_day: 4, pnl_mean: 1, pnl_sd: 2, max_drawdown: 10, win_ratio: 0.6 },
  fee_per_trade: 0.1,
};
const x = (m: Sample[], name: string, labels: Record<string, string> = {}) =>
  value(m, `edgewatch_expectation_${name}`, { strategy: 's', ...labels });
const cusumOf = (outcomes: number[], mean = 1, sd = 2) => {
  const c = knownCusumStart({ mean, sd });
  for (const o of outcomes) knownCusumAdd(c, o);
  return c.llr;
};

test('the active version is compared with its expectation from the first trade, in trade order, and restarts at a deploy', async (t) => {
  const db = join(tempDir(t), 'l.db');
  let clock = NOW - 12 * HOUR;
  let s = await sidecar(t, { db, now: () => clock });
  assert.equal((await s.post('/v1/params', { strategy: 's', params: { a: 1 } })).status, 201);
  assert.equal((await s.post('/v1/params/s/v1/expectation', EXPECTATION)).status, 201);
  clock = NOW;
  let m = await s.scrape();
  // Before any trade: the statistic is there (0), nothing to compare yet; 2 trades expected in 12h.
  assert.deepEqual(
    find(m, 'edgewatch_expectation_cusum_statistic', { strategy: 's' }).map((v) => [
      v.labels.shift,
      v.labels.param_version,
      v.value,
    ]),
    [
      ['0.5', 'v1', 0],
      ['1', 'v1', 0],
    ],
  );
  assert.equal(x(m, 'trades'), 0);
  assert.equal(x(m, 'difference'), undefined);
  close(2, x(m, 'trades_expected'));
  assert.equal(x(m, 'info', { outcome: 'pnl' }), 1);

  const before = wireTrade('s', NOW - 13 * HOUR, -50, { fees: 0.3 }); // before the deploy: not compared
  const a = wireTrade('s', NOW - 11 * HOUR, -1, { fees: 0.3 });
  const b = wireTrade('s', NOW - 10 * HOUR, 3, { fees: 0.3 });
  const c = wireTrade('s', NOW - 9 * HOUR, -4, { fees: 0.3 });
  await s.post('/v1/trades', { trades: [before, c] });
  await s.scrape();
  await s.post('/v1/trades', { trades: [b, a] }); // late: both sort before c
  m = await s.scrape();
  // Live -1, 3, -4: mean -2/3, sd √(37/3) > 2; the difference -5/3, its standard error
  // √(37/9 + 4/100) (live and backtest); 3 trades against 2 expected.
  assert.equal(x(m, 'trades'), 3);
  close(-2 / 3, x(m, 'outcome_live'));
  close(1, x(m, 'outcome_expected'));
  close(-5 / 3, x(m, 'difference'));
  const se = Math.sqrt(37 / 9 + 0.04);
  close(-5 / 3 - Z * se, x(m, 'difference_lower'));
  close(-5 / 3 + Z * se, x(m, 'difference_upper'));
  const w = cusumOf([-1, 3, -4]);
  close(w[0], x(m, 'cusum_statistic', { shift: '0.5' }));
  close(w[1], x(m, 'cusum_statistic', { shift: '1' }));
  close(1.5, x(m, 'trade_rate_ratio'));
  close(Math.exp(-2) * (1 + 2 + 2 + 4 / 3), x(m, 'trade_rate_p_value', { tail: 'fewer' }));
  close(1 - 5 * Math.exp(-2), x(m, 'trade_rate_p_value', { tail: 'more' }));
  close(0.4, x(m, 'drawdown_ratio')); // cumulative -1, 2, -2: a fall of 4 against 10
  close(0.2, x(m, 'costs_difference')); // fees 0.3 a trade against 0.1
  close(-5 / 3 + 0.2, x(m, 'edge_difference'));
  const live = await (await s.get('/v1/params/s/v1/expectation')).json();
  assert.equal(live.live.trades, 3);
  close(-5 / 3, live.live.difference.value);

  // A new expectation of the same version: the run is compared with it from its first trade.
  await s.post('/v1/params/s/v1/expectation', { summary: { trades: 50, trades_per_day: 4, pnl_mean: 0, pnl_sd: 4 } });
  m = await s.scrape();
  close(-2 / 3, x(m, 'difference'));
  const w2 = cusumOf([-1, 3, -4], 0, 4);
  close(w2[1], x(m, 'cusum_statistic', { shift: '1' }));
  assert.equal(x(m, 'drawdown_ratio'), undefined, 'no backtest drawdown: no ratio');

  // Restart: the comparison is read from the ledger again, same values.
  await s.close();
  s = await sidecar(t, { db, now: () => clock });
  const again = await s.scrape();
  close(w2[1], x(again, 'cusum_statistic', { shift: '1' }));
  assert.equal(x(again, 'trades'), 3);

  // v2 has no expectation: nothing exported. Re-activating v1 starts a new run with no trade.
  clock = NOW + HOUR;
  await s.post('/v1/params', { strategy: 's', params: { a: 2 } });
  m = await s.scrape();
  assert.equal(find(m, 'edgewatch_expectation_trades').length, 0);
  clock = NOW + 2 * HOUR;
  await s.post('/v1/params', { strategy: 's', params: { a: 1 } });
  clock = NOW + 4 * HOUR;
  assert.equal((await s.post('/v1/trades', wireTrade('s', NOW + 3 * HOUR, 2, { notional: 100 }))).status, 201);
  m = await s.scrape();
  assert.equal(x(m, 'trades', { param_version: 'v1' }), 1);
  close(2 - 0, x(m, 'difference'));
});

test('a late trade after thousands resumes from a checkpoint and gives the in-order values; returns when every trade has a notional', async (t) => {
  let clock = NOW - 10 * 24 * HOUR;
  const s = await sidecar(t, { now: () => clock });
  await s.post('/v1/params', { strategy: 's', params: { a: 1 } });
  await s.post('/v1/params/s/v1/expectation', {
    summary: { trades: 1000, trades_per_day: 300, pnl_mean: 0.5, pnl_sd: 5, return_mean: 0.005, return_sd: 0.05 },
  });
  clock = NOW;
  // 2,500 trades a minute apart, PnL cycling through -6..6, notional 100; every 7th one is held back.
  const all = Array.from({ length: 2500 }, (_, i) =>
    wireTrade('s', NOW - 9 * 24 * HOUR + i * MIN, ((i * 7) % 13) - 6, {
      notional: 100,
      id: `k${String(i).padStart(5, '0')}`,
    }),
  );
  const held = all.filter((_, i) => i % 7 === 3 && i > 1500);
  await s.post('/v1/trades', { trades: all.filter((tr) => !held.includes(tr)) });
  await s.scrape();
  await s.post('/v1/trades', { trades: held });
  const m = await s.scrape();
  const ret = knownCusumStart({ mean: 0.005, sd: 0.05 });
  for (const tr of all) knownCusumAdd(ret, tr.pnl / 100);
  assert.equal(x(m, 'info', { outcome: 'return' }), 1);
  assert.equal(x(m, 'trades'), 2500);
  close(ret.llr[0], x(m, 'cusum_statistic', { shift: '0.5' }), 1e-9);
  close(ret.llr[1], x(m, 'cusum_statistic', { shift: '1' }), 1e-9);
  const mean = all.reduce((acc, tr) => acc + tr.pnl / 100, 0) / all.length;
  close(mean - 0.005, x(m, 'difference'), 1e-9);
});

test('the report says whether costs higher than assumed or an edge lower than expected make the shortfall', async (t) => {
  let clock = NOW - 3 * HOUR;
  const s = await sidecar(t, { now: () => clock });
  for (const strategy of ['edge', 'costs', 'fine']) {
    await s.post('/v1/params', { strategy, params: { a: 1 } });
    await s.post(`/v1/params/${strategy}/v1/expectation`, EXPECTATION); // PnL 1 ± 2 a trade, fee 0.1 assumed
  }
  clock = NOW;
  const trades = (strategy: string, pnl: number, fees: number) =>
    Array.from({ length: 25 }, (_, i) => wireTrade(strategy, NOW - 2 * HOUR + i * MIN, pnl, { fees }));
  // edge: -2 a trade after fees of 0.3: 3 short, of which 0.2 costs and 2.8 edge.
  // costs: -1.9 after fees of 3.1: the same PnL before fees as the backtest (1.2 against 1.1), the fees eat it.
  // fine: as promised.
  await s.post('/v1/trades', {
    trades: [...trades('edge', -2, 0.3), ...trades('costs', -1.9, 3.1), ...trades('fine', 1, 0.1)],
  });
  const report = async (strategy: string) => (await s.get(`/v1/report?strategy=${strategy}`)).json();
  const edge = await report('edge');
  assert.equal(edge.expectation.trades, 25);
  close(-3, edge.expectation.difference.value);
  close(0.2, edge.expectation.costs.costs_difference);
  close(-2.8, edge.expectation.costs.edge_difference);
  assert.ok(edge.expectation.cusum.by_shift['1'] > 10, JSON.stringify(edge.expectation.cusum));
  const rec = edge.recommendations.find((r: string) => r.startsWith('v1 does worse than its backtest'));
  assert.match(rec, /PnL per trade -2\.00 against 1\.00 expected over 25 trades/);
  assert.match(
    rec,
    /Of the shortfall of 3\.00 a trade, costs higher than assumed \(fees 0\.300 a trade against 0\.100 assumed\) account for 0\.200 and an edge lower than expected for 2\.80\./,
  );
  const costs = await report('costs');
  assert.match(
    costs.recommendations.find((r: string) => r.startsWith('v1 does worse')),
    /The edge before fees is as expected: costs higher than assumed \(fees 3\.10 a trade against 0\.100 assumed\) explain the shortfall\./,
  );
  const fine = await report('fine');
  assert.ok(!fine.recommendations.some((r: string) => /backtest/.test(r)), fine.recommendations.join(' | '));
  assert.equal(fine.expectation.cusum.by_shift['1'], 0);
  const md = await (await s.get('/v1/report?strategy=edge&format=markdown')).text();
  assert.match(
    md,
    /## Against the backtest\n\nv1 is compared with its expectation, recorded .* from 100 backtest trades\. Since its deploy at .*: 25 live trades, 0\.5 expected at the backtest's rate\. Compared per trade: PnL\. Live -2\.00 against 1\.00 expected/,
  );
  assert.match(md, /account for 0\.200 and an edge lower than expected for 2\.80\.\n/);
});
