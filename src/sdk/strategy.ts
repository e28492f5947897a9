// A strategy's handle: what a bot calls per strategy (trades, params, experiments, heartbeats,
// equity). Each call validates in model/, writes one ledger transaction through the Edgewatch
// it belongs to, and updates the bot's metrics; failures go through Edgewatch.fail.
//
// Over 350 lines on purpose: one class whose call groups (trades, params, experiments, the
// loop) share the handle's state (active version, running experiment, remembered positions);
// split, each part would reach into the others' private fields.
import { createHash } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError, type ErrorDetail } from '../errors.js';
import { rejectUnknownOptions, unknownKeyDetails } from '../config-check.js';
import { type DeployInfo, type ExperimentInfo } from '../ledger/ledger.js';
import { isPlainObject, parseVersionLabel, versionLabel } from '../model/names.js';
import { validateExpectation } from '../model/expectation.js';
import type { ExpectationRecord } from '../ledger/expectations.js';
import { deployTime, validateDeployMeta, validateParams, type ParamSet } from '../model/params.js';
import { MAX_ID_LENGTH, checkTime, checkTrade } from '../model/trade.js';
import { resolveVariants, validateExperiment, validateStop } from '../model/experiment.js';
import { ORDER_STATUSES, type OrderStatus } from './metrics.js';
import type { Edgewatch } from './edgewatch.js';
import type {
  ActiveVersion,
  AssignOptions,
  Assignment,
  Deployed,
  DeployOptions,
  ExperimentStart,
  ExpectationSpec,
  Result,
  RunningExperiment,
  TradeRecord,
} from './types.js';

export class StrategyHandle {
  readonly name: string;
  private active?: ActiveVersion;
  private activeNumber: number | null = null;
  private experiment?: RunningExperiment;
  private lastLedgerBeat = 0;
  private readonly symbols = new Set<string>();
  private infoLabels?: Record<string, string>;
  private paramLabels: string[] = [];

  constructor(
    private readonly ew: Edgewatch,
    name: string,
    private readonly heartbeatIntervalMs: number,
    private readonly maxSymbols: number,
    private readonly maxPositions: number,
  ) {
    this.name = name;
    this.restore();
  }

  /** Brings back the active version, its deploy time and a running experiment from the ledger. */
  private restore(): void {
    const deploy = this.ew.ledger.activeDeploy(this.name);
    if (deploy) this.activate(deploy);
    const running = this.ew.ledger.experiments(this.name).filter((e) => e.stoppedMs === null);
    for (const info of running) this.setExperiment(info);
    this.ew.metrics.initVersion(this.name, versionLabel(this.activeNumber));
  }

  private activate(d: DeployInfo): void {
    const v = this.ew.ledger.getVersion(this.name, d.version);
    if (!v) return;
    this.activeNumber = d.version;
    this.active = {
      version: versionLabel(d.version),
      hash: d.hash,
      params: v.params,
      deployedAt: new Date(d.deployedMs),
      gitSha: d.gitSha,
    };
    this.refreshInfoSeries();
  }

  private refreshInfoSeries(): void {
    const m = this.ew.metrics;
    // One info series and one value per parameter for this strategy: drop the previous version's.
    if (this.infoLabels) m.versionInfo.remove(this.infoLabels);
    for (const param of this.paramLabels) m.paramValue.remove({ strategy: this.name, param });
    this.paramLabels = [];
    if (!this.active) return;
    this.infoLabels = {
      strategy: this.name,
      param_version: this.active.version,
      hash: this.active.hash,
      git_sha: this.active.gitSha ?? '',
    };
    m.versionInfo.set(this.infoLabels, 1);
    for (const [param, value] of Object.entries(this.active.params))
      if (typeof value === 'number') {
        m.paramValue.set({ strategy: this.name, param }, value);
        this.paramLabels.push(param);
      }
    m.deployTimestamp.set({ strategy: this.name }, this.active.deployedAt.getTime() / 1000);
    this.retainVersions();
  }

  /** Keeps label sets of the newest K versions, the active one and running variants. */
  private retainVersions(): void {
    const newest = this.ew.ledger
      .versions(this.name)
      .map((v) => v.version)
      .sort((a, b) => b - a)
      .slice(0, this.ew.keepVersions);
    const keep = new Set(newest.map((n) => versionLabel(n)));
    keep.add(versionLabel(this.activeNumber));
    if (this.experiment) for (const n of Object.values(this.experiment.info.variants)) keep.add(versionLabel(n));
    this.ew.metrics.retainVersions(this.name, keep);
  }

