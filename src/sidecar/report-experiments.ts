// The report's experiment part: advice for running experiments and the Markdown section. The
// always-valid test decides; the fixed-sample Welch test appears, labelled, when a size was
// declared up front, and is read once, at that size.
import type { Report } from './report.js';
import type { StrategySnapshot } from './snapshot.js';
import { cell, fmt, fmtP, fmtPct, signed } from './report-format.js';

/**
 * What to do about a running experiment. The always-valid p-value decides whenever it is read;
 * the fixed-sample test, when a size was declared, is reported once both arms reach it.
 */
export function experimentAdvice(
  e: StrategySnapshot['experiments'][number],
  th: StrategySnapshot['thresholds'],
): string[] {
  const out: string[] = [];
  const level = `${fmtPct(1 - th.experiment_p_value)} confidence sequence`;
  const best = [...e.tests].sort((x, y) => x.running.pValue - y.running.pValue)[0];
  const unit = (o: 'return' | 'pnl') => (o === 'return' ? 'return on notional' : 'PnL');
  if (best && best.running.pValue < th.experiment_p_value) {
    const r = best.running;
    // Decided: the bounds exclude 0, so both have the sign of the difference.
    const better = r.lower > 0 ? 'better' : 'worse';
    out.push(
      `experiment ${e.name}: ${best.variant} ${better} than control by ${signed(r.lower)} to ${signed(r.upper)} ${unit(r.outcome)} per trade (${level}), always-valid p = ${fmtP(r.pValue)}: conclude it.`,
    );
  } else {
    const n = Math.min(...e.variants.map((v) => v.agg.n));
    const now = best
      ? `always-valid p = ${fmtP(best.running.pValue)}, ${best.variant} vs control ${signed(best.running.lower)} to ${signed(best.running.upper)}`
      : `fewer than ${th.experiment_min_trades} trades per variant`;
    out.push(`experiment ${e.name}: no decision yet (${now}, smallest variant ${n} trades): keep it running.`);
  }
  const read = e.fixed?.filter((f) => f.pAdjusted !== undefined) ?? [];
  if (e.plannedTrades !== null && read.length) {
    const f = [...read].sort((x, y) => (x.pAdjusted as number) - (y.pAdjusted as number))[0];
    const verdict =
      (f.pAdjusted as number) < th.experiment_p_value
        ? `${f.variant} ${(f.result?.t ?? 0) > 0 ? 'better' : 'worse'} than control`
        : 'no difference';
    out.push(
      `experiment ${e.name}: the fixed-sample Welch test, read once at the planned ${e.plannedTrades} trades per arm, finds ${verdict} (p = ${fmtP(f.pAdjusted as number)} over ${e.arms} arm${e.arms > 1 ? 's' : ''}, line ${th.experiment_p_value}).`,
    );
  }
  return out;
}

/** The Markdown section of the experiments (empty without any). */
export function renderExperiments(experiments: Report['experiments']): string[] {
  const out: string[] = [];
  if (experiments.length) {
    out.push('', '## Experiments', '');
    for (const e of experiments) {
      out.push(
        `### ${e.name} (${e.running ? 'running' : `stopped${e.winner ? `, winner ${e.winner}` : ''}`}${evidence(e)})`,
        '',
        '| variant | version | trades | win ratio | PnL/trade |',
        '|---|---|---|---|---|',
      );
      for (const v of e.variants)
        out.push(
          `| ${v.variant} | ${v.param_version} | ${v.trades} | ${cell(v.win_ratio)} | ${cell(v.pnl_per_trade)} |`,
        );
      for (const t of e.tests)
        out.push(
          '',
          `${t.variant} vs control: ${signed(t.lower)} to ${signed(t.upper)} ${t.outcome === 'return' ? 'return on notional' : 'PnL'} per trade (${fmtPct(e.confidence)} confidence sequence), always-valid p = ${fmtP(t.p_value)}${e.arms > 1 ? ` (Bonferroni over ${e.arms} arms)` : ''}`,
        );
      const f = e.fixed_sample;
      if (f)
        for (const t of f.tests)
          out.push(
            '',
            t.read
              ? `Fixed-sample Welch t-test, read once at the planned ${f.planned_trades_per_arm} trades per arm: ${t.variant} vs control t = ${fmt(t.t, 2)}, df = ${fmt(t.df, 1)}, p = ${fmtP(t.p_value as number)}${e.arms > 1 ? ` (× ${e.arms} arms: ${fmtP(t.p_adjusted as number)})` : ''}`
              : `Fixed-sample Welch t-test at the planned ${f.planned_trades_per_arm} trades per arm: not read yet (${t.variant} ${t.trades}, control ${t.control_trades}).`,
          );
      out.push('');
    }
  }
  return out;
}

/** How strong the evidence behind an experiment's state is: a stopped one names its winner, but the test decides. */
function evidence(e: Report['experiments'][number]): string {
  const p = e.tests.length ? Math.min(...e.tests.map((t) => t.p_value)) : undefined;
  if (p === undefined) return e.running ? '' : ', no test: too few trades per variant';
  if (e.significant) return e.running ? '' : `, significant: p = ${fmtP(p)} < ${e.p_threshold}`;
  return `, not significant: p = ${fmtP(p)}, needs < ${e.p_threshold}`;
}
