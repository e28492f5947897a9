// Smoke version of the detection benchmark (bench/detection, issue 7): the pieces the full
// `npm run bench:detection` relies on, on a few short runs. Nothing here is timed.
// - for:/keep_firing_for: as applied in code (alerts.ts) on hand cases, and against
//   `promtool test rules` on the benchmark's own series;
// - a snapshot only on steps with an event writes the same samples as one on every step;
// - the pipeline end to end (simulation, promtool back-fill, prometheus range queries of
//   the shipped expressions) with its self-check and a decay it must see;
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireBinary } from './support/binaries.js';
import { firings } from '../bench/detection/alerts.js';
import { episodes, summarize, type Decay, type GroupData } from '../bench/detection/analyze.js';
import { SCENARIOS, profile, Rng, lordenLimit, winProbability } from '../bench/detection/model.js';
import { parseArgs, plan } from '../bench/detection/plan.js';
import { simulateRun } from '../bench/detection/simulate.js';
import { EVALUATED, RULE_FILES, runGroup } from '../bench/detection/run.js';
import { report } from '../bench/detection/report.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const promtool = requireBinary('promtool');
const prometheus = requireBinary('prometheus');
const needBinaries = promtool.skip ?? prometheus.skip;

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edgewatch-detection-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function runProgram(bin: string, args: string[], cwd = ROOT): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { cwd, timeout: 120_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({
        code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
        out: `$ ${bin} ${args.join(' ')}\n${stdout}${stderr}`.slice(0, 20_000),
      });
    });
  });
}

// ------------------------------------------------------------------ for: and keep_firing_for:

test('firings: pending needs `for` of consecutive returns; a firing alert resolves keep_firing_for after the last return', () => {
  // for 2 steps, keep 3: returned at 0..2 -> fires at 2; first absent step 3 -> resolves at 6.
  assert.deepEqual(firings([0, 1, 2], 20, 60_000, 120_000, 180_000), [{ active: 0, fired: 2, resolved: 6 }]);
  // Returned only for 0..1: dropped while pending.
  assert.deepEqual(firings([0, 1], 20, 60_000, 120_000, 180_000), []);
  // A gap of 2 steps (4, 5) inside keep 3 is bridged: one firing, resolved at 9 + 3.
  assert.deepEqual(firings([0, 1, 2, 3, 6, 7, 8], 20, 60_000, 120_000, 180_000), [
    { active: 0, fired: 2, resolved: 12 },
  ]);
  // A return exactly keep after the first absent step is still bridged (the alert still
  // fired on the step before); one step later it is a new alert.
  assert.deepEqual(firings([0, 1, 2, 6, 7, 8], 20, 60_000, 120_000, 180_000), [{ active: 0, fired: 2, resolved: 12 }]);
  assert.deepEqual(firings([0, 1, 2, 7, 8, 9], 20, 60_000, 120_000, 180_000), [
    { active: 0, fired: 2, resolved: 6 },
    { active: 7, fired: 9, resolved: 13 },
  ]);
  // for 0, keep 0: fires at once, resolves at the first absent step.
  assert.deepEqual(firings([3, 4, 8], 20, 60_000, 0, 0), [
    { active: 3, fired: 3, resolved: 5 },
    { active: 8, fired: 8, resolved: 9 },
  ]);
  // Still firing at the last step: no resolution.
  assert.deepEqual(firings([15, 16, 17, 18, 19], 20, 60_000, 60_000, 600_000), [
    { active: 15, fired: 16, resolved: undefined },
  ]);
  // `for` not a multiple of the step: the first step at or after active + for.
  assert.deepEqual(firings([0, 1, 2, 3], 10, 60_000, 90_000, 0), [{ active: 0, fired: 2, resolved: 4 }]);
});

// ------------------------------------------------------------------ the model

test("the simulated strategies have the designed edge, win rates and fat tails; the limits match the issue's examples", () => {
  for (const [name, win] of [
    ['skew-loss', 0.61],
    ['skew-win', 0.49],
    ['binary', 0.55],
  ] as const) {
    const p = profile(name);
    const rng = new Rng(`test-${name}`);
    const n = 100_000;
    let s = 0,
      s2 = 0,
      s4 = 0,
      wins = 0;
    const xs: number[] = [];
    for (let i = 0; i < n; i++) {
      const x = SCENARIOS.stationary.draw(p, -1, rng);
      xs.push(x);
      s += x;
      if (x > 0) wins++;
    }
    const mean = s / n;
    for (const x of xs) {
      s2 += (x - mean) ** 2;
      s4 += (x - mean) ** 4;
    }
    const variance = s2 / n;
    assert.ok(Math.abs(mean - 0.1) < 0.02, `${name} edge ${mean}`);
    assert.ok(Math.abs(variance - 1) < 0.05, `${name} variance ${variance}`);
    assert.ok(Math.abs(wins / n - win) < 0.015, `${name} win rate ${wins / n}`);
    assert.ok(Math.abs(winProbability(p) - win) < 0.015, `${name} computed win probability ${winProbability(p)}`);
    if (name !== 'binary')
      assert.ok(s4 / n / variance ** 2 > 4, `${name} kurtosis ${s4 / n / variance ** 2}: fat tails`);
  }
  // The issue: win probability 0.55 -> 0.45 with equal payoffs is KL ≈ 0.02 nats, ≈ 440
  // trades at 1 false alarm per 20 strategy-weeks and 50 trades a day.
  const w = lordenLimit(SCENARIOS['winprob-0.55-0.45'], 50 * 7 * 20, 50)!;
  assert.ok(Math.abs(w.trades - 441) < 5, `${w.trades}`);
  // A 1σ fall of these fat-tailed, skewed streams carries more than the Gaussian 0.5 nats.
  const d = lordenLimit(SCENARIOS['drop-1sd'], 50 * 7 * 20, 50)!;
  assert.ok(d.trades > 10 && d.trades < Math.log(7000) / 0.5, `${d.trades}`);
});