  private setExperiment(info: ExperimentInfo): void {
    const params: Record<string, ParamSet> = {};
    for (const [variant, n] of Object.entries(info.variants))
      params[variant] = this.ew.ledger.getVersion(this.name, n)?.params ?? {};
    const names = Object.keys(info.variants).sort();
    const weights = names.map((v) => [v, info.allocation[v] ?? 1] as [string, number]);
    // A new (or restored) experiment starts with no remembered positions: assignments are
    // in memory only, and those of an earlier experiment name variants that no longer run.
    this.experiment = { info, params, weights, positions: new Map(), evicted: 0 };
    for (const variant of names)
      this.ew.metrics.experimentInfo.set({ strategy: this.name, experiment: info.name, variant }, 1);
  }

  /** The active parameter version, or undefined before the first deploy. */
  get activeVersion(): ActiveVersion | undefined {
    return this.active;
  }

  readonly params = {
    /** Deploys a parameter set: an identical earlier set re-activates its version. */
    deploy: (params: ParamSet, options: DeployOptions = {}): Result<Deployed> => {
      try {
        rejectUnknownOptions(options ?? {}, ['source', 'gitSha', 'note', 'at'], 'invalid deploy options');
        const meta = validateDeployMeta(options ?? {}, 'sdk');
        const valid = validateParams(params);
        const at = deployTime(options.at, Date.now(), 'at', true);
        const r = this.ew.ledger.deployParams(this.name, valid, meta, Date.now(), at);
        // A back-dated deploy (a history import) need not be the active one: the latest in time is.
        const active = r.activeVersion === r.version ? undefined : this.ew.ledger.activeDeploy(this.name);
        this.activate(
          active ?? {
            strategy: this.name,
            version: r.version,
            hash: r.hash,
            deployedMs: at,
            source: options.source ?? null,
            gitSha: options.gitSha ?? null,
            note: options.note ?? null,
          },
        );
        this.ew.metrics.initVersion(this.name, versionLabel(r.version));
        this.ew.log.info(
          { strategy: this.name, version: versionLabel(r.version), created: r.created, changes: r.diff.length },
          'parameters deployed',
        );
        return {
          ok: true,
          version: versionLabel(r.version),
          hash: r.hash,
          created: r.created,
          deployedAt: new Date(at),
          previousVersion: r.previousVersion === null ? null : versionLabel(r.previousVersion),
          diff: r.diff,
        };
      } catch (err) {
        return this.ew.fail(this.name, 'params.deploy', err);
      }
    },
    active: (): ActiveVersion | undefined => this.active,
    history: () => this.ew.ledger.deploys(this.name),
    /**
     * Records what a version's backtest promised, as `POST /v1/params/:strategy/:version/expectation`
     * does: `{ summary: { trades, tradesPerDay, pnlMean, pnlSd, returnMean, returnSd, winRatio,
     * maxDrawdown } }` or `{ trades: [{ pnl, return, fees, openedAt, closedAt }] }`, with
     * `periodStart`, `periodEnd`, `feePerTrade`, `source`, `note`. The sidecar then compares the
     * version's live trades with it from the first one (docs/alerting.md, "Live against expected").
     */
    expect: (
      version: string,
      expectation: ExpectationSpec,
    ): Result<{ created: boolean; expectation: ExpectationRecord }> => {
      try {
        const n = typeof version === 'string' ? parseVersionLabel(version) : undefined;
        if (n === undefined)
          throw new ValidationError('invalid expectation', [
            { path: 'version', message: 'must look like "v1", "v2", ...' },
          ]);
        const input = validateExpectation(expectation, 'sdk', Date.now());
        const r = this.ew.ledger.expectations.set(this.name, n, input, Date.now());
        return { ok: true, created: r.created, expectation: r.record };
      } catch (err) {
        return this.ew.fail(this.name, 'params.expect', err);
      }
    },
  };

