// Tables (results.md), numbers (results.json) and the plot (SVG, and PNG when rsvg-convert
// is installed) from the groups' alert data.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  episodes,
  summarize,
  type Decay,
  type GroupData,
  type Member,
  type Quiet,
  type Stationary,
  type Summary,
} from './analyze.js';
import { SCENARIOS, lordenLimit, type ScenarioName } from './model.js';
import { findBinary } from './prometheus.js';
import type { Options } from './plan.js';
import { SHIPPED_VARIANT, type DesignRow } from './cusum-design.js';
import { DEFAULT_THRESHOLDS } from '../../src/sidecar/thresholds.js';

const REGRESSION: Member = { alert: 'TradingParamVersionRegression' };
const drift = (z: number, more: Partial<Member> = {}): Member[] => [
  { alert: 'TradingPnlPerTradeDrift', threshold: z, ...more },
  { alert: 'TradingWinRatioDrift', threshold: z, ...more },
];

/**
 * The shipped defaults, tuned from these numbers (docs/alerting.md, "Tuning"), and the ones
 * they replaced (drift_zscore 3, regression_zscore 3, no CUSUM), kept as a comparison.
 */
export const SHIPPED = {
  driftZ: DEFAULT_THRESHOLDS.drift_zscore,
  regressionZ: DEFAULT_THRESHOLDS.regression_zscore,
  cusumThreshold: DEFAULT_THRESHOLDS.cusum_threshold,
};
export const PREVIOUS = { driftZ: 3, regressionZ: 3 };

export const DETECTORS: Record<string, { title: string; members: Member[] }> = {
  pnlDrift: { title: 'TradingPnlPerTradeDrift', members: [{ alert: 'TradingPnlPerTradeDrift' }] },
  winDrift: { title: 'TradingWinRatioDrift', members: [{ alert: 'TradingWinRatioDrift' }] },
  regression: { title: 'TradingParamVersionRegression', members: [{ alert: 'TradingParamVersionRegression' }] },
  cusum: { title: 'TradingPnlPerTradeCusum', members: [{ alert: 'TradingPnlPerTradeCusum' }] },
  previous: {
    title: `previous defaults: drift_zscore ${PREVIOUS.driftZ}, regression_zscore ${PREVIOUS.regressionZ}, no CUSUM`,
    members: [...drift(PREVIOUS.driftZ), { alert: 'TradingParamVersionRegression', threshold: PREVIOUS.regressionZ }],
  },
  // The thresholds the simulated sidecar exported: the defaults of src/sidecar/thresholds.ts.
  shipped: {
    title: `shipped: drift_zscore ${SHIPPED.driftZ}, regression_zscore ${SHIPPED.regressionZ}, CUSUM ${SHIPPED.cusumThreshold}`,
    members: [
      { alert: 'TradingPnlPerTradeDrift' },
      { alert: 'TradingWinRatioDrift' },
      { alert: 'TradingParamVersionRegression' },
      { alert: 'TradingPnlPerTradeCusum' },
    ],
  },
  naive: { title: 'naive: 24h win rate < 80% of 7d', members: [{ alert: 'Naive' }] },
};

