// The sidecar's /metrics: a prom-client registry whose gauges are re-set from a fresh
// snapshot on every scrape. An undefined statistic is simply not set, so it is absent from
// the exposition (never NaN, never 0); versions that left the newest K disappear with it.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { STAT_NAMES, type StatName, type WindowStats } from '../analytics/index.js';
import { versionLabel } from '../model/names.js';
import type { StrategySnapshot } from './snapshot.js';
import { ExpectationMetrics } from './expectation-metrics.js';

const STAT_HELP: Record<StatName, string> = {
  trades: 'Number of trades',
  win_ratio: 'Wins (pnl > 0) / trades',
  net_pnl: 'Sum of net PnL (quote currency)',
  pnl_per_trade: 'Net PnL / trades',
  gross_profit: 'Sum of PnL of winning trades',
  gross_loss: 'Sum of -PnL of losing trades (positive)',
  profit_factor: 'Gross profit / gross loss (+Inf without losses)',
  sharpe_ratio: 'Mean PnL / sample stdev of PnL, per trade, not annualized',
  max_drawdown: 'Largest fall of cumulative net PnL from a running peak (quote currency)',
  fees: 'Sum of fees (quote currency)',
  return_per_trade: 'Mean return on notional (pnl / notional) per trade, over the trades that carry a notional',
};

type G = Gauge<string>;

