// The report: the windows, drift, versions ranked, experiments with p-values, and plain
// recommendations. Pure: built from snapshots, rendered as JSON or Markdown. This is what
// replaces the hand-written daily report script.
import { sampleVariance, type Agg, type WindowStats } from '../analytics/index.js';
import { versionLabel } from '../model/names.js';
import type { WindowName } from './engine.js';
import { fixedJson, testJson } from './experiment-tests.js';
import { experimentAdvice, renderExperiments } from './report-experiments.js';
import { cell, fmt } from './report-format.js';
import type { StrategySnapshot } from './snapshot.js';
import { expectationReport, renderExpectation, type ExpectationReport } from './report-expectation.js';

export interface Report {
  strategy: string;
  generated_at: string;
  window: WindowName;
  active_version: string | null;
  stats: WindowStats;
  /** The active version's trades since its latest deploy, last 24h: what drift compares with the baseline. */
  recent: WindowStats;
  /** The same run's trades in the 7d window less the last 24h. */
  baseline: WindowStats;
  /** outcome: what the PnL-per-trade z compares (return on notional when every trade of both samples carries one). */
  drift: { pnl_per_trade: number | null; win_ratio: number | null; min_trades: number; outcome: 'return' | 'pnl' };
  /** CUSUM since the latest deploy: nats of evidence per designed fall (σ of PnL per trade); null under the minimum sample. */
  /** outcome: what the CUSUM reads per trade (return on notional when every trade of the run carries one, else pnl). */
  cusum: { trades: number; threshold: number; outcome: 'return' | 'pnl'; by_shift: Record<string, number> } | null;
  /** The active version's run against its expectation (its backtest); null without one. */
  expectation: ExpectationReport | null;
  /**
   * Best first by the lower 95% bound of PnL per trade (mean - 1.96·sd/√n) among versions with at
   * least regression_min_trades trades; then, unranked, the versions with fewer (most trades first).
   */
  versions: Array<
    {
      param_version: string;
      active: boolean;
      ranked: boolean;
      pnl_per_trade_lower_95: number | null;
      straddling_trades: number;
    } & WindowStats
  >;
  experiments: Array<{
    name: string;
    running: boolean;
    winner: string | null;
    /**
     * Whether the smallest always-valid p-value of the variants against control is under
     * p_threshold: a winner named at p = 0.69 is a choice, not evidence. null: no test (under
     * the minimum sample).
     */
    significant: boolean | null;
    p_threshold: number;
    /** Candidate arms: p-values are multiplied by it, bounds are at level p_threshold / arms (Bonferroni). */
    arms: number;
    /** Confidence of the bounds, for all arms together: 1 − p_threshold. */
    confidence: number;
    variants: Array<{ variant: string; param_version: string } & WindowStats>;
    /** Always valid (mSPRT): p-value and confidence sequence of mean(variant) − mean(control), per trade. */
    tests: Array<ReturnType<typeof testJson>>;
    /** The fixed-sample Welch test, read once at the planned trades per arm; null when no size was declared. */
    fixed_sample: ReturnType<typeof fixedJson>;
  }>;
  recommendations: string[];
}

