// The state word of a strategy on the pages: healthy, watch, degraded or stalled, read from
// the same snapshot /metrics exports and compared with the same thresholds the alert rules
// read (edgewatch_threshold, src/sidecar/thresholds.ts), so a page says "degraded" when the
// conditions of a degradation alert hold. Pure.
//
// - stalled: what TradingLoopStalled and TradingNoRecentTrades test: the ledger heartbeat is
//   older than heartbeat_max_age_seconds, or the last hour has no trade although the same
//   hour yesterday had at least no_trades_expected (as the report reads it).
// - degraded: a drift z below -drift_zscore with drift_min_trades in the 24h window and in
//   the baseline (TradingPnlPerTradeDrift, TradingWinRatioDrift), a CUSUM statistic above
//   cusum_threshold (TradingPnlPerTradeCusum, before its 5m hold), the 24h drawdown above
//   max_drawdown (TradingDrawdownHigh), or the regression z below -regression_zscore
//   (TradingParamVersionRegression).
// - watch: any of those halfway to its line (a z below half its line, a CUSUM or drawdown
//   above half), a heartbeat older than half its limit, or a running experiment whose
//   p-value is under experiment_p_value (TradingExperimentDecided: time to decide).
// - healthy: none of these.
// The alerts also wait (`for:`) and hold (`keep_firing_for:`); a page shows the condition now.
import { versionLabel } from '../../model/names.js';
import type { StrategySnapshot } from '../snapshot.js';

export type StateWord = 'healthy' | 'watch' | 'degraded' | 'stalled';

export interface StrategyState {
  word: StateWord;
  /** Why, one sentence per condition, most serious first. */
  reasons: string[];
}

const RANK: Record<StateWord, number> = { healthy: 0, watch: 1, degraded: 2, stalled: 3 };

export function strategyState(s: StrategySnapshot, nowMs: number): StrategyState {
  const th = s.thresholds;
  const found: Array<{ word: StateWord; why: string }> = [];
  const add = (word: StateWord, why: string) => found.push({ word, why });

  if (s.lastHeartbeatMs !== undefined) {
    const ageS = (nowMs - s.lastHeartbeatMs) / 1000;
    if (ageS > th.heartbeat_max_age_seconds)
      add('stalled', `last heartbeat ${Math.round(ageS)} s ago, over ${th.heartbeat_max_age_seconds} s`);
    else if (ageS > th.heartbeat_max_age_seconds / 2)
      add('watch', `last heartbeat ${Math.round(ageS)} s ago, over half of ${th.heartbeat_max_age_seconds} s`);
  }
  if (s.windows['1h'].agg.n === 0 && s.sameHourYesterday >= th.no_trades_expected)
    add('stalled', `no trade in the last hour; the same hour yesterday had ${s.sameHourYesterday}`);

  // The drift rules require drift_min_trades in the strategy's 24h window and its baseline too.
  const n24 = s.windows['24h'].agg.n;
  const baseline = s.windows['7d'].agg.n - n24;
  if (n24 >= th.drift_min_trades && baseline >= th.drift_min_trades) {
    for (const [metric, z] of [
      ['PnL per trade', s.drift.pnl_per_trade],
      ['win ratio', s.drift.win_ratio],
    ] as const) {
      if (z === undefined) continue;
      if (z < -th.drift_zscore) add('degraded', `${metric} drift z = ${z.toFixed(2)}, below -${th.drift_zscore}`);
      else if (z < -th.drift_zscore / 2)
        add('watch', `${metric} drift z = ${z.toFixed(2)}, below half of -${th.drift_zscore}`);
    }
  }
  const cusum = s.cusum && [...s.cusum.values].sort((a, b) => b.llr - a.llr)[0];
  if (cusum) {
    const what = `CUSUM ${cusum.llr.toFixed(1)} nats for a fall of ${cusum.shift}σ`;
    if (cusum.llr > th.cusum_threshold) add('degraded', `${what}, above ${th.cusum_threshold}`);
    else if (cusum.llr > th.cusum_threshold / 2) add('watch', `${what}, above half of ${th.cusum_threshold}`);
  }
  const dd = s.windows['24h'].stats.max_drawdown;
  if (dd !== undefined) {
    if (dd > th.max_drawdown) add('degraded', `24h drawdown ${dd.toFixed(2)}, above ${th.max_drawdown}`);
    else if (dd > th.max_drawdown / 2) add('watch', `24h drawdown ${dd.toFixed(2)}, above half of ${th.max_drawdown}`);
  }
  if (s.regression) {
    const { z, version, previous } = s.regression;
    const what = `${versionLabel(version)} against ${versionLabel(previous)}: z = ${z.toFixed(2)}`;
    if (z < -th.regression_zscore) add('degraded', `${what}, below -${th.regression_zscore}`);
    else if (z < -th.regression_zscore / 2) add('watch', `${what}, below half of -${th.regression_zscore}`);
  }
  for (const e of s.experiments) {
    if (e.stoppedMs !== null) continue;
    const decided = e.tests.filter((t) => t.result.pValue < th.experiment_p_value);
    for (const t of decided)
      add('watch', `experiment ${e.name}: ${t.variant} differs from control, p = ${t.result.pValue.toPrecision(2)}`);
  }

  found.sort((a, b) => RANK[b.word] - RANK[a.word]);
  return { word: found[0]?.word ?? 'healthy', reasons: found.map((f) => f.why) };
}