export const SWEEPS = {
  drift: {
    title: 'drift_zscore (both drift alerts, with the regression alert)',
    values: [1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5],
    members: (v: number): Member[] => [...drift(v), REGRESSION],
  },
  cusum: {
    title: 'cusum_threshold in nats (the CUSUM alert, with the regression alert)',
    values: [0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
    members: (v: number): Member[] => [{ alert: 'TradingPnlPerTradeCusum', threshold: v }, REGRESSION],
  },
  naive: {
    title: 'naive factor (24h win rate below f × 7d)',
    values: [0.5, 0.6, 0.7, 0.8, 0.9],
    members: (v: number): Member[] => [{ alert: 'Naive', threshold: v }],
  },
  driftFor: {
    title: '`for:` of both drift alerts in minutes (drift_zscore 3)',
    values: [15, 30, 60, 120],
    members: (v: number): Member[] => drift(3, { forMs: v * 60_000 }),
  },
  driftFor35: {
    title: '`for:` of both drift alerts in minutes (drift_zscore 3.5)',
    values: [15, 30, 60, 120],
    members: (v: number): Member[] => drift(3.5, { forMs: v * 60_000 }),
  },
  driftKeep35: {
    title: '`keep_firing_for:` of both drift alerts in minutes (drift_zscore 3.5)',
    values: [60, 360, 1440],
    members: (v: number): Member[] => drift(3.5, { keepMs: v * 60_000 }),
  },
  cusumKeep: {
    title:
      '`keep_firing_for:` added to the CUSUM alert in minutes (cusum_threshold 10; the rule itself holds a crossing for a day within a run)',
    values: [60, 360, 1440, 4320],
    members: (v: number): Member[] => [{ alert: 'TradingPnlPerTradeCusum', threshold: 10, keepMs: v * 60_000 }],
  },
  regression: {
    title: 'regression_zscore',
    values: [3, 3.5, 4, 4.5],
    members: (v: number): Member[] => [{ alert: 'TradingParamVersionRegression', threshold: v }],
  },
  shippedCusum: {
    title: `cusum_threshold with the other shipped settings (drift_zscore ${SHIPPED.driftZ}, regression_zscore ${SHIPPED.regressionZ})`,
    values: [4, 5, 6, 7, 8, 9, 10],
    members: (v: number): Member[] => [
      ...drift(SHIPPED.driftZ),
      { alert: 'TradingParamVersionRegression', threshold: SHIPPED.regressionZ },
      { alert: 'TradingPnlPerTradeCusum', threshold: v },
    ],
  },
} as const;
export type SweepName = keyof typeof SWEEPS;

/** The false-alarm target of issue 7: 1 per 20 strategy-weeks. */
export const TARGET_PER_WEEK = 1 / 20;

export interface Results {
  generated: string;
  seconds: number;
  /** the CUSUM statistic alone, variants of its design (bench/detection/cusum-design.ts) */
  design: DesignRow[];
  options: Omit<Options, 'out' | 'plot' | 'keep' | 'everyStep' | 'save' | 'load'>;
  rates: Array<{
    rate: number;
    stepMinutes: number;
    horizonDays: number;
    checks: GroupData['checks'];
    detectors: Record<string, Partial<Record<ScenarioName, Summary>>>;
    sweeps: Record<SweepName, Array<{ value: number; summaries: Partial<Record<ScenarioName, Summary>> }>>;
    /**
     * Lorden's limit ln(ARL0)/KL per decay scenario: at the target rate, and at the measured
     * rate of "shipped"; `refined` is ln(ARL0·KL)/KL at the measured rate, what a CUSUM
     * designed for the exact change attains (Siegmund), lower when KL is small.
     */
    limits: Partial<
      Record<
        ScenarioName,
        {
          target?: { trades: number; hours: number };
          measured?: { trades: number; hours: number };
          refined?: { trades: number; hours: number };
          perWeek: number;
          own?: { trades: number; hours: number };
        }
      >
    >;
  }>;
}

function summaries(g: GroupData, members: Member[], scenarios: ScenarioName[]): Partial<Record<ScenarioName, Summary>> {
  const eps = episodes(g, members);
  const out: Partial<Record<ScenarioName, Summary>> = {};
  for (const s of scenarios) out[s] = summarize(g, eps, s);
  return out;
}

export function compute(groups: GroupData[], opts: Options, seconds: number, design: DesignRow[]): Results {
  const { out: _o, plot: _p, keep: _k, everyStep: _e, save: _s, load: _l, ...options } = opts;
  return {
    generated: new Date().toISOString(),
    seconds,
    design,
    options,
    rates: groups.map((g) => {
      const detectors: Results['rates'][number]['detectors'] = {};
      for (const [name, d] of Object.entries(DETECTORS)) detectors[name] = summaries(g, d.members, opts.scenarios);
      const sweeps = {} as Results['rates'][number]['sweeps'];
      for (const [name, sw] of Object.entries(SWEEPS) as Array<[SweepName, (typeof SWEEPS)[SweepName]]>)
        sweeps[name] = sw.values.map((value) => ({
          value,
          summaries: summaries(g, sw.members(value), opts.scenarios),
        }));
      const st = detectors.shipped.stationary as Stationary;
      const both = design.find((d) => d.variant === SHIPPED_VARIANT);
      const ownArl = both && both.falseAlarmsPer28k > 0 ? 28_000 / both.falseAlarmsPer28k : undefined;
      // Measured rate of the shipped rules; with no alarm at all, its 95% upper bound.
      const perWeek = st.alarms > 0 ? st.perWeek : st.perWeekUpper;
      const limits: Results['rates'][number]['limits'] = {};
      for (const s of opts.scenarios) {
        if (!SCENARIOS[s].decay) continue;
        const klEnd = SCENARIOS[s].klAt!(1e15);
        limits[s] = {
          target: lordenLimit(SCENARIOS[s], (g.rate * 7) / TARGET_PER_WEEK, g.rate),
          measured: lordenLimit(SCENARIOS[s], (g.rate * 7) / perWeek, g.rate),
          refined: lordenLimit(SCENARIOS[s], ((g.rate * 7) / perWeek) * Math.min(1, klEnd), g.rate),
          perWeek,
          // At the CUSUM's own false-alarm rate in trade time (the design run: many more
          // trades than the stationary runs), where those saw no alarm at all.
          own: ownArl ? lordenLimit(SCENARIOS[s], ownArl, g.rate) : undefined,
        };
      }
      return {
        rate: g.rate,
        stepMinutes: g.stepMs / 60_000,
        horizonDays: g.horizonMs / 86_400_000,
        checks: g.checks,
        detectors,
        sweeps,
        limits,
      };
    }),
  };
}

// ------------------------------------------------------------------ markdown

const f1 = (x: number) =>
  Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) : '—';
