// Synthetic ledgers for the benchmarks: N trades over 30 days, 5 strategies, 20 parameter
// versions, one experiment (control/candidate) on the first strategy, and a small share of
// late trades (closed_at before trades already recorded), as two writers produce.
// The schema comes from Ledger.open; the trades go in with raw inserts in big transactions
// (the SDK path is benchmarked separately, and 10M trades through it would take hours).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Ledger } from '../src/ledger/ledger.js';
import { rng } from '../src/demo/market.js';
export { rng };

export const DAY_MS = 86_400_000;
export const STRATEGIES = ['momentum', 'meanrev', 'breakout', 'carry', 'arb'] as const;
const SYMBOLS = ['BTC-USD', 'ETH-USD', 'SOL-USD', 'XRP-USD'];
/** Bump when the generated content changes, so cached ledgers are rebuilt. */
const GENERATOR_VERSION = 1;

export interface GenOptions {
  trades: number;
  days?: number;
  /** closed_at of the newest trade (default: now). */
  endMs?: number;
  /** Share of trades recorded after a later one (default 0.001). */
  lateShare?: number;
  seed?: number;
}

export interface LedgerMeta {
  generator: number;
  trades: number;
  days: number;
  startMs: number;
  endMs: number;
  lateShare: number;
  seed: number;
  versions: number;
  seconds: number;
}

export function metaPath(db: string): string {
  return `${db}.meta.json`;
}

export function readMeta(db: string): LedgerMeta | undefined {
  try {
    return existsSync(db) ? (JSON.parse(readFileSync(metaPath(db), 'utf8')) as LedgerMeta) : undefined;
  } catch {
    return undefined;
  }
}

export function removeLedger(db: string): void {
  for (const suffix of ['', '-wal', '-shm', '.meta.json']) rmSync(`${db}${suffix}`, { force: true });
}

/** Writes a new ledger at `db` (replacing one that is there) and returns its description. */
export function generateLedger(db: string, opts: GenOptions): LedgerMeta {
  const started = performance.now();
  const days = opts.days ?? 30;
  const endMs = opts.endMs ?? Date.now();
  const startMs = endMs - days * DAY_MS;
  const lateShare = opts.lateShare ?? 0.001;
  const seed = opts.seed ?? 42;
  const rand = rng(seed);
  removeLedger(db);
  // NORMAL while generating: this is set-up, not the durability being measured.
  const ledger = Ledger.open(db, { synchronous: 'NORMAL' });
  const span = endMs - startMs;

  // Parameter versions: 4 deploys per strategy, except the first, which gets 3 deploys and an
  // experiment whose control is its active set (no new version) and whose candidate is the 20th.
  interface Phase {
    fromMs: number;
    version: number;
    meanPnl: number;
  }
  const phases = new Map<string, Phase[]>();
  let versionCount = 0;
  STRATEGIES.forEach((strategy, k) => {
    const deploys = k === 0 ? 3 : 4;
    const list: Phase[] = [];
    for (let d = 0; d < deploys; d++) {
      const at = startMs + Math.floor((span * d) / deploys) + (d === 0 ? 0 : k * 3_600_000);
      const params = { lookback: 10 + d * 5 + k, threshold: 0.5 + d / 10, size: 1 + k };
      const r = ledger.deployParams(
        strategy,
        params,
        { source: 'bench', gitSha: `bench${d}`, note: `deploy ${d + 1}` },
        at,
      );
      // The last version of the third strategy loses its edge: drift and regression have work to do.
      list.push({ fromMs: at, version: r.version, meanPnl: k === 2 && d === deploys - 1 ? -0.5 : 1 + d * 0.2 });
      if (r.created) versionCount++;
    }
    phases.set(strategy, list);
  });
  const expStart = startMs + Math.floor(span * (2 / 3));
  const s0 = STRATEGIES[0];
  const control = ledger.getVersion(s0, phases.get(s0)![2].version)!.params;
  const exp = ledger.startExperiment(
    s0,
    'bench-exp',
    { control, candidate: { ...control, threshold: 0.9 } },
    { control: 1, candidate: 1 },
    expStart,
  );
  versionCount += 1;

  const db3 = ledger.raw;
  const insert = db3.prepare(`INSERT INTO trades
    (strategy, id, symbol, side, opened_ms, closed_ms, pnl, fees, notional, param_version, experiment, variant, recorded_ms, version_by, straddle)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const n = opts.trades;
  const step = span / n;
  const BATCH = 50_000;
  const insertBatch = db3.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const strategy = STRATEGIES[Math.floor(rand() * STRATEGIES.length)];
      let closed = Math.floor(startMs + (i + rand()) * step);
      if (rand() < lateShare) closed -= Math.floor(rand() * 120_000); // recorded up to 2 minutes late
      if (closed > endMs) closed = endMs;
      const list = phases.get(strategy)!;
      const opened = closed - 60_000;
      // The ledger's attribution: the version deployed when the trade opened.
      let phase = list[0];
      for (const p of list) if (p.fromMs <= opened) phase = p;
      const straddle = list.some((p) => p.fromMs > opened && p.fromMs <= closed) ? 1 : 0;
      let version = phase.version;
      let experiment: string | null = null;
      let variant: string | null = null;
      let mean = phase.meanPnl;
      if (strategy === s0 && closed >= expStart) {
        experiment = 'bench-exp';
        variant = rand() < 0.5 ? 'control' : 'candidate';
        version = exp.variants[variant];
        if (variant === 'candidate') mean += 0.3;
      }
      // Normal PnL (Box-Muller) around the version's mean, spread 10.
      const pnl =
        Math.round((mean + 10 * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())) * 1e4) / 1e4;
      const notional = Math.round(100 + rand() * 9900);
      const fees = notional * 0.001;
      insert.run(
        strategy,
        `t${i}`,
        SYMBOLS[i % SYMBOLS.length],
        rand() < 0.5 ? 'long' : 'short',
        opened,
        closed,
        pnl,
        fees,
        notional,
        version,
        experiment,
        variant,
        closed + 5,
        experiment ? 'variant' : 'time',
        straddle,
      );
    }
  });
  for (let from = 0; from < n; from += BATCH) insertBatch(from, Math.min(n, from + BATCH));
  for (const s of STRATEGIES)
    db3.prepare('INSERT INTO heartbeats (strategy, last_ms, beats) VALUES (?, ?, 1)').run(s, endMs);
  db3.pragma('wal_checkpoint(TRUNCATE)');
  ledger.close();
  const meta: LedgerMeta = {
    generator: GENERATOR_VERSION,
    trades: n,
    days,
    startMs,
    endMs,
    lateShare,
    seed,
    versions: versionCount,
    seconds: (performance.now() - started) / 1000,
  };
  writeFileSync(metaPath(db), JSON.stringify(meta, null, 2));
  return meta;
}

/** A ledger of `trades` trades at `db`, reused when an earlier run generated the same one. */
export function cachedLedger(db: string, trades: number, regenerate = false): { meta: LedgerMeta; reused: boolean } {
  const meta = readMeta(db);
  if (!regenerate && meta && meta.generator === GENERATOR_VERSION && meta.trades === trades)
    return { meta, reused: true };
  return { meta: generateLedger(db, { trades }), reused: false };
}

// `node dist/bench/generate.js <trades> <file>`
if (import.meta.url === `file://${process.argv[1]}`) {
  const [trades, file] = process.argv.slice(2);
  if (!trades || !file) {
    console.error('usage: node dist/bench/generate.js <trades> <file.db>');
    process.exit(2);
  }
  console.log(JSON.stringify(generateLedger(file, { trades: Number(trades) })));
}
