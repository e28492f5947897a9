// The sidecar's Freqtrade pull: one FreqtradeSync run every `intervalMs`, never two at once.
// A failed run (Freqtrade down, its database busy or missing) is logged, counted, and
// retried at the next tick; nothing is lost, since the cursor moves only after a success.
import type { Ledger } from '../../ledger/ledger.js';
import type { Logger } from '../../log.js';
import type { SidecarMetrics } from '../../sidecar/exposition.js';
import { FreqtradeSync, type SyncResult } from './sync.js';
import type { FtSource } from './sources.js';

export interface PollerOptions {
  ledger: Ledger;
  metrics: SidecarMetrics;
  log: Logger;
  source: FtSource;
  intervalMs: number;
  settleMs: number;
  paramsFile?: string;
  now?: () => number;
}

export const PULL_KIND = 'freqtrade_pull';

export interface FreqtradePoller {
  /** Resolves after the run in progress (if any) ends; no run starts after. */
  stop(): Promise<void>;
  /** Runs once now (tests, start-up); resolves with its result or rejects with its error. */
  runNow(): Promise<SyncResult>;
}

export function startFreqtradePoller(opts: PollerOptions): FreqtradePoller {
  const log = opts.log.child({ freqtrade: opts.source.label });
  const sync = new FreqtradeSync(opts.ledger, opts.source, {
    settleMs: opts.settleMs,
    paramsFile: opts.paramsFile,
    log,
    now: opts.now,
    count: (result, n) => {
      if (n > 0) opts.metrics.ingestEvents.inc({ kind: PULL_KIND, result }, n);
    },
  });
  let running: Promise<SyncResult> | undefined;
  let stopped = false;
  let lastError = '';

  const run = (): Promise<SyncResult> => {
    if (running) return running;
    running = sync.runOnce().finally(() => (running = undefined));
    return running;
  };
  const tick = () => {
    if (stopped || running) return;
    run().then(
      (r) => {
        if (lastError) log.info('Freqtrade is readable again');
        lastError = '';
        if (r.accepted || r.rejected.length)
          log.info(
            { accepted: r.accepted, duplicates: r.duplicates, rejected: r.rejected.length },
            'Freqtrade trades imported',
          );
      },
      (err: Error) => {
        opts.metrics.ingestEvents.inc({ kind: PULL_KIND, result: 'error' });
        // Said when it changes, not at every tick of a long outage.
        if (err.message !== lastError) log.warn({ err: err.message }, 'reading Freqtrade failed; retrying');
        lastError = err.message;
      },
    );
  };
  const timer = setInterval(tick, opts.intervalMs);
  timer.unref();
  setImmediate(tick);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
    runNow: run,
  };
}
