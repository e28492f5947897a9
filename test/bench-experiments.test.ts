// Smoke version of `npm run bench:experiments` (bench/experiments, issue 13): the pieces its
// figures rest on, on a few short runs. Nothing here is timed, and the full benchmark is not run.
// - the end-to-end path (real sidecar, promtool back-fill, prometheus range query of the
//   shipped rule, for:/keep_firing_for:) agrees run by run with the trade-time replay, and a
//   real difference makes the alert fire;
// - the yardsticks: Φ⁻¹, the fixed-sample size and the Wilson interval against known values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireBinary } from './support/binaries.js';
import { EPOCH_MS, DAY } from '../bench/detection/plan.js';
import { PrometheusServer, inlineRecordingRules } from '../bench/detection/prometheus.js';
import { RULE_FILES } from '../bench/detection/run.js';
import { wilson } from '../bench/experiments/analyze.js';
import { DEFAULTS, STEP_MS, fixedGrid } from '../bench/experiments/plan.js';
import { fixedSampleSize, normalQuantile } from '../bench/experiments/power.js';
import { ALERT, endToEnd } from '../bench/experiments/run.js';
import type { ExpRunSpec } from '../bench/experiments/stream.js';

const promtool = requireBinary('promtool');
const prometheus = requireBinary('prometheus');

test('Φ⁻¹, the fixed-sample size and the Wilson interval match published values', () => {
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959963984540054) < 1e-14);
  assert.ok(Math.abs(normalQuantile(0.995) - 2.5758293035489004) < 1e-13);
  assert.ok(Math.abs(normalQuantile(0.8) - 0.8416212335729143) < 1e-13);
  assert.ok(Math.abs(normalQuantile(1e-10) + 6.361340902404056) < 1e-9);
  // 2 (2.5758 + 0.8416)² / 0.25² = 373.7: the textbook 374 per arm for 0.25σ at 1%, 80% power.
  assert.equal(fixedSampleSize(0.25, 0.01, 0.8), 374);
  assert.equal(fixedSampleSize(1, 0.05, 0.8), 16);
  // Wilson 95% for 0 of 100: [0, z²/(n+z²)] = [0, 0.0370]; for 5 of 100: [0.0215, 0.1118].
  const none = wilson(0, 100);
  assert.equal(none.lo, 0);
  assert.ok(Math.abs(none.hi - 0.037) < 1e-4, String(none.hi));
  const five = wilson(5, 100);
  assert.ok(Math.abs(five.lo - 0.0215) < 1e-4 && Math.abs(five.hi - 0.1118) < 1e-4, JSON.stringify(five));
});

test(
  'end to end through the sidecar and prometheus, every run fires on the step the replay predicts, and a real difference fires',
  { skip: promtool.skip ?? prometheus.skip },
  async (t) => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'edgewatch-bench-experiments-'));
    t.after(() => rmSync(work, { recursive: true, force: true }));
    const spec = (strategy: string, kind: 'aa' | 'effect', arms: number, effect: number, days: number): ExpRunSpec => ({
      strategy,
      kind,
      arms,
      rate: 400,
      outcome: 'skew-loss',
      effect,
      seed: `smoke/${strategy}`,
      startMs: EPOCH_MS,
      endMs: EPOCH_MS + Math.round((days * DAY) / STEP_MS) * STEP_MS,
      stepMs: STEP_MS,
      fixedGrid: kind === 'aa' ? [50] : fixedGrid(effect, arms),
    });
    const specs = [
      spec('smoke-aa-2', 'aa', 2, 0, 0.5),
      spec('smoke-aa-4', 'aa', 4, 0, 0.5),
      spec('smoke-fx-2', 'effect', 2, 1, 0.5),
    ];
    const tsdb = path.join(work, 'rules-tsdb');
    const server = await PrometheusServer.start(prometheus.path!, tsdb, RULE_FILES, STEP_MS, work);
    let rule;
    try {
      const { alerting, recording } = await server.rules();
      const r = alerting.find((x) => x.name === ALERT)!;
      rule = {
        query: inlineRecordingRules(r.query, recording, STEP_MS),
        timing: { forMs: r.forMs, keepMs: r.keepFiringForMs },
      };
    } finally {
      await server.stop();
    }
    assert.equal(rule.timing.forMs, 30 * 60_000);
    const check = await endToEnd(
      specs,
      { workers: DEFAULTS.workers },
      work,
      { promtool: promtool.path!, prometheus: prometheus.path! },
      rule,
    );
    assert.equal(check.runs, 3);
    assert.deepEqual(check.disagreements, []);
    assert.equal(check.agree, 3);
    assert.ok(check.fired >= 1, 'the 1σ difference over 100 trades per arm fires');
    assert.ok(check.snapshots > 200 && check.samples > 0);
  },
);
