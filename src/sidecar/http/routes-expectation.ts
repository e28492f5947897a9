// POST and GET /v1/params/:strategy/:version/expectation: what a parameter version's backtest
// promised (summary figures, or the trade list from which the sidecar computes them), behind
// the app's write and read gates; errors go through the app's one error handler (400 with
// details, 404, 503 on a storage fault).
import type express from 'express';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { ExpectationRecord } from '../../ledger/expectations.js';
import { validateExpectation } from '../../model/expectation.js';
import { parseVersionLabel, versionLabel } from '../../model/names.js';
import type { ExpectationReading } from '../expectation-runs.js';
import type { AppContext } from './context.js';
import { readGate, writeGate } from './gates.js';
import { pathName } from './request.js';

const PATH = '/v1/params/:strategy/:version/expectation';

export function registerExpectationRoutes(app: express.Express, ctx: AppContext): void {
  const now = ctx.now ?? Date.now;
  const write = writeGate(ctx);
  const read = readGate(ctx.readTokens ?? [], 'EDGEWATCH_TOKEN or EDGEWATCH_READ_TOKEN');

  app.post(PATH, ...write('expectations'), (req, res) => {
    const { strategy, version } = target(req.params.strategy, req.params.version);
    const input = validateExpectation(req.body, 'wire', now());
    const r = ctx.ledger.expectations.set(strategy, version, input, now());
    ctx.metrics.ingestEvents.inc({ kind: 'expectations', result: r.created ? 'accepted' : 'duplicate' });
    res.status(r.created ? 201 : 200).json({
      strategy,
      param_version: versionLabel(version),
      created: r.created,
      expectation: expectationJson(r.record),
    });
  });

  app.get(PATH, read, (req, res) => {
    const { strategy, version } = target(req.params.strategy, req.params.version);
    const outcomes = req.query.outcomes;
    const withOutcomes = outcomes === 'true' || outcomes === '1';
    if (outcomes !== undefined && !withOutcomes && outcomes !== 'false' && outcomes !== '0')
      throw new ValidationError('invalid query', [{ path: 'outcomes', message: 'must be true or false' }]);
    const e = ctx.ledger.expectations.latest(strategy, version);
    if (!e && !ctx.ledger.versions(strategy).some((v) => v.version === version))
      throw new NotFoundError(`strategy "${strategy}" has no version ${versionLabel(version)}`);
    if (!e)
      throw new NotFoundError(
        `version ${versionLabel(version)} of "${strategy}" has no expectation: POST one to /v1/params/${strategy}/${versionLabel(version)}/expectation`,
      );
    res.json({
      strategy,
      param_version: versionLabel(version),
      expectation: expectationJson(e),
      live: live(ctx, now(), strategy, version),
      ...(withOutcomes
        ? {
            outcomes: ctx.ledger.expectations.outcomes(e.seq).map((o) => (o.ret === null ? [o.pnl] : [o.pnl, o.ret])),
          }
        : {}),
    });
  });
}

/**
 * The strategy and version label a path names (a 400 when malformed). Whether the version
 * exists is the ledger's to say, inside its read or write, so a storage fault is a 503.
 */
function target(strategy: unknown, label: unknown): { strategy: string; version: number } {
  const name = pathName(strategy, 'strategy');
  const version = typeof label === 'string' ? parseVersionLabel(label) : undefined;
  if (version === undefined)
    throw new ValidationError('invalid version', [{ path: 'version', message: 'must look like "v1", "v2", ...' }]);
  return { strategy: name, version };
}

/** The version's live comparison, when it is the strategy's active version (else null). */
function live(ctx: AppContext, t: number, strategy: string, version: number) {
  ctx.engine.refresh(t);
  const r = ctx.engine.expectations.read(strategy, ctx.ledger.deploys(strategy), t);
  return r && r.version === version ? comparisonJson(r) : null;
}

/** The comparison as the HTTP API shows it (outcome units: return on notional or quote currency). */
export function comparisonJson(r: ExpectationReading) {
  return {
    outcome: r.outcome,
    since: new Date(r.startMs).toISOString(),
    trades: r.trades,
    expected_per_trade: r.expected?.mean ?? null,
    live_per_trade: r.live?.mean ?? null,
    difference: r.difference
      ? { value: r.difference.value, lower_95: r.difference.lower, upper_95: r.difference.upper, z: r.difference.z }
      : null,
    cusum: Object.fromEntries((r.cusum ?? []).map((c) => [String(c.shift), c.llr])),
    trades_expected: r.rate.expected,
    trade_rate_ratio: r.rate.ratio ?? null,
    trade_rate_p_fewer: r.rate.pFewer,
    trade_rate_p_more: r.rate.pMore,
    max_drawdown: r.drawdown.live,
    drawdown_ratio: r.drawdown.ratio ?? null,
    costs: r.costs
      ? {
          live_fee_per_trade: r.costs.liveFeePerTrade,
          assumed_fee_per_trade: r.costs.assumedFeePerTrade,
          costs_difference: r.costs.costs,
          edge_difference: r.costs.edge,
          net_difference: r.costs.net,
        }
      : null,
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** An expectation as the HTTP API and `edgewatch params expectation --json` show it. */
export function expectationJson(e: ExpectationRecord) {
  const s = e.summary;
  return {
    trades: s.trades,
    trades_per_day: s.tradesPerDay,
    pnl_mean: s.pnl?.mean ?? null,
    pnl_sd: s.pnl?.sd ?? null,
    return_mean: s.ret?.mean ?? null,
    return_sd: s.ret?.sd ?? null,
    win_ratio: s.winRatio,
    max_drawdown: s.maxDrawdown,
    fee_per_trade: s.feePerTrade,
    period_start: iso(s.periodStartMs),
    period_end: iso(s.periodEndMs),
    variance_inflation: s.inflation,
    outcomes_stored: e.outcomes,
    outcomes_dropped: e.outcomesDropped,
    source: e.source,
    note: e.note,
    created_at: iso(e.createdMs),
    previous_expectations: e.previous,
  };
}