const pct = (a: number, b: number) => (b ? `${Math.round((100 * a) / b)}%` : '—');

function hoursText(h: number): string {
  if (!Number.isFinite(h)) return '>horizon';
  return h < 48 ? `${f1(h)} h` : `${f1(h / 24)} d`;
}

function stationaryCell(s: Summary | undefined): string {
  if (!s || s.kind !== 'stationary') return '';
  return s.alarms ? `${f1(s.perWeek)} (${s.alarms})` : `0 (< ${f1(s.perWeekUpper)})`;
}

function decayCell(s: Summary | undefined): string {
  if (!s || s.kind !== 'decay') return '';
  const left = s.alarmedAtChange ? ` (${s.alarmedAtChange} alarmed at change)` : '';
  return `${pct(s.detected, s.runs)} · ${hoursText(s.medianHours)} · ${Number.isFinite(s.medianTrades) ? f1(s.medianTrades) + ' tr' : '—'}${left}`;
}

function quietCell(s: Summary | undefined): string {
  if (!s || s.kind !== 'quiet') return '';
  return `${pct(s.runs - s.alarmed7d, s.runs)} quiet (${s.alarmed7d}/${s.runs} alarmed)`;
}

export function markdown(r: Results): string {
  const lines: string[] = [];
  const scen = r.options.scenarios;
  lines.push(`# Detection benchmark results`, '');
  lines.push(
    `Generated by \`npm run bench:detection\` on ${r.generated.slice(0, 10)} in ${Math.round(r.seconds / 60)} min: rates ${r.options.rates.join(', ')} trades/day; ${r.options.runs} runs per decay scenario and rate; ${r.options.stationaryRuns} stationary runs of ${r.options.weeks} weeks per rate; seed \`${r.options.seed}\`.`,
    '',
  );
  lines.push(
    'Cells: false alarms per strategy-week (alarms) on stationary streams; for decays: share of runs detected within the horizon · median delay · median delay in trades; for changes that must not alert: runs without an alarm in the 7 days after the change.',
    '',
  );
  lines.push(...headline(r, 'shipped'), '', ...headline(r, 'previous'), '', ...headline(r, 'naive'), '');
  lines.push(...dependentMarkdown(r), '');
  lines.push(...designMarkdown(r.design, SHIPPED.cusumThreshold), '');
  for (const rate of r.rates) {
    lines.push(`## ${rate.rate} trades a day (step ${rate.stepMinutes} min, horizon ${rate.horizonDays} days)`, '');
    lines.push(`| detector | ${scen.map((s) => s).join(' | ')} |`);
    lines.push(`|---|${scen.map(() => '---').join('|')}|`);
    for (const [name, d] of Object.entries(DETECTORS)) {
      const row = scen.map((s) => {
        const x = rate.detectors[name][s];
        return x?.kind === 'stationary' ? stationaryCell(x) : x?.kind === 'decay' ? decayCell(x) : quietCell(x);
      });
      lines.push(`| ${d.title} | ${row.join(' | ')} |`);
    }
    const lim = scen.map((s) => {
      const l = rate.limits[s];
      if (!l) return '';
      const t = l.target ? `${f1(l.target.trades)} tr / ${hoursText(l.target.hours)}` : '—';
      const m = l.measured ? `${f1(l.measured.trades)} tr / ${hoursText(l.measured.hours)}` : '—';
      const q = l.refined ? `${f1(l.refined.trades)} tr` : '—';
      const o = l.own ? `; at the CUSUM's own rate ${f1(l.own.trades)} tr` : '';
      return `${t} (at ${f1(l.perWeek)}/week: ${m}; refined ${q}${o})`;
    });
    lines.push(
      `| **limit** ln(ARL0)/KL at 1 per 20 strategy-weeks (at the measured rate of the shipped rules; refined ln(ARL0·KL)/KL) | ${lim.join(' | ')} |`,
      '',
    );
    for (const [name, sw] of Object.entries(SWEEPS) as Array<[SweepName, (typeof SWEEPS)[SweepName]]>) {
      lines.push(`Sweep of ${sw.title}:`, '');
      lines.push(`| value | ${scen.join(' | ')} |`);
      lines.push(`|---|${scen.map(() => '---').join('|')}|`);
      for (const p of rate.sweeps[name]) {
        const row = scen.map((s) => {
          const x = p.summaries[s];
          return x?.kind === 'stationary' ? stationaryCell(x) : x?.kind === 'decay' ? decayCell(x) : quietCell(x);
        });
        lines.push(`| ${p.value} | ${row.join(' | ')} |`);
      }
      lines.push('');
    }
    lines.push(...naiveComparison(rate, scen), '');
    const checks = Object.entries(rate.checks)
      .map(([a, c]) => `${a} ${c.mismatched}/${c.compared}`)
      .join(', ');
    lines.push(
      `Check, exact expression against the swept one at the shipped threshold (differing label-set steps / steps returned): ${checks}.`,
      '',
    );
  }
  return lines.join('\n');
}

