// edgewatch_cusum_statistic on a real sidecar: which trades it counts (those closed after the
// latest deploy), in which order (closed_at, id, whatever the arrival order), when it restarts
// (every deploy) and what the report says about it. Values worked out by hand in the comments.
import assert from 'node:assert/strict';
import test from 'node:test';
import { find, value } from './support/tmp.js';
import { sidecar, wireTrade } from './support/sidecar.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const NOW = Date.UTC(2026, 10, 27, 12, 0, 30, 500);
const close = (a: number, b: number | undefined, eps = 1e-9) =>
  assert.ok(b !== undefined && Math.abs(a - b) <= eps * Math.max(1, Math.abs(a)), `expected ${a}, got ${b}`);

// With cusum_min_trades 2 the lag (n - 2)/3 stays 0 for four trades: each trade joins the
// reference right after it is scored, and scoring starts at the third trade of the run.
// Run 10, 20, 5, 0 (the -100 closed before the deploy is not part of it):
// - after 10, 20: reference mean 15, m2 50, sd √50; both statistics exported, 0.
// - 5: r = (5 - 15)/√50 · √(2/3) = -√(4/3). W(δ) = δ (√(4/3) - δ/2).
//   Reference mean 35/3, m2 = 50 + (-10)(5 - 35/3) = 350/3, sd √(175/3). The recent sd:
//   (1 - α)(50 + 100 α) with α = 1 - 2^(-1/50) is 50.67 < 175/3, so the reference sd stays.
// - 0: r = (0 - 35/3)/√(175/3) · √(3/4) = -√7/2. W(δ) += δ (√7/2 - δ/2).
const W3 = (d: number) => d * (Math.sqrt(4 / 3) - d / 2);
const W4 = (d: number) => W3(d) + d * (Math.sqrt(7) / 2 - d / 2);

const cusum = (
  m: Awaited<ReturnType<Awaited<ReturnType<typeof sidecar>>['scrape']>>,
  strategy: string,
  shift: string,
) => value(m, 'edgewatch_cusum_statistic', { strategy, shift });

test('the CUSUM counts only trades closed after the latest deploy, in (closed_at, id) order whatever the arrival order, and matches hand-worked values', async (t) => {
  let clock = NOW - 3 * HOUR;
  const s = await sidecar(t, { now: () => clock, thresholdsJson: { defaults: { cusum_min_trades: 2 } } });
  for (const strategy of ['c', 'd'])
    assert.equal((await s.post('/v1/params', { strategy, params: { x: 1 } })).status, 201);
  clock = NOW;
  const run = (strategy: string) => ({
    before: wireTrade(strategy, NOW - 4 * HOUR, -100),
    a: wireTrade(strategy, NOW - 2 * HOUR, 10),
    b: wireTrade(strategy, NOW - 90 * MIN, 20),
    c: wireTrade(strategy, NOW - HOUR, 5),
    d: wireTrade(strategy, NOW - 30 * MIN, 0),
  });

  // c: in order, scraped after each step.
  const c = run('c');
  await s.post('/v1/trades', { trades: [c.before, c.a] });
  let m = await s.scrape();
  assert.equal(
    find(m, 'edgewatch_cusum_statistic', { strategy: 'c' }).length,
    0,
    'one trade in the run: under the minimum sample, absent',
  );
  await s.post('/v1/trades', c.b);
  m = await s.scrape();
  assert.deepEqual(
    find(m, 'edgewatch_cusum_statistic', { strategy: 'c' }).map((x) => [x.labels.shift, x.value]),
    [
      ['0.2', 0],
      ['0.5', 0],
    ],
  );
  await s.post('/v1/trades', c.c);
  m = await s.scrape();
  close(W3(0.2), cusum(m, 'c', '0.2'));
  close(W3(0.5), cusum(m, 'c', '0.5'));
  await s.post('/v1/trades', c.d);
  m = await s.scrape();
  close(W4(0.2), cusum(m, 'c', '0.2'));
  close(W4(0.5), cusum(m, 'c', '0.5'));

  // d: the same trades, late and shuffled, in two batches with a scrape between.
  const d = run('d');
  assert.equal((await s.post('/v1/trades', { trades: [d.d, d.a] })).status, 201);
  await s.scrape();
  assert.equal((await s.post('/v1/trades', { trades: [d.c, d.before, d.b] })).status, 201);
  m = await s.scrape();
  close(W4(0.2), cusum(m, 'd', '0.2'));
  close(W4(0.5), cusum(m, 'd', '0.5'));
  assert.equal(value(m, 'edgewatch_threshold', { strategy: 'd', name: 'cusum_threshold' }), 10);
  assert.equal(value(m, 'edgewatch_threshold', { strategy: 'd', name: 'cusum_min_trades' }), 2);
});

