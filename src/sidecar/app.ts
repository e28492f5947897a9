// The sidecar's HTTP interface: /metrics computed on scrape, the ingestion API for bots in
// any language, and the read API. A 2xx answer is sent only after the ledger committed.
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  ConflictError,
  EdgewatchError,
  LedgerError,
  LimitError,
  NotFoundError,
  ValidationError,
  type ErrorDetail,
  type LedgerFault,
} from '../errors.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../log.js';
import { checkName, isPlainObject, parseVersionLabel, versionLabel } from '../model/names.js';
import { deployTime, diffParams, validateDeployMeta, validateParams } from '../model/params.js';
import { validateTradeBody } from '../model/trade.js';
import { resolveVariants, validateExperiment, validateStop } from '../model/experiment.js';
import { WINDOWS, type WindowEngine, type WindowName } from './engine.js';
import type { SidecarMetrics } from './exposition.js';
import { buildReport, renderMarkdown } from './report.js';
import { snapshot } from './snapshot.js';
import type { ThresholdConfig } from './thresholds.js';
import { readCredentialMatches, tokenMatches, tokenlessRefusal } from './auth.js';
import { renderRunbook } from './runbook.js';

export interface AppContext {
  ledger: Ledger;
  engine: WindowEngine;
  metrics: SidecarMetrics;
  log: Logger;
  thresholds: ThresholdConfig;
  keepVersions: number;
  /** Bearer token for writes; undefined: writes only when `writesOpen`. */
  token?: string;
  /** True when listening on loopback without a token. */
  writesOpen: boolean;
  /** Tokens that open the read API and /runbook (write and read token); empty: reads are open. */
  readTokens?: string[];
  /** Tokens that open /metrics (metrics, read and write token); empty: /metrics is open. */
  metricsTokens?: string[];
  /** The runbook's Markdown, served as HTML at /runbook; undefined: /runbook is a 404 saying why. */
  runbook?: string;
  now?: () => number;
}

export const MAX_BODY = '1mb';

/** A scrape reuses a readiness check younger than this (ms); /readyz always checks afresh. */
const READY_REUSE_MS = 1000;

