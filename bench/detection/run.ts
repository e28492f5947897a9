// npm run bench:detection [-- options]: issue 7's detection benchmark of the shipped alert
// rules. For each trade rate: simulate the runs through the real ledger, window engine and
// exposition (worker processes), back-fill a Prometheus 2.42 TSDB with promtool, serve it
// with the real prometheus loading the shipped rule files, range-query the exact alert
// expressions at the scrape step, apply for:/keep_firing_for:, and summarize.
// Options: docs/alerting.md, "Reproduce".
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AlertData, GroupData } from './analyze.js';
import { type Options, parseArgs, plan, type Group } from './plan.js';
import {
  PrometheusServer,
  backfill,
  findBinary,
  inlineRecordingRules,
  labelKey,
  withThreshold,
  type Series,
} from './prometheus.js';
import { report } from './report.js';
import { cusumDesign } from './cusum-design.js';
import type { RunResult } from './simulate.js';
import { DEFAULT_THRESHOLDS } from '../../src/sidecar/thresholds.js';
import type { Job } from './worker.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const HERE = path.dirname(fileURLToPath(import.meta.url));

export const RULE_FILES = [
  path.join(ROOT, 'prometheus/rules/recording.yml'),
  path.join(ROOT, 'prometheus/rules/alerts.yml'),
];

/** The alerts evaluated, the threshold series each compares with, and the loosest value swept. */
export const EVALUATED: Array<{ alert: string; threshold: string; dir: AlertData['dir']; loosest: number }> = [
  { alert: 'TradingPnlPerTradeDrift', threshold: 'drift_zscore', dir: 'below', loosest: 1.5 },
  { alert: 'TradingWinRatioDrift', threshold: 'drift_zscore', dir: 'below', loosest: 1.5 },
  { alert: 'TradingParamVersionRegression', threshold: 'regression_zscore', dir: 'below', loosest: 1.5 },
  { alert: 'TradingPnlPerTradeCusum', threshold: 'cusum_threshold', dir: 'above', loosest: 0.5 },
];

/** The naive check of the issue, as a PromQL ratio (compared with 0.8 and swept). */
export const NAIVE = {
  alert: 'Naive',
  query: 'edgewatch_window_win_ratio{window="24h"} / ignoring (window) edgewatch_window_win_ratio{window="7d"} < 0.95',
  loosest: 0.95,
  shipped: 0.8,
};

