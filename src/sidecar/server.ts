// Starting and stopping the sidecar process: ledger, window engine, metrics, HTTP server.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ledger } from '../ledger/ledger.js';
import { createLogger, type Logger } from '../log.js';
import { createApp } from './app.js';
import { accessTokensFromEnv, isLoopback } from './auth.js';
import { loadRunbook } from './runbook.js';
import { WindowEngine } from './engine.js';
import { SidecarMetrics } from './exposition.js';
import { cusumRunKeys } from './snapshot.js';
import { parseThresholds, type ThresholdConfig } from './thresholds.js';

export interface SidecarOptions {
  db: string;
  port?: number;
  host?: string;
  /** Bearer token for writes (EDGEWATCH_TOKEN); once set, reads need it too (or readToken). */
  token?: string;
  /** Token for reads only (EDGEWATCH_READ_TOKEN); default: from the environment (accessTokensFromEnv). */
  readToken?: string;
  /** Token for /metrics (EDGEWATCH_METRICS_TOKEN); default: from the environment. Unset: /metrics is open. */
  metricsToken?: string;
  /** Path of the runbook served at /runbook; default: docs/runbook.md of this installation. */
  runbookPath?: string;
  thresholds?: ThresholdConfig;
  keepVersions?: number;
  maxStrategies?: number;
  /** Cap on parameter versions per strategy (default 10,000): the next new one is a 422. */
  maxVersionsPerStrategy?: number;
  logger?: Logger;
  /**
   * Also fold new trades into the windows this often (ms; 0: only on scrapes and reads). Why:
   * under heavy ingestion a scrape otherwise folds everything recorded since the previous
   * one (about 1 µs per trade) before it can answer; idle, a fold is one indexed SELECT.
   */
  foldIntervalMs?: number;
  /** Clock override for tests. */
  now?: () => number;
}

export interface Sidecar {
  url: string;
  port: number;
  ledger: Ledger;
  engine: WindowEngine;
  metrics: SidecarMetrics;
  close(): Promise<void>;
}

export async function startSidecar(opts: SidecarOptions): Promise<Sidecar> {
  const log = opts.logger ?? createLogger('edgewatch-sidecar');
  const host = opts.host ?? '127.0.0.1';
  // The CLI reads EDGEWATCH_TOKEN; the two newer tokens are read here when not given, so the
  // sidecar command honours them without a change of its own. Before the ledger opens: a bad
  // token stops the start with nothing to close.
  const fromEnv = opts.readToken === undefined || opts.metricsToken === undefined ? accessTokensFromEnv() : {};
  const readToken = opts.readToken ?? fromEnv.readToken;
  const metricsToken = opts.metricsToken ?? fromEnv.metricsToken;
  const ledger = Ledger.open(opts.db, {
    maxStrategies: opts.maxStrategies,
    maxVersionsPerStrategy: opts.maxVersionsPerStrategy,
  });
  const thresholds = opts.thresholds ?? parseThresholds(undefined, 'defaults');
  const engine = new WindowEngine(ledger, { runKey: cusumRunKeys(ledger, thresholds) });
  const metrics = new SidecarMetrics();
  const writesOpen = opts.token === undefined && isLoopback(host);
  const now = opts.now ?? Date.now;
  const started = performance.now();
  engine.refresh(now());
  log.info(
    { trades: engine.tradesSeen, ms: Math.round(performance.now() - started) },
    'ledger loaded into the window engine',
  );
  const readTokens = [opts.token, readToken].filter((x): x is string => x !== undefined);
  const metricsTokens = metricsToken === undefined ? [] : [metricsToken, ...readTokens];
  const app = createApp({
    ledger,
    engine,
    metrics,
    log,
    thresholds,
    keepVersions: opts.keepVersions ?? 5,
    token: opts.token,
    writesOpen,
    now: opts.now,
    readTokens,
    metricsTokens,
    runbook: loadRunbook(opts.runbookPath),
  });
  let server: Server;
  try {
    server = await new Promise((resolve, reject) => {
      const s = app.listen(opts.port ?? 9465, host, (err?: Error) => (err ? reject(err) : resolve(s)));
      s.once('error', reject);
    });
  } catch (err) {
    // A taken port: give the ledger back, so that a caller that reports the error and goes
    // on (`edgewatch start` stopping the demo, tests) leaves no file handle behind.
    ledger.close();
    throw err;
  }
  const foldEvery = opts.foldIntervalMs ?? 100;
  let lastFoldLog = -Infinity;
  const folding =
    foldEvery > 0
      ? setInterval(() => {
          try {
            engine.refresh(now(), { background: true });
          } catch (err) {
            // Counted every time, logged at most once a minute (the timer runs ten times a second);
            // what failed to rebuild is retried by the next refresh.
            metrics.scrapeErrors.inc({ stage: 'fold' });
            if (performance.now() - lastFoldLog > 60_000) {
              lastFoldLog = performance.now();
              log.error({ err: (err as Error).message }, 'folding new trades failed; retrying');
            }
          }
        }, foldEvery)
      : undefined;
  folding?.unref();
  const port = (server.address() as AddressInfo).port;
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (opts.token !== undefined)
    log.info(
      { url: base },
      `sidecar listening; writes need Authorization: Bearer <EDGEWATCH_TOKEN>, reads ${readToken ? 'it or EDGEWATCH_READ_TOKEN' : 'it too'}`,
    );
  else if (writesOpen)
    log.warn(
      { url: base },
      'sidecar listening on loopback without EDGEWATCH_TOKEN: writes are accepted from this host only',
    );
  else
    log.warn(
      { url: base },
      `sidecar listening beyond loopback without EDGEWATCH_TOKEN: writes are refused (set EDGEWATCH_TOKEN to accept them); ${readToken ? 'reads need EDGEWATCH_READ_TOKEN' : 'reads (parameters, PnL) are served to anyone who reaches the port'}`,
    );
  if (metricsToken !== undefined)
    log.info({ url: `${base}/metrics` }, '/metrics needs Authorization: Bearer <EDGEWATCH_METRICS_TOKEN>');
  return {
    url: base,
    port,
    ledger,
    engine,
    metrics,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(folding);
        server.closeAllConnections();
        server.close(() => {
          try {
            engine.saveState(); // a clean stop makes the next start read only new trades
          } catch (err) {
            log.warn(
              { err: (err as Error).message },
              'saving the window state failed; the next start reads the whole ledger',
            );
          }
          ledger.close();
          resolve();
        });
      }),
  };
}