export function createApp(ctx: AppContext): express.Express {
  const now = ctx.now ?? Date.now;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  // Readiness is computed by /readyz and by every scrape, so edgewatch_ready is right from the
  // first scrape, not 0 until a probe happens to call /readyz. The check is a write that
  // changes nothing (one small transaction); a scrape reuses a result younger than
  // READY_REUSE_MS, so frequent scrapes cost at most one check a second.
  let lastCheck: { atMs: number; error?: Error } | undefined;
  const checkReady = (reuse: boolean): Error | undefined => {
    const t = performance.now();
    if (reuse && lastCheck && t - lastCheck.atMs < READY_REUSE_MS) return lastCheck.error;
    let error: Error | undefined;
    try {
      ctx.ledger.checkWritable();
    } catch (err) {
      error = err as Error;
    }
    lastCheck = { atMs: t, error };
    ctx.metrics.ready.set(error ? 0 : 1);
    return error;
  };

  app.get('/readyz', (_req, res) => {
    const err = checkReady(false);
    if (err === undefined) {
      res.json({ ready: true });
      return;
    }
    const fault = err instanceof LedgerError ? err.fault : undefined;
    res.status(503).json({ ready: false, error: withHint(err.message, fault), ...(fault ? { fault } : {}) });
  });

  // Reads need a token once one is set. Basic is offered first so that a browser following an
  // alert's runbook or report link asks for it (the token as password, any user name).
  const gate = (tokens: string[], which: string) => (req: Request, res: Response, next: NextFunction) => {
    if (tokens.length === 0 || readCredentialMatches(req.get('authorization'), tokens)) {
      next();
      return;
    }
    res.set('WWW-Authenticate', ['Basic realm="edgewatch", charset="UTF-8"', 'Bearer realm="edgewatch"']);
    res.status(401).json({
      error: `missing or wrong token: send Authorization: Bearer <${which}> (or HTTP Basic with it as password)`,
      details: [],
    });
  };
  const read = gate(ctx.readTokens ?? [], 'EDGEWATCH_TOKEN or EDGEWATCH_READ_TOKEN');
  const metricsGate = gate(ctx.metricsTokens ?? [], 'EDGEWATCH_METRICS_TOKEN');

  // The runbook where the alerts link to it: rendered once, served like any read.
  const runbookHtml = ctx.runbook === undefined ? undefined : renderRunbook(ctx.runbook);
  app.get('/runbook', read, (_req, res) => {
    if (runbookHtml === undefined)
      throw new NotFoundError('the runbook (docs/runbook.md) is not installed next to the sidecar');
    res
      .set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'")
      .type('text/html; charset=utf-8')
      .send(runbookHtml);
  });

  app.get('/metrics', metricsGate, async (_req, res) => {
    const started = performance.now();
    const t = now();
    try {
      ctx.engine.refresh(t);
      ctx.metrics.ledgerTrades.set(ctx.engine.tradesSeen);
    } catch (err) {
      ctx.metrics.scrapeErrors.inc({ stage: 'refresh' });
      ctx.log.error({ err: (err as Error).message }, 'reading new trades failed; serving what is known');
    }
    try {
      ctx.metrics.apply(
        snapshot(ctx.engine, ctx.ledger, t, { keepVersions: ctx.keepVersions, thresholds: ctx.thresholds }),
      );
    } catch (err) {
      ctx.metrics.scrapeErrors.inc({ stage: 'snapshot' });
      ctx.log.error({ err: (err as Error).message }, 'computing windows failed; serving the previous values');
    }
    checkReady(true);
    ctx.metrics.scrapeDuration.set((performance.now() - started) / 1000);
    res.set('Content-Type', ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });

  // ---- writes ----
  const json = express.json({ limit: MAX_BODY, strict: false, type: () => true });
  const write = (kind: string) => [
    (req: Request, res: Response, next: NextFunction) => {
      if (ctx.token !== undefined ? !tokenMatches(req.get('authorization'), ctx.token) : !ctx.writesOpen) {
        ctx.metrics.ingestEvents.inc({ kind, result: 'unauthorized' });
        res.status(401).json({
          error:
            ctx.token !== undefined
              ? 'missing or wrong bearer token: send Authorization: Bearer <EDGEWATCH_TOKEN>'
              : 'writes are disabled: the sidecar listens beyond loopback without EDGEWATCH_TOKEN',
          details: [],
        });
        return;
      }
      const refusal =
        ctx.token === undefined
          ? tokenlessRefusal(req.socket.remoteAddress, req.get('host'), req.get('origin'))
          : undefined;
      if (refusal !== undefined) {
        ctx.metrics.ingestEvents.inc({ kind, result: 'unauthorized' });
        res.status(403).json({ error: `write refused without EDGEWATCH_TOKEN: ${refusal}`, details: [] });
        return;
      }
      if (req.is('application/json') === false) {
        ctx.metrics.ingestEvents.inc({ kind, result: 'rejected' });
        res.status(415).json({ error: 'the body must be JSON: send Content-Type: application/json', details: [] });
        return;
      }
      res.locals.kind = kind;
      next();
    },
    json,
  ];

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
    const body = objectBody(req.body, ['strategy', 'name', 'variants', 'allocation']);
    const details: ErrorDetail[] = [];
    checkName(body.strategy, 'strategy', details);
    if (details.length) throw new ValidationError('invalid experiment', details);
    const { variants, allocation } = validateExperiment(body.name, body.variants, body.allocation);
    // One running experiment per strategy: the ledger refuses a second one (ConflictError).
    const strategy = body.strategy as string;
    const params = resolveVariants(strategy, variants, (n) => ctx.ledger.getVersion(strategy, n)?.params);
    const info = ctx.ledger.startExperiment(strategy, body.name as string, params, allocation, now());
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

  // ---- reads ----
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
    const from = version(req, ctx.ledger, strategy, queryText(req, 'from', ''), 'from');
    const to = version(req, ctx.ledger, strategy, queryText(req, 'to', ''), 'to');
    res.json({
      strategy,
      from: versionLabel(from.version),
      to: versionLabel(to.version),
      diff: diffParams(from.params, to.params),
    });
  });

  app.get('/v1/params/:strategy/:version', read, (req, res) => {
    const strategy = pathName(req.params.strategy, 'strategy');
    const v = version(req, ctx.ledger, strategy, String(req.params.version), 'version');
    const deploys = ctx.ledger.deploys(strategy).filter((d) => d.version === v.version);
    ctx.engine.refresh(now());
    const stats = snapshot(ctx.engine, ctx.ledger, now(), {
      keepVersions: Number.MAX_SAFE_INTEGER,
      thresholds: ctx.thresholds,
    })
      .find((s) => s.strategy === strategy)
      ?.versions.find((x) => x.version === v.version)?.stats;
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
    const snaps = snapshot(ctx.engine, ctx.ledger, now(), {
      keepVersions: ctx.keepVersions,
      thresholds: ctx.thresholds,
      stoppedExperiments: true,
    });
    const out = [];
    for (const s of snaps) {
      if (strategy !== undefined && s.strategy !== strategy) continue;
      for (const e of s.experiments) {
        const info = ctx.ledger.getExperiment(s.strategy, e.name);
        out.push({
          ...(info ? experimentJson(info) : { strategy: s.strategy, name: e.name }),
          stats: Object.fromEntries(e.variants.map((v) => [v.variant, v.stats])),
          tests: e.tests.map((t) => ({
            variant: t.variant,
            against: 'control',
            t: t.result.t,
            df: t.result.df,
            p_value: t.result.pValue,
          })),
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
    const s = snapshot(ctx.engine, ctx.ledger, t, {
      keepVersions: ctx.keepVersions,
      thresholds: ctx.thresholds,
      stoppedExperiments: true,
    }).find((x) => x.strategy === strategy);
    if (!s) throw new NotFoundError(`no strategy "${strategy}" in the ledger`);
    const report = buildReport(s, window as WindowName, t);
    if (format === 'json') res.json(report);
    else res.type('text/markdown; charset=utf-8').send(renderMarkdown(report));
  });

  app.use((req, res) => {
    res.status(404).json({ error: `no route ${req.method} ${req.path}`, details: [] });
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const kind = (res.locals.kind as string | undefined) ?? 'read';
    const { status, body, result } = errorResponse(err);
    if (kind !== 'read') ctx.metrics.ingestEvents.inc({ kind, result });
    if (status >= 500) ctx.log.error({ err: (err as Error)?.message, kind }, 'request failed');
    else ctx.log.debug({ err: body.error, kind }, 'request refused');
    if (status === 503) res.set('Retry-After', '5');
    // A storage fault seen by a write: the next scrape checks readiness afresh, not from memory.
    if (err instanceof LedgerError) lastCheck = undefined;
    res.status(status).json(body);
  });

  return app;
}

function errorResponse(err: unknown): {
  status: number;
  body: { error: string; details: ErrorDetail[]; fault?: string };
  result: string;
} {
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.too.large')
    return { status: 413, body: { error: `body larger than ${MAX_BODY}`, details: [] }, result: 'rejected' };
  if (e?.type === 'entity.parse.failed')
    return {
      status: 400,
      body: { error: 'malformed JSON', details: [{ path: '', message: String(e.message).slice(0, 200) }] },
      result: 'rejected',
    };
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported')
    return { status: 415, body: { error: 'unsupported body encoding', details: [] }, result: 'rejected' };
  if (e?.status === 400 || e?.type === 'request.aborted')
    return { status: 400, body: { error: 'bad request body', details: [] }, result: 'rejected' };
  if (err instanceof ValidationError)
    return { status: 400, body: { error: err.summary, details: err.details }, result: 'rejected' };
  if (err instanceof ConflictError)
    return { status: 409, body: { error: err.message, details: err.details }, result: 'conflict' };
  if (err instanceof NotFoundError)
    return { status: 404, body: { error: err.message, details: [] }, result: 'rejected' };
  if (err instanceof LimitError)
    return {
      status: 422,
      body: { error: err.message, details: [{ path: err.limit, message: 'limit reached' }] },
      result: 'refused',
    };
  if (err instanceof LedgerError)
    return {
      status: 503,
      body: { error: withHint(err.message, err.fault), details: [], fault: err.fault },
      result: 'error',
    };
  if (err instanceof EdgewatchError)
    return { status: 400, body: { error: err.message, details: [] }, result: 'rejected' };
  return { status: 500, body: { error: 'internal error', details: [] }, result: 'error' };
}

/** What an operator does about a storage fault; SQLite's own words ("disk I/O error") do not say. */
const FAULT_HINT: Partial<Record<LedgerFault, string>> = {
  disk_full: 'free space on the ledger volume; writes resume by themselves',
  readonly: 'make the ledger file and its folder writable for the sidecar; writes resume by themselves',
  io: 'the ledger volume refused the write (a read-only remount, an immutable file or a failing disk: check the mount and the kernel log); writes resume once it takes writes again',
  busy: 'another process held the ledger write lock too long; retry',
  corrupt: 'stop writing and restore the ledger from a backup',
};

function withHint(message: string, fault: LedgerFault | undefined): string {
  const hint = fault && FAULT_HINT[fault];
  return hint ? `${message} — ${hint}` : message;
}

function objectBody(body: unknown, known: string[]): Record<string, unknown> {
  if (!isPlainObject(body)) throw new ValidationError('invalid body', [{ path: '', message: 'must be a JSON object' }]);
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (unknown.length)
    throw new ValidationError(
      'invalid body',
      unknown.map((k) => ({ path: k, message: `unknown field (known: ${known.join(', ')})` })),
    );
  return body;
}

function queryName(req: Request, key: string): string {
  const v = req.query[key];
  const details: ErrorDetail[] = [];
  if (v === undefined) throw new ValidationError('invalid query', [{ path: key, message: 'required' }]);
  checkName(v, key, details);
  if (details.length) throw new ValidationError('invalid query', details);
  return v as string;
}

/** A query parameter given at most once, as text (a repeated one is an array: refused). */
function queryText(req: Request, key: string, fallback: string): string {
  const v = req.query[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string')
    throw new ValidationError('invalid query', [{ path: key, message: 'must be given once, as text' }]);
  return v;
}

function pathName(v: unknown, key: string): string {
  const details: ErrorDetail[] = [];
  checkName(v, key, details);
  if (details.length) throw new ValidationError('invalid path', details);
  return v as string;
}

function version(_req: Request, ledger: Ledger, strategy: string, label: string, key: string) {
  const n = parseVersionLabel(label);
  if (n === undefined)
    throw new ValidationError('invalid version', [{ path: key, message: 'must look like "v1", "v2", ...' }]);
  const v = ledger.getVersion(strategy, n);
  if (!v) throw new NotFoundError(`strategy "${strategy}" has no version ${label}`);
  return v;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function experimentJson(e: {
  strategy: string;
  name: string;
  variants: Record<string, number>;
  allocation: Record<string, number>;
  startedMs: number;
  stoppedMs: number | null;
  outcome: string | null;
  winner: string | null;
}) {
  return {
    strategy: e.strategy,
    name: e.name,
    variants: Object.fromEntries(Object.entries(e.variants).map(([k, n]) => [k, versionLabel(n)])),
    allocation: e.allocation,
    started_at: iso(e.startedMs),
    stopped_at: e.stoppedMs === null ? null : iso(e.stoppedMs),
    outcome: e.outcome,
    winner: e.winner,
  };
}
