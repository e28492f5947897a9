// One HTTP server per child process, so that each has its own memory and event loop:
//   node dist/bench/server.js sidecar <ledger> <asOfMs> [frozen] [refresh=<ms>]   the real sidecar (refresh: its fold interval, 0 = off)
//   node dist/bench/server.js naive <ledger> <asOfMs>       SQL over raw trades on every scrape
//   node dist/bench/server.js floor <exposition-file>       a static registry of the same series
// The clock starts at asOfMs, just after the ledger's newest trade, so a ledger generated
// earlier has the same windows as a fresh one ("frozen": the clock stays there, so two
// programs can be asked for the figure at the same instant; asOfMs "now": the real clock). Prints "READY {json}" and runs until stdin closes.
import { readFileSync } from 'node:fs';
import express from 'express';
import { Ledger } from '../src/ledger/ledger.js';
import { silentLogger } from '../src/log.js';
import { SidecarMetrics } from '../src/sidecar/exposition.js';
import { startSidecar } from '../src/sidecar/server.js';
import { snapshot } from '../src/sidecar/snapshot.js';
import { parseThresholds } from '../src/sidecar/thresholds.js';
import { staticRegistry } from './floor.js';
import { NaiveWindows } from './naive.js';
import type { Registry } from 'prom-client';

const [mode, file, asOf, clock, refresh] = process.argv.slice(2);
const offset = asOf === 'now' ? 0 : Date.now() - Number(asOf);
const now = clock === 'frozen' ? () => Number(asOf) : () => Date.now() - offset;
const started = performance.now();

function ready(info: Record<string, unknown>): void {
  process.stdout.write(
    `READY ${JSON.stringify({ ...info, startMs: performance.now() - started, uptimeMs: process.uptime() * 1000 })}\n`,
  );
}

function serve(registry: Registry, before: () => void): Promise<number> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (_req, res) => {
    before();
    res.set('Content-Type', registry.contentType).send(await registry.metrics());
  });
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

if (mode === 'sidecar') {
  // "refresh=<ms>": the sidecar's background fold interval (default 100 ms; 0 = only on scrapes).
  const every = /^refresh=(\d+)$/.exec(refresh ?? '')?.[1];
  const s = await startSidecar({
    db: file,
    port: 0,
    logger: silentLogger(),
    now,
    keepVersions: 5,
    foldIntervalMs: every === undefined ? undefined : Number(every),
  });
  ready({ port: s.port, startMode: s.engine.startMode, stateNote: s.engine.stateNote, trades: s.engine.tradesSeen });
} else if (mode === 'naive') {
  const ledger = Ledger.open(file, { readonly: true });
  const naive = new NaiveWindows(ledger.raw);
  const count = ledger.raw.prepare('SELECT count(*) FROM trades').pluck();
  const metrics = new SidecarMetrics();
  const thresholds = parseThresholds(undefined, 'defaults');
  const port = await serve(metrics.registry, () => {
    const t = performance.now();
    metrics.ledgerTrades.set(count.get() as number);
    metrics.apply(snapshot(naive, ledger, now(), { keepVersions: 5, thresholds }));
    metrics.scrapeDuration.set((performance.now() - t) / 1000);
  });
  ready({ port });
} else if (mode === 'floor') {
  const registry = staticRegistry(readFileSync(file, 'utf8'));
  ready({ port: await serve(registry, () => {}) });
} else {
  console.error('usage: node dist/bench/server.js sidecar|naive <ledger> <asOfMs> | floor <exposition-file>');
  process.exit(2);
}
