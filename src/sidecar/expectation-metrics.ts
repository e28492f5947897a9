// The edgewatch_expectation_* series: the active version's run against its expectation (the
// backtest), per strategy and param_version, re-set from each snapshot (SidecarMetrics.apply).
// A strategy whose active version has no expectation exports none of them. Definitions:
// docs/alerting.md, "Live against expected", and src/analytics/expectation.ts.
import { Gauge, type Registry } from 'prom-client';
import { versionLabel } from '../model/names.js';
import type { StrategySnapshot } from './snapshot.js';

const LABELS = ['strategy', 'param_version'];

export class ExpectationMetrics {
  private readonly gauges: Array<Gauge<string>> = [];
  private readonly info;
  private readonly trades;
  private readonly expected;
  private readonly live;
  private readonly difference;
  private readonly lower;
  private readonly upper;
  private readonly cusum;
  private readonly tradesExpected;
  private readonly rateRatio;
  private readonly rateP;
  private readonly drawdownRatio;
  private readonly costs;
  private readonly edge;

  constructor(registry: Registry) {
    const g = (name: string, help: string, extra: string[] = []) => {
      const gauge = new Gauge({ name, help, labelNames: [...LABELS, ...extra], registers: [registry] });
      this.gauges.push(gauge);
      return gauge;
    };
    const run = "the active version's trades since its latest deploy";
    this.info = g(
      'edgewatch_expectation_info',
      'The active version has an expectation (its backtest); outcome: what the comparison reads per trade (return on notional, pnl, or none). Always 1.',
      ['outcome'],
    );
    this.trades = g('edgewatch_expectation_trades', `Live trades compared with the expectation: ${run}.`);
    this.expected = g(
      'edgewatch_expectation_outcome_expected',
      'Mean outcome per trade the backtest promised (return on notional or PnL, see edgewatch_expectation_info).',
    );
    this.live = g('edgewatch_expectation_outcome_live', `Mean outcome per trade of ${run}.`);
    this.difference = g(
      'edgewatch_expectation_difference',
      'Live minus expected mean outcome per trade (negative: live does worse than the backtest).',
    );
    this.lower = g(
      'edgewatch_expectation_difference_lower',
      'Lower end of the 95% interval of the live-minus-expected difference (both samples counted).',
    );
    this.upper = g(
      'edgewatch_expectation_difference_upper',
      'Upper end of the 95% interval of the live-minus-expected difference: below 0, live is worse than the backtest at 95%.',
    );
    this.cusum = g(
      'edgewatch_expectation_cusum_statistic',
      `Evidence (nats) that the outcome per trade of ${run} is \`shift\` expected standard deviations below the backtest: CUSUM against the known reference, from the first trade.`,
      ['shift'],
    );
    this.tradesExpected = g(
      'edgewatch_expectation_trades_expected',
      "Trades the backtest's rate gives the time since the latest deploy.",
    );
    this.rateRatio = g(
      'edgewatch_expectation_trade_rate_ratio',
      'Live trades since the latest deploy over the trades the backtest rate expects in that time (absent until that is one trade).',
    );
    this.rateP = g(
      'edgewatch_expectation_trade_rate_p_value',
      'Poisson probability, at the backtest rate, of as few (tail="fewer") or as many (tail="more") trades as live made since the latest deploy.',
      ['tail'],
    );
    this.drawdownRatio = g(
      'edgewatch_expectation_drawdown_ratio',
      `Largest fall of cumulative PnL of ${run} over the backtest's max drawdown (above 1: worse than the backtest ever was).`,
    );
    this.costs = g(
      'edgewatch_expectation_costs_difference',
      'Live fees per trade minus the fee per trade the backtest assumed (quote currency; above 0: costs higher than assumed).',
    );
    this.edge = g(
      'edgewatch_expectation_edge_difference',
      'Live minus expected PnL per trade before fees (quote currency; below 0: the edge itself is lower than the backtest).',
    );
  }

  apply(snaps: StrategySnapshot[]): void {
    for (const g of this.gauges) g.reset();
    for (const s of snaps) {
      const e = s.expectation;
      if (!e) continue;
      const l = { strategy: s.strategy, param_version: versionLabel(e.version) };
      this.info.set({ ...l, outcome: e.outcome ?? 'none' }, 1);
      this.trades.set(l, e.trades);
      if (e.expected) this.expected.set(l, e.expected.mean);
      if (e.live) this.live.set(l, e.live.mean);
      if (e.difference) {
        this.difference.set(l, e.difference.value);
        this.lower.set(l, e.difference.lower);
        this.upper.set(l, e.difference.upper);
      }
      for (const c of e.cusum ?? []) this.cusum.set({ ...l, shift: String(c.shift) }, c.llr);
      this.tradesExpected.set(l, e.rate.expected);
      if (e.rate.ratio !== undefined) this.rateRatio.set(l, e.rate.ratio);
      this.rateP.set({ ...l, tail: 'fewer' }, e.rate.pFewer);
      this.rateP.set({ ...l, tail: 'more' }, e.rate.pMore);
      if (e.drawdown.ratio !== undefined) this.drawdownRatio.set(l, e.drawdown.ratio);
      if (e.costs) {
        this.costs.set(l, e.costs.costs);
        this.edge.set(l, e.costs.edge);
      }
    }
  }
}
