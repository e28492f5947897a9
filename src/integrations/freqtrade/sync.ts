// Bringing closed Freqtrade trades and the strategy's parameters into the ledger, once per
// call (the sidecar's poller calls it on a timer, `edgewatch import freqtrade` once).
//
// - A trade is imported once it has been closed for `settleMs`: Freqtrade may still fill in
//   its fees just after the exit. After that it is never updated: a trade id already in the
//   ledger (from an earlier import or from the webhook) is skipped, whatever its content, so
//   a fee revised later is not a conflict, and push and pull store each trade once.
// - The cursor moves past a trade only when it is final: imported (or refused) and below
//   every open trade. A restart reads everything again; the skip makes that harmless.
// - The parameters in force are deployed at Freqtrade's start time when they differ from
//   the version the ledger has in force at that time (see params.ts).
import { ConfigError, ConflictError, ValidationError } from '../../errors.js';
import type { Ledger } from '../../ledger/ledger.js';
import type { Logger } from '../../log.js';
import { hashParams } from '../../model/params.js';
import type { TradeInput } from '../../model/trade.js';
import { planDeploy, readParamsFile, type ParamsFile } from './params.js';
import type { FtSource } from './sources.js';
import { toEdgewatchTrade } from './trade.js';
import { tradeKey } from './values.js';

export interface SyncOptions {
  /** How long after its close a trade is imported (ms). */
  settleMs: number;
  /** A hyperopt parameter file (<Strategy>.json) to deploy with the parameters. */
  paramsFile?: string;
  log: Logger;
  /** Counts outcomes (edgewatch_ingest_events_total{kind="freqtrade_pull"}). */
  count?: (result: 'accepted' | 'duplicate' | 'rejected', n: number) => void;
  /** Read everything again this often (ms), in case ids were reused; default 6 h. */
  rescanEveryMs?: number;
  now?: () => number;
}

export interface SyncResult {
  accepted: number;
  duplicates: number;
  /** Trades refused now, with why (each is reported once). */
  rejected: Array<{ id: number; error: string }>;
  /** Closed, not yet settled: imported by a later call. */
  pending: number;
  deploy?: { strategy: string; version: string; deployedAt: string; created: boolean } | { skipped: string };
}

export class FreqtradeSync {
  /** Edgewatch ids known to be in the ledger or refused: not looked at again. */
  private readonly done = new Set<string>();
  private readonly refusedRows = new Set<number>();
  private lastFullRead = -Infinity;
  private lastDeployNote = '';
  private readonly now: () => number;

