// Experiments through the HTTP API, the report and the CLI (issue 13): the always-valid test's
// fields against values computed here from the raw trades with the closed form, the planned
// size (validated, stored, migrated), and the fixed-sample Welch test read once at it: on
// the first planned trades of each arm in arrival order, unchanged by later trades.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import test from 'node:test';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { studentTTwoSidedP } from '../src/analytics/ttest.js';
import { Ledger } from '../src/ledger/ledger.js';
import { sidecar, wireTrade } from './support/sidecar.js';
import { tempDir } from './support/tmp.js';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

const close = (a: number, b: number | null | undefined, eps = 1e-9, what = '') =>
  assert.ok(
    b !== undefined && b !== null && Math.abs(a - b) <= eps * Math.max(1, Math.abs(a)),
    `${what}: expected ${a}, got ${b}`,
  );

function meanVar(xs: number[]) {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return { n: xs.length, m, v: xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1) };
}

/** The mSPRT from raw trades, written out: Λ = √(V/(V+τ²)) exp(τ²Δ²/(2V(V+τ²))), p = min(1, K/Λ). */
function mixture(a: number[], c: number[], tau: number, alpha: number, arms: number) {
  const A = meanVar(a);
  const C = meanVar(c);
  const V = A.v / A.n + C.v / C.n;
  const t2 = tau * tau * ((A.v + C.v) / 2);
  const d = A.m - C.m;
  const lr = Math.sqrt(V / (V + t2)) * Math.exp((t2 * d * d) / (2 * V * (V + t2)));
  const radius = Math.sqrt(((V * (V + t2)) / t2) * (2 * Math.log(arms / alpha) + Math.log((V + t2) / V)));
  return { p: Math.min(1, arms / lr), d, lower: d - radius, upper: d + radius };
}

function welch(a: number[], c: number[]) {
  const A = meanVar(a);
  const C = meanVar(c);
  const sa = A.v / A.n;
  const sc = C.v / C.n;
  const t = (A.m - C.m) / Math.sqrt(sa + sc);
  const df = (sa + sc) ** 2 / (sa ** 2 / (A.n - 1) + sc ** 2 / (C.n - 1));
  return { t, df, p: studentTTwoSidedP(t, df) };
}

test('a planned size per arm is stored and shown; a bad one is a 400 that stores nothing', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  for (const bad of [1, 2.5, '40', -3, 1e12, true, {}]) {
    const r = await s.post('/v1/experiments', {
      strategy: 'p',
      name: 'bad',
      variants: { control: { x: 1 }, candidate: { x: 2 } },
      planned_trades_per_arm: bad,
    });
    assert.equal(r.status, 400, JSON.stringify(bad));
    const body = await r.json();
    assert.equal(body.details[0].path, 'planned_trades_per_arm');
  }
  assert.deepEqual((await (await s.get('/v1/experiments')).json()).experiments, [], 'nothing stored');
  const r = await s.post('/v1/experiments', {
    strategy: 'p',
    name: 'good',
    variants: { control: { x: 1 }, candidate: { x: 2 } },
    planned_trades_per_arm: 40,
  });
  assert.equal(r.status, 201);
  assert.equal((await r.json()).planned_trades_per_arm, 40);
  const list = (await (await s.get('/v1/experiments?strategy=p')).json()).experiments;
  assert.equal(list[0].planned_trades_per_arm, 40);
  assert.deepEqual(list[0].fixed_sample, {
    planned_trades_per_arm: 40,
    tests: [
      {
        variant: 'candidate',
        against: 'control',
        trades: 0,
        control_trades: 0,
        read: false,
        outcome: null,
        t: null,
        df: null,
        p_value: null,
        p_adjusted: null,
      },
    ],
  });
  // Without a planned size there is no fixed-sample section at all.
  assert.equal((await s.post('/v1/experiments/good/stop', {})).status, 200);
  assert.equal(
    (await s.post('/v1/experiments', { strategy: 'p', name: 'free', variants: { control: {}, c: { y: 1 } } })).status,
    201,
  );
  const free = (await (await s.get('/v1/experiments?strategy=p')).json()).experiments.find(
    (e: { name: string }) => e.name === 'free',
  );
  assert.equal(free.planned_trades_per_arm, null);
  assert.equal(free.fixed_sample, null);
});

