// The Grafana dashboards, as code. `npm run dashboards` (grafana/generate.ts) writes them to
// grafana/dashboards/*.json, which Grafana loads through grafana/provisioning. Edit here,
// never the JSON: test/grafana.test.ts fails when the committed JSON is not what this produces.
import * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { defaultMixin } from '../prometheus/mixin.js';
import type { StatName } from '../src/analytics/index.js';

/** The uid of the provisioned datasource (grafana/provisioning/datasources/prometheus.yml). */
export const DATASOURCE_UID = 'edgewatch-prometheus';
/** The scrape jobs' selectors (prometheus/mixin.json). */
const { botSelector: BOT, sidecarSelector: SIDECAR } = defaultMixin();
const DS: dashboard.DataSourceRef = { type: 'prometheus', uid: DATASOURCE_UID };

/** A panel query. `core` marks the panels that must show data once Prometheus has scraped the demo. */
interface Q {
  expr: string;
  legend?: string;
  /** instant query in table format (for table panels) */
  table?: boolean;
  /** instant query (for stat panels: the value now, not the last point of a range) */
  instant?: boolean;
}

interface Opts {
  w?: number;
  h?: number;
  unit?: string;
  decimals?: number;
  core?: boolean;
}

/** Titles of panels that must return data against a Prometheus that scraped the demo, by dashboard uid. */
export const CORE_PANELS = new Map<string, Set<string>>();

const S = 'strategy=~"$strategy"';
// Alerts without a strategy label (bot down, Watchdog, ...) belong to every strategy's review.
const S_OR_NONE = 'strategy=~"$strategy|"';

function targets(qs: Q[]): prometheus.DataqueryBuilder[] {
  return qs.map((q, i) => {
    const b = new prometheus.DataqueryBuilder()
      .expr(q.expr)
      .refId(String.fromCharCode(65 + i))
      .datasource(DS)
      .legendFormat(q.legend ?? '__auto');
    if (q.table) b.format(prometheus.PromQueryFormat.Table).instant();
    else if (q.instant) b.instant();
    else b.range();
    return b;
  });
}

function markCore(uid: string, title: string, o: Opts): void {
  if (!o.core) return;
  if (!CORE_PANELS.has(uid)) CORE_PANELS.set(uid, new Set());
  CORE_PANELS.get(uid)!.add(title);
}

/** Series whose legend contains "alert line" are drawn as red dashed lines (the edgewatch_threshold series). */
const ALERT_LINE: dashboard.DynamicConfigValue[] = [
  { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
  { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
];

// `uid` is the dashboard the panel goes into (for CORE_PANELS).
function ts(uid: string, title: string, description: string, qs: Q[], o: Opts = {}): timeseries.PanelBuilder {
  markCore(uid, title, o);
  const p = new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DS)
    .targets(targets(qs))
    .span(o.w ?? 12)
    .height(o.h ?? 8)
    .unit(o.unit ?? 'short')
    .lineWidth(1)
    .fillOpacity(5)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.None))
    .overrideByRegexp('.*alert line.*', ALERT_LINE);
  if (o.decimals !== undefined) p.decimals(o.decimals);
  return p;
}

function single(uid: string, title: string, description: string, qs: Q[], o: Opts = {}): stat.PanelBuilder {
  markCore(uid, title, o);
  const p = new stat.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DS)
    .targets(targets(qs.map((q) => ({ ...q, instant: true }))))
    .span(o.w ?? 4)
    .height(o.h ?? 4)
    .unit(o.unit ?? 'short')
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.None)
    .textMode(common.BigValueTextMode.ValueAndName)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  if (o.decimals !== undefined) p.decimals(o.decimals);
  return p;
}

/**
 * A table that joins several instant queries on their labels: one row per label set
 * (`by`), one column per query, named by `columns` (in query order).
 */
function joined(
  uid: string,
  title: string,
  description: string,
  by: string[],
  columns: [name: string, expr: string][],
  o: Opts = {},
): table.PanelBuilder {
  markCore(uid, title, o);
  const rename: Record<string, string> = {};
  const order: Record<string, number> = {};
  by.forEach((label, i) => (order[label] = i));
  columns.forEach(([name], i) => {
    const value = columns.length === 1 ? 'Value' : `Value #${String.fromCharCode(65 + i)}`;
    rename[value] = name;
    order[value] = by.length + i;
  });
  return new table.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DS)
    .targets(targets(columns.map(([, expr]) => ({ expr: `max by (${by.join(', ')}) (${expr})`, table: true }))))
    .span(o.w ?? 24)
    .height(o.h ?? 8)
    .decimals(o.decimals ?? 3)
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({
      id: 'organize',
      options: { excludeByName: { Time: true }, indexByName: order, renameByName: rename },
    });
}

function timeline(uid: string, title: string, description: string, qs: Q[], o: Opts = {}): statetimeline.PanelBuilder {
  markCore(uid, title, o);
  return new statetimeline.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DS)
    .targets(targets(qs))
    .span(o.w ?? 24)
    .height(o.h ?? 8)
    .showValue(common.VisibilityMode.Never)
    .mergeValues(true);
}