  constructor(
    private readonly ledger: Ledger,
    private readonly source: FtSource,
    private readonly opts: SyncOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  async runOnce(): Promise<SyncResult> {
    const t = this.now();
    if (t - this.lastFullRead >= (this.opts.rescanEveryMs ?? 6 * 3600_000)) {
      this.source.reset();
      this.lastFullRead = t;
    }
    const batch = await this.source.read();
    const result: SyncResult = { accepted: 0, duplicates: 0, rejected: [], pending: 0 };
    try {
      result.deploy = this.deploy(batch.config, batch.startupMs, t);
    } catch (err) {
      // A broken parameter file must not hold the trades back: said once, retried each time.
      if (!(err instanceof ConfigError || err instanceof ValidationError)) throw err;
      if (err.message !== this.lastDeployNote)
        this.opts.log.error({ err: err.message }, 'Freqtrade parameters not deployed');
      this.lastDeployNote = err.message;
      result.deploy = { skipped: err.message };
    }

    const fresh: TradeInput[] = [];
    const final: boolean[] = [];
    for (const row of batch.rows) {
      if (row.error !== undefined) {
        if (!this.refusedRows.has(row.id)) {
          this.refusedRows.add(row.id);
          result.rejected.push({ id: row.id, error: row.error });
        }
        final.push(true);
        continue;
      }
      if (t - row.trade.closeMs < this.opts.settleMs) {
        result.pending++;
        final.push(false);
        continue;
      }
      final.push(true);
      const key = tradeKey(row.trade.id, row.trade.openMs);
      if (this.done.has(key)) continue;
      try {
        fresh.push(toEdgewatchTrade(row.trade, t));
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        this.done.add(key);
        result.rejected.push({ id: row.id, error: err.message });
      }
    }
    const r = insertNew(this.ledger, fresh, t);
    for (const tr of fresh) this.done.add(tr.id);
    result.accepted = r.accepted;
    result.duplicates = r.duplicates;

    // The final prefix: rows the cursor may pass for good.
    let k = 0;
    while (k < batch.rows.length && final[k] && (batch.minOpenId === null || batch.rows[k].id < batch.minOpenId)) k++;
    this.source.advance(k, batch.rows);

    this.opts.count?.('accepted', result.accepted);
    this.opts.count?.('duplicate', result.duplicates);
    this.opts.count?.('rejected', result.rejected.length);
    for (const x of result.rejected)
      this.opts.log.warn({ freqtrade_trade: x.id, err: x.error }, 'Freqtrade trade not imported');
    return result;
  }

  /** Deploys the parameters in force when they are not what the ledger has in force at that time. */
  private deploy(
    config: Record<string, unknown> | undefined,
    startupMs: number | null,
    t: number,
  ): SyncResult['deploy'] {
    let file: ParamsFile | undefined;
    if (this.opts.paramsFile !== undefined) file = readParamsFile(this.opts.paramsFile);
    if (config === undefined && file === undefined) return undefined;
    const plan = planDeploy({ config, file, startupMs, nowMs: t });
    if (!plan.deploy) {
      if (plan.reason !== this.lastDeployNote)
        this.opts.log.info({ reason: plan.reason }, 'Freqtrade parameters not deployed');
      this.lastDeployNote = plan.reason;
      return { skipped: plan.reason };
    }
    this.lastDeployNote = '';
    const hash = hashParams(plan.params);
    const inForce = this.ledger
      .deploys(plan.strategy)
      .filter((d) => d.deployedMs <= plan.deployedMs)
      .pop();
    if (inForce?.hash === hash) return { skipped: `v${inForce.version} is already in force since Freqtrade started` };
    const r = this.ledger.deployParams(
      plan.strategy,
      plan.params,
      { source: 'freqtrade', note: plan.note },
      t,
      plan.deployedMs,
    );
    this.opts.log.info(
      { strategy: plan.strategy, version: `v${r.version}`, deployed_at: new Date(plan.deployedMs).toISOString() },
      'Freqtrade parameters deployed',
    );
    return {
      strategy: plan.strategy,
      version: `v${r.version}`,
      deployedAt: new Date(plan.deployedMs).toISOString(),
      created: r.created,
    };
  }
}

/**
 * Stores the trades whose id is not in the ledger yet; an id already there (from the
 * webhook, an earlier import, another importer racing this one) is a duplicate whatever its
 * content. One transaction per chunk; a conflict raised by a concurrent writer is resolved
 * trade by trade.
 */
export function insertNew(
  ledger: Ledger,
  trades: TradeInput[],
  nowMs: number,
): { accepted: number; duplicates: number } {
  let accepted = 0;
  let duplicates = 0;
  const fresh = trades.filter((t) => ledger.getTrade(t.strategy, t.id) === undefined);
  duplicates += trades.length - fresh.length;
  for (let i = 0; i < fresh.length; i += 1000) {
    const chunk = fresh.slice(i, i + 1000);
    try {
      const r = ledger.insertTrades(chunk, nowMs);
      accepted += r.accepted;
      duplicates += r.duplicates;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      for (const t of chunk) {
        try {
          const r = ledger.insertTrades([t], nowMs);
          accepted += r.accepted;
          duplicates += r.duplicates;
        } catch (e) {
          if (!(e instanceof ConflictError)) throw e;
          duplicates++;
        }
      }
    }
  }
  return { accepted, duplicates };
}