test('the API, report and CLI give the always-valid p-value and bounds, and the fixed-sample test read once at the planned size', async (t) => {
  let clock = NOW;
  const s = await sidecar(t, { now: () => clock });
  const variants = { control: { x: 1 }, c1: { x: 2 }, c2: { x: 3 } };
  assert.equal(
    (await s.post('/v1/experiments', { strategy: 'q', name: 'grid', variants, planned_trades_per_arm: 40 })).status,
    201,
  );
  clock = NOW + 3_600_000;
  // 50 trades per arm; c1 better by about 1.5 per trade, c2 like control. Deterministic spreads.
  const arms: Record<string, number[]> = { control: [], c1: [], c2: [] };
  const trades = [];
  // The running minimum, worked out here: the closed form on every prefix (arrival order) from
  // the 30th trade of both sides on.
  const runningMin: Record<string, { p: number; lower: number; upper: number }> = {};
  for (let i = 0; i < 50; i++)
    for (const [v, shift] of [
      ['control', 0],
      ['c1', 1.5],
      ['c2', 0.05],
    ] as const) {
      const pnl = shift + Math.sin(i * 1.7 + shift) * 2 + ((i * 7) % 5) / 4;
      arms[v].push(pnl);
      trades.push(wireTrade('q', NOW + 1000 + trades.length, pnl, { experiment: 'grid', variant: v }));
      for (const arm of ['c1', 'c2'])
        if ((v === 'control' || v === arm) && arms[arm].length >= 30 && arms.control.length >= 30) {
          const m = mixture(arms[arm], arms.control, 0.25, 0.01, 2);
          const r = (runningMin[arm] ??= { p: 1, lower: -Infinity, upper: Infinity });
          r.p = Math.min(r.p, m.p);
          r.lower = Math.max(r.lower, m.lower);
          r.upper = Math.min(r.upper, m.upper);
        }
    }
  assert.equal((await s.post('/v1/trades', { trades })).status, 201);
  const alpha = 0.01;
  const api = (await (await s.get('/v1/experiments?strategy=q')).json()).experiments[0];
  assert.equal(api.arms, 2);
  close(0.99, api.confidence, 1e-12, 'confidence');
  for (const v of ['c1', 'c2']) {
    const want = mixture(arms[v], arms.control, 0.25, alpha, 2);
    const got = api.tests.find((x: { variant: string }) => x.variant === v);
    assert.equal(got.against, 'control');
    assert.equal(got.outcome, 'pnl');
    close(want.p, got.current_p_value, 1e-9, `${v} current p`);
    close(want.d, got.difference, 1e-9, `${v} difference`);
    close(runningMin[v].p, got.p_value, 1e-9, `${v} p`);
    close(runningMin[v].lower, got.lower, 1e-9, `${v} lower`);
    close(runningMin[v].upper, got.upper, 1e-9, `${v} upper`);
    // The fixed-sample test: Welch on the first 40 of each arm, p × 2 arms.
    const w = welch(arms[v].slice(0, 40), arms.control.slice(0, 40));
    const f = api.fixed_sample.tests.find((x: { variant: string }) => x.variant === v);
    assert.equal(f.read, true);
    assert.equal(f.trades, 40);
    assert.equal(f.control_trades, 40);
    close(w.t, f.t, 1e-9, `${v} t`);
    close(w.df, f.df, 1e-9, `${v} df`);
    close(w.p, f.p_value, 1e-9, `${v} p fixed`);
    close(Math.min(1, 2 * w.p), f.p_adjusted, 1e-9, `${v} p adjusted`);
  }
  const c1 = api.tests.find((x: { variant: string }) => x.variant === 'c1');
  assert.ok(c1.p_value < alpha && c1.lower > 0, `c1 decided: ${JSON.stringify(c1)}`);

  // Later trades move the always-valid test but never the fixed-sample one.
  const more = [];
  for (let i = 0; i < 10; i++)
    for (const v of ['control', 'c1', 'c2'])
      more.push(wireTrade('q', NOW + 5000 + more.length, i % 2 ? 9 : -9, { experiment: 'grid', variant: v }));
  assert.equal((await s.post('/v1/trades', { trades: more })).status, 201);
  const after = (await (await s.get('/v1/experiments?strategy=q')).json()).experiments[0];
  assert.deepEqual(after.fixed_sample, api.fixed_sample);
  // The exported p-value is the running minimum: the noisy trades raise the current one only.
  for (const [i, x] of after.tests.entries()) {
    assert.ok(x.p_value <= api.tests[i].p_value, `${x.variant}: running minimum rose`);
    if (x.variant === 'c1')
      assert.ok(x.current_p_value > api.tests[i].current_p_value, 'the noise weakens the current test');
    assert.ok(x.lower >= api.tests[i].lower && x.upper <= api.tests[i].upper, 'bounds only narrow');
  }

  const report = await (await s.get('/v1/report?strategy=q')).json();
  const e = report.experiments[0];
  assert.equal(e.arms, 2);
  assert.equal(e.significant, true);
  assert.deepEqual(e.tests, after.tests);
  assert.deepEqual(e.fixed_sample, after.fixed_sample);
  assert.ok(
    report.recommendations.some((r: string) =>
      /^experiment grid: c1 better than control by \+[0-9.]+ to \+[0-9.]+ PnL per trade \(99% confidence sequence\), always-valid p = /.test(
        r,
      ),
    ),
    report.recommendations.join('\n'),
  );
  assert.ok(
    report.recommendations.some((r: string) =>
      /the fixed-sample Welch test, read once at the planned 40 trades per arm, finds c1 better than control/.test(r),
    ),
    report.recommendations.join('\n'),
  );
  const md = await (await s.get('/v1/report?strategy=q&format=markdown')).text();
  assert.match(
    md,
    /c1 vs control: \+[0-9.]+ to \+[0-9.]+ PnL per trade \(99% confidence sequence\), always-valid p = .* \(Bonferroni over 2 arms\)/,
  );
  assert.match(md, /Fixed-sample Welch t-test, read once at the planned 40 trades per arm: c1 vs control t = /);

  // The CLI reads the same ledger directly.
  const path = s.ledger.path;
  const r = spawnSync(process.execPath, [MAIN, 'experiments', 'show', 'grid', '--db', path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const cli = JSON.parse(r.stdout);
  assert.deepEqual(cli.fixed_sample, after.fixed_sample);
  assert.equal(cli.tests.length, 2);
  close(after.tests[0].p_value, cli.tests[0].p_value, 1e-9, 'CLI p');
  const list = spawnSync(process.execPath, [MAIN, 'experiments', 'list', '--db', path], { encoding: 'utf8' });
  assert.match(list.stdout, /grid .* planned 40 trades per arm/);
});

test('a ledger of schema 2 gains the planned size column: its experiments read as planned none', (t) => {
  const file = join(tempDir(t), 'old.db');
  const l = Ledger.open(file);
  l.startExperiment('m', 'old', { control: { a: 1 }, c: { a: 2 } }, { control: 1, c: 1 }, NOW);
  l.raw.exec(
    'DROP TABLE expectations; DROP INDEX trades_by_experiment; ALTER TABLE experiments DROP COLUMN planned_trades; DELETE FROM schema_migrations WHERE version >= 3',
  );
  l.close();
  const m = Ledger.open(file);
  t.after(() => m.close());
  assert.equal(m.getExperiment('m', 'old')?.plannedTrades, null);
  m.stopExperiment('m', 'old', null, null, NOW + 1);
  const e = m.startExperiment('m', 'new', { control: { a: 1 }, c: { a: 3 } }, { control: 1, c: 1 }, NOW + 2, 25);
  assert.equal(e.plannedTrades, 25);
  assert.equal(m.getExperiment('m', 'new')?.plannedTrades, 25);
});
