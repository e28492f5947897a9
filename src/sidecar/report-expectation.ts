// The report's "Against the backtest" part: the active version's run against the expectation
// recorded for it (src/sidecar/expectation-runs.ts), a recommendation when the CUSUM against
// the backtest is above its threshold or the run trades far less often than the backtest, and,
// when live trades carry fees and the expectation has a fee per trade, which part of a
// shortfall is costs higher than assumed and which is an edge lower than expected. Pure.
import { versionLabel } from '../model/names.js';
import type { StrategySnapshot } from './snapshot.js';

export interface ExpectationReport {
  param_version: string;
  source: string | null;
  recorded_at: string;
  since: string;
  /** what is compared per trade: return on notional or PnL (null: neither is possible) */
  outcome: 'return' | 'pnl' | null;
  backtest_trades: number;
  trades: number;
  expected_per_trade: number | null;
  live_per_trade: number | null;
  difference: { value: number; lower_95: number; upper_95: number } | null;
  cusum: { threshold: number; by_shift: Record<string, number> } | null;
  trade_rate: { expected_trades: number; ratio: number | null; p_fewer: number; p_more: number };
  drawdown: { live: number; backtest: number | null; ratio: number | null };
  /** quote currency per trade */
  costs: {
    live_fee: number;
    assumed_fee: number;
    costs_difference: number;
    edge_difference: number;
    net_difference: number;
  } | null;
}

/** Poisson probability of so few trades under which the report says the version trades less than its backtest. */
const FEWER_P = 0.01;

export function expectationReport(s: StrategySnapshot): { json: ExpectationReport | null; recommendations: string[] } {
  const e = s.expectation;
  if (!e) return { json: null, recommendations: [] };
  const th = s.thresholds.expectation_cusum_threshold;
  const v = versionLabel(e.version);
  const recs: string[] = [];
  const unit = e.outcome === 'return' ? 'return per trade' : 'PnL per trade';
  const over = (e.cusum ?? []).filter((c) => c.llr > th).sort((a, b) => b.llr - a.llr)[0];
  if (over && e.live && e.expected && e.difference) {
    let why = '';
    if (e.costs && e.costs.net < 0) why = ` ${costSentence(e.costs)}`;
    recs.push(
      `${v} does worse than its backtest: ${unit} ${num(e.live.mean)} against ${num(e.expected.mean)} expected over ${e.trades} trades (difference ${num(e.difference.value)}, 95% interval ${num(e.difference.lower)} to ${num(e.difference.upper)}), a shortfall of about ${over.shift}σ: CUSUM ${over.llr.toFixed(1)} nats, above ${th}.${why} Reduce size, pause or roll back; if the backtest was optimistic, record the expectation you now hold (edgewatch params expect).`,
    );
  }
  if (e.rate.expected >= 1 && e.rate.pFewer < FEWER_P)
    recs.push(
      `${v} trades less often than its backtest: ${e.trades} trades since its deploy against ${e.rate.expected.toFixed(1)} at the backtest's rate (p = ${p(e.rate.pFewer)}): check its market data, filters and order rejections.`,
    );
  if (e.drawdown.ratio !== undefined && e.drawdown.ratio > 1)
    recs.push(
      `${v}'s drawdown since its deploy (${num(e.drawdown.live)}) is beyond the backtest's worst (${num(e.drawdown.expected ?? 0)}).`,
    );
  return {
    json: {
      param_version: v,
      source: e.record.source,
      recorded_at: new Date(e.record.createdMs).toISOString(),
      since: new Date(e.startMs).toISOString(),
      outcome: e.outcome,
      backtest_trades: e.record.summary.trades,
      trades: e.trades,
      expected_per_trade: e.expected?.mean ?? null,
      live_per_trade: e.live?.mean ?? null,
      difference: e.difference
        ? { value: e.difference.value, lower_95: e.difference.lower, upper_95: e.difference.upper }
        : null,
      cusum: e.cusum
        ? { threshold: th, by_shift: Object.fromEntries(e.cusum.map((c) => [String(c.shift), c.llr])) }
        : null,
      trade_rate: {
        expected_trades: e.rate.expected,
        ratio: e.rate.ratio ?? null,
        p_fewer: e.rate.pFewer,
        p_more: e.rate.pMore,
      },
      drawdown: { live: e.drawdown.live, backtest: e.drawdown.expected, ratio: e.drawdown.ratio ?? null },
      costs: e.costs
        ? {
            live_fee: e.costs.liveFeePerTrade,
            assumed_fee: e.costs.assumedFeePerTrade,
            costs_difference: e.costs.costs,
            edge_difference: e.costs.edge,
            net_difference: e.costs.net,
          }
        : null,
    },
    recommendations: recs,
  };
}

