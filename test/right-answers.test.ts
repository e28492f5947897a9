// Issue 11's findings, reproduced through a real sidecar over HTTP (and the SDK, the CLI and
// the real promtool where they are a view of the same answer): which version a trade counts
// for, what drift, the CUSUM and the regression compare, and what the report advises.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ledger } from '../src/ledger/ledger.js';
import { SCHEMA_VERSION } from '../src/ledger/migrations.js';
import { openEdgewatch } from '../src/sdk/index.js';
import { requireBinary } from './support/binaries.js';
import { sidecar, wireTrade } from './support/sidecar.js';
import { find, tempDir, value, type Sample } from './support/tmp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

/** A deterministic PnL cycle of mean `mean`; its squared deviations sum to 8.28 per 10 trades. */
const cycle = (mean: number, i: number) => mean + [1, -1, 0.5, -0.5, 1.5, -1.5, 0, 0, 0.8, -0.8][i % 10];
const maxCusum = (m: Sample[], strategy: string) =>
  Math.max(0, ...find(m, 'edgewatch_cusum_statistic', { strategy }).map((x) => x.value));

test('late, straddling and back-filled trades count for the version deployed when they opened, in metrics, report, CLI and CUSUM run alike', async (t) => {
  let clock = NOW - 10 * HOUR;
  const s = await sidecar(t, {
    now: () => clock,
    thresholdsJson: { defaults: { cusum_min_trades: 5, regression_min_trades: 5 } },
  });
  assert.equal((await s.post('/v1/params', { strategy: 's', params: { x: 1 } })).status, 201);
  clock = NOW - 9 * HOUR;
  await s.post('/v1/trades', {
    trades: Array.from({ length: 40 }, (_, i) => wireTrade('s', NOW - 10 * HOUR + (i + 1) * MIN, cycle(1, i))),
  });
  clock = NOW - 5 * HOUR;
  assert.equal((await s.post('/v1/params', { strategy: 's', params: { x: 2 } })).status, 201);
  // Arrive after v2's deploy, closed before it, no param_version: v1's.
  const late = Array.from({ length: 40 }, (_, i) => wireTrade('s', NOW - 9 * HOUR + i * MIN, cycle(1, i)));
  // Opened under v1, closed under v2: v1's, and visible as straddling.
  const straddle = wireTrade('s', NOW - 4 * HOUR, 3, { opened_at: iso(NOW - 5 * HOUR - 30 * MIN) });
  clock = NOW;
  const after = Array.from({ length: 10 }, (_, i) => wireTrade('s', NOW - 4 * HOUR + (i + 1) * MIN, cycle(-1, i)));
  assert.equal((await s.post('/v1/trades', { trades: [...late, straddle, ...after] })).status, 201);

  const m = await s.scrape();
  assert.equal(value(m, 'edgewatch_version_trades', { strategy: 's', param_version: 'v1' }), 81);
  assert.equal(value(m, 'edgewatch_version_trades', { strategy: 's', param_version: 'v2' }), 10);
  const report = await (await s.get('/v1/report?strategy=s')).json();
  const row = (v: string) => report.versions.find((x: { param_version: string }) => x.param_version === v);
  assert.deepEqual(
    [row('v1').trades, row('v1').straddling_trades, row('v2').trades, row('v2').straddling_trades],
    [81, 1, 10, 0],
  );
  assert.equal(report.cusum.trades, 10, "the CUSUM run holds v2's trades only: the same ten the version table counts");
  // The CLI reads the same ledger.
  const cli = JSON.parse(
    execFileSync(
      process.execPath,
      [path.join(ROOT, 'dist/src/cli/main.js'), 'report', '--strategy', 's', '--format', 'json', '--db', s.ledger.path],
      { encoding: 'utf8' },
    ),
  );
  assert.deepEqual(
    cli.versions.map((v: { param_version: string; trades: number }) => [v.param_version, v.trades]).sort(),
    [
      ['v1', 81],
      ['v2', 10],
    ],
  );

  // A history imported before its deploys: trades first (no version), then back-dated deploys.
  const history = Array.from({ length: 30 }, (_, i) => wireTrade('b', NOW - 6 * DAY + i * 4 * HOUR, cycle(1, i)));
  await s.post('/v1/trades', { trades: history });
  assert.equal(
    find(await s.scrape(), 'edgewatch_version_trades', { strategy: 'b' }).length,
    0,
    'before the first deploy a trade has no version',
  );
  const d1 = await (
    await s.post('/v1/params', { strategy: 'b', params: { x: 1 }, deployed_at: iso(NOW - 7 * DAY) })
  ).json();
  assert.equal(d1.reattributed_trades, 30);
  // Lands between existing trades: the 12 trades from day -4 on (i = 12..29 at 4h steps: 18 of them) move to v2.
  const d2 = await (
    await s.post('/v1/params', { strategy: 'b', params: { x: 2 }, deployed_at: iso(NOW - 4 * DAY) })
  ).json();
  assert.deepEqual([d2.param_version, d2.active_version, d2.reattributed_trades], ['v2', 'v2', 18]);
  // An older deploy imported last changes trades but not the active version.
  const d0 = await (
    await s.post('/v1/params', { strategy: 'b', params: { x: 0 }, deployed_at: iso(NOW - 6 * DAY + 10 * HOUR) })
  ).json();
  assert.deepEqual([d0.param_version, d0.active_version, d0.reattributed_trades], ['v3', 'v2', 9]);
  const mb = await s.scrape();
  assert.deepEqual(
    ['v1', 'v2', 'v3'].map((v) => value(mb, 'edgewatch_version_trades', { strategy: 'b', param_version: v })),
    [3, 18, 9],
  );
  assert.equal(value(mb, 'edgewatch_active_param_version_info', { strategy: 'b', param_version: 'v2' }), 1);
  const rb = await (await s.get('/v1/report?strategy=b')).json();
  assert.equal(rb.cusum.trades, 18, "the CUSUM run is v2's 18 trades");
  const future = await s.post('/v1/params', { strategy: 'b', params: { x: 9 }, deployed_at: iso(NOW + HOUR) });
  assert.equal(future.status, 400);
  assert.match((await future.json()).details[0].message, /future/);
});