/**
 * One detector at every rate: false alarms, the changes that must stay quiet, and per decay
 * the share detected · median delay (hours, trades) · median over the limit ln(ARL0)/KL at
 * this detector's measured false-alarm rate (its 95% upper bound when it had no alarm; then
 * also at the CUSUM's own trade-time rate, for the detectors that include the CUSUM).
 */
export function headline(r: Results, name: string): string[] {
  const scen = r.options.scenarios;
  const decays = scen.filter((s) => SCENARIOS[s].decay);
  const quiet = scen.filter((s) => !SCENARIOS[s].stationary && !SCENARIOS[s].decay);
  const out = [`### ${DETECTORS[name].title}`, ''];
  out.push(
    `| trades/day | false alarms / strategy-week | ${quiet.map((s) => `${s}: quiet 7 days`).join(' | ')} | ${decays.join(' | ')} |`,
  );
  out.push(`|---|---|${quiet.map(() => '---').join('|')}|${decays.map(() => '---').join('|')}|`);
  for (const rate of r.rates) {
    const d = rate.detectors[name];
    const st = d.stationary as Stationary;
    const perWeek = st.alarms > 0 ? st.perWeek : st.perWeekUpper;
    const withCusum = DETECTORS[name].members.some((m) => m.alert === 'TradingPnlPerTradeCusum');
    const cells = decays.map((s) => {
      const x = d[s] as Decay;
      const l = rate.limits[s];
      const mine = lordenLimit(SCENARIOS[s], (rate.rate * 7) / perWeek, rate.rate);
      const ratio = (lim?: { trades: number }) =>
        lim && Number.isFinite(x.medianTrades) ? `${(x.medianTrades / lim.trades).toFixed(1)}×` : '—';
      const own = withCusum && l?.own ? ` (${ratio(l.own)} at the CUSUM's rate)` : '';
      return `${pct(x.detected, x.runs)} · ${hoursText(x.medianHours)} · ${Number.isFinite(x.medianTrades) ? f1(x.medianTrades) : '—'} tr · ${ratio(mine)}${own}`;
    });
    const q = quiet.map((s) => {
      const x = d[s] as Quiet;
      return `${pct(x.runs - x.alarmed7d, x.runs)} (${x.alarmed7d}/${x.runs})`;
    });
    out.push(`| ${rate.rate} | ${stationaryCell(st)} | ${q.join(' | ')} | ${cells.join(' | ')} |`);
  }
  return out;
}