/** Which part of a PnL shortfall (net < 0) is costs higher than assumed and which is a lower edge. */
function costSentence(c: {
  costs: number;
  edge: number;
  net: number;
  liveFeePerTrade: number;
  assumedFeePerTrade: number;
}): string {
  const fees = `fees ${num(c.liveFeePerTrade)} a trade against ${num(c.assumedFeePerTrade)} assumed`;
  if (c.costs <= 0)
    return `Costs are not higher than assumed (${fees}): the edge itself is lower, by ${num(-c.edge)} a trade before fees.`;
  if (c.edge >= 0)
    return `The edge before fees is as expected: costs higher than assumed (${fees}) explain the shortfall.`;
  return `Of the shortfall of ${num(-c.net)} a trade, costs higher than assumed (${fees}) account for ${num(c.costs)} and an edge lower than expected for ${num(-c.edge)}.`;
}

/** The "Against the backtest" section of the Markdown report. */
export function renderExpectation(r: ExpectationReport | null): string[] {
  if (!r) return [];
  const what =
    r.outcome === 'return'
      ? 'return on notional'
      : r.outcome === 'pnl'
        ? 'PnL'
        : 'no outcome (neither PnL nor returns comparable)';
  const lines = ['## Against the backtest', ''];
  let text = `${r.param_version} is compared with its expectation${r.source ? ` (${r.source})` : ''}, recorded ${r.recorded_at}, from ${r.backtest_trades} backtest trades. Since its deploy at ${r.since}: ${r.trades} live trades, ${r.trade_rate.expected_trades.toFixed(1)} expected at the backtest's rate${r.trade_rate.ratio === null ? '' : ` (${r.trade_rate.ratio.toFixed(2)}×)`}. Compared per trade: ${what}.`;
  if (r.live_per_trade !== null && r.expected_per_trade !== null && r.difference)
    text += ` Live ${num(r.live_per_trade)} against ${num(r.expected_per_trade)} expected: difference ${num(r.difference.value)} (95% interval ${num(r.difference.lower_95)} to ${num(r.difference.upper_95)}).`;
  if (r.cusum)
    text += ` CUSUM against the backtest (alert above ${r.cusum.threshold} nats): ${Object.entries(r.cusum.by_shift)
      .map(([shift, llr]) => `short by ${shift}σ ${llr.toFixed(2)} nats`)
      .join(', ')}.`;
  text += ` Drawdown since the deploy ${num(r.drawdown.live)}${r.drawdown.backtest !== null ? `, the backtest's worst ${num(r.drawdown.backtest)}` : ''}.`;
  if (r.costs)
    text += ` ${r.costs.net_difference < 0 ? costSentence({ costs: r.costs.costs_difference, edge: r.costs.edge_difference, net: r.costs.net_difference, liveFeePerTrade: r.costs.live_fee, assumedFeePerTrade: r.costs.assumed_fee }) : `PnL per trade is not below the backtest's (fees ${num(r.costs.live_fee)} a trade against ${num(r.costs.assumed_fee)} assumed).`}`;
  lines.push(text, '');
  return lines;
}

function num(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  return Math.abs(x) >= 100 || x === 0 ? x.toFixed(2) : x.toPrecision(3);
}

function p(x: number): string {
  return x < 0.001 ? x.toExponential(1) : x.toFixed(3);
}