const row = (title: string) => new dashboard.RowBuilder(title);

function board(uid: string, title: string, description: string, from: string): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['edgewatch'])
    .editable()
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from, to: 'now' })
    .refresh('1m')
    .link(
      new dashboard.DashboardLinkBuilder('edgewatch')
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags(['edgewatch'])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true),
    );
}

function strategyVariable(): dashboard.QueryVariableBuilder {
  // All strategies the sidecar knows (it also sees bots in other languages, which have no trading_* series).
  return new dashboard.QueryVariableBuilder('strategy')
    .label('Strategy')
    .datasource(DS)
    .query('label_values(edgewatch_window_trades, strategy)')
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true);
}

/**
 * Prometheus annotation with the legacy top-level fields Grafana's Prometheus datasource
 * reads (`step`, `titleFormat`, `textFormat`, `tagKeys`); the SDK builder only knows `expr`.
 */
function promAnnotation(
  name: string,
  color: string,
  expr: string,
  title: string,
  text: string,
): cog.Builder<dashboard.AnnotationQuery> {
  return {
    build: () =>
      Object.assign(
        new dashboard.AnnotationQueryBuilder()
          .name(name)
          .datasource(DS)
          .enable(true)
          .iconColor(color)
          .expr(expr)
          .build(),
        { step: '1m', titleFormat: title, textFormat: text, tagKeys: 'strategy', useValueForTime: false },
      ),
  };
}

// A deploy changes the bot's deploy timestamp gauge; changes() over two steps marks the minute it happened.
const deployAnnotation = () =>
  promAnnotation(
    'Parameter deploys',
    'blue',
    `changes(trading_param_deploy_timestamp_seconds{${S}}[2m]) > 0`,
    'Parameter deploy',
    'strategy {{strategy}}',
  );
// The sidecar's view: a version became active (also for bots that deploy over HTTP). Shows the version.
const activationAnnotation = () =>
  promAnnotation(
    'Version activations',
    'purple',
    `edgewatch_active_param_version_info{${S}} unless edgewatch_active_param_version_info{${S}} offset 1m`,
    'Version {{param_version}} active',
    'strategy {{strategy}}',
  );

/** The statistics the dashboards chart (a selection of STAT_NAMES: the compiler checks the names). */
const WINDOW_STATS: [name: string, stat: StatName][] = [
  ['Trades', 'trades'],
  ['Win ratio', 'win_ratio'],
  ['Net PnL', 'net_pnl'],
  ['PnL / trade', 'pnl_per_trade'],
  ['Gross profit', 'gross_profit'],
  ['Gross loss', 'gross_loss'],
  ['Profit factor', 'profit_factor'],
  ['Sharpe (per trade)', 'sharpe_ratio'],
  ['Max drawdown', 'max_drawdown'],
  ['Fees', 'fees'],
];

// ---------------------------------------------------------------------------------------------