/** The rules evaluated one by one, and all of them together, on the healthy streams. */
const PER_RULE = ['pnlDrift', 'winDrift', 'regression', 'cusum', 'shipped'] as const;

/**
 * False alarms per strategy-week of every evaluated rule on each healthy stream: the
 * independent one (`stationary`) next to the dependent ones (regimes, volatility clusters,
 * serial correlation), whose long-run edge is the same.
 */
export function dependentMarkdown(r: Results): string[] {
  const healthy = r.options.scenarios.filter((s) => SCENARIOS[s].stationary);
  if (healthy.length < 2) return [];
  const out = ['### False alarms per strategy-week on healthy streams, rule by rule', ''];
  out.push(
    `Every stream has the same long-run edge; ${healthy.map((s) => `**${s}**: ${SCENARIOS[s].title}`).join('; ')}. Cells: false alarms per strategy-week (alarms; 95% upper bound when there were none).`,
    '',
  );
  out.push(`| trades/day | rule | ${healthy.join(' | ')} |`);
  out.push(`|---|---|${healthy.map(() => '---').join('|')}|`);
  for (const rate of r.rates)
    for (const name of PER_RULE)
      out.push(
        `| ${rate.rate} | ${DETECTORS[name].title} | ${healthy.map((s) => stationaryCell(rate.detectors[name][s])).join(' | ')} |`,
      );
  return out;
}

/**
 * At the naive rule's own false-alarm rate: the most sensitive drift_zscore and
 * cusum_threshold of the sweeps whose stationary rate is not above the naive one.
 */
export function atNaiveRate(rate: Results['rates'][number]): { naive: Stationary; drift?: number; cusum?: number } {
  const naive = rate.detectors.naive.stationary as Stationary;
  const pick = (name: SweepName): number | undefined => {
    // As on the plot: a setting already alarmed at the change in more than a quarter of the
    // runs of some decay is always on (few, endless episodes), not a detector.
    const usable = (p: (typeof rate.sweeps)[SweepName][number]) =>
      Object.values(p.summaries).every(
        (x) => x?.kind !== 'decay' || x.alarmedAtChange <= (x.runs + x.alarmedAtChange) / 4,
      );
    const ok = rate.sweeps[name].filter(
      (p) => usable(p) && (p.summaries.stationary as Stationary).perWeek <= naive.perWeek,
    );
    if (!ok.length) return undefined;
    return Math.min(...ok.map((p) => p.value));
  };
  return { naive, drift: pick('drift'), cusum: pick('cusum') };
}