test("a bad experiment candidate leaves the strategy's CUSUM, drift and advice quiet and shows its fall on its own arm", async (t) => {
  let clock = NOW - 3 * DAY;
  const s = await sidecar(t, { now: () => clock });
  await s.post('/v1/params', { strategy: 'x', params: { size: 1 } });
  clock = NOW - 20 * HOUR;
  await s.post('/v1/trades', {
    trades: Array.from({ length: 100 }, (_, i) => wireTrade('x', NOW - 3 * DAY + (i + 1) * 20 * MIN, cycle(1, i))),
  });
  assert.equal(
    (
      await s.post('/v1/experiments', {
        strategy: 'x',
        name: 'e',
        variants: { control: { size: 1 }, candidate: { size: 2 } },
      })
    ).status,
    201,
  );
  const trades = Array.from({ length: 120 }, (_, i) => {
    const arm = i % 2 === 0 ? 'control' : 'candidate';
    return wireTrade('x', NOW - 20 * HOUR + (i + 1) * 9 * MIN, cycle(arm === 'control' ? 1 : -1, i >> 1), {
      experiment: 'e',
      variant: arm,
    });
  });
  clock = NOW;
  assert.equal((await s.post('/v1/trades', { trades })).status, 201);
  const m = await s.scrape();
  assert.ok(maxCusum(m, 'x') < 1, `the strategy's CUSUM reads the control only: ${maxCusum(m, 'x')}`);
  const drift = value(m, 'edgewatch_drift_zscore', { strategy: 'x', metric: 'pnl_per_trade' });
  assert.ok(drift !== undefined && Math.abs(drift) < 1, `drift of the control against v1's own days: ${drift}`);
  assert.ok(
    value(m, 'edgewatch_experiment_pnl_per_trade', { strategy: 'x', experiment: 'e', variant: 'candidate' })! < -0.9,
  );
  assert.ok(value(m, 'edgewatch_experiment_p_value', { strategy: 'x', experiment: 'e', variant: 'candidate' })! < 1e-6);
  const report = await (await s.get('/v1/report?strategy=x')).json();
  assert.equal(report.active_version, 'v1');
  assert.ok(
    !report.recommendations.some((r: string) => /roll back|decaying|fall of/.test(r)),
    report.recommendations.join('\n'),
  );
  assert.ok(
    report.recommendations.some((r: string) => /experiment e: candidate worse than control/.test(r)),
    report.recommendations.join('\n'),
  );
});