function strategyOverview(): dashboard.DashboardBuilder {
  const uid = 'edgewatch-overview';
  return board(
    uid,
    'edgewatch / Strategy overview',
    'PnL, equity, trades, the 24h window against the 7d, drift and drawdown of each strategy.',
    'now-24h',
  )
    .withVariable(strategyVariable())
    .annotation(deployAnnotation())
    .annotation(activationAnnotation())
    .withRow(row('Now'))
    .withPanel(
      single(
        uid,
        'Net PnL 24h',
        'Σ net PnL (after fees) of trades closed in the last 24h.',
        [{ expr: `edgewatch_window_net_pnl{${S}, window="24h"}`, legend: '{{strategy}}' }],
        { core: true, decimals: 2 },
      ),
    )
    .withPanel(
      single(
        uid,
        'Net PnL 7d',
        'Σ net PnL of trades closed in the last 7 days.',
        [{ expr: `edgewatch_window_net_pnl{${S}, window="7d"}`, legend: '{{strategy}}' }],
        { decimals: 2 },
      ),
    )
    .withPanel(
      single(
        uid,
        'Trades 24h',
        'Trades closed in the last 24h.',
        [{ expr: `edgewatch_window_trades{${S}, window="24h"}`, legend: '{{strategy}}' }],
        { core: true, decimals: 0 },
      ),
    )
    .withPanel(
      single(
        uid,
        'Win ratio 24h',
        'Wins / trades over the last 24h.',
        [{ expr: `edgewatch_window_win_ratio{${S}, window="24h"}`, legend: '{{strategy}}' }],
        { unit: 'percentunit', decimals: 1 },
      ),
    )
    .withPanel(
      single(
        uid,
        'Equity now',
        'Equity reported by the bot.',
        [{ expr: `trading_equity{${S}}`, legend: '{{strategy}}' }],
        { core: true, decimals: 2 },
      ),
    )
    .withPanel(
      single(
        uid,
        'Active parameter version',
        'The parameter version trades are recorded under now.',
        [{ expr: `edgewatch_active_param_version_info{${S}}`, legend: '{{strategy}}: {{param_version}}' }],
        { core: true },
      ).textMode(common.BigValueTextMode.Name),
    )
    .withRow(row('PnL and equity'))
    .withPanel(
      ts(
        uid,
        'Equity',
        'Equity reported by the bot. Blue marks: parameter deploys; purple: version activations.',
        [{ expr: `trading_equity{${S}}`, legend: '{{strategy}}' }],
        { core: true },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Net PnL over rolling windows',
        'edgewatch_window_net_pnl: net PnL of the trades in each rolling window, from the ledger.',
        [{ expr: `edgewatch_window_net_pnl{${S}}`, legend: '{{strategy}} {{window}}' }],
        { core: true },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Realized net PnL per interval',
        'Gross profit minus gross loss booked per interval, from the bot counters (after fees).',
        [
          {
            expr: `sum by (strategy) (increase(trading_gross_profit_total{${S}}[$__interval])) - sum by (strategy) (increase(trading_gross_loss_total{${S}}[$__interval]))`,
            legend: '{{strategy}}',
          },
        ],
        { w: 24 },
      )
        .drawStyle(common.GraphDrawStyle.Bars)
        .fillOpacity(60)
        .interval('1m'),
    )
    .withRow(row('Last 24h against the last 7d'))
    .withPanel(
      ts(
        uid,
        'PnL per trade',
        'Mean net PnL per trade in the 24h and 7d windows.',
        [{ expr: `edgewatch_window_pnl_per_trade{${S}, window=~"24h|7d"}`, legend: '{{strategy}} {{window}}' }],
        { w: 8, core: true },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Win ratio',
        'Wins / trades in the 24h and 7d windows.',
        [{ expr: `edgewatch_window_win_ratio{${S}, window=~"24h|7d"}`, legend: '{{strategy}} {{window}}' }],
        { w: 8, unit: 'percentunit' },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Trades per hour',
        'Trade rate of the last 24h against the 7d average.',
        [
          { expr: `edgewatch_window_trades{${S}, window="24h"} / 24`, legend: '{{strategy}} 24h' },
          { expr: `edgewatch_window_trades{${S}, window="7d"} / 168`, legend: '{{strategy}} 7d' },
        ],
        { w: 8 },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Profit factor',
        'Gross profit / gross loss in the 24h and 7d windows.',
        [{ expr: `edgewatch_window_profit_factor{${S}, window=~"24h|7d"}`, legend: '{{strategy}} {{window}}' }],
        { w: 8 },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Sharpe ratio (per trade)',
        'Mean / sample stdev of trade PnL, not annualized.',
        [{ expr: `edgewatch_window_sharpe_ratio{${S}, window=~"24h|7d"}`, legend: '{{strategy}} {{window}}' }],
        { w: 8 },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Fees',
        'Σ fees in the 24h and 7d windows.',
        [{ expr: `edgewatch_window_fees{${S}, window=~"24h|7d"}`, legend: '{{strategy}} {{window}}' }],
        { w: 8 },
      ),
    )
    .withRow(row('Drift and risk'))
    .withPanel(
      ts(
        uid,
        'Drift z-score (24h against the baseline)',
        'Welch z of PnL per trade and two-proportion z of the win ratio, last 24h against the 7d minus the last 24h. Absent until both sides hold drift_min_trades trades. The dashed line is the alert threshold.',
        [
          { expr: `edgewatch_drift_zscore{${S}}`, legend: '{{strategy}} {{metric}}' },
          { expr: `-edgewatch_threshold{${S}, name="drift_zscore"}`, legend: '{{strategy}} alert line' },
        ],
        { w: 8 },
      ),
    )
    .withPanel(
      ts(
        uid,
        'CUSUM since the latest deploy (nats)',
        'Evidence that PnL per trade fell by 0.2σ or 0.5σ since the active version was deployed: a self-starting CUSUM, summed trade by trade (docs/alerting.md). A steady climb is a decay, a jump one large loss; a deploy restarts it. Absent until the run holds cusum_min_trades trades. The dashed line is the alert threshold.',
        [
          { expr: `edgewatch_cusum_statistic{${S}}`, legend: '{{strategy}} fall of {{shift}}σ' },
          { expr: `edgewatch_threshold{${S}, name="cusum_threshold"}`, legend: '{{strategy}} alert line' },
        ],
        { w: 8, core: true },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Max drawdown 24h',
        'Largest fall of cumulative net PnL from its running peak within the last 24h. The dashed line is the alert threshold.',
        [
          { expr: `edgewatch_window_max_drawdown{${S}, window="24h"}`, legend: '{{strategy}}' },
          { expr: `edgewatch_threshold{${S}, name="max_drawdown"}`, legend: '{{strategy}} alert line' },
        ],
        { w: 8 },
      ),
    )
    .withRow(row('Live against the backtest'))
    .withPanel(
      ts(
        uid,
        'Live against the backtest',
        'Evidence (nats) that the active version\'s trades since its deploy do 0.5σ or 1σ worse per trade than the expectation recorded for it (its backtest): a CUSUM against that known reference, from the first trade (docs/alerting.md, "Live against expected"). Only versions with an expectation show it. The dashed line is the alert threshold.',
        [
          {
            expr: `edgewatch_expectation_cusum_statistic{${S}}`,
            legend: '{{strategy}} {{param_version}} short by {{shift}}σ',
          },
          { expr: `edgewatch_threshold{${S}, name="expectation_cusum_threshold"}`, legend: '{{strategy}} alert line' },
        ],
        { w: 6 },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Live minus expected per trade',
        "Mean outcome per trade (return on notional, or PnL: edgewatch_expectation_info) of the trades since the deploy minus the backtest's, with its 95% interval: the interval below 0 is worse than the backtest at 95%.",
        [
          { expr: `edgewatch_expectation_difference{${S}}`, legend: '{{strategy}} {{param_version}} difference' },
          { expr: `edgewatch_expectation_difference_lower{${S}}`, legend: '{{strategy}} 95% low' },
          { expr: `edgewatch_expectation_difference_upper{${S}}`, legend: '{{strategy}} 95% high' },
        ],
        { w: 6 },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Costs and edge against the backtest',
        'Quote currency per trade, when live trades carry fees and the expectation a fee per trade: live fees minus the fee the backtest assumed (above 0: costs higher than assumed), and live minus expected PnL before fees (below 0: the edge itself is lower).',
        [
          { expr: `edgewatch_expectation_costs_difference{${S}}`, legend: '{{strategy}} costs above assumed' },
          { expr: `edgewatch_expectation_edge_difference{${S}}`, legend: '{{strategy}} edge before fees' },
        ],
        { w: 6 },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Trade rate and drawdown against the backtest',
        "Trades since the deploy over those the backtest's rate expects in that time (absent until one is expected), and the run's max drawdown over the backtest's worst (above 1: worse than the backtest ever was).",
        [
          { expr: `edgewatch_expectation_trade_rate_ratio{${S}}`, legend: '{{strategy}} trade rate' },
          { expr: `edgewatch_expectation_drawdown_ratio{${S}}`, legend: '{{strategy}} drawdown' },
        ],
        { w: 6, decimals: 2 },
      ),
    )
    .withRow(row('Orders and loop'))
    .withPanel(
      ts(
        uid,
        'Orders by status',
        'Orders per second by outcome.',
        [
          {
            expr: `sum by (strategy, status) (rate(trading_orders_total{${S}}[$__rate_interval]))`,
            legend: '{{strategy}} {{status}}',
          },
        ],
        { w: 8, unit: 'ops' },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Order latency',
        'Time from order submission to exchange answer.',
        [
          {
            expr: `histogram_quantile(0.5, sum by (strategy, le) (rate(trading_order_latency_seconds_bucket{${S}}[$__rate_interval])))`,
            legend: '{{strategy}} p50',
          },
          {
            expr: `histogram_quantile(0.95, sum by (strategy, le) (rate(trading_order_latency_seconds_bucket{${S}}[$__rate_interval])))`,
            legend: '{{strategy}} p95',
          },
        ],
        { w: 8, unit: 's' },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Open positions',
        'Positions the bot holds.',
        [{ expr: `trading_open_positions{${S}}`, legend: '{{strategy}}' }],
        { w: 8, decimals: 0 },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Heartbeat and loop age',
        'Seconds since the last heartbeat in the ledger and since the last successful loop iteration. The dashed line is the loop-stalled threshold.',
        [
          { expr: `time() - edgewatch_last_heartbeat_timestamp_seconds{${S}}`, legend: '{{strategy}} heartbeat' },
          { expr: `time() - trading_loop_last_success_timestamp_seconds{${S}}`, legend: '{{strategy}} loop' },
          { expr: `edgewatch_threshold{${S}, name="heartbeat_max_age_seconds"}`, legend: '{{strategy}} alert line' },
        ],
        { w: 8, unit: 's' },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Time since the last trade',
        'Seconds since the newest trade in the ledger closed.',
        [{ expr: `time() - edgewatch_last_trade_timestamp_seconds{${S}}`, legend: '{{strategy}}' }],
        { w: 8, unit: 's' },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Monitoring errors',
        'SDK calls refused or failed (validation, conflict, limit, ledger), by kind: the bot kept running, but these events are missing from the ledger.',
        [
          {
            expr: `sum by (strategy, kind) (rate(trading_errors_total{${S}}[$__rate_interval]))`,
            legend: '{{strategy}} {{kind}}',
          },
        ],
        { w: 8, unit: 'ops' },
      ),
    );
}

