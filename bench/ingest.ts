// Ingestion: what recording a trade costs the bot, next to the least SQLite itself can do with
// the same row and the same durability, measured in the same run and interleaved; HTTP batches
// into a sidecar; scrapes every second while trades pour in.
import Database from 'better-sqlite3';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../src/ledger/ledger.js';
import type { TradeInput } from '../src/model/trade.js';
import { openEdgewatch } from '../src/sdk/index.js';
import { startServer } from './scrape.js';
import { http, ms, sleep, summarize, type Summary } from './stats.js';

type Sync = 'FULL' | 'NORMAL';

export interface PairResult {
  sync: Sync;
  /** Per operation (one trade, or one batch of 1,000), milliseconds. */
  edgewatch: Summary;
  bare: Summary;
  edgewatchPerSec: number;
  barePerSec: number;
}

export interface HttpResult {
  concurrency: number;
  batches: number;
  trades: number;
  seconds: number;
  tradesPerSec: number;
  batch: Summary;
  errors: number;
}

export interface LoadResult {
  label: string;
  ingestTradesPerSec: number;
  seconds: number;
  scrape: Summary;
  scrapeErrors: number;
  ingestErrors: number;
}

export interface IngestResult {
  single: PairResult[];
  batch: PairResult[];
  http: HttpResult[];
  underLoad: LoadResult[];
}

const INSERT = `INSERT OR IGNORE INTO trades
  (strategy, id, symbol, side, opened_ms, closed_ms, pnl, fees, notional, param_version, experiment, variant, recorded_ms)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** A bare better-sqlite3 connection on a ledger file, set up as the ledger sets up its own. */
function bare(path: string, sync: Sync): { db: Database.Database; insert: Database.Statement } {
  Ledger.open(path, { synchronous: sync }).close(); // the same schema
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync}`);
  db.pragma('foreign_keys = ON');
  db.prepare('INSERT OR IGNORE INTO strategies (name, created_ms) VALUES (?, ?)').run('bench', Date.now());
  return { db, insert: db.prepare(INSERT) };
}

interface Side {
  /** Untimed preparation before each call (building a batch). */
  setup?: () => void;
  call: () => void;
}

/** Alternates `a` and `b` in slices of sliceMs of timed calls until each has run totalMs. */
function interleave(
  a: Side,
  b: Side,
  sliceMs: number,
  totalMs: number,
): { a: number[]; b: number[]; aMs: number; bMs: number } {
  const out = { a: [] as number[], b: [] as number[], aMs: 0, bMs: 0 };
  const run = (side: Side, into: number[]) => {
    let spent = 0;
    while (spent < sliceMs) {
      side.setup?.();
      const t = performance.now();
      side.call();
      const d = performance.now() - t;
      into.push(d);
      spent += d;
    }
    return spent;
  };
  while (out.aMs < totalMs || out.bMs < totalMs) {
    out.aMs += run(a, out.a);
    out.bMs += run(b, out.b);
  }
  return out;
}

function pair(sync: Sync, r: ReturnType<typeof interleave>, perOp: number): PairResult {
  return {
    sync,
    edgewatch: summarize(r.a),
    bare: summarize(r.b),
    edgewatchPerSec: (r.a.length * perOp) / (r.aMs / 1000),
    barePerSec: (r.b.length * perOp) / (r.bMs / 1000),
  };
}