function naiveComparison(rate: Results['rates'][number], scen: ScenarioName[]): string[] {
  const m = atNaiveRate(rate);
  const decays = scen.filter((s) => SCENARIOS[s].decay);
  const cell = (x: Summary | undefined) =>
    x?.kind === 'decay' ? `${hoursText(x.medianHours)} (${pct(x.detected, x.runs)})` : '';
  const out = [
    `At the naive rule's own false-alarm rate (${f1(m.naive.perWeek)} per strategy-week), median delay (share detected):`,
    '',
  ];
  out.push(`| detector | ${decays.join(' | ')} |`, `|---|${decays.map(() => '---').join('|')}|`);
  out.push(`| naive (f = 0.8) | ${decays.map((s) => cell(rate.detectors.naive[s])).join(' | ')} |`);
  const row = (name: SweepName, value: number | undefined, label: string) => {
    if (value === undefined)
      return `| ${label}: no setting as quiet as the naive rule | ${decays.map(() => '').join(' | ')} |`;
    const p = rate.sweeps[name].find((x) => x.value === value)!;
    return `| ${label} ${value} (${f1((p.summaries.stationary as Stationary).perWeek)}/week) | ${decays.map((s) => cell(p.summaries[s])).join(' | ')} |`;
  };
  out.push(row('drift', m.drift, 'drift rules, drift_zscore'));
  out.push(row('cusum', m.cusum, 'CUSUM, cusum_threshold'));
  return out;
}

export function designMarkdown(design: DesignRow[], threshold: number): string[] {
  if (!design.length) return [];
  const cols = design[0].delays.map((d) => `${d.scenario} after ${d.history}`);
  const out = [`## The CUSUM statistic alone (threshold ${threshold} nats, trade time, no windows)`, ''];
  const dep = design[0].dependent.map((d) => d.scenario);
  out.push(
    'False alarms per 28,000 trades of a fresh run (20 strategy-weeks at 200 a day) on independent trades and on the healthy dependent streams, and per 5,600-trade fresh run (4 weeks at 200 a day); share of runs alarmed within 1,400 trades after volatility doubles; median trades to the threshold after each change, by the number of trades before it.',
    '',
  );
  out.push(
    `| variant | false alarms / 28k trades | ${dep.map((s) => `${s}: per 28k / per 5.6k run`).join(' | ')} | volatility x2 alarmed | ${cols.join(' | ')} |`,
  );
  out.push(`|---|---|${dep.map(() => '---').join('|')}|---|${cols.map(() => '---').join('|')}|`);
  for (const d of design)
    out.push(
      `| ${d.variant} | ${f1(d.falseAlarmsPer28k)} | ${d.dependent.map((x) => `${f1(x.per28k)} / ${f1(x.per5600)}`).join(' | ')} | ${pct(d.volatilityAlarmed, 1)} | ${d.delays.map((x) => (Number.isFinite(x.median) ? f1(x.median) : '>5000')).join(' | ')} |`,
    );
  return out;
}

// ------------------------------------------------------------------ plot

interface Curve {
  label: string;
  color: string;
  dash?: string;
  points: Array<{ x: number; y: number; zero: boolean; mark?: boolean }>;
}

/** The x of a point: the measured rate, or half the upper bound when no alarm was seen. */
function faX(s: Stationary): { x: number; zero: boolean } {
  return s.alarms > 0 ? { x: s.perWeek, zero: false } : { x: s.perWeekUpper / 2, zero: true };
}

export function panelCurves(rate: Results['rates'][number], scenario: ScenarioName): Curve[] {
  const curve = (name: SweepName, label: string, color: string, marked: number[]): Curve => ({
    label,
    color,
    points: rate.sweeps[name]
      // A setting that is already alarmed at the change in more than a quarter of the runs
      // has no meaningful delay (the rest is a biased sample): left out of the curve.
      .filter((p) => {
        const d = p.summaries[scenario] as Decay;
        return d.alarmedAtChange <= (d.runs + d.alarmedAtChange) / 4;
      })
      .map((p) => {
        const st = p.summaries.stationary as Stationary;
        const d = p.summaries[scenario] as Decay;
        return { ...faX(st), y: d.medianHours, mark: marked.includes(p.value) };
      })
      .filter((p) => Number.isFinite(p.y)),
  });
  const out = [
    curve('drift', 'drift rules (drift_zscore 1.5…5)', '#1f77b4', [PREVIOUS.driftZ, SHIPPED.driftZ]),
    curve('cusum', 'CUSUM (threshold 0.5…13 nats)', '#2ca02c', [SHIPPED.cusumThreshold]),
    curve('naive', 'naive (f = 0.5…0.9)', '#d62728', [0.8]),
  ];
  const limit: Curve = { label: 'limit ln(ARL0)/KL', color: '#000000', dash: '5,4', points: [] };
  const refined: Curve = { label: 'ln(ARL0·KL)/KL', color: '#777777', dash: '2,3', points: [] };
  const kl = SCENARIOS[scenario].klAt!(1e15);
  for (let e = -3; e <= 1.01; e += 0.1) {
    const perWeek = 10 ** e;
    const l = lordenLimit(SCENARIOS[scenario], (rate.rate * 7) / perWeek, rate.rate);
    if (l && l.hours > 0) limit.points.push({ x: perWeek, y: l.hours, zero: false });
    const q = lordenLimit(SCENARIOS[scenario], ((rate.rate * 7) / perWeek) * Math.min(1, kl), rate.rate);
    if (q && q.hours > 0 && kl < 0.5) refined.points.push({ x: perWeek, y: q.hours, zero: false });
  }
  out.push(limit, refined);
  return out;
}

