// What every route reads: the ledger, the engine, the metrics, the configuration; and the
// readiness check that /readyz, every scrape and a write's storage fault share.
import type { Ledger } from '../../ledger/index.js';
import type { Logger } from '../../log.js';
import type { WindowEngine } from '../engine.js';
import type { SidecarMetrics } from '../exposition.js';
import type { ThresholdConfig } from '../thresholds.js';

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

/** A scrape reuses a readiness check younger than this (ms); /readyz always checks afresh. */
const READY_REUSE_MS = 1000;

// Readiness is computed by /readyz and by every scrape, so edgewatch_ready is right from the
// first scrape, not 0 until a probe happens to call /readyz. The check is a write that
// changes nothing (one small transaction); a scrape reuses a result younger than
// READY_REUSE_MS, so frequent scrapes cost at most one check a second.
export class Readiness {
  private lastCheck: { atMs: number; error?: Error } | undefined;

  constructor(private readonly ctx: AppContext) {}

  /** Undefined when ready, else why not. */
  check(reuse: boolean): Error | undefined {
    const t = performance.now();
    if (reuse && this.lastCheck && t - this.lastCheck.atMs < READY_REUSE_MS) return this.lastCheck.error;
    let error: Error | undefined;
    try {
      this.ctx.ledger.checkWritable();
    } catch (err) {
      error = err as Error;
    }
    this.lastCheck = { atMs: t, error };
    this.ctx.metrics.ready.set(error ? 0 : 1);
    return error;
  }

  /** A storage fault seen by a write: the next scrape checks afresh, not from memory. */
  forget(): void {
    this.lastCheck = undefined;
  }
}
