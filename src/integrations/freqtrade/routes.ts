// POST /v1/integrations/freqtrade: Freqtrade's webhook, taken as Freqtrade sends it.
//
// Freqtrade can only send HTTP Basic credentials (user:password@ in webhook.url) and posts
// form-encoded bodies by default (format "json" and "raw" too), so this route accepts Basic
// with the token as password as well as Bearer, and all three encodings. Freqtrade retries
// any non-2xx answer and then drops the message: every message that is deliberately not
// recorded (another type, a partial exit) is answered 200, and only bad input is a 4xx.
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { ValidationError } from '../../errors.js';
import type { AppContext } from '../../sidecar/http/context.js';
import { readCredentialMatches, tokenlessRefusal } from '../../sidecar/auth.js';
import { insertNew } from './sync.js';
import { parseWebhook } from './webhook.js';

export const WEBHOOK_PATH = '/v1/integrations/freqtrade';
const KIND = 'freqtrade_webhook';
/** A webhook message is a few hundred bytes. */
const LIMIT = '64kb';

export interface FreqtradeRouteOptions {
  /** Strategy of messages that name none; default EDGEWATCH_FREQTRADE_STRATEGY (checked at start-up by the CLI). */
  defaultStrategy?: string;
}

export function freqtradeRouter(ctx: AppContext, opts: FreqtradeRouteOptions = {}): Router {
  const now = ctx.now ?? Date.now;
  const defaultStrategy = opts.defaultStrategy ?? (process.env.EDGEWATCH_FREQTRADE_STRATEGY || undefined);
  const router = Router();
  const count = (result: string) => ctx.metrics.ingestEvents.inc({ kind: KIND, result });
  const refuse = (res: Response, status: number, result: string, error: string) => {
    count(result);
    res.status(status).json({ error, details: [] });
  };

  const authorize = (req: Request, res: Response, next: NextFunction) => {
    res.locals.kind = KIND;
    if (ctx.token !== undefined ? !readCredentialMatches(req.get('authorization'), [ctx.token]) : !ctx.writesOpen) {
      res.set('WWW-Authenticate', ['Basic realm="edgewatch", charset="UTF-8"', 'Bearer realm="edgewatch"']);
      refuse(
        res,
        401,
        'unauthorized',
        ctx.token !== undefined
          ? 'missing or wrong token: put it in webhook.url as http://freqtrade:<EDGEWATCH_TOKEN>@host:9465/v1/integrations/freqtrade (HTTP Basic) or send Authorization: Bearer <EDGEWATCH_TOKEN>'
          : 'writes are disabled: the sidecar listens beyond loopback without EDGEWATCH_TOKEN',
      );
      return;
    }
    const refusal =
      ctx.token === undefined
        ? tokenlessRefusal(req.socket.remoteAddress, req.get('host'), req.get('origin'))
        : undefined;
    if (refusal !== undefined)
      return refuse(res, 403, 'unauthorized', `write refused without EDGEWATCH_TOKEN: ${refusal}`);
    next();
  };

  // Freqtrade's three formats: "form" (its default), "json", and "raw" (text/plain: the
  // configured "data" string as is, which must then be a JSON object).
  const body = [
    (req: Request, res: Response, next: NextFunction) => {
      if (req.is(['application/json', 'application/x-www-form-urlencoded', 'text/plain'])) return next();
      refuse(
        res,
        415,
        'rejected',
        'the body must be form-encoded, JSON or text/plain JSON (Freqtrade webhook format "form", "json" or "raw")',
      );
    },
    express.json({ limit: LIMIT }),
    express.urlencoded({ extended: false, limit: LIMIT, parameterLimit: 100 }),
    express.text({ limit: LIMIT, type: 'text/plain' }),
    (req: Request, _res: Response, next: NextFunction) => {
      if (typeof req.body !== 'string') return next();
      try {
        req.body = JSON.parse(req.body) as unknown;
      } catch {
        throw new ValidationError('invalid Freqtrade message', [
          { path: '', message: 'a text/plain body (format "raw") must be a JSON object' },
        ]);
      }
      next();
    },
  ];

  router.post(WEBHOOK_PATH, authorize, ...body, (req: Request, res: Response) => {
    const t = now();
    const outcome = parseWebhook(req.body, {
      queryStrategy: req.query.strategy,
      defaultStrategy,
      nowMs: t,
    });
    if (outcome.kind === 'ignored') {
      count('ignored');
      res.json({ stored: false, ignored: outcome.reason });
      return;
    }
    const { trade } = outcome;
    const r = insertNew(ctx.ledger, [trade], t);
    count(r.accepted ? 'accepted' : 'duplicate');
    res
      .status(r.accepted ? 201 : 200)
      .json({ stored: r.accepted === 1, duplicate: r.accepted === 0, id: trade.id, strategy: trade.strategy });
  });

  // Body-parser failures answered here, with this route's limit; the rest (validation,
  // storage faults) goes on to the app's error handler, which counts it under res.locals.kind.
  router.use(WEBHOOK_PATH, (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const e = err as { type?: string; status?: number; message?: string };
    if (e?.type === 'entity.too.large' || e?.type === 'parameters.too.many')
      return refuse(res, 413, 'rejected', `body larger than ${LIMIT} or more than 100 fields`);
    if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported')
      return refuse(res, 415, 'rejected', 'unsupported body encoding');
    if (e?.type === 'entity.parse.failed')
      return refuse(res, 400, 'rejected', `malformed JSON: ${String(e.message).slice(0, 200)}`);
    if (e?.status === 400 || e?.type === 'request.aborted') return refuse(res, 400, 'rejected', 'bad request body');
    next(err);
  });
  return router;
}