  readonly trades = {
    /**
     * Records one closed trade. Idempotent by id: the same trade again is a duplicate, other
     * content a conflict. Its variant is `variant`, else the one assigned to `position` by
     * experiments.assign(), else none (plain trading of the active version).
     */
    record: (trade: TradeRecord): Result<{ duplicate: boolean; paramVersion: string }> => {
      try {
        const now = Date.now();
        const { fields, position } = splitPosition(trade);
        const details: ErrorDetail[] = [];
        const t = checkTrade(fields, { style: 'sdk', now, strategy: this.name }, details);
        if (position !== undefined) checkPositionId(position, details);
        if (!t || details.length) throw new ValidationError('invalid trade', details);
        const exp = this.experiment;
        const assigned = position === undefined ? undefined : exp?.positions.get(position as string);
        const variant = t.variant ?? assigned ?? null;
        if (variant !== null) {
          if (!exp)
            throw new ValidationError('invalid trade', [
              { path: 'variant', message: 'no experiment is running for this strategy' },
            ]);
          if (!Object.hasOwn(exp.info.variants, variant))
            throw new ValidationError('invalid trade', [
              {
                path: 'variant',
                message: `unknown variant "${variant}" (variants: ${Object.keys(exp.info.variants).join(', ')})`,
              },
            ]);
          t.experiment = exp.info.name;
          t.variant = variant;
        }
        // The version is left to the ledger (the variant's, or the active one) and not compared
        // on a duplicate: a retry after a redeploy is the same trade, not a conflict.
        const r = this.ew.ledger.insertTrades([t], now);
        // Forgotten only once stored (a duplicate included): a refused or failed record keeps the
        // assignment, so the bot's retry is recorded under the same variant.
        if (position !== undefined) exp?.positions.delete(position as string);
        const version = versionLabel(r.versions[0]);
        if (r.outcomes[0] === 'accepted') this.count(t.pnl, t.fees, t.notional, t.symbol, version);
        return { ok: true, duplicate: r.outcomes[0] === 'duplicate', paramVersion: version };
      } catch (err) {
        return this.ew.fail(this.name, 'trades.record', err);
      }
    },
  };

  private count(pnl: number, fees: number, notional: number | null, symbol: string, version: string): void {
    const m = this.ew.metrics;
    const l = { strategy: this.name, param_version: version };
    const outcome = pnl > 0 ? 'win' : pnl < 0 ? 'loss' : 'flat';
    m.incTracked(m.trades, { ...l, outcome }, 1);
    if (pnl > 0) m.incTracked(m.grossProfit, l, pnl);
    if (pnl < 0) m.incTracked(m.grossLoss, l, -pnl);
    if (fees > 0) m.incTracked(m.fees, l, fees);
    if (notional !== null && notional > 0) m.incTracked(m.volume, { ...l, symbol: this.symbolLabel(symbol) }, notional);
  }

  private symbolLabel(symbol: string): string {
    if (this.symbols.has(symbol)) return symbol;
    if (this.symbols.size < this.maxSymbols) {
      this.symbols.add(symbol);
      return symbol;
    }
    this.ew.metrics.labelRefusals.inc({ strategy: this.name, label: 'symbol' });
    return 'other';
  }