test('halving the position size on purpose raises no drift, no regression and no rollback advice: comparisons read the return on notional', async (t) => {
  let clock = NOW - 7 * DAY;
  const s = await sidecar(t, { now: () => clock, thresholdsJson: { defaults: { regression_min_trades: 20 } } });
  await s.post('/v1/params', { strategy: 'h', params: { size: 1000 } });
  clock = NOW - 2 * DAY;
  const sized = (from: number, n: number, notional: number, prefix: string) =>
    Array.from({ length: n }, (_, i) => ({
      ...wireTrade('h', from + (i + 1) * 30 * MIN, (notional * cycle(1, i)) / 1000),
      id: `${prefix}${i}`,
      notional,
    }));
  await s.post('/v1/trades', { trades: sized(NOW - 7 * DAY, 230, 1000, 'a') }); // almost 5 days, +1 per trade on 1,000
  await s.post('/v1/params', { strategy: 'h', params: { size: 500 } });
  clock = NOW;
  await s.post('/v1/trades', { trades: sized(NOW - 2 * DAY, 90, 500, 'b') }); // +0.5 on 500: the same return
  const m = await s.scrape();
  for (const metric of ['pnl_per_trade', 'win_ratio']) {
    const z = value(m, 'edgewatch_drift_zscore', { strategy: 'h', metric });
    assert.ok(z !== undefined && Math.abs(z) < 1, `${metric} drift ${z}`);
  }
  const reg = value(m, 'edgewatch_version_regression_zscore', {
    strategy: 'h',
    param_version: 'v2',
    previous_version: 'v1',
  });
  assert.ok(reg !== undefined && Math.abs(reg) < 1, `regression z on returns ${reg}`);
  // The windows still show money: v2 makes half the PnL per trade, the same return.
  assert.ok(
    Math.abs(value(m, 'edgewatch_version_pnl_per_trade', { strategy: 'h', param_version: 'v2' })! - 0.5) < 1e-9,
  );
  assert.ok(
    Math.abs(value(m, 'edgewatch_version_return_per_trade', { strategy: 'h', param_version: 'v2' })! - 0.001) < 1e-12,
  );
  assert.ok(
    Math.abs(value(m, 'edgewatch_version_return_per_trade', { strategy: 'h', param_version: 'v1' })! - 0.001) < 1e-12,
  );
  const report = await (await s.get('/v1/report?strategy=h')).json();
  assert.deepEqual(report.recommendations, ['Nothing needs attention.']);
});

