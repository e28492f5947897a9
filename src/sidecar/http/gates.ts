// Who may call what: reads and /metrics need a token once one is set; writes need the write
// token, or, without one, a loopback sidecar and a request that is not from a browser page.
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { readCredentialMatches, tokenMatches, tokenlessRefusal } from '../auth.js';
import type { AppContext } from './context.js';
import { MAX_BODY } from './errors.js';

// Reads need a token once one is set. Basic is offered first so that a browser following an
// alert's runbook or report link asks for it (the token as password, any user name).
export function readGate(tokens: string[], which: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
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
}

/** The middleware of a write of `kind` (the edgewatch_ingest_events_total label): auth, JSON only, then the body parser. */
export function writeGate(ctx: AppContext): (kind: string) => RequestHandler[] {
  const json = express.json({ limit: MAX_BODY, strict: false, type: () => true });
  return (kind: string) => [
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
}