test('every deploy restarts the CUSUM, also one that re-activates an earlier version', async (t) => {
  let clock = NOW - 3 * HOUR;
  const s = await sidecar(t, { now: () => clock, thresholdsJson: { defaults: { cusum_min_trades: 2 } } });
  const deploy = async (x: number, status = 201) =>
    assert.equal((await s.post('/v1/params', { strategy: 'r', params: { x } })).status, status);
  await deploy(1);
  clock = NOW - 20 * MIN;
  await s.post('/v1/trades', { trades: [10, 20, 5, 0].map((pnl, i) => wireTrade('r', NOW - 2 * HOUR + i * MIN, pnl)) });
  let m = await s.scrape();
  close(W4(0.5), cusum(m, 'r', '0.5'));

  await deploy(2);
  m = await s.scrape();
  assert.equal(find(m, 'edgewatch_cusum_statistic', { strategy: 'r' }).length, 0, 'a new run without trades');
  clock = NOW - MIN;
  await s.post('/v1/trades', { trades: [wireTrade('r', NOW - 10 * MIN, -50), wireTrade('r', NOW - 5 * MIN, -60)] });
  m = await s.scrape();
  assert.deepEqual(
    find(m, 'edgewatch_cusum_statistic', { strategy: 'r' }).map((x) => x.value),
    [0, 0],
    'two trades of v2: exported, nothing scored yet',
  );

  await deploy(1, 200); // back to v1 (an existing version: 200): a new run again
  m = await s.scrape();
  assert.equal(value(m, 'edgewatch_active_param_version_info', { strategy: 'r', param_version: 'v1' }), 1);
  assert.equal(find(m, 'edgewatch_cusum_statistic', { strategy: 'r' }).length, 0);
});

// The CUSUM alert holds a crossing for a day only within one run (prometheus/rules/alerts.yml):
// it needs the run's start to tell a new run from the old one, also while the new run's
// statistic is still absent (under cusum_min_trades) and when a deploy re-activates an
// earlier version (same param_version label, new run).
test('edgewatch_cusum_run_start_timestamp_seconds is the latest deploy time in seconds, absent without a deploy, and moves at every redeploy', async (t) => {
  let clock = NOW - 3 * HOUR;
  const s = await sidecar(t, { now: () => clock, thresholdsJson: { defaults: { cusum_min_trades: 2 } } });
  // A strategy that trades without ever deploying: its one run has no start to export.
  await s.post('/v1/trades', {
    trades: [10, 20, 5].map((pnl, i) => wireTrade('nodeploy', NOW - 4 * HOUR + i * MIN, pnl)),
  });
  assert.equal((await s.post('/v1/params', { strategy: 'r', params: { x: 1 } })).status, 201);
  let m = await s.scrape();
  assert.equal(
    find(m, 'edgewatch_cusum_statistic', { strategy: 'nodeploy' }).length,
    2,
    'the no-deploy run has its statistic',
  );
  assert.equal(find(m, 'edgewatch_cusum_run_start_timestamp_seconds', { strategy: 'nodeploy' }).length, 0);
  // Exported from the deploy on, before the run has any trade (its statistic is absent).
  assert.equal(find(m, 'edgewatch_cusum_statistic', { strategy: 'r' }).length, 0);
  assert.equal(value(m, 'edgewatch_cusum_run_start_timestamp_seconds', { strategy: 'r' }), (NOW - 3 * HOUR) / 1000);

  clock = NOW - HOUR;
  assert.equal((await s.post('/v1/params', { strategy: 'r', params: { x: 2 } })).status, 201);
  m = await s.scrape();
  assert.equal(value(m, 'edgewatch_cusum_run_start_timestamp_seconds', { strategy: 'r' }), (NOW - HOUR) / 1000);

  // Back to v1 (200: an existing version): the version label returns to v1, the run start does not.
  clock = NOW;
  assert.equal((await s.post('/v1/params', { strategy: 'r', params: { x: 1 } })).status, 200);
  m = await s.scrape();
  assert.equal(value(m, 'edgewatch_active_param_version_info', { strategy: 'r', param_version: 'v1' }), 1);
  assert.equal(value(m, 'edgewatch_cusum_run_start_timestamp_seconds', { strategy: 'r' }), NOW / 1000);
});

