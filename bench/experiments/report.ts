// bench/experiments/results/results.md and results.json, and the plot (SVG).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_THRESHOLDS } from '../../src/sidecar/thresholds.js';
import { machine } from '../stats.js';
import { analyze, type Analysis, type Rate } from './analyze.js';
import { DESIGN_EFFECTS, type TauDesign } from './design.js';
import type { ExpOptions } from './plan.js';
import type { ReplayResult } from './replay.js';
import type { E2eCheck } from './run.js';

export interface ReportInput {
  opts: ExpOptions;
  e2e: E2eCheck;
  aa: ReplayResult[];
  fx: ReplayResult[];
  design: TauDesign;
  seconds: number;
}

const pct = (x: number) => `${(100 * x).toFixed(x < 0.1 ? 2 : 1)}%`;
const rate = (r: Rate) => `${pct(r.p)} [${pct(r.lo)}, ${pct(r.hi)}]`;
const trades = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '> horizon');

export function markdown(r: ReportInput, a: Analysis): string {
  const { opts, e2e, design } = r;
  const alpha = DEFAULT_THRESHOLDS.experiment_p_value;
  const m = machine('.');
  const L: string[] = [];
  L.push(
    '# bench:experiments results',
    '',
    `Written by \`npm run bench:experiments\` (bench/experiments) in ${Math.round(r.seconds)} s on ${m.cores} cores (${m.cpu}), Node ${m.node}, load before ${m.loadBefore.join(' ')}. Seed \`${opts.seed}\`. Line: experiment_p_value ${alpha}; mixture scale experiment_mixture_tau ${DEFAULT_THRESHOLDS.experiment_mixture_tau}; experiment_min_trades ${DEFAULT_THRESHOLDS.experiment_min_trades}; every run read at every 1-minute step.`,
    '',
    '## End to end: the shipped rule through the real sidecar and Prometheus',
    '',
    `${e2e.runs} experiments (A/A at ${opts.rates.join(', ')} trades a day, skewed and fat-tailed, 2 and 4 arms; and real differences of ${opts.e2eEffects.join(' and ')}σ) through the real ledger, window engine, snapshot and exposition (${e2e.snapshots.toLocaleString('en-US')} snapshots, ${e2e.samples.toLocaleString('en-US')} samples), back-filled with promtool and range-queried in the real prometheus with the rule's own expression, for: and keep_firing_for: applied as Prometheus does: **${e2e.agree} of ${e2e.runs} runs fire on exactly the step the trade-time replay predicts** (or neither fires); ${e2e.fired} fired. ${e2e.disagreements.length ? `Disagreements: ${JSON.stringify(e2e.disagreements)}.` : ''} The figures below are the replay's, on many more runs (${Math.round(e2e.seconds)} s end to end).`,
    '',
    `## A/A: how often an experiment with no difference is called "decided" (target ≤ ${pct(alpha)})`,
    '',
    `Every arm identical; trades spread evenly over the arms; outcomes cycle through ${opts.outcomes.join(', ')}. Alert: TradingExperimentDecided fired for any arm (the exported always-valid p-value, the running minimum over every trade, Bonferroni over the candidate arms, under the line for the rule's for:). Current value: the p-value on the arms' aggregates at a scrape was ever under the line. Peeked Welch: the rule before this change (Welch's p under the line for 30 minutes). Fixed: Welch read once at n trades per arm (runs that reached n). 95% Wilson intervals.`,
    '',
    `| arms | trades a day | trades per arm in ${opts.days} d | alert, ${opts.days / 4} d | alert, ${opts.days / 2} d | alert, ${opts.days} d | current value under the line, ${opts.days} d | peeked Welch, ${opts.days} d | fixed, read once at ${a.aa[0]?.fixed.map((f) => f.n).join(' / ')} |`,
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const row of a.aa)
    L.push(
      `| ${row.arms} | ${row.rate} | ${trades(row.tradesPerArm)} | ${row.lengths.map((l) => rate(l.alert)).join(' | ')} | ${rate(row.lengths[2].cross)} | ${rate(row.lengths[2].welch)} | ${row.fixed.map((f) => (f.rate.n ? pct(f.rate.p) : '–')).join(' / ')} |`,
    );
  L.push(
    '',
    `### By outcome model (all rates, ${opts.days} days)`,
    '',
    '| arms | outcome | runs | alert | current value under the line | peeked Welch |',
    '|---|---|---|---|---|---|',
  );
  for (const row of a.aaByOutcome)
    L.push(
      `| ${row.arms} | ${row.outcome} | ${row.alert.n} | ${rate(row.alert)} | ${rate(row.cross)} | ${rate(row.welch)} |`,
    );
  L.push(
    '',
    '## Real differences: trades per arm to "decided"',
    '',
    `Arm c1 better than control by the effect (σ of the per-trade outcome); in 4-arm runs c2 and c3 equal control. ${opts.effectRate} trades a day; horizon: 4× the trades per arm a fixed test needs for 80% power. Power: the alert fired for c1 in the right direction within the horizon. Fixed 50% / 80%: trades per arm a fixed-sample Welch test read once needs for the same power as the alert's median / 80th percentile (measured on these runs; closed form in brackets). Price of looking: alert median ÷ fixed 50%. Current value, first under: the median trades per arm to the first scrape at which the current p-value was under the line. Rose: runs in which c1's current p-value went back above the line after first crossing it; resolved: runs in which the rule, on the current value instead of the running minimum, fired and then resolved before the end of the run (the exported running minimum never rises while the experiment runs).`,
    '',
    '| arms | effect | outcome | power | wrong | alert median | alert 80th pct | fixed 50% | fixed 80% | price of looking | current value, first under | peeked Welch, median | rose | resolved |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const f of a.fx)
    L.push(
      `| ${f.arms} | ${f.effect}σ | ${f.outcome} | ${pct(f.power)} | ${pct(f.wrong)} | ${trades(f.median)} | ${trades(f.p80)} | ${trades(f.fixed50)} (${f.closed50}) | ${trades(f.fixed80)} (${f.closed80}) | ${(f.median / f.fixed50).toFixed(2)}× | ${trades(f.crossMedian)} | ${trades(f.welchMedian)} | ${pct(f.rose)} | ${pct(f.resolved)} |`,
    );
  L.push(
    '',
    '## The mixture scale τ (experiment_mixture_tau)',
    '',
    `Gaussian outcomes, 2 arms, ${design.runs} runs per cell: median trades per arm to the first look under the line, and that median ÷ the fixed-sample test's trades per arm at 50% power (the same power). A/A: runs (Gaussian and Student t3, 2,000 trades per arm) that ever looked under the line. The criterion: the smallest worst ratio over the differences whose fixed-sample size exceeds experiment_min_trades (at 1σ every τ is held back by the ${DEFAULT_THRESHOLDS.experiment_min_trades}-trade minimum, not by τ): τ = ${design.best}; shipped: ${design.shipped}.`,
    '',
    `| τ | ${DESIGN_EFFECTS.map((e) => `${e}σ`).join(' | ')} | worst ratio (0.1σ–0.5σ) | A/A ever under |`,
    `|---|${DESIGN_EFFECTS.map(() => '---|').join('')}---|---|`,
  );
  for (const row of design.rows)
    L.push(
      `| ${row.tau} | ${row.median.map((m, k) => `${trades(m)} (${row.ratio[k].toFixed(2)}×)`).join(' | ')} | ${row.worst.toFixed(2)}× | ${pct(row.aaCrossed / row.aaRuns)} |`,
    );
  L.push('');
  return L.join('\n');
}

// ------------------------------------------------------------------ plot

const W = 520;
const H = 430;
// The legend goes under the axis (below the plot area), where no line can hide it.
const M = { l: 64, r: 16, t: 36, b: 150 };

function panel(
  x0: number,
  title: string,
  xs: number[],
  xLabel: (x: number) => string,
  yTicks: number[],
  yLabel: (y: number) => string,
  series: Array<{
    name: string;
    color: string;
    dash?: string;
    points: Array<{ x: number; y: number; lo?: number; hi?: number }>;
  }>,
  axis: string,
): string {
  const ly = (y: number) => Math.log10(y);
  const [ymin, ymax] = [ly(yTicks[0]), ly(yTicks[yTicks.length - 1])];
  const px = (i: number) => x0 + M.l + ((W - M.l - M.r) * (i + 0.5)) / xs.length;
  const py = (y: number) => M.t + (H - M.t - M.b) * (1 - (ly(Math.max(y, yTicks[0])) - ymin) / (ymax - ymin));
  const out: string[] = [`<text x="${x0 + W / 2}" y="20" text-anchor="middle" font-weight="bold">${title}</text>`];
  out.push(
    `<rect x="${x0 + M.l}" y="${M.t}" width="${W - M.l - M.r}" height="${H - M.t - M.b}" fill="none" stroke="#999"/>`,
  );
  for (const t of yTicks)
    out.push(
      `<line x1="${x0 + M.l}" x2="${x0 + W - M.r}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/><text x="${x0 + M.l - 6}" y="${py(t) + 4}" text-anchor="end">${yLabel(t)}</text>`,
    );
  xs.forEach((x, i) => out.push(`<text x="${px(i)}" y="${H - M.b + 18}" text-anchor="middle">${xLabel(x)}</text>`));
  out.push(`<text x="${x0 + W / 2}" y="${H - M.b + 38}" text-anchor="middle">${axis}</text>`);
  series.forEach((s, k) => {
    const pts = s.points.filter((p) => Number.isFinite(p.y) && p.y > 0);
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${px(xs.indexOf(p.x)).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    out.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
    );
    for (const p of pts) {
      const x = px(xs.indexOf(p.x));
      out.push(`<circle cx="${x}" cy="${py(p.y)}" r="3" fill="${s.color}"/>`);
      if (p.lo !== undefined && p.hi !== undefined)
        out.push(
          `<line x1="${x}" x2="${x}" y1="${py(Math.max(p.lo, yTicks[0]))}" y2="${py(p.hi)}" stroke="${s.color}"/>`,
        );
    }
    const ly0 = H - M.b + 60 + 16 * k;
    out.push(
      `<line x1="${x0 + M.l + 10}" x2="${x0 + M.l + 30}" y1="${ly0}" y2="${ly0}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/><text x="${x0 + M.l + 36}" y="${ly0 + 4}">${s.name}</text>`,
    );
  });
  return out.join('\n');
}

export function svg(r: ReportInput, a: Analysis): string {
  const days = [r.opts.days / 4, r.opts.days / 2, r.opts.days];
  // Left: A/A, all rates and outcomes pooled per arms, against the length.
  const pooled = (arms: number, which: 'alert' | 'welch') =>
    days.map((d, i) => {
      const rows = a.aa.filter((x) => x.arms === arms);
      const k = rows.reduce((s, x) => s + x.lengths[i][which].k, 0);
      const n = rows.reduce((s, x) => s + x.lengths[i][which].n, 0);
      const z = 1.96;
      const p = k / n;
      const c = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
      const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
      return { x: d, y: Math.max(p, 1e-4), lo: Math.max(1e-4, c - h), hi: c + h };
    });
  const left = panel(
    0,
    'A/A experiments called "decided"',
    days,
    (d) => `${d} d`,
    [0.001, 0.01, 0.1, 1],
    (y) => `${y * 100}%`,
    [
      { name: 'always-valid, 2 arms', color: '#1f77b4', points: pooled(2, 'alert') },
      { name: 'always-valid, 4 arms', color: '#2ca02c', points: pooled(4, 'alert') },
      { name: 'peeked Welch, 2 arms', color: '#d62728', dash: '5,3', points: pooled(2, 'welch') },
      { name: 'peeked Welch, 4 arms', color: '#ff7f0e', dash: '5,3', points: pooled(4, 'welch') },
      {
        name: `the line (${pct(DEFAULT_THRESHOLDS.experiment_p_value)})`,
        color: '#555',
        dash: '2,2',
        points: days.map((d) => ({ x: d, y: DEFAULT_THRESHOLDS.experiment_p_value })),
      },
    ],
    'experiment length (every run read each minute)',
  );
  const fx = a.fx.filter((f) => f.arms === 2 && f.outcome === 'gaussian');
  const effects = fx.map((f) => f.effect);
  const at = (get: (f: (typeof fx)[number]) => number) => fx.map((f) => ({ x: f.effect, y: get(f) }));
  const right = panel(
    W,
    'Trades per arm to "decided", 2 arms, Gaussian',
    effects,
    (e) => `${e}σ`,
    [10, 100, 1000, 10000],
    (y) => y.toLocaleString('en-US'),
    [
      { name: 'always-valid alert, median', color: '#1f77b4', points: at((f) => f.median) },
      { name: 'always-valid alert, 80th pct', color: '#1f77b4', dash: '5,3', points: at((f) => f.p80) },
      { name: 'fixed test read once, 50% power', color: '#555', points: at((f) => f.fixed50) },
      { name: 'fixed test read once, 80% power', color: '#555', dash: '5,3', points: at((f) => f.fixed80) },
      { name: 'peeked Welch, median (invalid)', color: '#d62728', dash: '2,2', points: at((f) => f.welchMedian) },
    ],
    'true difference per trade',
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
    '<rect width="100%" height="100%" fill="white"/>',
    left,
    right,
    '</svg>',
    '',
  ].join('\n');
}

export function report(r: ReportInput, outDir: string, plotPath: string): Analysis {
  const a = analyze(r.opts, r.aa, r.fx);
  writeFileSync(path.join(outDir, 'results.md'), markdown(r, a));
  writeFileSync(
    path.join(outDir, 'results.json'),
    JSON.stringify(
      { options: r.opts, seconds: r.seconds, e2e: r.e2e, design: r.design, ...a },
      (_k, v: unknown) => (v === Infinity ? 'Infinity' : v),
      2,
    ),
  );
  writeFileSync(plotPath, svg(r, a));
  return a;
}