function log(msg: string): void {
  process.stderr.write(`[bench:detection ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function simulate(g: Group, opts: Options, work: string): Promise<{ results: RunResult[]; omFiles: string[] }> {
  // Longest runs first, dealt round-robin: the workers finish at about the same time.
  const cost = (r: Group['runs'][number]) => ((r.emitToMs - r.emitFromMs) / r.stepMs) * (1 + r.rate / 100);
  const sorted = [...g.runs].sort((a, b) => cost(b) - cost(a));
  const n = Math.max(1, Math.min(opts.workers, sorted.length));
  const jobs: Job[] = Array.from({ length: n }, (_, i) => ({
    runs: [],
    bot: g.bot,
    tmpDir: work,
    omPath: path.join(work, `${g.bot}-${i}.om`),
    resultPath: path.join(work, `${g.bot}-${i}.json`),
    everyStep: opts.everyStep,
  }));
  sorted.forEach((r, i) => jobs[i % n].runs.push(r));
  await Promise.all(
    jobs.map((job, i) => {
      const file = path.join(work, `${g.bot}-${i}.job.json`);
      writeFileSync(file, JSON.stringify(job));
      return new Promise<void>((resolve, reject) => {
        const child = fork(path.join(HERE, 'worker.js'), [file], { stdio: 'inherit' });
        child.once('error', reject);
        child.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`simulation worker ${i} exited with ${code}`)),
        );
      });
    }),
  );
  const results = jobs.flatMap((j) => JSON.parse(readFileSync(j.resultPath, 'utf8')) as RunResult[]);
  return { results, omFiles: jobs.map((j) => j.omPath) };
}

function toAlertData(
  series: Series[],
  forMs: number,
  keepMs: number,
  dir: AlertData['dir'],
  shipped: number,
): AlertData {
  return {
    forMs,
    keepMs,
    dir,
    shipped,
    series: series.map((s) => ({
      strategy: s.labels.strategy,
      key: labelKey(s.labels),
      points: [...s.points.entries()].sort((a, b) => a[0] - b[0]),
    })),
  };
}

/** Runs one group end to end and returns its data for the analysis (with opts.keep, the
 *  OpenMetrics files `${bot}-${worker}.om` and the TSDB stay in `work`). */
export async function runGroup(
  g: Group,
  opts: Options,
  work: string,
  bins: { promtool: string; prometheus: string },
  evaluated: typeof EVALUATED = EVALUATED,
): Promise<GroupData> {
  const t0 = Date.now();
  log(
    `rate ${g.rate}/day: simulating ${g.runs.length} runs, step ${g.stepMs / 60_000} min, ${((g.toMs - g.fromMs) / 86_400_000).toFixed(0)} days`,
  );
  const { results, omFiles } = await simulate(g, opts, work);
  const samples = results.reduce((s, r) => s + r.samples, 0);
  log(
    `rate ${g.rate}/day: ${samples.toLocaleString('en')} samples in ${((Date.now() - t0) / 1000).toFixed(0)}s; back-filling`,
  );
  const tsdb = path.join(work, `${g.bot}-tsdb`);
  mkdirSync(tsdb, { recursive: true });
  await Promise.all(omFiles.map((f) => backfill(bins.promtool, f, tsdb)));
  if (!opts.keep) for (const f of omFiles) rmSync(f, { force: true });
  const server = await PrometheusServer.start(bins.prometheus, tsdb, RULE_FILES, g.stepMs, work);
  try {
    const { alerting, recording } = await server.rules();
    const alerts: Record<string, AlertData> = {};
    const checks: GroupData['checks'] = {};
    for (const e of evaluated) {
      const rule = alerting.find((r) => r.name === e.alert);
      if (!rule) throw new Error(`alert ${e.alert} is not in the rule files`);
      const exact = inlineRecordingRules(rule.query, recording, g.stepMs);
      const loose = withThreshold(exact, e.threshold, e.loosest);
      const [looseSeries, exactSeries] = await Promise.all([
        server.range(loose, g.fromMs, g.toMs, g.stepMs),
        server.range(exact, g.fromMs, g.toMs, g.stepMs),
      ]);
      // The threshold series in the data holds the default; filtering the loose result at
      // that value must give exactly what the unmodified expression returned.
      const data = toAlertData(looseSeries, rule.forMs, rule.keepFiringForMs, e.dir, thresholdDefault(e.threshold));
      alerts[e.alert] = data;
      checks[e.alert] = compare(data, exactSeries);
    }
    const naive = await server.range(NAIVE.query, g.fromMs, g.toMs, g.stepMs);
    alerts[NAIVE.alert] = toAlertData(naive, 0, 0, 'ratio', NAIVE.shipped);
    log(`rate ${g.rate}/day: queried in ${((Date.now() - t0) / 1000).toFixed(0)}s total`);
    const specs = new Map(g.runs.map((r) => [r.strategy, r]));
    return {
      rate: g.rate,
      stepMs: g.stepMs,
      fromMs: g.fromMs,
      toMs: g.toMs,
      changeMs: g.changeMs,
      horizonMs: g.horizonMs,
      runs: results.map((r) => ({
        ...r,
        emitFromMs: specs.get(r.strategy)!.emitFromMs,
        emitToMs: specs.get(r.strategy)!.emitToMs,
      })),
      alerts,
      checks,
    };
  } finally {
    await server.stop();
    if (!opts.keep) rmSync(tsdb, { recursive: true, force: true });
  }
}

/** The value the simulated sidecar exported for a threshold (the defaults). */
export function thresholdDefault(name: string): number {
  const v = (DEFAULT_THRESHOLDS as Record<string, number>)[name];
  if (v === undefined) throw new Error(`no default for ${name}`);
  return v;
}

function compare(data: AlertData, exact: Series[]): { compared: number; mismatched: number } {
  const want = new Map<string, Set<number>>();
  for (const s of data.series) {
    const set = new Set<number>();
    for (const [i, v] of s.points) if (data.dir === 'below' ? v < -data.shipped : v > data.shipped) set.add(i);
    if (set.size) want.set(s.key, set);
  }
  let compared = 0;
  let mismatched = 0;
  const seen = new Set<string>();
  for (const s of exact) {
    const key = labelKey(s.labels);
    seen.add(key);
    const w = want.get(key) ?? new Set<number>();
    for (const i of s.points.keys()) {
      compared++;
      if (!w.has(i)) mismatched++;
    }
    for (const i of w) if (!s.points.has(i)) mismatched++;
  }
  for (const [key, w] of want) if (!seen.has(key)) mismatched += w.size;
  return { compared, mismatched };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const promtool = findBinary('promtool');
  const prometheus = findBinary('prometheus');
  if (!promtool || !prometheus)
    throw new Error('promtool and prometheus (Prometheus 2.42) are needed: apt-get install -y prometheus');
  const work = mkdtempSync(path.join(os.tmpdir(), 'edgewatch-detection-'));
  const started = Date.now();
  const groups: GroupData[] = [];
  try {
    for (const g of plan(opts)) {
      const file = (dir: string) => path.join(dir, `group-${g.rate}.json`);
      if (opts.load) {
        groups.push(JSON.parse(readFileSync(file(opts.load), 'utf8')) as GroupData);
        continue;
      }
      const data = await runGroup(g, opts, work, { promtool, prometheus });
      if (opts.save) {
        mkdirSync(opts.save, { recursive: true });
        writeFileSync(file(opts.save), JSON.stringify(data));
      }
      groups.push(data);
    }
  } finally {
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
  const out = path.isAbsolute(opts.out) ? opts.out : path.join(ROOT, opts.out);
  mkdirSync(out, { recursive: true });
  const seconds = (Date.now() - started) / 1000;
  const plot = path.isAbsolute(opts.plot) ? opts.plot : path.join(ROOT, opts.plot);
  log('the CUSUM statistic alone: design variants');
  const design = cusumDesign(DEFAULT_THRESHOLDS.cusum_threshold);
  // The run time reported is the simulation's, also when only the report is re-run.
  const meta = (dir: string) => path.join(dir, 'meta.json');
  let total = (Date.now() - started) / 1000;
  if (opts.load) {
    try {
      total = (JSON.parse(readFileSync(meta(opts.load), 'utf8')) as { seconds: number }).seconds;
    } catch {
      /* older save without meta.json: report the load time */
    }
  } else if (opts.save) writeFileSync(meta(opts.save), JSON.stringify({ seconds: total }));
  report(groups, opts, out, total, plot, design);
  log(`done in ${seconds.toFixed(0)}s: ${path.relative(ROOT, out)}/results.md`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