test('the report names a CUSUM above its threshold with the fall, the evidence and the trades', async (t) => {
  let clock = NOW - 3 * HOUR;
  // W4(0.5) = 0.989 and W4(0.2) = 0.456: only the 0.5σ statistic is above 0.9.
  const s = await sidecar(t, {
    now: () => clock,
    thresholdsJson: { defaults: { cusum_min_trades: 2 }, strategies: { k: { cusum_threshold: 0.9 } } },
  });
  for (const strategy of ['k', 'quiet']) await s.post('/v1/params', { strategy, params: { x: 1 } });
  clock = NOW;
  const pnls = [10, 20, 5, 0];
  await s.post('/v1/trades', {
    trades: [
      ...pnls.map((p, i) => wireTrade('k', NOW - 2 * HOUR + i * MIN, p)),
      ...pnls.map((p, i) => wireTrade('quiet', NOW - 2 * HOUR + i * MIN, p)),
    ],
  });
  const r = await (await s.get('/v1/report?strategy=k')).json();
  assert.equal(r.cusum.trades, 4);
  assert.equal(r.cusum.threshold, 0.9);
  close(W4(0.5), r.cusum.by_shift['0.5']);
  close(W4(0.2), r.cusum.by_shift['0.2']);
  const rec = (r.recommendations as string[]).find((x) => x.includes('CUSUM'));
  assert.match(
    rec ?? '',
    /^PnL per trade since v1 was deployed shows a fall of about 0\.5σ per trade: CUSUM 1\.0 nats over 4 trades, above 0\.9;/,
    JSON.stringify(r.recommendations),
  );
  const quiet = await (await s.get('/v1/report?strategy=quiet')).json();
  assert.ok(
    !(quiet.recommendations as string[]).some((x) => x.includes('CUSUM')),
    'default threshold 10: nothing to say',
  );
  const md = await (await s.get('/v1/report?strategy=k&format=markdown')).text();
  assert.match(
    md,
    /CUSUM of the active version since its latest deploy \(4 trades, PnL per trade, alert above 0\.9 nats\): fall of 0\.2σ 0\.46 nats, fall of 0\.5σ 0\.99 nats\./,
  );
});

test('trades of one millisecond whose ids SQL and JavaScript order differently are folded in JavaScript order, and every series is still served', async (t) => {
  let clock = NOW - 3 * HOUR;
  const s = await sidecar(t, { now: () => clock, thresholdsJson: { defaults: { cusum_min_trades: 2 } } });
  await s.post('/v1/params', { strategy: 'u', params: { x: 1 } });
  clock = NOW;
  // U+FF01 is EF BC 81 in UTF-8 and 0xFF01 in UTF-16; U+1F600 is F0 9F 98 80 and 0xD83D 0xDE00:
  // SQLite sorts "\uff01" first, JavaScript "😀". In JavaScript order the run is 10, 20, 5, 0.
  const trades = [
    wireTrade('u', NOW - 2 * HOUR, 10),
    wireTrade('u', NOW - 90 * MIN, 20),
    { ...wireTrade('u', NOW - HOUR, 0), id: '\uff01' },
    { ...wireTrade('u', NOW - HOUR, 5), id: '😀' },
  ];
  assert.equal((await s.post('/v1/trades', { trades })).status, 201);
  const m = await s.scrape();
  close(W4(0.2), cusum(m, 'u', '0.2'));
  close(W4(0.5), cusum(m, 'u', '0.5'));
  assert.equal(value(m, 'edgewatch_window_trades', { strategy: 'u', window: '24h' }), 4);
  assert.equal(
    find(m, 'edgewatch_scrape_errors_total').reduce((a, x) => a + x.value, 0),
    0,
  );
});