function parameterVersions(): dashboard.DashboardBuilder {
  const uid = 'edgewatch-versions';
  return board(
    uid,
    'edgewatch / Parameter versions',
    "Each parameter version's whole-life statistics side by side, the active parameters and the regression check.",
    'now-7d',
  )
    .withVariable(strategyVariable())
    .annotation(deployAnnotation())
    .annotation(activationAnnotation())
    .withRow(row('Versions'))
    .withPanel(
      joined(
        uid,
        'Each version over its whole life',
        'Statistics of all trades recorded under each of the newest versions (edgewatch_version_*).',
        ['strategy', 'param_version'],
        WINDOW_STATS.map(([name, s]) => [name, `edgewatch_version_${s}{${S}}`]),
        { core: true },
      ),
    )
    .withPanel(
      joined(
        uid,
        'Active version identity',
        'Content hash and git sha of the version the bot runs now.',
        ['strategy', 'param_version', 'hash', 'git_sha'],
        [['Known', `trading_param_version_info{${S}}`]],
        { w: 12 },
      ),
    )
    .withPanel(
      joined(
        uid,
        'Active parameter values',
        'Numeric parameters of the active version.',
        ['strategy', 'param'],
        [['Value', `trading_param_value{${S}}`]],
        { w: 8, decimals: 6 },
      ),
    )
    .withPanel(
      single(
        uid,
        'Last deploy',
        'When the bot last deployed a parameter set.',
        [{ expr: `trading_param_deploy_timestamp_seconds{${S}} * 1000`, legend: '{{strategy}}' }],
        { w: 4, h: 8, unit: 'dateTimeFromNow' },
      ),
    )
    .withRow(row('Side by side over time'))
    .withPanel(
      ts(
        uid,
        'PnL per trade by version',
        'Whole-life mean PnL per trade of each version.',
        [{ expr: `edgewatch_version_pnl_per_trade{${S}}`, legend: '{{strategy}} {{param_version}}' }],
        { core: true },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Win ratio by version',
        'Whole-life win ratio of each version.',
        [{ expr: `edgewatch_version_win_ratio{${S}}`, legend: '{{strategy}} {{param_version}}' }],
        { unit: 'percentunit' },
      ),
    )
    .withPanel(
      ts(uid, 'Net PnL by version', 'Whole-life net PnL of each version.', [
        { expr: `edgewatch_version_net_pnl{${S}}`, legend: '{{strategy}} {{param_version}}' },
      ]),
    )
    .withPanel(
      ts(
        uid,
        'Regression z (active version against the previous one)',
        'Welch z of PnL per trade, active version against the previous one; exported once both have regression_min_trades trades. The dashed line is the alert threshold.',
        [
          {
            expr: `edgewatch_version_regression_zscore{${S}}`,
            legend: '{{strategy}} {{param_version}} vs {{previous_version}}',
          },
          { expr: `-edgewatch_threshold{${S}, name="regression_zscore"}`, legend: '{{strategy}} alert line' },
        ],
      ),
    );
}