export class SidecarMetrics {
  readonly registry = new Registry();
  private readonly window = new Map<StatName, G>();
  private readonly version = new Map<StatName, G>();
  private readonly experiment = new Map<StatName, G>();
  private readonly drift: G;
  private readonly regression: G;
  private readonly pValue: G;
  private readonly diffLower: G;
  private readonly diffUpper: G;
  private readonly cusum: G;
  private readonly cusumRunStart: G;
  private readonly threshold: G;
  private readonly lastTrade: G;
  private readonly lastHeartbeat: G;
  private readonly activeVersion: G;
  readonly scrapeDuration: G;
  readonly ledgerTrades: G;
  readonly ingestEvents: Counter<'kind' | 'result'>;
  readonly scrapeErrors: Counter<'stage'>;
  readonly ready: G;
  /** edgewatch_expectation_*: live against the active version's backtest. */
  private readonly expectation: ExpectationMetrics;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    for (const stat of STAT_NAMES) {
      this.window.set(
        stat,
        new Gauge({
          name: `edgewatch_window_${stat}`,
          help: `${STAT_HELP[stat]}, over the trailing window (closed_at in (now - window, now]).`,
          labelNames: ['strategy', 'window'],
          registers,
        }),
      );
      this.version.set(
        stat,
        new Gauge({
          name: `edgewatch_version_${stat}`,
          help: `${STAT_HELP[stat]}, over the whole life of a parameter version (newest K).`,
          labelNames: ['strategy', 'param_version'],
          registers,
        }),
      );
      this.experiment.set(
        stat,
        new Gauge({
          name: `edgewatch_experiment_${stat}`,
          help: `${STAT_HELP[stat]}, per variant of a running experiment.`,
          labelNames: ['strategy', 'experiment', 'variant'],
          registers,
        }),
      );
    }
    this.drift = new Gauge({
      name: 'edgewatch_drift_zscore',
      help: 'The active version since its latest deploy (experiment candidates excluded): its last 24h against its trades of the 7d window less the last 24h. Welch z on pnl_per_trade, pooled two-proportion z on win_ratio. Absent under the minimum sample.',
      labelNames: ['strategy', 'metric'],
      registers,
    });
    this.regression = new Gauge({
      name: 'edgewatch_version_regression_zscore',
      help: 'Active parameter version against the previous one: Welch z on PnL per trade (negative: worse). Absent under the minimum sample.',
      labelNames: ['strategy', 'param_version', 'previous_version'],
      registers,
    });
    this.pValue = new Gauge({
      name: 'edgewatch_experiment_p_value',
      help: 'Always-valid p-value (mixture SPRT) of a variant against control: its running minimum over every trade so far, valid however often it is read; multiplied by the number of candidate arms (Bonferroni). Absent under experiment_min_trades per arm.',
      labelNames: ['strategy', 'experiment', 'variant'],
      registers,
    });
    const bound = (side: string) =>
      new Gauge({
        name: `edgewatch_experiment_difference_${side}`,
        help: `${side === 'lower' ? 'Lower' : 'Upper'} bound of mean(variant) - mean(control) per trade (PnL, or return on notional: label outcome): running intersection of the confidence sequence at 1 - experiment_p_value for all arms together, valid however often it is read. Absent under experiment_min_trades per arm.`,
        labelNames: ['strategy', 'experiment', 'variant', 'outcome'],
        registers,
      });
    this.diffLower = bound('lower');
    this.diffUpper = bound('upper');
    this.cusum = new Gauge({
      name: 'edgewatch_cusum_statistic',
      help: 'Evidence (nats, log-likelihood ratio) that PnL per trade fell by `shift` standard deviations since the latest parameter deploy: self-starting CUSUM. Absent under the minimum sample.',
      labelNames: ['strategy', 'shift'],
      registers,
    });
    this.cusumRunStart = new Gauge({
      name: 'edgewatch_cusum_run_start_timestamp_seconds',
      help: 'Start of the current CUSUM run: deployed_at of the latest parameter deploy. Absent without a deploy. The CUSUM alert holds only within one run.',
      labelNames: ['strategy'],
      registers,
    });
    this.threshold = new Gauge({
      name: 'edgewatch_threshold',
      help: 'Alert thresholds configured per strategy (rules compare against these).',
      labelNames: ['strategy', 'name'],
      registers,
    });
    this.lastTrade = new Gauge({
      name: 'edgewatch_last_trade_timestamp_seconds',
      help: 'closed_at of the newest trade in the ledger.',
      labelNames: ['strategy'],
      registers,
    });
    this.lastHeartbeat = new Gauge({
      name: 'edgewatch_last_heartbeat_timestamp_seconds',
      help: 'Time of the last loop heartbeat recorded in the ledger.',
      labelNames: ['strategy'],
      registers,
    });
    this.activeVersion = new Gauge({
      name: 'edgewatch_active_param_version_info',
      help: 'The active parameter version of each strategy (always 1).',
      labelNames: ['strategy', 'param_version'],
      registers,
    });
    this.scrapeDuration = new Gauge({
      name: 'edgewatch_scrape_duration_seconds',
      help: 'Time the sidecar took to compute the previous /metrics answer.',
      registers,
    });
    this.ledgerTrades = new Gauge({
      name: 'edgewatch_ledger_trades',
      help: 'Trades in the ledger (read by the sidecar so far).',
      registers,
    });
    this.ingestEvents = new Counter({
      name: 'edgewatch_ingest_events_total',
      help: 'Events received over HTTP or pulled from an integration, by kind and result (accepted, duplicate, ignored, rejected, conflict, unauthorized, refused, error).',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.scrapeErrors = new Counter({
      name: 'edgewatch_scrape_errors_total',
      help: 'Parts of a scrape that failed (the rest was served).',
      labelNames: ['stage'],
      registers,
    });
    this.ready = new Gauge({ name: 'edgewatch_ready', help: '1 when the ledger is readable and writable.', registers });
    this.expectation = new ExpectationMetrics(this.registry);
  }

  /** Replaces every computed series with the values of `snaps`. */
  apply(snaps: StrategySnapshot[]): void {
    for (const g of [...this.window.values(), ...this.version.values(), ...this.experiment.values()]) g.reset();
    for (const g of [
      this.drift,
      this.regression,
      this.pValue,
      this.diffLower,
      this.diffUpper,
      this.cusum,
      this.threshold,
      this.lastTrade,
      this.lastHeartbeat,
      this.activeVersion,
    ])
      g.reset();
    this.cusumRunStart.reset();
    this.expectation.apply(snaps);
    for (const s of snaps) {
      const strategy = s.strategy;
      for (const [window, w] of Object.entries(s.windows)) setStats(this.window, w.stats, { strategy, window });
      if (s.drift.pnl_per_trade !== undefined)
        this.drift.set({ strategy, metric: 'pnl_per_trade' }, s.drift.pnl_per_trade);
      if (s.drift.win_ratio !== undefined) this.drift.set({ strategy, metric: 'win_ratio' }, s.drift.win_ratio);
      for (const v of s.versions) setStats(this.version, v.stats, { strategy, param_version: versionLabel(v.version) });
      if (s.regression)
        this.regression.set(
          {
            strategy,
            param_version: versionLabel(s.regression.version),
            previous_version: versionLabel(s.regression.previous),
          },
          s.regression.z,
        );
      for (const c of s.cusum?.values ?? []) this.cusum.set({ strategy, shift: String(c.shift) }, c.llr);
      if (s.active) this.cusumRunStart.set({ strategy }, s.active.deployedMs / 1000);
      for (const e of s.experiments) {
        for (const v of e.variants)
          setStats(this.experiment, v.stats, { strategy, experiment: e.name, variant: v.variant });
        for (const t of e.tests) {
          const labels = { strategy, experiment: e.name, variant: t.variant };
          this.pValue.set(labels, t.running.pValue);
          this.diffLower.set({ ...labels, outcome: t.running.outcome }, t.running.lower);
          this.diffUpper.set({ ...labels, outcome: t.running.outcome }, t.running.upper);
        }
      }
      for (const [name, value] of Object.entries(s.thresholds)) this.threshold.set({ strategy, name }, value);
      if (s.lastTradeMs !== undefined) this.lastTrade.set({ strategy }, s.lastTradeMs / 1000);
      if (s.lastHeartbeatMs !== undefined) this.lastHeartbeat.set({ strategy }, s.lastHeartbeatMs / 1000);
      if (s.active) this.activeVersion.set({ strategy, param_version: versionLabel(s.active.version) }, 1);
    }
  }
}

function setStats(gauges: Map<StatName, G>, stats: WindowStats, labels: Record<string, string>): void {
  for (const [stat, value] of Object.entries(stats) as Array<[StatName, number | undefined]>) {
    if (value === undefined || Number.isNaN(value)) continue;
    (gauges.get(stat) as G).set(labels, value);
  }
}
