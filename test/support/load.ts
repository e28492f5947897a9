// A load run: the sidecar process (`edgewatch sidecar`) and the load generator in a second
// process, both on loopback. Checks the properties (zero errors, exact final counts) and
// returns the figures; the memory judgement is left to the caller (a 5 s run is too short).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ledger } from '../../src/ledger/index.js';
import type { LoadConfig, LoadSummary } from './load-client.js';
import { spawnSidecar } from './sidecar-process.js';
import { parseExposition, value } from './tmp.js';

const CLIENT = fileURLToPath(new URL('./load-client.js', import.meta.url));

export interface LoadFigures extends LoadSummary {
  rate: number;
  batch: number;
  achievedRate: number;
  ledgerTrades: number;
  /**
   * Memory of the sidecar in MB, from its own /metrics once a second. heapUsed swings with the
   * garbage collector, so the floor (lowest sample) of the first and last third of the run after
   * warm-up tells a leak (the floor rises) from garbage; peaks are reported too.
   */
  heapFloorFirstMb: number;
  heapFloorLastMb: number;
  heapPeakMb: number;
  rssFirstMb: number;
  rssLastMb: number;
}

export async function runLoad(o: {
  dir: string;
  seconds: number;
  rate: number;
  batch: number;
  deployEveryMs?: number;
  warmupSeconds?: number;
  jitterMs?: number;
}): Promise<LoadFigures> {
  const db = join(o.dir, 'load.db');
  const token = 'load-test-token-0123456789abcdef';
  const sc = await spawnSidecar({ db, env: { EDGEWATCH_TOKEN: token }, waitPath: '/readyz' });
  try {
    const config: LoadConfig = {
      url: sc.url,
      seconds: o.seconds,
      rate: o.rate,
      batch: o.batch,
      scrapeEveryMs: 1000,
      deployEveryMs: o.deployEveryMs ?? 2000,
      token,
      jitterMs: o.jitterMs,
    };
    const child = spawn(process.execPath, [CLIENT, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    assert.equal(code, 0, `the load client failed: ${err}`);
    const s = JSON.parse(out) as LoadSummary;
    const total = Math.round(o.rate * o.seconds);
    // Properties: nothing failed, every trade was acknowledged once, and every count agrees.
    assert.deepEqual(s.errorSamples, [], 'no request failed');
    assert.equal(s.errors, 0);
    assert.equal(s.trades, total);
    assert.equal(s.acked, total);
    assert.equal(s.deployErrors, 0);
    assert.equal(s.scrapeErrors, 0);
    assert.ok(s.scrapes >= o.seconds, `a scrape every second (${s.scrapes} in ${o.seconds} s)`);
    const m = parseExposition(await (await fetch(`${sc.url}/metrics`)).text());
    assert.equal(value(m, 'edgewatch_ledger_trades'), total);
    assert.equal(value(m, 'edgewatch_ingest_events_total', { kind: 'trades', result: 'accepted' }), total);
    assert.equal(value(m, 'edgewatch_ingest_events_total', { kind: 'params', result: 'accepted' }), s.deploys);
    const inWindow = m
      .filter((x) => x.name === 'edgewatch_window_trades' && x.labels.window === '1h')
      .reduce((sum, x) => sum + x.value, 0);
    assert.equal(inWindow, total, 'the 1h windows hold every trade');
    await sc.kill('SIGTERM');
    const l = Ledger.open(db, { readonly: true });
    let ledgerTrades: number;
    try {
      ledgerTrades = l.raw.prepare('SELECT count(*) FROM trades').pluck().get() as number;
      assert.equal(ledgerTrades, total);
      assert.equal(l.raw.prepare('SELECT count(*) FROM param_deploys').pluck().get(), s.deploys);
    } finally {
      l.close();
    }
    const warm = s.samples.filter((x) => x.atMs >= (o.warmupSeconds ?? 1) * 1000);
    const third = Math.max(1, Math.floor(warm.length / 3));
    const [first, last] = [warm.slice(0, third), warm.slice(-third)];
    const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;
    return {
      ...s,
      rate: o.rate,
      batch: o.batch,
      achievedRate: Math.round(total / s.seconds),
      ledgerTrades,
      heapFloorFirstMb: mb(Math.min(...first.map((x) => x.heapUsed))),
      heapFloorLastMb: mb(Math.min(...last.map((x) => x.heapUsed))),
      heapPeakMb: mb(Math.max(...warm.map((x) => x.heapUsed))),
      rssFirstMb: mb(Math.max(...first.map((x) => x.rss))),
      rssLastMb: mb(Math.max(...last.map((x) => x.rss))),
    };
  } finally {
    await sc.kill();
  }
}