export async function ingestBench(
  dataDir: string,
  opts: { seconds: number; singleSeconds: number; httpBatches: number; loadSeconds: number; log: (l: string) => void },
): Promise<IngestResult> {
  const dir = join(dataDir, 'ingest');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const result: IngestResult = { single: [], batch: [], http: [], underLoad: [] };
  const total = opts.seconds * 1000;
  const single = opts.singleSeconds * 1000;

  for (const sync of ['FULL', 'NORMAL'] as const) {
    // One trade per call (5 s a side in 50 ms slices: a FULL commit waits for the disk, whose
    // latency moves with the neighbours' I/O): the SDK (validation, version stamping, one transaction, metrics)
    // against an autocommit INSERT of the same row.
    const ew = openEdgewatch({
      ledger: join(dir, `sdk-${sync}.db`),
      strategies: ['bench'],
      logger: false,
      synchronous: sync,
    });
    const h = ew.strategy('bench');
    h.params.deploy({ lookback: 20, threshold: 0.5 });
    const b = bare(join(dir, `bare-${sync}.db`), sync);
    let i = 0;
    let j = 0;
    const r = interleave(
      {
        call: () => {
          const k = i++;
          const res = h.trades.record({
            id: `t${k}`,
            symbol: 'BTC-USD',
            side: 'long',
            pnl: (k % 7) - 3,
            fees: 0.1,
            notional: 1000,
            closedAt: Date.now(),
          });
          if (!res.ok) throw res.error;
        },
      },
      {
        call: () => {
          const k = j++;
          const now = Date.now();
          b.insert.run('bench', `t${k}`, 'BTC-USD', 'long', null, now, (k % 7) - 3, 0.1, 1000, 1, null, null, now);
        },
      },
      50,
      single,
    );
    result.single.push(pair(sync, r, 1));
    opts.log(
      `  record() ${sync}: SDK ${Math.round(result.single.at(-1)!.edgewatchPerSec)}/s, bare ${Math.round(result.single.at(-1)!.barePerSec)}/s`,
    );
    await ew.close();
    b.db.close();

    // 1,000 trades in one transaction: Ledger.insertTrades (the HTTP path) against a bare transaction.
    const ledger = Ledger.open(join(dir, `batch-${sync}.db`), { synchronous: sync });
    ledger.deployParams('bench', { lookback: 20 }, {}, Date.now());
    const bb = bare(join(dir, `bare-batch-${sync}.db`), sync);
    const tx = bb.db.transaction((rows: TradeInput[], now: number) => {
      for (const t of rows)
        bb.insert.run(
          t.strategy,
          t.id,
          t.symbol,
          t.side,
          t.openedMs,
          t.closedMs,
          t.pnl,
          t.fees,
          t.notional,
          1,
          null,
          null,
          now,
        );
    });
    let n = 0;
    const batchOf = (): TradeInput[] => {
      const now = Date.now();
      return Array.from({ length: 1000 }, () => {
        const k = n++;
        return {
          strategy: 'bench',
          id: `t${k}`,
          symbol: 'BTC-USD',
          side: 'long',
          closedMs: now,
          openedMs: null,
          pnl: (k % 7) - 3,
          fees: 0.1,
          notional: 1000,
          paramVersion: null,
          experiment: null,
          variant: null,
        };
      });
    };
    // Both sides get batches built the same way, outside the timed call.
    let rows: TradeInput[] = [];
    const rb = interleave(
      { setup: () => (rows = batchOf()), call: () => ledger.insertTrades(rows, Date.now()) },
      { setup: () => (rows = batchOf()), call: () => tx(rows, Date.now()) },
      300,
      total,
    );
    result.batch.push(pair(sync, rb, 1000));
    opts.log(
      `  batch of 1,000 ${sync}: insertTrades ${Math.round(result.batch.at(-1)!.edgewatchPerSec)} trades/s, bare ${Math.round(result.batch.at(-1)!.barePerSec)} trades/s`,
    );
    ledger.close();
    bb.db.close();
  }

  // HTTP: a sidecar on a fresh ledger (its default durability, FULL), batches of 1,000.
  const strategies = ['momentum', 'meanrev', 'breakout', 'carry', 'arb'];
  let seq = 0;
  const body = () => {
    const now = Date.now();
    const trades = Array.from({ length: 1000 }, () => {
      const k = seq++;
      // Zero-padded ids: in (closed_at, id) order, as one writer produces them.
      return {
        id: `h${String(k).padStart(10, '0')}`,
        strategy: strategies[k % 5],
        symbol: 'BTC-USD',
        side: 'long',
        closed_at: now,
        pnl: (k % 7) - 3,
        fees: 0.1,
        notional: 1000,
      };
    });
    return Buffer.from(JSON.stringify({ trades }));
  };
  const sidecar = async (name: string, extra: string[] = []) => {
    const db = join(dir, `${name}.db`);
    Ledger.open(db).close();
    const server = await startServer(['sidecar', db, 'now', ...extra]);
    const post = (b: Buffer) =>
      http(`${server.url}/v1/trades`, { method: 'POST', body: b, headers: { 'content-type': 'application/json' } });
    for (let k = 0; k < 5; k++) await post(body()); // warm-up
    return { server, post };
  };

  const { server, post } = await sidecar('http');
  for (const concurrency of [1, 4]) {
    const bodies = Array.from({ length: opts.httpBatches }, body); // built beforehand: the client is not measured
    let errors = 0;
    const times: number[] = [];
    const t = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) {
          const r = await post(bodies[next++]);
          times.push(r.ms);
          if (r.status !== 201) errors++;
        }
      }),
    );
    const seconds = ms(t) / 1000;
    result.http.push({
      concurrency,
      batches: bodies.length,
      trades: bodies.length * 1000,
      seconds,
      tradesPerSec: (bodies.length * 1000) / seconds,
      batch: summarize(times),
      errors,
    });
    opts.log(
      `  HTTP batches of 1,000, ${concurrency} in flight: ${Math.round(result.http.at(-1)!.tradesPerSec)} trades/s, ${errors} errors`,
    );
  }
  server.close();

  // Scrapes every second while ingesting, each case on a fresh sidecar and ledger: a steady
  // 5,000 trades/s (a thousand times the rate of the 10M ledger), flat out from one writer (in
  // (closed_at, id) order), flat out from two (batches commit out of order: buckets rebuilt),
  // all with the sidecar folding new rows every 100 ms between scrapes (its default), and flat
  // out from one writer with that fold off (only scrapes fold), to show what it buys.
  const cases: Array<[string, number, number, string[]]> = [
    ['5,000 trades/s', 5, 1, []],
    ['flat out, 1 writer', 0, 1, []],
    ['flat out, 2 writers', 0, 2, []],
    ['flat out, 1 writer, no background fold', 0, 1, ['', 'refresh=0']],
  ];
  for (const [label, perSecond, writers, extra] of cases) {
    const { server, post } = await sidecar(`load-${result.underLoad.length}`, extra);
    const deadline = performance.now() + opts.loadSeconds * 1000;
    let ingested = 0;
    let ingestErrors = 0;
    let scrapeErrors = 0;
    const scrapes: number[] = [];
    const t = performance.now();
    const writer = async () => {
      while (performance.now() < deadline) {
        const started = performance.now();
        const r = await post(body()).catch(() => ({ status: 0 }));
        if (r.status === 201) ingested += 1000;
        else ingestErrors++;
        if (perSecond) await sleep(Math.max(0, 1000 / perSecond - ms(started)));
      }
    };
    const scraper = async () => {
      while (performance.now() < deadline) {
        const started = performance.now();
        try {
          const r = await http(`${server.url}/metrics`);
          scrapes.push(r.ms);
          if (r.status !== 200) scrapeErrors++;
        } catch {
          scrapeErrors++;
        }
        await sleep(Math.max(0, 1000 - ms(started)));
      }
    };
    await Promise.all([scraper(), ...Array.from({ length: writers }, writer)]);
    const seconds = ms(t) / 1000;
    server.close();
    result.underLoad.push({
      label,
      ingestTradesPerSec: ingested / seconds,
      seconds,
      scrape: summarize(scrapes),
      scrapeErrors,
      ingestErrors,
    });
    const u = result.underLoad.at(-1)!;
    opts.log(
      `  scrapes every 1 s while ingesting ${label}: ${Math.round(u.ingestTradesPerSec)} trades/s in, scrape p50 ${u.scrape.p50.toFixed(1)} ms p99 ${u.scrape.p99.toFixed(1)} ms, ${scrapeErrors} scrape errors`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
  return result;
}