export function svg(r: Results, panels: Array<{ rate: number; scenario: ScenarioName }>): string {
  const W = 460;
  const H = 340;
  const cols = 2;
  const rows = Math.ceil(panels.length / cols);
  const m = { l: 62, r: 14, t: 34, b: 46 };
  const parts: string[] = [];
  const xMin = -3;
  const xMax = 1;
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W * cols}" height="${H * rows + 60}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  panels.forEach((p, k) => {
    const rate = r.rates.find((x) => x.rate === p.rate);
    if (!rate) return;
    const ox = (k % cols) * W;
    const oy = Math.floor(k / cols) * H;
    const curves = panelCurves(rate, p.scenario);
    const ys = curves.flatMap((c) => c.points.map((q) => q.y)).filter((y) => y > 0);
    const yMin = Math.floor(Math.log10(Math.min(...ys)));
    const yMax = Math.ceil(Math.log10(Math.max(...ys)));
    const px = (x: number) =>
      ox + m.l + ((Math.log10(Math.max(x, 10 ** xMin)) - xMin) / (xMax - xMin)) * (W - m.l - m.r);
    const py = (y: number) => oy + H - m.b - ((Math.log10(y) - yMin) / Math.max(1, yMax - yMin)) * (H - m.t - m.b);
    parts.push(
      `<text x="${ox + W / 2}" y="${oy + 20}" text-anchor="middle" font-weight="bold">${SCENARIOS[p.scenario].title}, ${p.rate} trades/day</text>`,
    );
    for (let e = xMin; e <= xMax; e++) {
      const x = px(10 ** e);
      parts.push(`<line x1="${x}" y1="${oy + m.t}" x2="${x}" y2="${oy + H - m.b}" stroke="#ddd"/>`);
      parts.push(
        `<text x="${x}" y="${oy + H - m.b + 16}" text-anchor="middle">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)}</text>`,
      );
    }
    for (let e = yMin; e <= yMax; e++) {
      const y = py(10 ** e);
      parts.push(`<line x1="${ox + m.l}" y1="${y}" x2="${ox + W - m.r}" y2="${y}" stroke="#ddd"/>`);
      parts.push(
        `<text x="${ox + m.l - 6}" y="${y + 4}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)} h</text>`,
      );
    }
    const tx = px(TARGET_PER_WEEK);
    parts.push(
      `<line x1="${tx}" y1="${oy + m.t}" x2="${tx}" y2="${oy + H - m.b}" stroke="#999" stroke-dasharray="2,3"/>`,
    );
    parts.push(`<text x="${tx + 3}" y="${oy + m.t + 10}" fill="#777" font-size="10">target 1/20</text>`);
    parts.push(
      `<text x="${ox + (W + m.l) / 2}" y="${oy + H - 10}" text-anchor="middle">false alarms per strategy-week (stationary)</text>`,
    );
    parts.push(
      `<text transform="translate(${ox + 14},${oy + (H - m.b + m.t) / 2}) rotate(-90)" text-anchor="middle">median delay</text>`,
    );
    for (const c of curves) {
      if (!c.points.length) continue;
      // Sweeps in threshold order (a path a user moves along), limits by x.
      const pts = c.dash ? [...c.points].sort((a, b) => a.x - b.x) : c.points;
      parts.push(
        `<polyline fill="none" stroke="${c.color}" stroke-width="2" ${c.dash ? `stroke-dasharray="${c.dash}"` : ''} points="${pts.map((q) => `${px(q.x).toFixed(1)},${py(q.y).toFixed(1)}`).join(' ')}"/>`,
      );
      for (const q of pts) {
        if (c.dash) continue;
        const fill = q.zero ? 'white' : c.color;
        parts.push(
          `<circle cx="${px(q.x).toFixed(1)}" cy="${py(q.y).toFixed(1)}" r="${q.mark ? 6 : 3.5}" fill="${fill}" stroke="${c.color}" stroke-width="${q.mark ? 2.5 : 1.5}"/>`,
        );
      }
    }
  });
  // legend
  const ly = H * rows + 14;
  const legend = [
    { label: 'drift rules (drift_zscore 1.5…5)', color: '#1f77b4' },
    { label: 'CUSUM (threshold 0.5…13 nats)', color: '#2ca02c' },
    { label: 'naive (f = 0.5…0.9)', color: '#d62728' },
    { label: 'limit ln(ARL0)/KL', color: '#000000', dash: '5,4' },
    { label: 'refined ln(ARL0·KL)/KL (small KL)', color: '#777777', dash: '2,3' },
  ];
  legend.forEach((l, i) => {
    const x = 20 + (i % 3) * 300;
    const y = ly + Math.floor(i / 3) * 18;
    parts.push(
      `<line x1="${x}" y1="${y}" x2="${x + 26}" y2="${y}" stroke="${l.color}" stroke-width="2" ${l.dash ? `stroke-dasharray="${l.dash}"` : ''}/>`,
    );
    parts.push(`<text x="${x + 32}" y="${y + 4}">${l.label}</text>`);
  });
  parts.push(
    `<text x="20" y="${ly + 40}" font-size="11" fill="#444">Large markers: drift_zscore ${PREVIOUS.driftZ} (previous default) and ${SHIPPED.driftZ} (default), cusum_threshold ${SHIPPED.cusumThreshold}, f = 0.8. Hollow: no false alarm observed, drawn at half the 95% upper bound.</text>`,
  );
  parts.push('</svg>');
  return parts.join('\n');
}

