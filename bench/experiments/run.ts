// npm run bench:experiments [-- options]: issue 13's benchmark of the always-valid experiment
// test and the shipped TradingExperimentDecided rule.
// 1. Reads the rule as the real Prometheus loads it (expression, for:, keep_firing_for:).
// 2. End to end: runs a subset of experiments through the real ledger, window engine, snapshot
//    and exposition, back-fills a TSDB with promtool, serves it with the real prometheus,
//    range-queries the rule's exact expression at every step, applies for:/keep_firing_for:
//    (bench/detection/alerts.ts), and checks each run's first firing against the trade-time
//    replay of the same trades.
// 3. In trade time (replay.ts, the same functions the snapshot calls): the A/A grid and the
//    runs with a real difference, thousands of them, and the choice of the mixture's scale.
// Options: docs/experiments.md, "Reproduce".
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_THRESHOLDS } from '../../src/sidecar/thresholds.js';
import { PrometheusServer, backfill, findBinary, inlineRecordingRules } from '../detection/prometheus.js';
import { RULE_FILES, ROOT } from '../detection/run.js';
import { EPOCH_MS } from '../detection/plan.js';
import type { E2eResult } from './e2e.js';
import { firstFire, type RuleTiming } from './observe.js';
import { STEP_MS, aaSpecs, e2eSpecs, effectSpecs, type ExpOptions } from './plan.js';
import { parseArgs } from './args.js';
import { replay, type ReplayResult } from './replay.js';
import { tauDesign } from './design.js';
import { report } from './report.js';
import { stepsOf, type ExpRunSpec } from './stream.js';
import type { ExpJob } from './worker.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ALERT = 'TradingExperimentDecided';