  readonly experiments = {
    /** Starts an experiment; each variant's parameter set becomes a parameter version. */
    start: (spec: ExperimentStart): Result<{ experiment: string; variants: Record<string, string> }> => {
      try {
        if (!isPlainObject(spec))
          throw new ValidationError('invalid experiment', [
            { path: '', message: 'pass { name, variants: { control: {...}, candidate: {...} } }' },
          ]);
        rejectUnknownOptions(spec, ['name', 'variants', 'allocation', 'at'], 'invalid experiment');
        const { variants, allocation } = validateExperiment(spec.name, spec.variants, spec.allocation);
        if (this.experiment)
          throw new ConflictError(`experiment "${this.experiment.info.name}" is still running: stop it first`, [
            { path: 'name', message: 'one experiment at a time per strategy' },
          ]);
        const at = eventTime(spec.at, 'invalid experiment');
        const params = resolveVariants(this.name, variants, (n) => this.ew.ledger.getVersion(this.name, n)?.params);
        const info = this.ew.ledger.startExperiment(this.name, spec.name, params, allocation, at);
        this.setExperiment(info);
        for (const n of Object.values(info.variants)) this.ew.metrics.initVersion(this.name, versionLabel(n));
        this.retainVersions();
        this.ew.log.info(
          { strategy: this.name, experiment: spec.name, variants: Object.keys(variants) },
          'experiment started',
        );
        return {
          ok: true,
          experiment: spec.name,
          variants: Object.fromEntries(Object.entries(info.variants).map(([k, n]) => [k, versionLabel(n)])),
        };
      } catch (err) {
        return this.ew.fail(this.name, 'experiments.start', err);
      }
    },
    /**
     * Which variant a new position runs, or undefined when no experiment is running (trade the
     * active version). Call it when the position opens:
     *
     *     const a = s.experiments.assign({ position: order.id });
     *     ... trade with a?.params ?? s.activeVersion?.params ...
     *     s.trades.record({ id: fill.id, position: order.id, ... });   // recorded under a.variant
     *
     * The choice follows the allocation weights; it is a stable hash of `key` (default: the
     * position id; neither: random), so assigning the same position again after a restart
     * gives the same variant back. The variant is remembered per position until the trade
     * naming that position is recorded, so overlapping positions of different variants are
     * each recorded under their own; assigning a position again replaces its variant. At most
     * `maxAssignedPositions` are remembered (oldest forgotten first) and all are dropped when
     * the experiment stops. `assign('key')` (a string) is `assign({ key })`: it remembers
     * nothing, and the bot passes `variant` to trades.record itself. An invalid position id
     * is reported like any failed call and returns undefined (the active version).
     */
    assign: (keyOrOptions?: string | AssignOptions): Assignment | undefined => {
      let key: string | undefined;
      let position: string | undefined;
      if (typeof keyOrOptions === 'string' || keyOrOptions === undefined) key = keyOrOptions;
      else {
        try {
          if (!isPlainObject(keyOrOptions))
            throw new ValidationError('invalid assign', [
              { path: '', message: 'pass a key string or { position, key }' },
            ]);
          const details = unknownKeyDetails(keyOrOptions, ['position', 'key']);
          if (keyOrOptions.position !== undefined) checkPositionId(keyOrOptions.position, details);
          if (keyOrOptions.key !== undefined && typeof keyOrOptions.key !== 'string')
            details.push({ path: 'key', message: 'must be a string' });
          if (details.length) throw new ValidationError('invalid assign', details);
        } catch (err) {
          this.ew.fail(this.name, 'experiments.assign', err);
          return undefined;
        }
        const opts = keyOrOptions as AssignOptions;
        position = opts.position;
        key = opts.key ?? position;
      }
      // Checked before the experiment is, so a bad position id shows before any experiment runs.
      const exp = this.experiment;
      if (!exp) return undefined;
      const total = exp.weights.reduce((s, [, w]) => s + w, 0);
      const u =
        key === undefined
          ? Math.random()
          : createHash('sha256').update(`${exp.info.name}\u0000${key}`).digest().readUInt32BE(0) / 2 ** 32;
      let acc = 0;
      let chosen = exp.weights[exp.weights.length - 1][0];
      for (const [v, w] of exp.weights) {
        acc += w / total;
        if (u < acc) {
          chosen = v;
          break;
        }
      }
      if (position !== undefined) this.remember(exp, position, chosen);
      return {
        experiment: exp.info.name,
        variant: chosen,
        paramVersion: versionLabel(exp.info.variants[chosen]),
        params: exp.params[chosen],
      };
    },
    /** The variant remembered for an open position, if any (what trades.record({ position }) would use). */
    variantOf: (position: string): string | undefined => this.experiment?.positions.get(position),
    running: (): ExperimentInfo | undefined => this.experiment?.info,
    stop: (
      name: string,
      options: { outcome?: string; winner?: string; at?: Date | number | string } = {},
    ): Result<{ experiment: string }> => {
      try {
        rejectUnknownOptions(options ?? {}, ['outcome', 'winner', 'at'], 'invalid stop options');
        const at = eventTime(options.at, 'invalid stop');
        const stop = validateStop(options.outcome, options.winner);
        if (!this.experiment || this.experiment.info.name !== name)
          throw new NotFoundError(`no running experiment "${name}" for strategy "${this.name}"`);
        this.ew.ledger.stopExperiment(this.name, name, stop.outcome, stop.winner, at);
        for (const variant of Object.keys(this.experiment.info.variants))
          this.ew.metrics.experimentInfo.remove({ strategy: this.name, experiment: name, variant });
        this.experiment = undefined; // and with it the remembered positions
        this.retainVersions();
        return { ok: true, experiment: name };
      } catch (err) {
        return this.ew.fail(this.name, 'experiments.stop', err);
      }
    },
  };

  private remember(exp: RunningExperiment, position: string, variant: string): void {
    // Delete first so that a re-assigned position moves to the newest end of the eviction order.
    exp.positions.delete(position);
    exp.positions.set(position, variant);
    if (exp.positions.size <= this.maxPositions) return;
    const oldest = exp.positions.keys().next().value as string;
    exp.positions.delete(oldest);
    exp.evicted++;
    // Logged at 1, 10, 100... evictions: visible without flooding the log of a bot that
    // assigns positions it never records.
    if (Number.isInteger(Math.log10(exp.evicted)))
      this.ew.log.warn(
        {
          strategy: this.name,
          experiment: exp.info.name,
          position: oldest,
          evicted: exp.evicted,
          maxAssignedPositions: this.maxPositions,
        },
        'experiment assignment of an unrecorded position forgotten: its trade will carry no variant (record trades with { position }, or raise maxAssignedPositions)',
      );
  }