export const PLOT_PANELS: Array<{ rate: number; scenario: ScenarioName }> = [
  { rate: 50, scenario: 'drop-1sd' },
  { rate: 50, scenario: 'drop-0.5sd' },
  { rate: 200, scenario: 'winprob-0.55-0.45' },
  { rate: 10, scenario: 'drop-1sd' },
];

export function report(
  groups: GroupData[],
  opts: Options,
  outDir: string,
  seconds: number,
  plotPath?: string,
  design: DesignRow[] = [],
): Results {
  const r = compute(groups, opts, seconds, design);
  // Five significant digits are plenty for every figure and keep the committed file small.
  const round = (_k: string, v: unknown) =>
    v === Infinity ? 'Infinity' : typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(5)) : v;
  writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(r, round));
  writeFileSync(path.join(outDir, 'results.md'), markdown(r));
  let panels = PLOT_PANELS.filter((p) => r.rates.some((x) => x.rate === p.rate) && opts.scenarios.includes(p.scenario));
  // A smaller run (the smoke test, a subset): the first decay scenario at each rate.
  const decay = opts.scenarios.find((s) => SCENARIOS[s].decay);
  if (!panels.length && decay) panels = r.rates.map((x) => ({ rate: x.rate, scenario: decay }));
  if (plotPath && panels.length) {
    writeFileSync(`${plotPath}.svg`, svg(r, panels));
    const rsvg = findBinary('rsvg-convert');
    if (rsvg) execFileSync(rsvg, ['-o', `${plotPath}.png`, `${plotPath}.svg`]);
  }
  return r;
}

export type { Decay, Quiet };
