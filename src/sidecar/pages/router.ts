// The sidecar's own pages, read-only, behind the same read gate as the GET API:
//   /                  every strategy at a glance
//   /strategies/:name  charts, versions, experiments of one strategy
//   /report/:name      the report of GET /v1/report as a page (?window=1h|24h|7d)
// Each request refreshes the window engine and reads the snapshot /metrics exports, plus the
// engine's cached hour blocks and the ledger's small tables (deploys, versions, experiments):
// no trade is read beyond the edge minutes a scrape reads too, so a page costs about what a
// scrape does, whatever the ledger's size (bench/RESULTS.md, "Pages").
// Errors are pages too: 400 for a name that cannot be one, 404 for an unknown strategy, 503
// for a ledger fault, 500 without details for anything else (the log has it).
import { Router, type NextFunction, type Request, type Response } from 'express';
import { LedgerError, NotFoundError, ValidationError } from '../../errors.js';
import type { Ledger } from '../../ledger/index.js';
import type { Logger } from '../../log.js';
import { NAME_RULE, NAME_RE } from '../../model/names.js';
import { diffParams, type ParamChange } from '../../model/params.js';
import { WINDOWS, type WindowEngine, type WindowName } from '../engine.js';
import { buildReport } from '../report.js';
import { readGate } from '../http/gates.js';
import { snapshot, snapshotOf, type StrategySnapshot } from '../snapshot.js';
import type { ThresholdConfig } from '../thresholds.js';
import { html, layout } from './html.js';
import { indexPage } from './index-page.js';
import { reportPage } from './report-page.js';
import { hourCut } from './series.js';
import { strategyPage } from './strategy-page.js';

export interface PagesContext {
  ledger: Ledger;
  engine: WindowEngine;
  thresholds: ThresholdConfig;
  keepVersions: number;
  log: Logger;
  /** Tokens that open the read API: the pages are reads (empty: open). */
  readTokens?: string[];
  now?: () => number;
}

// No script at all; styles inline; the icon an empty data: URL (no /favicon.ico request).
const CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function pagesRouter(ctx: PagesContext): Router {
  const now = ctx.now ?? Date.now;
  const read = readGate(ctx.readTokens ?? [], 'EDGEWATCH_TOKEN or EDGEWATCH_READ_TOKEN');
  const router = Router();
  const send = (res: Response, status: number, body: string) => {
    res
      .status(status)
      .set({
        'Content-Security-Policy': CSP,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Cache-Control': 'no-store',
      })
      .type('text/html; charset=utf-8')
      .send(body);
  };
  const options = {
    keepVersions: ctx.keepVersions,
    thresholds: ctx.thresholds,
    stoppedExperiments: true,
  };
  const snaps = (t: number): StrategySnapshot[] => {
    ctx.engine.refresh(t);
    return snapshot(ctx.engine, ctx.ledger, t, options);
  };
  /** The snapshot of the strategy the path names: that strategy's only, as GET /v1/report computes it. */
  const one = (req: Request, t: number): StrategySnapshot => {
    const name = pathName(req.params.name);
    ctx.engine.refresh(t);
    const s = snapshotOf(ctx.engine, ctx.ledger, name, t, options);
    if (!s) throw new NotFoundError(`no strategy "${name}" in the ledger`);
    return s;
  };

  router.get('/', read, (_req, res) => {
    const t = now();
    send(res, 200, indexPage(snaps(t), t));
  });

  router.get('/strategies/:name', read, (req, res) => {
    const t = now();
    const s = one(req, t);
    const cut = hourCut((a, b) => ctx.engine.range(s.strategy, a, b), t - WINDOWS['7d'], t);
    send(
      res,
      200,
      strategyPage({
        snap: s,
        nowMs: t,
        cut,
        deploys: ctx.ledger.deploys(s.strategy),
        experiments: ctx.ledger.experiments(s.strategy),
        changes: changes(ctx.ledger, s),
      }),
    );
  });

  router.get('/report/:name', read, (req, res) => {
    // A repeated ?window= arrives as an array: not a window either.
    const q = req.query.window ?? '24h';
    const window = typeof q === 'string' ? q : '';
    if (!Object.hasOwn(WINDOWS, window))
      throw new ValidationError('invalid query', [{ path: 'window', message: 'must be 1h, 24h or 7d' }]);
    const t = now();
    send(res, 200, reportPage(buildReport(one(req, t), window as WindowName, t)));
  });

  // Any other GET under the pages' folders is a page that does not exist, said as a page (a
  // middleware, not a route: the API's routes are the ones docs/openapi.json lists).
  router.use((req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !isPage(req.path) || req.path === '/') {
      next();
      return;
    }
    read(req, res, () =>
      next(new NotFoundError(`no page at ${req.path}: pages are /, /strategies/<name> and /report/<name>`)),
    );
  });

  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    // Only requests this router answered: a page's error is a page, the API's stays JSON.
    if (!isPage(req.path)) {
      next(err);
      return;
    }
    const e = err as { status?: number; type?: string };
    let status = 500;
    let title = 'Something went wrong';
    let text = 'The sidecar failed to build this page; its log says why.';
    const details: string[] = [];
    if (err instanceof ValidationError || e?.status === 400) {
      status = 400;
      title = 'Bad request';
      text = err instanceof ValidationError ? err.summary : 'The address could not be read.';
      if (err instanceof ValidationError) details.push(...err.details.map((d) => `${d.path}: ${d.message}`));
    } else if (err instanceof NotFoundError) {
      status = 404;
      title = 'Not found';
      text = err.message;
    } else if (err instanceof LedgerError) {
      status = 503;
      title = 'The ledger cannot be read';
      text = err.message;
      res.set('Retry-After', '5');
    }
    if (status >= 500) ctx.log.error({ err: (err as Error)?.message, path: req.path }, 'page failed');
    const main = html`<h1>${title}</h1>
      <p>${text}</p>
      ${
        details.length
          ? html`<ul>
              ${details.map((d) => html`<li>${d}</li>`)}
            </ul>`
          : ''
      }
      <p><a href="/">All strategies</a></p>`;
    send(res, status, layout({ title, main, generatedMs: now() }));
  });
  return router;
}

function isPage(path: string): boolean {
  return path === '/' || /^\/(strategies|report)(\/|$)/.test(path);
}

function pathName(v: unknown): string {
  if (typeof v !== 'string' || !NAME_RE.test(v))
    throw new ValidationError('invalid strategy name', [{ path: 'name', message: NAME_RULE }]);
  return v;
}

/** Each version in the table against the version numbered before it (the ledger's small versions table). */
function changes(ledger: Ledger, s: StrategySnapshot): Map<number, { previous: number | null; diff: ParamChange[] }> {
  const out = new Map<number, { previous: number | null; diff: ParamChange[] }>();
  for (const v of s.versions) {
    const to = ledger.getVersion(s.strategy, v.version);
    if (!to) continue;
    const from = v.version > 1 ? ledger.getVersion(s.strategy, v.version - 1) : undefined;
    out.set(v.version, { previous: from ? from.version : null, diff: diffParams(from?.params, to.params) });
  }
  return out;
}
