// The sidecar's HTTP application: operational routes, the ingestion API and the read API
// (src/sidecar/http/), then one 404 and one error handler for all of them.
import express, { type NextFunction, type Request, type Response } from 'express';
import { LedgerError } from '../errors.js';
import { Readiness, type AppContext } from './http/context.js';
import { errorResponse } from './http/errors.js';
import { registerIngestRoutes } from './http/routes-ingest.js';
import { registerOpsRoutes } from './http/routes-ops.js';
import { registerReadRoutes } from './http/routes-reads.js';
import { freqtradeRouter } from '../integrations/freqtrade/routes.js';
import { pagesRouter } from './pages/router.js';
import { registerExpectationRoutes } from './http/routes-expectation.js';

export type { AppContext } from './http/context.js';
export { MAX_BODY } from './http/errors.js';

export function createApp(ctx: AppContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const readiness = new Readiness(ctx);

  registerOpsRoutes(app, ctx, readiness);
  registerIngestRoutes(app, ctx);
  registerReadRoutes(app, ctx);
  app.use(freqtradeRouter(ctx)); // POST /v1/integrations/freqtrade (src/integrations/freqtrade/routes.ts)
  registerExpectationRoutes(app, ctx);

  app.use(pagesRouter(ctx)); // the HTML pages: src/sidecar/pages/router.ts

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
    if (err instanceof LedgerError) readiness.forget();
    res.status(status).json(body);
  });

  return app;
}