export function buildReport(s: StrategySnapshot, window: WindowName, nowMs: number): Report {
  const th = s.thresholds;
  const recs: string[] = [];
  const w = s.windows[window].stats;

  const exists = (v: number) => s.versions.some((x) => x.version === v);
  // Never advise rolling back to a version the report does not show, nor to the active one itself.
  if (
    s.regression &&
    s.regression.z <= -th.regression_zscore &&
    exists(s.regression.previous) &&
    s.regression.previous !== s.active?.version
  ) {
    const cur = s.versions.find((v) => v.version === s.regression?.version);
    const prev = s.versions.find((v) => v.version === s.regression?.previous);
    const a = cur?.stats.pnl_per_trade;
    const b = prev?.stats.pnl_per_trade;
    const pct =
      a !== undefined && b !== undefined && b !== 0
        ? ` by ${Math.round(Math.abs(((a - b) / Math.abs(b)) * 100))}% PnL per trade`
        : '';
    recs.push(
      `${versionLabel(s.regression.version)} underperforms ${versionLabel(s.regression.previous)}${pct}, z = ${fmt(s.regression.z, 1)} over ${cur?.agg.n ?? 0} trades: consider rolling back.`,
    );
  }
  const d = s.drift;
  const own = s.active ? `${versionLabel(s.active.version)}'s` : "the strategy's";
  if (d.pnl_per_trade !== undefined && d.pnl_per_trade <= -th.drift_zscore)
    recs.push(
      `PnL per trade over the last 24h (${fmt(s.recent.stats.pnl_per_trade, 2)}) is below ${own} earlier days (${fmt(s.baseline.stats.pnl_per_trade, 2)}), z = ${fmt(d.pnl_per_trade, 1)}: the edge is decaying; check the market regime and recent changes.`,
    );
  if (d.win_ratio !== undefined && d.win_ratio <= -th.drift_zscore)
    recs.push(
      `Win ratio over the last 24h (${pct(s.recent.stats.win_ratio)}) is below ${own} earlier days (${pct(s.baseline.stats.win_ratio)}), z = ${fmt(d.win_ratio, 1)}.`,
    );
  const over = s.cusum?.values.filter((c) => c.llr > th.cusum_threshold).sort((a, b) => b.llr - a.llr)[0];
  if (s.cusum && over) {
    const since = s.active ? `since ${versionLabel(s.active.version)} was deployed` : 'so far';
    const previous = s.regression?.previous ?? s.previousVersion;
    const back = previous !== undefined && exists(previous) ? `, or roll back to ${versionLabel(previous)}` : '';
    recs.push(
      `PnL per trade ${since} shows a fall of about ${over.shift}σ per trade: CUSUM ${fmt(over.llr, 1)} nats over ${s.cusum.trades} trades, above ${th.cusum_threshold}; check costs, fills and the market regime${back}.`,
    );
  }
  const expectation = expectationReport(s);
  recs.push(...expectation.recommendations);
  const dd = s.windows['24h'].stats.max_drawdown;
  if (dd !== undefined && dd > th.max_drawdown)
    recs.push(
      `Drawdown over the last 24h is ${fmt(dd, 2)}, above the ${th.max_drawdown} threshold: consider reducing size.`,
    );
  for (const e of s.experiments) if (e.stoppedMs === null) recs.push(...experimentAdvice(e, th));
  // Like TradingNoRecentTrades: against the same hour of the previous day, not the week's average.
  if (s.windows['1h'].agg.n === 0 && s.sameHourYesterday >= th.no_trades_expected)
    recs.push(
      `No trade in the last hour although the same hour yesterday had ${s.sameHourYesterday}: is the bot running?`,
    );
  if (recs.length === 0) recs.push('Nothing needs attention.');

  const activeVersion = s.active?.version;
  return {
    strategy: s.strategy,
    generated_at: new Date(nowMs).toISOString(),
    window,
    active_version: activeVersion === undefined ? null : versionLabel(activeVersion),
    stats: w,
    recent: s.recent.stats,
    baseline: s.baseline.stats,
    drift: {
      pnl_per_trade: d.pnl_per_trade ?? null,
      win_ratio: d.win_ratio ?? null,
      min_trades: th.drift_min_trades,
      outcome: s.driftOutcome,
    },
    cusum: s.cusum
      ? {
          trades: s.cusum.trades,
          threshold: th.cusum_threshold,
          outcome: s.cusum.outcome,
          by_shift: Object.fromEntries(s.cusum.values.map((c) => [String(c.shift), c.llr])),
        }
      : null,
    expectation: expectation.json,
    versions: rankVersions(s.versions, th.regression_min_trades).map(({ v, lower, ranked }) => ({
      param_version: versionLabel(v.version),
      active: v.version === activeVersion,
      ranked,
      pnl_per_trade_lower_95: lower ?? null,
      straddling_trades: v.straddling,
      ...v.stats,
    })),
    experiments: s.experiments.map((e) => ({
      name: e.name,
      running: e.stoppedMs === null,
      winner: e.winner,
      significant: e.tests.length ? Math.min(...e.tests.map((t) => t.running.pValue)) < th.experiment_p_value : null,
      p_threshold: th.experiment_p_value,
      arms: e.arms,
      confidence: 1 - th.experiment_p_value,
      variants: e.variants.map((v) => ({ variant: v.variant, param_version: versionLabel(v.version), ...v.stats })),
      tests: e.tests.map(testJson),
      fixed_sample: fixedJson(e.plannedTrades, e.fixed),
    })),
    recommendations: recs,
  };
}