function experiments(): dashboard.DashboardBuilder {
  const uid = 'edgewatch-experiments';
  const E = `${S}, experiment=~"$experiment"`;
  return board(
    uid,
    'edgewatch / Experiments',
    'Variants of each experiment side by side; each variant against control: the always-valid p-value and the confidence sequence of the difference per trade.',
    'now-7d',
  )
    .withVariable(strategyVariable())
    .withVariable(
      new dashboard.QueryVariableBuilder('experiment')
        .label('Experiment')
        .datasource(DS)
        .query('label_values(edgewatch_experiment_trades{strategy=~"$strategy"}, experiment)')
        .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
        .sort(dashboard.VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true),
    )
    .withRow(row('Variants'))
    .withPanel(
      joined(
        uid,
        'Variants',
        'Statistics of the trades of each variant; against control: the always-valid p-value (Bonferroni over the candidate arms) and the bounds of the difference per trade (confidence sequence at 1 - experiment_p_value, PnL or return on notional), exported once each side has experiment_min_trades trades.',
        ['strategy', 'experiment', 'variant'],
        [
          ...WINDOW_STATS.map(([name, s]): [string, string] => [name, `edgewatch_experiment_${s}{${E}}`]),
          ['always-valid p', `edgewatch_experiment_p_value{${E}}`],
          ['difference, lower', `max without (outcome) (edgewatch_experiment_difference_lower{${E}})`],
          ['difference, upper', `max without (outcome) (edgewatch_experiment_difference_upper{${E}})`],
        ],
        { decimals: 4 },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Always-valid p-value against control',
        'Mixture SPRT of the difference per trade, variant against control, multiplied by the number of candidate arms: valid however often it is read, so a crossing of the dashed line (experiment_p_value) is a decision, not a peek. The running minimum over every trade: it only falls while the experiment runs.',
        [
          { expr: `edgewatch_experiment_p_value{${E}}`, legend: '{{experiment}} {{variant}}' },
          { expr: `edgewatch_threshold{${S}, name="experiment_p_value"}`, legend: '{{strategy}} alert line' },
        ],
      ).scaleDistribution(new common.ScaleDistributionConfigBuilder().type(common.ScaleDistribution.Log).log(10)),
    )
    .withPanel(
      ts(
        uid,
        'Difference per trade against control (confidence sequence)',
        'mean(variant) - mean(control) per trade lies between the two lines of a variant, at 1 - experiment_p_value for all arms together, however often it is read (PnL, or return on notional: the outcome in the legend). A variant is decided when both lines are on the same side of 0.',
        [
          {
            expr: `edgewatch_experiment_difference_lower{${E}}`,
            legend: '{{experiment}} {{variant}} lower ({{outcome}})',
          },
          {
            expr: `edgewatch_experiment_difference_upper{${E}}`,
            legend: '{{experiment}} {{variant}} upper ({{outcome}})',
          },
        ],
        { decimals: 4 },
      ),
    )
    .withPanel(
      ts(uid, 'PnL per trade by variant', 'Mean net PnL per trade of each variant.', [
        { expr: `edgewatch_experiment_pnl_per_trade{${E}}`, legend: '{{experiment}} {{variant}}' },
      ]),
    )
    .withPanel(
      ts(
        uid,
        'Trades by variant',
        'Trades recorded under each variant.',
        [{ expr: `edgewatch_experiment_trades{${E}}`, legend: '{{experiment}} {{variant}}' }],
        { decimals: 0 },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Win ratio by variant',
        'Win ratio of each variant.',
        [{ expr: `edgewatch_experiment_win_ratio{${E}}`, legend: '{{experiment}} {{variant}}' }],
        { unit: 'percentunit' },
      ),
    )
    .withPanel(
      joined(
        uid,
        'Running experiments (bot)',
        'Experiments the bot runs now, with their variants.',
        ['strategy', 'experiment', 'variant'],
        [['Running', `trading_experiment_info{${S}}`]],
        { h: 6 },
      ),
    );
}

