// The operational routes: liveness, readiness, the runbook and /metrics.
import type express from 'express';
import { LedgerError, NotFoundError } from '../../errors.js';
import { renderRunbook } from '../runbook.js';
import { snapshot } from '../snapshot.js';
import type { AppContext, Readiness } from './context.js';
import { withHint } from './errors.js';
import { readGate } from './gates.js';

export function registerOpsRoutes(app: express.Express, ctx: AppContext, readiness: Readiness): void {
  const now = ctx.now ?? Date.now;
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', (_req, res) => {
    const err = readiness.check(false);
    if (err === undefined) {
      res.json({ ready: true });
      return;
    }
    const fault = err instanceof LedgerError ? err.fault : undefined;
    res.status(503).json({ ready: false, error: withHint(err.message, fault), ...(fault ? { fault } : {}) });
  });

  const read = readGate(ctx.readTokens ?? [], 'EDGEWATCH_TOKEN or EDGEWATCH_READ_TOKEN');
  const metricsGate = readGate(ctx.metricsTokens ?? [], 'EDGEWATCH_METRICS_TOKEN');

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
    readiness.check(true);
    ctx.metrics.scrapeDuration.set((performance.now() - started) / 1000);
    res.set('Content-Type', ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
}
