// The bot's metrics (`trading_*`, listed in docs/metrics.md). Trade series carry `strategy` and
// `param_version`; label sets of versions that leave the newest K are removed so the
// exposition stays bounded however many versions a bot deploys.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export const ORDER_STATUSES = ['filled', 'partial', 'rejected', 'canceled', 'error'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

type Labels = Record<string, string>;
type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

export class BotMetrics {
  readonly trades: Counter<'strategy' | 'param_version' | 'outcome'>;
  readonly grossProfit: Counter<'strategy' | 'param_version'>;
  readonly grossLoss: Counter<'strategy' | 'param_version'>;
  readonly fees: Counter<'strategy' | 'param_version'>;
  readonly volume: Counter<'strategy' | 'param_version' | 'symbol'>;
  readonly equity: Gauge<'strategy'>;
  readonly openPositions: Gauge<'strategy'>;
  readonly orders: Counter<'strategy' | 'param_version' | 'status'>;
  readonly orderLatency: Histogram<'strategy' | 'param_version'>;
  readonly loopIterations: Counter<'strategy'>;
  readonly loopLastSuccess: Gauge<'strategy'>;
  readonly loopDuration: Histogram<'strategy'>;
  readonly errors: Counter<'strategy' | 'kind'>;
  readonly versionInfo: Gauge<'strategy' | 'param_version' | 'hash' | 'git_sha'>;
  readonly paramValue: Gauge<'strategy' | 'param'>;
  readonly deployTimestamp: Gauge<'strategy'>;
  readonly experimentInfo: Gauge<'strategy' | 'experiment' | 'variant'>;
  readonly labelRefusals: Counter<'strategy' | 'label'>;

  /** strategy -> version label -> label sets used with that version, for removal. */
  private readonly byVersion = new Map<string, Map<string, { sets: Array<[AnyMetric, Labels]>; keys: Set<string> }>>();

  constructor(registry: Registry) {
    const registers = [registry];
    const tv = ['strategy', 'param_version'] as const;
    this.trades = new Counter({
      name: 'trading_trades_total',
      help: 'Closed trades, by outcome (win: pnl > 0, loss: pnl < 0, flat: pnl == 0).',
      labelNames: [...tv, 'outcome'],
      registers,
    });
    this.grossProfit = new Counter({
      name: 'trading_gross_profit_total',
      help: 'Sum of net PnL of winning trades (quote currency).',
      labelNames: tv,
      registers,
    });
    this.grossLoss = new Counter({
      name: 'trading_gross_loss_total',
      help: 'Sum of -PnL of losing trades (quote currency, positive).',
      labelNames: tv,
      registers,
    });
    this.fees = new Counter({
      name: 'trading_fees_total',
      help: 'Fees paid (quote currency).',
      labelNames: tv,
      registers,
    });
    this.volume = new Counter({
      name: 'trading_volume_total',
      help: 'Traded notional (quote currency).',
      labelNames: [...tv, 'symbol'],
      registers,
    });
    this.equity = new Gauge({
      name: 'trading_equity',
      help: 'Account equity as reported by the bot (quote currency).',
      labelNames: ['strategy'],
      registers,
    });
    this.openPositions = new Gauge({
      name: 'trading_open_positions',
      help: 'Open positions as reported by the bot.',
      labelNames: ['strategy'],
      registers,
    });
    this.orders = new Counter({
      name: 'trading_orders_total',
      help: 'Orders by final status.',
      labelNames: [...tv, 'status'],
      registers,
    });
    this.orderLatency = new Histogram({
      name: 'trading_order_latency_seconds',
      help: 'Order round-trip latency.',
      labelNames: tv,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.loopIterations = new Counter({
      name: 'trading_loop_iterations_total',
      help: 'Successful iterations of the bot main loop.',
      labelNames: ['strategy'],
      registers,
    });
    this.loopLastSuccess = new Gauge({
      name: 'trading_loop_last_success_timestamp_seconds',
      help: 'Unix time of the last successful loop iteration or heartbeat.',
      labelNames: ['strategy'],
      registers,
    });
    this.loopDuration = new Histogram({
      name: 'trading_loop_duration_seconds',
      help: 'Duration of one main loop iteration.',
      labelNames: ['strategy'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
      registers,
    });
    this.errors = new Counter({
      name: 'trading_errors_total',
      help: 'Monitoring calls refused or failed (validation, conflict, limit, not_found, ledger); the bot kept running.',
      labelNames: ['strategy', 'kind'],
      registers,
    });
    this.versionInfo = new Gauge({
      name: 'trading_param_version_info',
      help: 'The active parameter version (always 1).',
      labelNames: ['strategy', 'param_version', 'hash', 'git_sha'],
      registers,
    });
    this.paramValue = new Gauge({
      name: 'trading_param_value',
      help: 'Numeric parameters of the active version.',
      labelNames: ['strategy', 'param'],
      registers,
    });
    this.deployTimestamp = new Gauge({
      name: 'trading_param_deploy_timestamp_seconds',
      help: 'Unix time of the last parameter deploy.',
      labelNames: ['strategy'],
      registers,
    });
    this.experimentInfo = new Gauge({
      name: 'trading_experiment_info',
      help: 'Variants of running experiments (always 1).',
      labelNames: ['strategy', 'experiment', 'variant'],
      registers,
    });
    this.labelRefusals = new Counter({
      name: 'trading_label_refusals_total',
      help: 'Label values folded into "other" because a cardinality cap was reached.',
      labelNames: ['strategy', 'label'],
      registers,
    });
  }

  /** Remembers that `labels` (which include param_version) were used, so they can be removed later. */
  track(metric: AnyMetric, labels: Labels): void {
    let versions = this.byVersion.get(labels.strategy);
    if (!versions)
      this.byVersion.set(
        labels.strategy,
        (versions = new Map<string, { sets: [AnyMetric, Labels][]; keys: Set<string> }>()),
      );
    let entry = versions.get(labels.param_version);
    if (!entry) versions.set(labels.param_version, (entry = { sets: [], keys: new Set() }));
    const key = `${(metric as unknown as { name: string }).name}\u0000${Object.values(labels).join('\u0000')}`;
    if (entry.keys.has(key)) return;
    entry.keys.add(key);
    entry.sets.push([metric, { ...labels }]);
  }

  /** Removes every label set of versions of `strategy` not in `keep`. */
  retainVersions(strategy: string, keep: Set<string>): void {
    const versions = this.byVersion.get(strategy);
    if (!versions) return;
    for (const [version, entry] of versions) {
      if (keep.has(version)) continue;
      for (const [metric, labels] of entry.sets) metric.remove(labels);
      versions.delete(version);
    }
  }

  /** Zero-initialises the counters of a version so that rate() sees its first trade. */
  initVersion(strategy: string, paramVersion: string): void {
    const l = { strategy, param_version: paramVersion };
    for (const outcome of ['win', 'loss', 'flat']) this.incTracked(this.trades, { ...l, outcome }, 0);
    for (const m of [this.grossProfit, this.grossLoss, this.fees]) this.incTracked(m, l, 0);
    // Every order status too, so increase() sees the first rejected order of a version.
    for (const status of ORDER_STATUSES) this.incTracked(this.orders, { ...l, status }, 0);
  }

  incTracked(metric: Counter<string>, labels: Labels, value: number): void {
    metric.inc(labels, value);
    this.track(metric, labels);
  }
}