function dailyReview(): dashboard.DashboardBuilder {
  const uid = 'edgewatch-daily-review';
  const windowRows = (s: string) => `edgewatch_window_${s}{${S}, window=~"24h|7d"}`;
  const byStrategy = (s: string, w: string) => `max by (strategy) (edgewatch_window_${s}{${S}, window="${w}"})`;
  return board(
    uid,
    'edgewatch / Daily review',
    'The daily report, live: the last 24h against the last 7 days, the parameter versions, and every alert that fired in the last 24h.',
    'now-24h',
  )
    .refresh('5m')
    .withVariable(strategyVariable())
    .annotation(deployAnnotation())
    .withRow(row('The last 24h against the last 7 days'))
    .withPanel(
      joined(
        uid,
        'Windows: 24h and 7d',
        'Every window statistic, one row per strategy and window.',
        ['strategy', 'window'],
        WINDOW_STATS.map(([name, s]) => [name, windowRows(s)]),
        { h: 7, core: true },
      ),
    )
    .withPanel(
      single(
        uid,
        'PnL per trade: 24h minus 7d',
        'Negative: the last day earned less per trade than the week.',
        [
          {
            expr: `${byStrategy('pnl_per_trade', '24h')} - ${byStrategy('pnl_per_trade', '7d')}`,
            legend: '{{strategy}}',
          },
        ],
        {
          w: 6,
          decimals: 3,
        },
      ),
    )
    .withPanel(
      single(
        uid,
        'Win ratio: 24h minus 7d',
        'Difference of the win ratios, in percentage points.',
        [{ expr: `${byStrategy('win_ratio', '24h')} - ${byStrategy('win_ratio', '7d')}`, legend: '{{strategy}}' }],
        {
          w: 6,
          unit: 'percentunit',
          decimals: 1,
        },
      ),
    )
    .withPanel(
      single(
        uid,
        'Trades: 24h against the daily 7d average',
        'Trades of the last 24h divided by a seventh of the 7d trades.',
        [{ expr: `${byStrategy('trades', '24h')} / (${byStrategy('trades', '7d')} / 7)`, legend: '{{strategy}}' }],
        {
          w: 6,
          unit: 'percentunit',
          decimals: 0,
        },
      ),
    )
    .withPanel(
      single(
        uid,
        'Drift z-score now',
        'Negative values mean the last 24h are worse than the baseline.',
        [{ expr: `edgewatch_drift_zscore{${S}}`, legend: '{{strategy}} {{metric}}' }],
        { w: 6, decimals: 2 },
      ),
    )
    .withRow(row('Parameter versions'))
    .withPanel(
      joined(
        uid,
        'Versions over their whole life',
        'The newest versions of each strategy, side by side.',
        ['strategy', 'param_version'],
        WINDOW_STATS.filter(([, s]) =>
          ['trades', 'win_ratio', 'net_pnl', 'pnl_per_trade', 'profit_factor', 'max_drawdown'].includes(s),
        ).map(([name, s]) => [name, `edgewatch_version_${s}{${S}}`]),
        { w: 16, h: 7 },
      ),
    )
    .withPanel(
      single(
        uid,
        'Active version',
        'The version trades are recorded under now.',
        [{ expr: `edgewatch_active_param_version_info{${S}}`, legend: '{{strategy}}: {{param_version}}' }],
        { w: 4, h: 7 },
      ).textMode(common.BigValueTextMode.Name),
    )
    .withPanel(
      single(
        uid,
        'Parameter deploys',
        'Deploys by the bot in the selected range (changes of its deploy timestamp).',
        [{ expr: `changes(trading_param_deploy_timestamp_seconds{${S}}[$__range])`, legend: '{{strategy}}' }],
        {
          w: 4,
          h: 7,
          decimals: 0,
        },
      ),
    )
    .withRow(row('Alerts'))
    .withPanel(
      timeline(
        uid,
        'Alerts that fired',
        'Alerts firing over the selected range (ALERTS), including those without a strategy label such as a target being down.',
        [
          {
            expr: `ALERTS{alertstate="firing", ${S_OR_NONE}}`,
            legend: '{{alertname}} {{severity}} {{strategy}} {{param_version}}',
          },
        ],
      ).mappings([{ type: dashboard.MappingType.ValueToText, options: { '1': { text: 'firing', color: 'red' } } }]),
    )
    .withPanel(
      new table.PanelBuilder()
        .title('Minutes firing per alert')
        .description('How long each alert fired in the selected range, with all its labels.')
        .datasource(DS)
        .targets(
          targets([
            { expr: `sort_desc(count_over_time(ALERTS{alertstate="firing", ${S_OR_NONE}}[$__range:1m]))`, table: true },
          ]),
        )
        .span(24)
        .height(7)
        .withTransformation({
          id: 'organize',
          options: { excludeByName: { Time: true, alertstate: true }, renameByName: { Value: 'Minutes firing' } },
        }),
    )
    .withRow(row('Operations'))
    .withPanel(
      single(
        uid,
        'Bot scrape availability',
        'Share of scrapes of the bot that succeeded in the selected range.',
        [{ expr: `avg_over_time(up{${BOT}}[$__range])`, legend: '{{instance}}' }],
        {
          w: 6,
          unit: 'percentunit',
          decimals: 2,
        },
      ),
    )
    .withPanel(
      single(
        uid,
        'Sidecar scrape availability',
        'Share of scrapes of the sidecar that succeeded in the selected range.',
        [{ expr: `avg_over_time(up{${SIDECAR}}[$__range])`, legend: '{{instance}}' }],
        {
          w: 6,
          unit: 'percentunit',
          decimals: 2,
        },
      ),
    )
    .withPanel(
      single(
        uid,
        'Rejected or failed orders',
        'Rejected and errored orders / all orders in the selected range.',
        [
          {
            // `or ... * 0`: 0% rather than "no data" while no order has failed yet
            expr: `(sum by (strategy) (increase(trading_orders_total{${S}, status=~"rejected|error"}[$__range])) or sum by (strategy) (increase(trading_orders_total{${S}}[$__range])) * 0) / sum by (strategy) (increase(trading_orders_total{${S}}[$__range]))`,
            legend: '{{strategy}}',
          },
        ],
        { w: 6, unit: 'percentunit', decimals: 2 },
      ),
    )
    .withPanel(
      single(
        uid,
        'Fees 24h',
        'Σ fees of the trades of the last 24h.',
        [{ expr: `edgewatch_window_fees{${S}, window="24h"}`, legend: '{{strategy}}' }],
        { w: 6, decimals: 2 },
      ),
    );
}

