// Every statistic of /metrics against values worked out by hand (the arithmetic is in the comments).
import assert from 'node:assert/strict';
import test from 'node:test';
import { find, value } from './support/tmp.js';
import { sidecar, wireTrade } from './support/sidecar.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
// Not aligned to a minute, so the partial minutes at the window edges matter.
const NOW = Date.UTC(2026, 10, 27, 12, 0, 30, 500);
const close = (a: number, b: number | undefined, eps = 1e-9) =>
  assert.ok(b !== undefined && Math.abs(a - b) <= eps * Math.max(1, Math.abs(a)), `expected ${a}, got ${b}`);

test('window statistics match hand-worked values at exact (now - W, now] edges', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  const trades = [
    wireTrade('s', NOW - 7 * DAY, -50), // exactly 7d ago: outside every window
    wireTrade('s', NOW - 2 * DAY, 8), // 7d only
    wireTrade('s', NOW - HOUR, 100, { fees: 2 }), // exactly 1h ago: 24h and 7d, not 1h
    wireTrade('s', NOW - HOUR + 1, -3, { fees: 0.5 }), // 1 ms inside the hour
    wireTrade('s', NOW - 10 * MIN, 5, { fees: 0.5 }),
    wireTrade('s', NOW, -1), // exactly now: inside
    wireTrade('s', NOW + 1000, 1000), // in the future: in no window yet
  ];
  // Arrive shuffled: the answer must be the in-order one.
  const r = await s.post('/v1/trades', {
    trades: [trades[5], trades[2], trades[6], trades[0], trades[4], trades[1], trades[3]],
  });
  assert.equal(r.status, 201);
  const m = await s.scrape();
  const w = (stat: string, window: string) => value(m, `edgewatch_window_${stat}`, { strategy: 's', window });
  // 1h: -3, +5, -1 in order. n 3, wins 1, net 1, gross 5 / 4, fees 1.
  // cumulative -3, 2, 1 from 0: the fall 0 -> -3 is the drawdown, 3.
  // mean 1/3; deviations -10/3, 14/3, -4/3; squares 100/9 + 196/9 + 16/9 = 312/9; / (n-1) = 156/9; sd = 4.163332
  assert.equal(w('trades', '1h'), 3);
  close(1 / 3, w('win_ratio', '1h'));
  close(1, w('net_pnl', '1h'));
  close(1 / 3, w('pnl_per_trade', '1h'));
  close(5, w('gross_profit', '1h'));
  close(4, w('gross_loss', '1h'));
  close(1.25, w('profit_factor', '1h'));
  close(1 / 3 / Math.sqrt(156 / 9), w('sharpe_ratio', '1h'));
  close(3, w('max_drawdown', '1h'));
  close(1, w('fees', '1h'));
  // 24h: +100, -3, +5, -1: n 4, wins 2, net 101, per trade 25.25, gross 105 / 4 (pf 26.25), fees 3;
  // cumulative 100, 97, 102, 101: drawdown 3.
  assert.equal(w('trades', '24h'), 4);
  close(0.5, w('win_ratio', '24h'));
  close(101, w('net_pnl', '24h'));
  close(25.25, w('pnl_per_trade', '24h'));
  close(26.25, w('profit_factor', '24h'));
  close(3, w('max_drawdown', '24h'));
  close(3, w('fees', '24h'));
  // 7d: +8 first, then the 24h trades: cumulative 8, 108, 105, 110, 109: n 5, wins 3, net 109, drawdown 3.
  assert.equal(w('trades', '7d'), 5);
  close(0.6, w('win_ratio', '7d'));
  close(109, w('net_pnl', '7d'));
  close(3, w('max_drawdown', '7d'));
  close(113, w('gross_profit', '7d'));
  // The newest trade is the future one.
  close((NOW + 1000) / 1000, value(m, 'edgewatch_last_trade_timestamp_seconds', { strategy: 's' }));
});

test('an empty window exports only its trade count; a one-trade window has no Sharpe; no loss means +Inf profit factor', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  await s.post('/v1/trades', {
    trades: [
      wireTrade('old', NOW - 3 * HOUR, 4),
      wireTrade('win', NOW - MIN, 1),
      wireTrade('win', NOW - 2 * MIN, 2),
      wireTrade('one', NOW - MIN, -2),
      wireTrade('flat', NOW - MIN, 0),
    ],
  });
  const m = await s.scrape();
  assert.equal(value(m, 'edgewatch_window_trades', { strategy: 'old', window: '1h' }), 0);
  for (const stat of [
    'win_ratio',
    'net_pnl',
    'pnl_per_trade',
    'gross_profit',
    'gross_loss',
    'profit_factor',
    'sharpe_ratio',
    'max_drawdown',
    'fees',
  ])
    assert.equal(
      find(m, `edgewatch_window_${stat}`, { strategy: 'old', window: '1h' }).length,
      0,
      `${stat} must be absent for an empty window`,
    );
  assert.equal(value(m, 'edgewatch_window_profit_factor', { strategy: 'win', window: '1h' }), Infinity);
  // one trade of -2: no Sharpe, drawdown 2 (from the window's starting 0), profit factor 0 / 2 = 0
  assert.equal(find(m, 'edgewatch_window_sharpe_ratio', { strategy: 'one', window: '1h' }).length, 0);
  assert.equal(value(m, 'edgewatch_window_max_drawdown', { strategy: 'one', window: '1h' }), 2);
  assert.equal(value(m, 'edgewatch_window_profit_factor', { strategy: 'one', window: '1h' }), 0);
  // pnl == 0: a trade, not a win; profit factor 0/0 is absent
  assert.equal(value(m, 'edgewatch_window_win_ratio', { strategy: 'flat', window: '1h' }), 0);
  assert.equal(find(m, 'edgewatch_window_profit_factor', { strategy: 'flat', window: '1h' }).length, 0);
  assert.ok(!/NaN/.test(await (await s.get('/metrics')).text()), 'the exposition never holds NaN');
});

