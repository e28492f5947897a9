// Where closed Freqtrade trades come from, each with a cursor that survives neither side
// being down: the database (by trade id) and the REST API (by offset in the id-ordered list
// of closed trades). A cursor only moves past trades that can no longer change (see
// sync.ts); it lives in memory, so a restart reads everything once more, which the ledger's
// idempotency (ids already stored are skipped) makes harmless.
import type { FreqtradeApi } from './api.js';
import type { FreqtradeDb, FtRow } from './db.js';

export interface FtBatch {
  /** Closed trades in id order, from the cursor on. */
  rows: FtRow[];
  /** Lowest id of an open trade, read before the rows (or in the same transaction). */
  minOpenId: number | null;
  startupMs: number | null;
  /** GET /api/v1/show_config, when the source is the API. */
  config?: Record<string, unknown>;
}

export interface FtSource {
  readonly label: string;
  read(): Promise<FtBatch>;
  /** The first `k` rows of the last read are final: the next read starts after them. */
  advance(k: number, rows: FtRow[]): void;
  /** The next read starts from the first trade again. */
  reset(): void;
}

export class DbSource implements FtSource {
  readonly label: string;
  private fromId = 0;

  constructor(readonly db: FreqtradeDb) {
    this.label = `Freqtrade database ${db.path}`;
  }

  read(): Promise<FtBatch> {
    // One read transaction: the open trades and the closed rows are of the same moment.
    return Promise.resolve(this.db.snapshot(this.fromId));
  }

  advance(k: number, rows: FtRow[]): void {
    if (k > 0) this.fromId = rows[k - 1].id + 1;
  }

  reset(): void {
    this.fromId = 0;
  }
}

/**
 * The API lists closed trades by id with limit/offset. Offsets shift when a trade with a
 * lower id closes (or is deleted) behind the cursor, so the cursor keeps the id of the trade
 * just before it (the anchor): each read starts one row early and, if that row is no longer
 * the anchor, reads everything from offset 0 again. Open trades are read first (/status): a
 * trade that closes while the pages are read then still holds the frontier back.
 */
export class ApiSource implements FtSource {
  readonly label: string;
  private offset = 0;
  private anchorId: number | null = null;

  constructor(readonly api: FreqtradeApi) {
    this.label = `Freqtrade API ${api.base}`;
  }

  async read(): Promise<FtBatch> {
    const minOpenId = await this.api.minOpenId();
    const config = await this.api.showConfig();
    const startupMs = await this.api.startupMs();
    const stake = typeof config.stake_currency === 'string' ? config.stake_currency : null;
    let rows = await this.pages(this.offset > 0 ? this.offset - 1 : 0, stake);
    if (this.offset > 0) {
      if (rows[0]?.id === this.anchorId) rows = rows.slice(1);
      else {
        this.reset();
        rows = await this.pages(0, stake);
      }
    }
    return { rows, minOpenId, startupMs, config };
  }

  private async pages(from: number, stake: string | null): Promise<FtRow[]> {
    const rows: FtRow[] = [];
    for (let offset = from; ;) {
      const page = await this.api.closedTrades(offset, stake);
      rows.push(...page.rows);
      offset += page.rows.length;
      // By the total, not by a short page: a server that caps `limit` still pages through.
      if (page.rows.length === 0 || offset >= page.total) return rows;
    }
  }

  advance(k: number, rows: FtRow[]): void {
    if (k === 0) return;
    this.offset += k;
    this.anchorId = rows[k - 1].id;
  }

  reset(): void {
    this.offset = 0;
    this.anchorId = null;
  }
}
