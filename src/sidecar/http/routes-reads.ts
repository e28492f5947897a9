// The read API: parameter versions and deploys, diffs, experiments and the report. Reads for one
// strategy compute that strategy's snapshot only.
import type express from 'express';
import { NotFoundError, ValidationError } from '../../errors.js';
import { versionLabel } from '../../model/names.js';
import { diffParams } from '../../model/params.js';
import { WINDOWS, type WindowName } from '../engine.js';
import { buildReport, renderMarkdown } from '../report.js';
import { snapshot, snapshotOf } from '../snapshot.js';
import type { AppContext } from './context.js';
import { readGate } from './gates.js';
import { iso, pathName, queryName, queryText, versionNamed } from './request.js';
import { experimentJson, experimentTestsJson } from './shapes.js';

export function registerReadRoutes(app: express.Express, ctx: AppContext): void {
  const now = ctx.now ?? Date.now;
  const read = readGate(ctx.readTokens ?? [], 'EDGEWATCH_TOKEN or EDGEWATCH_READ_TOKEN');

  app.get('/v1/params', read, (req, res) => {
    const strategy = queryName(req, 'strategy');
    const deploys = ctx.ledger.deploys(strategy);
    const active = deploys[deploys.length - 1];
    res.json({
      strategy,
      active_version: active ? versionLabel(active.version) : null,
      versions: ctx.ledger.versions(strategy).map((v) => ({
        param_version: versionLabel(v.version),
        hash: v.hash,
        created_at: iso(v.createdMs),
        params: v.params,
      })),
      deploys: deploys.map((d) => ({
        param_version: versionLabel(d.version),
        hash: d.hash,
        deployed_at: iso(d.deployedMs),
        source: d.source,
        git_sha: d.gitSha,
        note: d.note,
      })),
    });
  });

  app.get('/v1/params/:strategy/diff', read, (req, res) => {
    const strategy = pathName(req.params.strategy, 'strategy');
    const from = versionNamed(ctx.ledger, strategy, queryText(req, 'from', ''), 'from');
    const to = versionNamed(ctx.ledger, strategy, queryText(req, 'to', ''), 'to');
    res.json({
      strategy,
      from: versionLabel(from.version),
      to: versionLabel(to.version),
      diff: diffParams(from.params, to.params),
    });
  });

  app.get('/v1/params/:strategy/:version', read, (req, res) => {
    const strategy = pathName(req.params.strategy, 'strategy');
    const v = versionNamed(ctx.ledger, strategy, String(req.params.version), 'version');
    const deploys = ctx.ledger.deploys(strategy).filter((d) => d.version === v.version);
    ctx.engine.refresh(now());
    const stats = snapshotOf(ctx.engine, ctx.ledger, strategy, now(), {
      keepVersions: Number.MAX_SAFE_INTEGER,
      thresholds: ctx.thresholds,
    })?.versions.find((x) => x.version === v.version)?.stats;
    res.json({
      strategy,
      param_version: versionLabel(v.version),
      hash: v.hash,
      created_at: iso(v.createdMs),
      params: v.params,
      deploys: deploys.map((d) => ({
        deployed_at: iso(d.deployedMs),
        source: d.source,
        git_sha: d.gitSha,
        note: d.note,
      })),
      stats: stats ?? { trades: 0 },
    });
  });

  app.get('/v1/experiments', read, (req, res) => {
    const strategy = req.query.strategy === undefined ? undefined : queryName(req, 'strategy');
    ctx.engine.refresh(now());
    const opts = {
      keepVersions: ctx.keepVersions,
      thresholds: ctx.thresholds,
      stoppedExperiments: true,
      fixedSample: true,
    };
    const snaps =
      strategy === undefined
        ? snapshot(ctx.engine, ctx.ledger, now(), opts)
        : [snapshotOf(ctx.engine, ctx.ledger, strategy, now(), opts)].filter((x) => x !== undefined);
    const out = [];
    for (const s of snaps) {
      for (const e of s.experiments) {
        const info = ctx.ledger.getExperiment(s.strategy, e.name);
        out.push({
          ...(info ? experimentJson(info) : { strategy: s.strategy, name: e.name }),
          stats: Object.fromEntries(e.variants.map((v) => [v.variant, v.stats])),
          ...experimentTestsJson(e, s.thresholds.experiment_p_value),
        });
      }
    }
    res.json({ experiments: out });
  });

  app.get('/v1/report', read, (req, res) => {
    const strategy = queryName(req, 'strategy');
    const window = queryText(req, 'window', '24h');
    if (!Object.hasOwn(WINDOWS, window))
      throw new ValidationError('invalid query', [{ path: 'window', message: 'must be 1h, 24h or 7d' }]);
    const format = queryText(req, 'format', 'json');
    if (format !== 'json' && format !== 'markdown' && format !== 'md')
      throw new ValidationError('invalid query', [{ path: 'format', message: 'must be json or markdown' }]);
    const t = now();
    ctx.engine.refresh(t);
    const s = snapshotOf(ctx.engine, ctx.ledger, strategy, t, {
      keepVersions: ctx.keepVersions,
      thresholds: ctx.thresholds,
      stoppedExperiments: true,
      fixedSample: true,
    });
    if (!s) throw new NotFoundError(`no strategy "${strategy}" in the ledger`);
    const report = buildReport(s, window as WindowName, t);
    if (format === 'json') res.json(report);
    else res.type('text/markdown; charset=utf-8').send(renderMarkdown(report));
  });
}