test('drift is absent under the minimum sample and matches Welch and the pooled two-proportion z above it', async (t) => {
  // Same trades for two strategies; d3 needs 3 trades per side, d4 needs 4.
  const s = await sidecar(t, {
    now: () => NOW,
    thresholdsJson: { strategies: { d3: { drift_min_trades: 3 }, d4: { drift_min_trades: 4 } } },
  });
  for (const strategy of ['d3', 'd4']) {
    const recent = [1, -1, 3].map((p, i) => wireTrade(strategy, NOW - (i + 1) * HOUR, p));
    const baseline = [4, 5, 6, -3].map((p, i) => wireTrade(strategy, NOW - (2 + i) * DAY, p));
    const older = wireTrade(strategy, NOW - 8 * DAY, -100); // outside the 7d window: not in the baseline
    assert.equal((await s.post('/v1/trades', { trades: [...recent, ...baseline, older] })).status, 201);
  }
  const m = await s.scrape();
  // recent: mean 1, sample variance ((0)² + (-2)² + 2²)/2 = 4, n 3, wins 2
  // baseline: mean 3, variance (1 + 4 + 9 + 36)/3 = 50/3, n 4, wins 3
  // Welch: (1 - 3) / sqrt(4/3 + (50/3)/4) = -2 / sqrt(5.5)
  close(-2 / Math.sqrt(5.5), value(m, 'edgewatch_drift_zscore', { strategy: 'd3', metric: 'pnl_per_trade' }));
  // pooled p = 5/7: (2/3 - 3/4) / sqrt(5/7 * 2/7 * (1/3 + 1/4))
  close(
    (2 / 3 - 3 / 4) / Math.sqrt((5 / 7) * (2 / 7) * (1 / 3 + 1 / 4)),
    value(m, 'edgewatch_drift_zscore', { strategy: 'd3', metric: 'win_ratio' }),
  );
  assert.equal(find(m, 'edgewatch_drift_zscore', { strategy: 'd4' }).length, 0, 'recent has 3 < 4 trades: no drift');
  assert.equal(value(m, 'edgewatch_threshold', { strategy: 'd4', name: 'drift_min_trades' }), 4);
  assert.equal(value(m, 'edgewatch_threshold', { strategy: 'd3', name: 'drift_zscore' }), 4);
});

test("per-version stats cover each version's life, the regression z compares the active version with the previous one, and old versions leave", async (t) => {
  const s = await sidecar(t, {
    now: () => NOW,
    keepVersions: 2,
    thresholdsJson: { defaults: { regression_min_trades: 3 } },
  });
  // A history imported with back-dated deploys: v1 from day -6, v2 from day -4, v3 from day -2.
  const deploy = (x: number) =>
    s.post('/v1/params', { strategy: 'v', params: { x }, deployed_at: NOW - (8 - 2 * x) * DAY });
  assert.equal((await deploy(1)).status, 201);
  await s.post('/v1/trades', { trades: [wireTrade('v', NOW - 5 * DAY, 9)] });
  assert.equal((await deploy(2)).status, 201);
  await s.post('/v1/trades', { trades: [2, 4, 6].map((p, i) => wireTrade('v', NOW - 3 * DAY + i, p)) });
  assert.equal((await deploy(3)).status, 201);
  await s.post('/v1/trades', { trades: [1, 2, 3, 2].map((p, i) => wireTrade('v', NOW - DAY + i, p)) });
  const m = await s.scrape();
  assert.deepEqual(
    find(m, 'edgewatch_version_trades', { strategy: 'v' }).map((x) => [x.labels.param_version, x.value]),
    [
      ['v2', 3],
      ['v3', 4],
    ],
  );
  close(4, value(m, 'edgewatch_version_pnl_per_trade', { strategy: 'v', param_version: 'v2' }));
  // v3 [1,2,3,2]: mean 2, variance (1+0+1+0)/3 = 2/3; v2 [2,4,6]: mean 4, variance 4
  // Welch (2 - 4) / sqrt((2/3)/4 + 4/3) = -2 / sqrt(1.5)
  const reg = find(m, 'edgewatch_version_regression_zscore', { strategy: 'v' });
  assert.equal(reg.length, 1);
  assert.deepEqual(reg[0].labels, { strategy: 'v', param_version: 'v3', previous_version: 'v2' });
  close(-2 / Math.sqrt(1.5), reg[0].value);
  assert.equal(value(m, 'edgewatch_active_param_version_info', { strategy: 'v', param_version: 'v3' }), 1);
});