function pipelineHealth(): dashboard.DashboardBuilder {
  const uid = 'edgewatch-pipeline';
  return board(
    uid,
    'edgewatch / Pipeline health',
    'Is the pipeline from bot to notification working: targets, scrapes, ingestion, rule evaluation and notifications.',
    'now-6h',
  )
    .withRow(row('Targets'))
    .withPanel(
      single(
        uid,
        'Targets up',
        'up{} of every scrape target: 1 when the last scrape succeeded.',
        [{ expr: 'up', legend: '{{job}} {{instance}}' }],
        { w: 12, h: 6, core: true },
      )
        .colorMode(common.BigValueColorMode.Background)
        .mappings([
          {
            type: dashboard.MappingType.ValueToText,
            options: { '0': { text: 'DOWN', color: 'red' }, '1': { text: 'UP', color: 'green' } },
          },
        ]),
    )
    .withPanel(
      timeline(uid, 'Target history', 'up{} over time.', [{ expr: 'up', legend: '{{job}} {{instance}}' }], {
        w: 12,
        h: 6,
      }).mappings([
        {
          type: dashboard.MappingType.ValueToText,
          options: { '0': { text: 'down', color: 'red' }, '1': { text: 'up', color: 'green' } },
        },
      ]),
    )
    .withPanel(
      ts(
        uid,
        'Scrape duration',
        'How long Prometheus took to scrape each target.',
        [{ expr: 'scrape_duration_seconds', legend: '{{job}} {{instance}}' }],
        { unit: 's', core: true },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Sidecar window computation',
        'Time the sidecar spent computing windows for its /metrics answer (edgewatch_scrape_duration_seconds).',
        [{ expr: 'edgewatch_scrape_duration_seconds', legend: '{{instance}}' }],
        {
          unit: 's',
          core: true,
        },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Samples per scrape',
        'Series each target exposes: watch this for cardinality growth.',
        [{ expr: 'scrape_samples_scraped', legend: '{{job}} {{instance}}' }],
        { decimals: 0 },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Trades in the ledger',
        'edgewatch_ledger_trades.',
        [{ expr: 'edgewatch_ledger_trades', legend: '{{instance}}' }],
        { decimals: 0 },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Bot restarts in 30 minutes',
        'Changes of the bot process start time seen by scrapes in the last 30 minutes: above 2, TradingBotRestarting fires (a crash loop that TradingBotDown cannot see).',
        [{ expr: `changes(process_start_time_seconds{${BOT}}[30m])`, legend: '{{bot}} {{instance}}' }],
        { decimals: 0, core: true },
      ),
    )
    .withRow(row('Ingestion'))
    .withPanel(
      ts(
        uid,
        'Ingested events',
        'Events posted to the sidecar per second, by kind and result.',
        [
          {
            expr: 'sum by (kind, result) (rate(edgewatch_ingest_events_total[$__rate_interval]))',
            legend: '{{kind}} {{result}}',
          },
        ],
        { unit: 'ops' },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Ingest rejects',
        'Events the sidecar refused (any result other than accepted or duplicate), per interval.',
        [
          {
            expr: 'sum by (kind, result) (increase(edgewatch_ingest_events_total{result!~"accepted|duplicate"}[$__rate_interval]))',
            legend: '{{kind}} {{result}}',
          },
        ],
      ),
    )
    .withPanel(
      ts(
        uid,
        'Sidecar scrape errors',
        'Parts of a /metrics answer that failed and were left out, by stage.',
        [{ expr: 'sum by (stage) (increase(edgewatch_scrape_errors_total[$__rate_interval]))', legend: '{{stage}}' }],
        { w: 24 },
      ),
    )
    .withRow(row('Rules and notifications'))
    .withPanel(
      ts(
        uid,
        'Rule evaluation failures',
        'Failed rule evaluations per rule group (needs Prometheus to scrape itself).',
        [
          {
            expr: 'sum by (rule_group) (increase(prometheus_rule_evaluation_failures_total[$__rate_interval]))',
            legend: '{{rule_group}}',
          },
        ],
      ),
    )
    .withPanel(
      ts(
        uid,
        'Rule group evaluation time',
        'Duration of the last evaluation of each rule group.',
        [{ expr: 'prometheus_rule_group_last_duration_seconds', legend: '{{rule_group}}' }],
        { unit: 's' },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Alerts sent to Alertmanager',
        'Alerts Prometheus sent, failed to send and dropped, per second.',
        [
          { expr: 'sum(rate(prometheus_notifications_sent_total[$__rate_interval]))', legend: 'sent' },
          { expr: 'sum(rate(prometheus_notifications_errors_total[$__rate_interval]))', legend: 'errors' },
          { expr: 'sum(rate(prometheus_notifications_dropped_total[$__rate_interval]))', legend: 'dropped' },
        ],
        { unit: 'ops' },
      ),
    )
    .withPanel(
      ts(
        uid,
        'Notifications by integration',
        'Notifications Alertmanager sent and failed to send, per interval (needs Prometheus to scrape Alertmanager).',
        [
          {
            expr: 'sum by (integration) (increase(alertmanager_notifications_total[$__rate_interval]))',
            legend: '{{integration}} sent',
          },
          {
            expr: 'sum by (integration) (increase(alertmanager_notifications_failed_total[$__rate_interval]))',
            legend: '{{integration}} failed',
          },
        ],
      ),
    )
    .withPanel(
      ts(
        uid,
        'Alerts firing by severity',
        'Alerts firing now, by severity (the Watchdog always fires).',
        [{ expr: 'count by (severity) (ALERTS{alertstate="firing"})', legend: '{{severity}}' }],
        { w: 24, decimals: 0 },
      ),
    );
}