  /** The loop is alive: updates the last-success gauge now and the ledger heartbeat at most every 10 s. */
  heartbeat(): Result<object> {
    const now = Date.now();
    this.ew.metrics.loopLastSuccess.set({ strategy: this.name }, now / 1000);
    if (now - this.lastLedgerBeat < this.heartbeatIntervalMs) return { ok: true };
    try {
      this.ew.ledger.heartbeat(this.name, now);
      this.lastLedgerBeat = now;
      return { ok: true };
    } catch (err) {
      return this.ew.fail(this.name, 'heartbeat', err);
    }
  }

  /**
   * Runs one iteration of the bot's main loop: times it and, when it succeeds, counts it and
   * beats the heartbeat. The bot's own error is rethrown untouched (it is the bot's, not ours).
   */
  async iteration<T>(fn: () => T | Promise<T>): Promise<T> {
    const end = this.ew.metrics.loopDuration.startTimer({ strategy: this.name });
    const value = await fn();
    end();
    this.ew.metrics.loopIterations.inc({ strategy: this.name });
    this.heartbeat();
    return value;
  }

  readonly orders = {
    /** Counts an order by final status, with its latency when known. */
    record: (order: { status: OrderStatus; latencySeconds?: number }): Result<object> => {
      try {
        const details: ErrorDetail[] = [];
        if (!isPlainObject(order) || !ORDER_STATUSES.includes(order.status))
          details.push({ path: 'status', message: `must be one of ${ORDER_STATUSES.join(', ')}` });
        const lat = (order as { latencySeconds?: unknown })?.latencySeconds;
        if (lat !== undefined && (typeof lat !== 'number' || !Number.isFinite(lat) || lat < 0))
          details.push({ path: 'latencySeconds', message: 'must be a finite number ≥ 0' });
        if (details.length) throw new ValidationError('invalid order', details);
        const l = { strategy: this.name, param_version: versionLabel(this.activeNumber) };
        this.ew.metrics.incTracked(this.ew.metrics.orders, { ...l, status: order.status }, 1);
        if (lat !== undefined) {
          this.ew.metrics.orderLatency.observe(l, lat as number);
          this.ew.metrics.track(this.ew.metrics.orderLatency, l);
        }
        return { ok: true };
      } catch (err) {
        return this.ew.fail(this.name, 'orders.record', err);
      }
    },
  };

  setEquity(value: number): Result<object> {
    return this.setGauge('equity', value, false);
  }

  setOpenPositions(value: number): Result<object> {
    return this.setGauge('openPositions', value, true);
  }

  private setGauge(which: 'equity' | 'openPositions', value: number, nonNegative: boolean): Result<object> {
    if (typeof value !== 'number' || !Number.isFinite(value) || (nonNegative && value < 0))
      return this.ew.fail(
        this.name,
        which === 'equity' ? 'setEquity' : 'setOpenPositions',
        new ValidationError(`invalid ${which}`, [
          { path: which, message: nonNegative ? 'must be a finite number ≥ 0' : 'must be a finite number' },
        ]),
      );
    this.ew.metrics[which].set({ strategy: this.name }, value);
    return { ok: true };
  }
}

/** Separates the SDK-only `position` from the fields checkTrade knows (it refuses unknown ones). */
function splitPosition(trade: TradeRecord): { fields: unknown; position: unknown } {
  if (!isPlainObject(trade) || !Object.hasOwn(trade, 'position')) return { fields: trade, position: undefined };
  const { position, ...fields } = trade as Record<string, unknown>;
  return { fields, position };
}

/** A position id follows the trade id rule: a non-empty string without control characters. */
function checkPositionId(position: unknown, details: ErrorDetail[]): void {
  const fail = (message: string) => details.push({ path: 'position', message });
  if (typeof position !== 'string') fail("must be a string (the bot's id of the position)");
  else if (position === '') fail('must not be empty');
  else if (position.length > MAX_ID_LENGTH) fail(`at most ${MAX_ID_LENGTH} characters`);
  else if (/[\u0000-\u001f\u007f]/.test(position)) fail('must not contain control characters');
}

/**
 * The time of a deploy or an experiment start/stop: now by default, else parsed like a trade
 * time (same forms, same leap-second clamp), so no time the SDK takes is read two ways.
 */
function eventTime(at: unknown, what: string): number {
  if (at === undefined) return Date.now();
  const c = checkTime(at, true);
  if (c.error !== undefined) throw new ValidationError(what, [{ path: 'at', message: c.error }]);
  return c.ms;
}

/** Opens the ledger and the metrics for a bot. Configuration mistakes throw ConfigError here. */
