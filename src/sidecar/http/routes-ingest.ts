// The write routes: trades, parameter deploys, experiments and heartbeats. Each validates its
// body in model/ (shared with the SDK), writes the ledger in one transaction, and counts the
// event in edgewatch_ingest_events_total; refusals are counted by the error handler.
import type express from 'express';
import { ValidationError, NotFoundError, type ErrorDetail } from '../../errors.js';
import { resolveVariants, validateExperiment, validateStop } from '../../model/experiment.js';
import { checkName, versionLabel } from '../../model/names.js';
import { deployTime, validateDeployMeta, validateParams } from '../../model/params.js';
import { validateTradeBody } from '../../model/trade.js';
import type { AppContext } from './context.js';
import { writeGate } from './gates.js';
import { objectBody } from './request.js';
import { experimentJson } from './shapes.js';

export function registerIngestRoutes(app: express.Express, ctx: AppContext): void {
  const now = ctx.now ?? Date.now;
  const write = writeGate(ctx);

  app.post('/v1/trades', ...write('trades'), (req, res) => {
    const trades = validateTradeBody(req.body, now());
    const r = ctx.ledger.insertTrades(trades, now());
    if (r.accepted) ctx.metrics.ingestEvents.inc({ kind: 'trades', result: 'accepted' }, r.accepted);
    if (r.duplicates) ctx.metrics.ingestEvents.inc({ kind: 'trades', result: 'duplicate' }, r.duplicates);
    res.status(r.accepted ? 201 : 200).json({ accepted: r.accepted, duplicates: r.duplicates });
  });

  app.post('/v1/params', ...write('params'), (req, res) => {
    const body = objectBody(req.body, ['strategy', 'params', 'source', 'git_sha', 'note', 'deployed_at']);
    const details: ErrorDetail[] = [];
    checkName(body.strategy, 'strategy', details);
    if (details.length) throw new ValidationError('invalid deploy', details);
    const meta = validateDeployMeta({ source: body.source, gitSha: body.git_sha, note: body.note }, 'wire');
    const params = validateParams(body.params);
    const t = deployTime(body.deployed_at, now(), 'deployed_at', false);
    const r = ctx.ledger.deployParams(body.strategy as string, params, meta, now(), t);
    ctx.metrics.ingestEvents.inc({ kind: 'params', result: 'accepted' });
    res.status(r.created ? 201 : 200).json({
      param_version: versionLabel(r.version),
      hash: r.hash,
      created: r.created,
      previous_version: r.previousVersion === null ? null : versionLabel(r.previousVersion),
      deployed_at: new Date(t).toISOString(),
      active_version: versionLabel(r.activeVersion),
      reattributed_trades: r.reattributed,
      diff: r.diff,
    });
  });

  app.post('/v1/experiments', ...write('experiments'), (req, res) => {
    const body = objectBody(req.body, ['strategy', 'name', 'variants', 'allocation', 'planned_trades_per_arm']);
    const details: ErrorDetail[] = [];
    checkName(body.strategy, 'strategy', details);
    if (details.length) throw new ValidationError('invalid experiment', details);
    const { variants, allocation, plannedTrades } = validateExperiment(
      body.name,
      body.variants,
      body.allocation,
      body.planned_trades_per_arm,
    );
    // One running experiment per strategy: the ledger refuses a second one (ConflictError).
    const strategy = body.strategy as string;
    const params = resolveVariants(strategy, variants, (n) => ctx.ledger.getVersion(strategy, n)?.params);
    const info = ctx.ledger.startExperiment(strategy, body.name as string, params, allocation, now(), plannedTrades);
    ctx.metrics.ingestEvents.inc({ kind: 'experiments', result: 'accepted' });
    res.status(201).json(experimentJson(info));
  });

  app.post('/v1/experiments/:name/stop', ...write('experiments'), (req, res) => {
    // No body at all means no options; a JSON null is not an object, as everywhere else.
    const body = objectBody(req.body === undefined ? {} : req.body, ['strategy', 'outcome', 'winner']);
    const name = String(req.params.name);
    const details: ErrorDetail[] = [];
    checkName(name, 'name', details);
    if (body.strategy !== undefined) checkName(body.strategy, 'strategy', details);
    if (details.length) throw new ValidationError('invalid stop', details);
    const stop = validateStop(body.outcome, body.winner);
    let strategy = body.strategy as string | undefined;
    if (strategy === undefined) {
      const matches = ctx.ledger.experiments().filter((e) => e.name === name && e.stoppedMs === null);
      if (matches.length === 0) throw new NotFoundError(`no running experiment "${name}"`);
      if (matches.length > 1)
        throw new ValidationError('ambiguous experiment', [
          { path: 'strategy', message: `several strategies run "${name}": name the strategy` },
        ]);
      strategy = matches[0].strategy;
    }
    const info = ctx.ledger.stopExperiment(strategy, name, stop.outcome, stop.winner, now());
    ctx.metrics.ingestEvents.inc({ kind: 'experiments', result: 'accepted' });
    res.json(experimentJson(info));
  });

  app.post('/v1/heartbeat', ...write('heartbeat'), (req, res) => {
    const body = objectBody(req.body, ['strategy']);
    const details: ErrorDetail[] = [];
    checkName(body.strategy, 'strategy', details);
    if (details.length) throw new ValidationError('invalid heartbeat', details);
    const t = now();
    ctx.ledger.heartbeat(body.strategy as string, t);
    ctx.metrics.ingestEvents.inc({ kind: 'heartbeat', result: 'accepted' });
    res.json({ strategy: body.strategy, at: new Date(t).toISOString() });
  });
}