test('experiments export per-variant stats, the always-valid p-value against control and its confidence sequence', async (t) => {
  const s = await sidecar(t, { now: () => NOW, thresholdsJson: { defaults: { experiment_min_trades: 4 } } });
  const r = await s.post('/v1/experiments', {
    strategy: 'e',
    name: 'exp',
    variants: { control: { x: 1 }, candidate: { x: 2 } },
  });
  assert.equal(r.status, 201);
  // Trades of an experiment close after it started (at NOW here).
  const control = [1, 2, 3, 4].map((p, i) => wireTrade('e', NOW + i, p, { experiment: 'exp', variant: 'control' }));
  const candidate = [2, 4, 6, 8].map((p, i) =>
    wireTrade('e', NOW + 10 + i, p, { experiment: 'exp', variant: 'candidate' }),
  );
  assert.equal((await s.post('/v1/trades', { trades: [...control, ...candidate] })).status, 201);
  const m = await s.scrape();
  close(2.5, value(m, 'edgewatch_experiment_pnl_per_trade', { strategy: 'e', experiment: 'exp', variant: 'control' }));
  close(5, value(m, 'edgewatch_experiment_pnl_per_trade', { strategy: 'e', experiment: 'exp', variant: 'candidate' }));
  // By hand: control var 5/3, candidate var 20/3, n 4 each, difference 2.5, V = 5/12 + 20/12 = 25/12.
  // τ² = 0.25² · (5/3 + 20/3)/2 = 25/96, so V/(V+τ²) = 200/225 = 8/9 and
  // τ²Δ²/(2V(V+τ²)) = (25/96 · 6.25) / (2 · 200/96 · 225/96) = 1/6: Λ = (2√2/3)·e^(1/6),
  // p = 3/(2√2)·e^(-1/6) = 0.8978.
  const p = value(m, 'edgewatch_experiment_p_value', { strategy: 'e', experiment: 'exp', variant: 'candidate' });
  close((3 / (2 * Math.SQRT2)) * Math.exp(-1 / 6), p, 1e-12);
  // Bounds: r = τ²/V = 1/8; radius² = V(1+r)/r · (2 ln(1/0.01) + ln(9/8)) = 18.75 · (2 ln 100 + ln 1.125).
  const radius = Math.sqrt(18.75 * (2 * Math.log(100) + Math.log(1.125)));
  const labels = { strategy: 'e', experiment: 'exp', variant: 'candidate', outcome: 'pnl' };
  close(2.5 - radius, value(m, 'edgewatch_experiment_difference_lower', labels), 1e-12);
  close(2.5 + radius, value(m, 'edgewatch_experiment_difference_upper', labels), 1e-12);
  assert.equal(
    value(m, 'edgewatch_experiment_p_value', { strategy: 'e', experiment: 'exp', variant: 'control' }),
    undefined,
    'control is not tested against itself',
  );
});

test('each scrape reads only the rows added since the previous one', async (t) => {
  const s = await sidecar(t, { now: () => NOW, foldIntervalMs: 0 }); // only scrapes fold here
  await s.post('/v1/trades', { trades: [wireTrade('inc', NOW - MIN, 1), wireTrade('inc', NOW - MIN + 1, 2)] });
  await s.scrape();
  const before = s.engine.tradesSeen;
  await s.post('/v1/trades', wireTrade('inc', NOW - 30_000, 3));
  const read = s.engine.refresh(NOW);
  assert.equal(read, 1);
  assert.equal(s.engine.tradesSeen, before + 1);
  assert.equal(value(await s.scrape(), 'edgewatch_window_trades', { strategy: 'inc', window: '1h' }), 3);
});

test('the sidecar folds new trades in the background every foldIntervalMs, so a scrape after a burst has nothing left to read', async (t) => {
  const s = await sidecar(t, { now: () => NOW, foldIntervalMs: 20 });
  const seen = s.engine.tradesSeen;
  assert.equal(
    (await s.post('/v1/trades', { trades: [1, 2, 3].map((p, i) => wireTrade('bg', NOW - MIN + i, p)) })).status,
    201,
  );
  const deadline = Date.now() + 5000;
  while (s.engine.tradesSeen < seen + 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(s.engine.tradesSeen, seen + 3, 'folded without a scrape');
  assert.equal(s.engine.refresh(NOW), 0, 'nothing left for the scrape to read');
  assert.equal(value(await s.scrape(), 'edgewatch_window_trades', { strategy: 'bg', window: '1h' }), 3);
});