function log(msg: string): void {
  process.stderr.write(`[bench:experiments ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** Runs `specs` in `workers` processes (longest first, dealt round-robin). */
async function runJobs<R>(
  mode: ExpJob['mode'],
  specs: ExpRunSpec[],
  workers: number,
  work: string,
  rule: RuleTiming,
): Promise<{ results: R[]; omFiles: string[] }> {
  const cost = (s: ExpRunSpec) => s.rate * (s.endMs - s.startMs);
  const sorted = [...specs].sort((a, b) => cost(b) - cost(a));
  const n = Math.max(1, Math.min(workers, sorted.length));
  const jobs: ExpJob[] = Array.from({ length: n }, (_, i) => ({
    mode,
    specs: [],
    rule,
    bot: 'bench',
    tmpDir: work,
    omPath: path.join(work, `${mode}-${i}.om`),
    resultPath: path.join(work, `${mode}-${i}.json`),
  }));
  sorted.forEach((s, i) => jobs[i % n].specs.push(s));
  await Promise.all(
    jobs.map((job, i) => {
      const file = path.join(work, `${mode}-${i}.job.json`);
      writeFileSync(file, JSON.stringify(job));
      return new Promise<void>((resolve, reject) => {
        const child = fork(path.join(HERE, 'worker.js'), [file], { stdio: 'inherit' });
        child.once('error', reject);
        child.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`${mode} worker ${i} exited with ${code}`)),
        );
      });
    }),
  );
  const results = jobs.flatMap((j) => JSON.parse(readFileSync(j.resultPath, 'utf8')) as R[]);
  return { results, omFiles: mode === 'e2e' ? jobs.map((j) => j.omPath) : [] };
}

/** The rule as Prometheus parses it, from a server on an empty TSDB. */
async function loadRule(prometheus: string, work: string): Promise<{ query: string; timing: RuleTiming }> {
  const tsdb = path.join(work, 'empty-tsdb');
  mkdirSync(tsdb, { recursive: true });
  const server = await PrometheusServer.start(prometheus, tsdb, RULE_FILES, STEP_MS, work);
  try {
    const { alerting, recording } = await server.rules();
    const rule = alerting.find((r) => r.name === ALERT);
    if (!rule) throw new Error(`alert ${ALERT} is not in the rule files`);
    return {
      query: inlineRecordingRules(rule.query, recording, STEP_MS),
      timing: { forMs: rule.forMs, keepMs: rule.keepFiringForMs },
    };
  } finally {
    await server.stop();
  }
}

export interface E2eCheck {
  runs: number;
  snapshots: number;
  samples: number;
  /** runs whose first firing Prometheus and the replay place on the same step (or neither fires) */
  agree: number;
  /** the runs that disagree, with both answers */
  disagreements: Array<{ strategy: string; prometheus?: number; replay?: number; observer?: number }>;
  /** runs in which the alert fired */
  fired: number;
  seconds: number;
}

/** The end-to-end part: simulate through the sidecar, query Prometheus, compare with the replay. */
export async function endToEnd(
  specs: ExpRunSpec[],
  opts: Pick<ExpOptions, 'workers'>,
  work: string,
  bins: { promtool: string; prometheus: string },
  rule: { query: string; timing: RuleTiming },
): Promise<E2eCheck> {
  const t0 = Date.now();
  const { results, omFiles } = await runJobs<E2eResult>('e2e', specs, opts.workers, work, rule.timing);
  log(`end to end: ${specs.length} runs simulated in ${((Date.now() - t0) / 1000).toFixed(0)}s; back-filling`);
  const tsdb = path.join(work, 'e2e-tsdb');
  mkdirSync(tsdb, { recursive: true });
  await Promise.all(omFiles.map((f) => backfill(bins.promtool, f, tsdb)));
  const toMs = Math.max(...specs.map((s) => s.endMs));
  // Look back over the whole timeline: a sample is written only when its value changes.
  const server = await PrometheusServer.start(
    bins.prometheus,
    tsdb,
    RULE_FILES,
    STEP_MS,
    work,
    toMs - EPOCH_MS + STEP_MS,
  );
  const fired = new Map<string, number>();
  try {
    const series = await server.range(rule.query, EPOCH_MS, toMs, STEP_MS);
    const bySpec = new Map(specs.map((s) => [s.strategy, s]));
    for (const s of series) {
      const spec = bySpec.get(s.labels.strategy);
      if (!spec) throw new Error(`unexpected series ${JSON.stringify(s.labels)}`);
      const steps = stepsOf(spec);
      const present = [...s.points.keys()].filter((i) => i < steps).sort((a, b) => a - b);
      const ranges: Array<[number, number]> = [];
      for (const i of present)
        if (ranges.length && ranges[ranges.length - 1][1] === i) ranges[ranges.length - 1][1] = i + 1;
        else ranges.push([i, i + 1]);
      const f = firstFire(ranges, steps, STEP_MS, rule.timing);
      if (f && !(fired.get(spec.strategy)! <= f.step)) fired.set(spec.strategy, f.step);
    }
  } finally {
    await server.stop();
    rmSync(tsdb, { recursive: true, force: true });
  }
  const th = { ...DEFAULT_THRESHOLDS };
  const check: E2eCheck = {
    runs: specs.length,
    snapshots: results.reduce((s, r) => s + r.looks, 0),
    samples: results.reduce((s, r) => s + r.samples, 0),
    agree: 0,
    disagreements: [],
    fired: fired.size,
    seconds: 0,
  };
  for (const spec of specs) {
    const e = results.find((r) => r.strategy === spec.strategy)!;
    const r: ReplayResult = replay(spec, th, rule.timing);
    const p = fired.get(spec.strategy);
    if (p === e.alert?.step && p === r.alert?.step) check.agree++;
    else
      check.disagreements.push({
        strategy: spec.strategy,
        prometheus: p,
        replay: r.alert?.step,
        observer: e.alert?.step,
      });
  }
  check.seconds = (Date.now() - t0) / 1000;
  log(`end to end: ${check.agree} of ${check.runs} runs agree with the replay; ${check.fired} fired`);
  return check;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const promtool = findBinary('promtool');
  const prometheus = findBinary('prometheus');
  if (!promtool || !prometheus)
    throw new Error('promtool and prometheus (Prometheus 2.42) are needed: apt-get install -y prometheus');
  const work = mkdtempSync(path.join(os.tmpdir(), 'edgewatch-experiments-'));
  const started = Date.now();
  try {
    const rule = await loadRule(prometheus, work);
    log(`${ALERT}: for ${rule.timing.forMs / 60_000}m, keep_firing_for ${rule.timing.keepMs / 60_000}m`);
    const e2e = await endToEnd(e2eSpecs(opts), opts, work, { promtool, prometheus }, rule);
    let t0 = Date.now();
    const aa = await runJobs<ReplayResult>('replay', aaSpecs(opts), opts.workers, work, rule.timing);
    log(`A/A: ${aa.results.length} runs replayed in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
    t0 = Date.now();
    const fx = await runJobs<ReplayResult>('replay', effectSpecs(opts), opts.workers, work, rule.timing);
    log(`real differences: ${fx.results.length} runs replayed in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
    t0 = Date.now();
    const design = tauDesign(opts);
    log(`mixture scale: ${design.rows.length} settings in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
    const out = path.isAbsolute(opts.out) ? opts.out : path.join(ROOT, opts.out);
    const plot = path.isAbsolute(opts.plot) ? opts.plot : path.join(ROOT, opts.plot);
    mkdirSync(out, { recursive: true });
    report({ opts, e2e, aa: aa.results, fx: fx.results, design, seconds: (Date.now() - started) / 1000 }, out, plot);
    log(`done in ${((Date.now() - started) / 1000).toFixed(0)}s: ${path.relative(ROOT, out)}/results.md`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