// ------------------------------------------------------------------ event-driven snapshots

test('a snapshot only on steps with an event writes the samples of a snapshot on every step (values to 1e-12)', async (t) => {
  const dir = tempDir(t);
  const opts = parseArgs([
    '--rates',
    '50',
    '--runs',
    '1',
    '--stationary-runs',
    '1',
    '--weeks',
    '0.3',
    '--scenarios',
    'stationary,deploy-regress',
    '--horizon-days',
    '1',
  ]);
  const [g] = plan(opts);
  const spec = g.runs.find((r) => r.scenario === 'deploy-regress')!;
  const texts: string[] = [];
  const snaps: number[] = [];
  for (const everyStep of [false, true]) {
    let text = '';
    const r = await simulateRun(spec, dir, g.bot, { write: (s) => (text += s) }, everyStep);
    texts.push(text);
    snaps.push(r.snapshots);
  }
  assert.ok(texts[0].length > 100_000, 'the run wrote samples');
  assert.ok(snaps[0] < snaps[1] / 2, `event-driven snapshots ${snaps[0]} vs ${snaps[1]}`);
  // Same series and timestamps line by line; values equal up to the last bits (between
  // two events a window's edge minutes fall on other buckets, which changes the order of
  // the floating-point fold, not the value).
  const [a, b] = texts.map((x) => x.split('\n'));
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    const [sa, va, ta] = a[i].split(' ');
    const [sb, vb, tb] = b[i].split(' ');
    assert.equal(sa, sb, `line ${i}`);
    assert.equal(ta, tb, `line ${i}`);
    assert.ok(
      Math.abs(Number(va) - Number(vb)) <= 1e-12 * Math.max(1, Math.abs(Number(vb))),
      `line ${i}: ${a[i]} vs ${b[i]}`,
    );
  }
  // It covers the series the rules read, before and after the deploy.
  for (const s of [
    'edgewatch_drift_zscore{',
    'edgewatch_version_regression_zscore{',
    'param_version="v2"',
    'edgewatch_cusum_statistic{',
    'name="drift_min_trades"',
  ])
    assert.ok(texts[0].includes(s), `no ${s}`);
});

// ------------------------------------------------------------------ end to end, and against promtool

/** promtool input series from the benchmark's OpenMetrics samples: `stale` where a series left. */
function promtoolSeries(
  om: string,
  fromMs: number,
  stepMs: number,
  steps: number,
): Array<{ series: string; values: string }> {
  const bySeries = new Map<string, Array<string | undefined>>();
  for (const line of om.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    const mid = line.lastIndexOf(' ', cut - 1);
    const series = line.slice(0, mid);
    const i = Math.round((Number(line.slice(cut + 1)) * 1000 - fromMs) / stepMs);
    let values = bySeries.get(series);
    if (!values) bySeries.set(series, (values = new Array(steps).fill(undefined)));
    values[i] = line.slice(mid + 1, cut);
  }
  return [...bySeries].map(([series, values]) => ({
    series,
    values: values.map((v, i) => v ?? (i > 0 && values[i - 1] !== undefined ? 'stale' : '_')).join(' '),
  }));
}