// ---------------------------------------------------------------------------------------------

export interface DashboardFile {
  /** file name under grafana/dashboards/ */
  file: string;
  dashboard: dashboard.Dashboard;
}

/** Panel ids must be unique within a dashboard; number them in order so the JSON is stable. */
function numberPanels(d: dashboard.Dashboard): dashboard.Dashboard {
  let id = 1;
  for (const p of d.panels ?? []) {
    p.id = id++;
    for (const inner of (p as dashboard.RowPanel).panels ?? []) inner.id = id++;
  }
  return d;
}

export function buildDashboards(): DashboardFile[] {
  CORE_PANELS.clear();
  return [
    { file: 'strategy-overview.json', dashboard: numberPanels(strategyOverview().build()) },
    { file: 'parameter-versions.json', dashboard: numberPanels(parameterVersions().build()) },
    { file: 'experiments.json', dashboard: numberPanels(experiments().build()) },
    { file: 'daily-review.json', dashboard: numberPanels(dailyReview().build()) },
    { file: 'pipeline-health.json', dashboard: numberPanels(pipelineHealth().build()) },
  ];
}

/** The exact text of each committed file. */
export function renderDashboards(): Map<string, string> {
  return new Map(buildDashboards().map((d) => [d.file, JSON.stringify(d.dashboard, null, 2) + '\n']));
}