test(
  'TradingParamVersionRegression fires when the previous version is older than the newest K: the versions the rule joins are always exported (promtool)',
  { skip: requireBinary('promtool').skip },
  async (t) => {
    let clock = NOW - 6 * DAY;
    const s = await sidecar(t, {
      now: () => clock,
      keepVersions: 2,
      thresholdsJson: { defaults: { regression_min_trades: 20 } },
    });
    await s.post('/v1/params', { strategy: 'r', params: { x: 1 } });
    clock = NOW;
    assert.equal(
      (await s.post('/v1/params', { strategy: 'r', params: { x: 2 }, deployed_at: NOW - 3 * DAY })).status,
      201,
    );
    await s.post('/v1/trades', {
      trades: Array.from({ length: 40 }, (_, i) => wireTrade('r', NOW - 6 * DAY + (i + 1) * HOUR, cycle(2, i))),
    });
    await s.post('/v1/trades', {
      trades: Array.from({ length: 40 }, (_, i) => wireTrade('r', NOW - 3 * DAY + (i + 1) * HOUR, cycle(-1, i))),
    });
    // A five-arm experiment creates v3..v6: the newest K = 2 are v5 and v6.
    const variants = Object.fromEntries([['control', { x: 2 }], ...[3, 4, 5, 6].map((x) => [`arm${x}`, { x }])]);
    assert.equal((await s.post('/v1/experiments', { strategy: 'r', name: 'wide', variants })).status, 201);
    const m = await s.scrape();
    assert.equal(
      value(m, 'edgewatch_version_trades', { strategy: 'r', param_version: 'v1' }),
      40,
      'the previous version stays exported',
    );
    const reg = find(m, 'edgewatch_version_regression_zscore', { strategy: 'r' });
    assert.equal(reg.length, 1);
    assert.deepEqual(reg[0].labels, { strategy: 'r', param_version: 'v2', previous_version: 'v1' });

    // The rule, evaluated by the real promtool on exactly these series (as Prometheus would scrape them).
    const wanted = new Set(['edgewatch_version_regression_zscore', 'edgewatch_version_trades', 'edgewatch_threshold']);
    const series = m
      .filter((x) => wanted.has(x.name) && x.labels.strategy === 'r')
      .map((x) => {
        const labels = Object.entries({ ...x.labels, job: 'edgewatch-sidecar', instance: 'sidecar:9465', bot: 'demo' })
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(', ');
        return `      - series: '${x.name}{${labels}}'\n        values: '${x.value}x40'`;
      });
    const dir = mkdtempSync(path.join(tmpdir(), 'edgewatch-regression-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'regression.yml');
    writeFileSync(
      file,
      [
        'rule_files:',
        `  - ${path.join(ROOT, 'prometheus/rules/recording.yml')}`,
        `  - ${path.join(ROOT, 'prometheus/rules/alerts.yml')}`,
        'evaluation_interval: 1m',
        'tests:',
        '  - interval: 1m',
        '    input_series:',
        ...series,
        // The alert's labels (its text is the rule file's own test's business).
        '    promql_expr_test:',
        '      - expr: ALERTS{alertname="TradingParamVersionRegression", alertstate="firing"}',
        '        eval_time: 20m',
        '        exp_samples:',
        '          - labels: \'ALERTS{alertname="TradingParamVersionRegression", alertstate="firing", severity="warning", bot="demo", job="edgewatch-sidecar", instance="sidecar:9465", strategy="r", param_version="v2", previous_version="v1"}\'',
        '            value: 1',
      ].join('\n') + '\n',
    );
    try {
      execFileSync(requireBinary('promtool').path!, ['test', 'rules', file], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      assert.fail(`promtool: ${(err as { stdout?: string }).stdout ?? ''}${(err as { stderr?: string }).stderr ?? ''}`);
    }
  },
);

test('one running experiment per strategy whoever starts it, and a stopped experiment refuses trades that opened after it stopped', async (t) => {
  const s = await sidecar(t);
  const ew = openEdgewatch({ ledger: s.ledger.path, strategies: ['p'], logger: false });
  t.after(() => ew.close());
  const h = ew.strategy('p');
  assert.ok(h.experiments.start({ name: 'sdk-exp', variants: { control: { a: 1 }, candidate: { a: 2 } } }).ok);
  const http = await s.post('/v1/experiments', {
    strategy: 'p',
    name: 'http-exp',
    variants: { control: { a: 1 }, candidate: { a: 3 } },
  });
  assert.equal(http.status, 409);
  assert.match((await http.json()).error, /sdk-exp.*still running/);
  const inside = wireTrade('p', Date.now(), 1, { experiment: 'sdk-exp', variant: 'candidate' });
  assert.equal((await s.post('/v1/trades', inside)).status, 201);
  assert.ok(h.experiments.stop('sdk-exp').ok);
  const afterStop = await s.post(
    '/v1/trades',
    wireTrade('p', Date.now() + 1000, 1, { experiment: 'sdk-exp', variant: 'candidate' }),
  );
  assert.equal(afterStop.status, 400);
  assert.match((await afterStop.json()).details[0].message, /stopped at .* before this trade closed/);
  // Opened while it ran, closed after it stopped: still the experiment's.
  const straddling = wireTrade('p', Date.now() + 2000, 1, {
    experiment: 'sdk-exp',
    variant: 'control',
    opened_at: iso(Date.now() - 60_000),
  });
  assert.equal((await s.post('/v1/trades', straddling)).status, 201);
  // The next experiment can start now, from either side.
  assert.equal(
    (
      await s.post('/v1/experiments', {
        strategy: 'p',
        name: 'http-exp',
        variants: { control: { a: 1 }, candidate: { a: 3 } },
      })
    ).status,
    201,
  );
});

test('a ledger written by schema 1 is migrated: stamped trades move to the version of their own time, named ones stay, no row is lost', (t) => {
  const file = path.join(tempDir(t), 'old.db');
  // Schema 1 as the previous release wrote it, with its stamping (the version active on arrival).
  const old = Ledger.open(file);
  const db = old.raw;
  db.exec(
    'DROP TABLE expectations; DROP INDEX param_deploys_by_time; DROP INDEX experiments_one_running; DROP INDEX trades_by_experiment;',
  );
  db.exec(
    'ALTER TABLE trades DROP COLUMN version_by; ALTER TABLE trades DROP COLUMN straddle; ALTER TABLE strategies DROP COLUMN attribution_epoch; ALTER TABLE experiments DROP COLUMN planned_trades;',
  );
  db.exec('DELETE FROM schema_migrations WHERE version > 1');
  const T = NOW - 5 * DAY;
  db.exec(`INSERT INTO strategies VALUES ('m', ${T})`);
  db.exec(`INSERT INTO param_versions VALUES ('m', 1, 'h1', '{"x":1}', ${T}), ('m', 2, 'h2', '{"x":2}', ${T + DAY})`);
  db.exec(`INSERT INTO param_deploys (strategy, version, deployed_ms) VALUES ('m', 1, ${T}), ('m', 2, ${T + DAY})`);
  const insert = db.prepare(
    'INSERT INTO trades (strategy, id, symbol, side, opened_ms, closed_ms, pnl, fees, param_version, recorded_ms) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)',
  );
  insert.run('m', 'on-time', 'X', 'long', null, T + HOUR, 1, 1, T + HOUR); // stamped v1 on time: stays v1
  insert.run('m', 'late', 'X', 'long', null, T + 2 * HOUR, 2, 2, T + 2 * DAY); // arrived after v2: stamped v2, belongs to v1
  insert.run('m', 'straddle', 'X', 'long', T + DAY - HOUR, T + DAY + HOUR, 3, 2, T + DAY + HOUR); // opened under v1
  insert.run('m', 'named', 'X', 'long', null, T + 2 * DAY, 4, 1, T + 2 * DAY); // sent with v1 while v2 was active: stays
  insert.run('m', 'before', 'X', 'long', null, T - HOUR, 5, null, T - HOUR);
  old.close();

  const l = Ledger.open(file);
  t.after(() => l.close());
  assert.equal(l.schemaVersion(), SCHEMA_VERSION);
  const rows = l.raw.prepare('SELECT id, param_version AS v, version_by AS by, straddle FROM trades ORDER BY id').all();
  assert.deepEqual(rows, [
    { id: 'before', v: null, by: 'time', straddle: 0 },
    { id: 'late', v: 1, by: 'time', straddle: 0 },
    { id: 'named', v: 1, by: 'trade', straddle: 0 },
    { id: 'on-time', v: 1, by: 'time', straddle: 0 },
    { id: 'straddle', v: 1, by: 'time', straddle: 1 },
  ]);
  assert.equal(l.raw.prepare('SELECT sum(pnl) FROM trades').pluck().get(), 15, 'every row kept');
});

test('the report\'s "no trade in the last hour" compares with the same hour yesterday: a session trader is quiet at night, a stopped 24/7 strategy is not', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  // It is 12:00. The session trader trades 20 an hour from 16:00 to midnight, so nothing at
  // 11:00-12:00 yesterday; the 24/7 strategy traded 6 an hour until it stopped at 08:00.
  const session = Array.from({ length: 160 }, (_, i) => wireTrade('session', NOW - 20 * HOUR + i * 3 * MIN, 1)); // 16:00-00:00 yesterday
  const allDay = Array.from({ length: 6 * 22 }, (_, i) => wireTrade('allday', NOW - 26 * HOUR + i * 10 * MIN, 1)); // stopped 4h ago
  await s.post('/v1/trades', { trades: [...session, ...allDay] });
  const advice = async (strategy: string) =>
    (await (await s.get(`/v1/report?strategy=${strategy}`)).json()).recommendations.join('\n');
  assert.doesNotMatch(await advice('session'), /No trade in the last hour/);
  assert.match(
    await advice('allday'),
    /No trade in the last hour although the same hour yesterday had 6: is the bot running\?/,
  );
});

test('the report ranks versions by a lower confidence bound with a minimum count, not by PnL per trade alone', async (t) => {
  const s = await sidecar(t, { now: () => NOW, thresholdsJson: { defaults: { regression_min_trades: 30 } } });
  // Four versions of one lucky trade each, then the active one with 40 trades at +1.
  for (const [k, pnl] of [
    [1, 9],
    [2, 8],
    [3, 7],
    [4, 6],
  ] as const) {
    await s.post('/v1/params', { strategy: 'k', params: { k }, deployed_at: NOW - (10 - k) * DAY });
    await s.post('/v1/trades', wireTrade('k', NOW - (10 - k) * DAY + HOUR, pnl));
  }
  await s.post('/v1/params', { strategy: 'k', params: { k: 5 }, deployed_at: NOW - 3 * DAY });
  await s.post('/v1/trades', {
    trades: Array.from({ length: 40 }, (_, i) => wireTrade('k', NOW - 3 * DAY + (i + 1) * HOUR, cycle(1, i))),
  });
  const report = await (await s.get('/v1/report?strategy=k')).json();
  assert.deepEqual(
    report.versions.map((v: { param_version: string; ranked: boolean }) => [v.param_version, v.ranked]),
    [
      ['v5', true],
      ['v1', false],
      ['v2', false],
      ['v3', false],
      ['v4', false],
    ],
  );
  // v5: mean 1; the cycle's squared deviations sum to 8.28 per 10 trades, 33.12 over 40: sample
  // variance 33.12/39, lower bound 1 − 1.96·√(33.12/39/40) = 0.71441.
  assert.ok(
    Math.abs(report.versions[0].pnl_per_trade_lower_95 - (1 - 1.96 * Math.sqrt(33.12 / 39 / 40))) < 1e-9,
    String(report.versions[0].pnl_per_trade_lower_95),
  );
  const md = await (await s.get('/v1/report?strategy=k&format=markdown')).text();
  assert.match(md, /\| v1 \| 1 \| .* \| too few to rank \|/);
});