test(
  'the benchmark runs end to end, checks itself, sees a 1σ fall, and its alert timeline is what promtool test rules computes',
  { skip: needBinaries, timeout: 600_000 },
  async (t) => {
    const work = tempDir(t);
    const opts = {
      ...parseArgs([
        '--rates',
        '200',
        '--runs',
        '1',
        '--stationary-runs',
        '1',
        '--weeks',
        String(2 / 7),
        '--scenarios',
        'stationary,drop-1sd,deploy-regress',
        '--horizon-days',
        '1',
        '--workers',
        '1',
      ]),
      keep: true,
      out: work,
      plot: path.join(work, 'plot'),
    };
    const [g] = plan(opts);
    const data: GroupData = await runGroup(g, opts, work, { promtool: promtool.path!, prometheus: prometheus.path! });

    // Self-check: the swept (loose) expressions filtered at the shipped thresholds returned
    // exactly what the unmodified expressions did.
    for (const [alert, c] of Object.entries(data.checks)) {
      assert.ok(c.compared > 0, `${alert}: nothing returned at the shipped threshold`);
      assert.equal(c.mismatched, 0, `${alert}: ${c.mismatched} of ${c.compared}`);
    }
    // The 1σ fall at 200 trades a day is detected within the day by the shipped rules.
    const shipped = episodes(data, [
      { alert: 'TradingPnlPerTradeDrift' },
      { alert: 'TradingWinRatioDrift' },
      { alert: 'TradingParamVersionRegression' },
    ]);
    const drop = summarize(data, shipped, 'drop-1sd') as Decay;
    assert.equal(drop.detected, 1, JSON.stringify(drop));
    assert.ok(drop.medianHours < 24, JSON.stringify(drop));
    const r = report([data], opts, work, 1, opts.plot);
    assert.ok(r.rates[0].limits['drop-1sd']!.target!.trades > 5);
    for (const f of ['results.md', 'results.json', 'plot.svg'])
      assert.ok(readFileSync(path.join(work, f), 'utf8').length > 500, f);

    // promtool test rules on the same samples with the real rule files, twice: at the
    // shipped thresholds, and at the loose thresholds the sweeps start from (substituted in a
    // copy of the rule files, as the benchmark substitutes them in its queries), where alerts
    // go pending, fire and resolve many times. ALERTS (firing) is checked at the steps around
    // every firing alerts.ts computed, and at a few others.
    const steps = Math.round((data.toMs - data.fromMs) / data.stepMs) + 1;
    const input = promtoolSeries(
      readFileSync(path.join(work, `${g.bot}-0.om`), 'utf8'),
      data.fromMs,
      data.stepMs,
      steps,
    );
    let resolutions = 0;
    for (const loose of [false, true]) {
      const ruleFiles = RULE_FILES.map((f) => {
        if (!loose) return f;
        let text = readFileSync(f, 'utf8');
        for (const e of EVALUATED)
          text = text
            .split(`edgewatch_threshold{name="${e.threshold}"}`)
            .join(`(edgewatch_threshold{name="${e.threshold}"} * 0 + ${e.loosest})`);
        const copy = path.join(work, `loose-${path.basename(f)}`);
        writeFileSync(copy, text);
        return copy;
      });
      const tests: string[] = [];
      for (const e of EVALUATED) {
        const a = data.alerts[e.alert];
        const threshold = loose ? e.loosest : a.shipped;
        const timelines = a.series.map((s) => {
          const present = s.points
            .filter(([, v]) => (a.dir === 'below' ? v < -threshold : v > threshold))
            .map(([i]) => i);
          return { labels: s.key, f: firings(present, steps, data.stepMs, a.forMs, a.keepMs) };
        });
        assert.ok(
          timelines.some((tl) => tl.f.length),
          `${e.alert} never fired in the smoke runs (loose: ${loose})`,
        );
        const times = new Set<number>([Math.floor(steps / 3), Math.floor((2 * steps) / 3), steps - 1]);
        for (const tl of timelines)
          for (const f of tl.f) {
            if (f.resolved !== undefined) resolutions++;
            for (const i of [
              f.active,
              f.fired - 1,
              f.fired,
              f.resolved === undefined ? steps - 1 : f.resolved - 1,
              f.resolved ?? steps - 1,
            ])
              if (i >= 0 && i < steps) times.add(i);
          }
        for (const i of [...times].sort((x, y) => x - y)) {
          const firing = timelines.filter((tl) =>
            tl.f.some((f) => f.fired <= i && (f.resolved === undefined || i < f.resolved)),
          );
          // labelKey() writes name="value" pairs, which is also PromQL's label syntax here.
          const samples = firing.map(
            (tl) =>
              `          - labels: 'ALERTS{alertname="${e.alert}",alertstate="firing",severity="warning",${tl.labels}}'\n            value: 1`,
          );
          tests.push(
            `      - expr: 'ALERTS{alertname="${e.alert}",alertstate="firing"}'\n        eval_time: ${(i * data.stepMs) / 60_000}m\n        exp_samples:${samples.length ? '\n' + samples.join('\n') : ' []'}`,
          );
        }
      }
      const yml = [
        `rule_files:\n${ruleFiles.map((f) => `  - '${f}'`).join('\n')}`,
        `evaluation_interval: ${data.stepMs / 60_000}m`,
        'group_eval_order:\n  - edgewatch.recording\n  - edgewatch.alerts',
        'tests:',
        `  - interval: ${data.stepMs / 60_000}m`,
        '    input_series:',
        ...input.map((s) => `      - series: '${s.series}'\n        values: '${s.values}'`),
        '    promql_expr_test:',
        ...tests,
      ].join('\n');
      const file = path.join(work, `timeline-${loose ? 'loose' : 'shipped'}.test.yml`);
      writeFileSync(file, yml + '\n');
      const result = await runProgram(promtool.path!, ['test', 'rules', file]);
      assert.equal(result.code, 0, result.out);
      assert.match(result.out, /SUCCESS/);
    }
    // keep_firing_for was exercised: alerts resolved within the runs.
    assert.ok(resolutions >= 2, `only ${resolutions} resolutions`);
  },
);