/** The lower 95% bound of the mean PnL per trade, mean − 1.96·sd/√n; undefined under 2 trades. */
export function lowerBound95(a: Agg): number | undefined {
  const v = sampleVariance(a);
  return v === undefined ? undefined : a.mean - 1.96 * Math.sqrt(v / a.n);
}

/** Versions with at least `minTrades` trades by their lower bound, best first; then the rest by trades. */
function rankVersions<V extends { agg: Agg }>(
  versions: readonly V[],
  minTrades: number,
): Array<{ v: V; lower: number | undefined; ranked: boolean }> {
  const rows = versions.map((v) => ({ v, lower: lowerBound95(v.agg), ranked: v.agg.n >= Math.max(2, minTrades) }));
  const ranked = rows.filter((r) => r.ranked).sort((a, b) => (b.lower ?? -Infinity) - (a.lower ?? -Infinity));
  const rest = rows.filter((r) => !r.ranked).sort((a, b) => b.v.agg.n - a.v.agg.n);
  return [...ranked, ...rest];
}

export function renderMarkdown(r: Report): string {
  const lines: string[] = [];
  lines.push(
    `# edgewatch report: ${r.strategy}`,
    '',
    `Generated ${r.generated_at}. Active version: ${r.active_version ?? 'none'}.`,
    '',
  );
  lines.push('## Recommendations', '', ...r.recommendations.map((x) => `- ${x}`), '');
  lines.push(`## Last ${r.window}, and the active version against its own earlier days`, '');
  lines.push(
    `The strategy column holds every trade of the last ${r.window}; the next two only the active version's since its latest deploy (experiment candidates excluded): its last 24h, and its trades of the 7d window less the last 24h (the baseline).`,
    '',
  );
  lines.push(`| statistic | strategy, ${r.window} | active version, 24h | baseline |`, '|---|---|---|---|');
  for (const k of [
    'trades',
    'win_ratio',
    'net_pnl',
    'pnl_per_trade',
    'profit_factor',
    'sharpe_ratio',
    'max_drawdown',
    'fees',
  ] as const)
    lines.push(`| ${k} | ${cell(r.stats[k])} | ${cell(r.recent[k])} | ${cell(r.baseline[k])} |`);
  lines.push(
    '',
    `Drift (the active version's 24h vs its baseline, absent under ${r.drift.min_trades} trades in either): PnL per trade z = ${cell(r.drift.pnl_per_trade)}, win ratio z = ${cell(r.drift.win_ratio)}.`,
    '',
  );
  if (r.cusum)
    lines.push(
      `CUSUM of the active version since its latest deploy (${r.cusum.trades} trades, ${r.cusum.outcome === 'return' ? 'return on notional' : 'PnL'} per trade, alert above ${r.cusum.threshold} nats): ${Object.entries(
        r.cusum.by_shift,
      )
        .map(([shift, llr]) => `fall of ${shift}σ ${fmt(llr, 2)} nats`)
        .join(', ')}.`,
      '',
    );
  lines.push(...renderExpectation(r.expectation));
  lines.push(
    '## Parameter versions, best first',
    '',
    'Ranked by the lower 95% bound of PnL per trade (mean - 1.96·sd/√n), so a few lucky trades do not rank first; versions with too few trades to rank come last. Straddling: trades that opened under the version and closed after the next deploy (counted for the version they opened under).',
    '',
  );
  lines.push(
    '| version | trades | win ratio | PnL/trade | lower 95% | net PnL | max drawdown | straddling |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const v of r.versions)
    lines.push(
      `| ${v.param_version}${v.active ? ' (active)' : ''} | ${v.trades} | ${cell(v.win_ratio)} | ${cell(v.pnl_per_trade)} | ${v.ranked ? cell(v.pnl_per_trade_lower_95) : 'too few to rank'} | ${cell(v.net_pnl)} | ${cell(v.max_drawdown)} | ${v.straddling_trades} |`,
    );
  lines.push(...renderExperiments(r.experiments));
  return lines.join('\n') + '\n';
}

function pct(x: number | undefined): string {
  return x === undefined ? '–' : `${(x * 100).toFixed(1)}%`;
}
