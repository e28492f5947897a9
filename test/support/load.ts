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
  /** Heap used (MB) at the first sample after warm-up, and the highest of the last third of the run. */
  heapStartMb: number;
  heapEndMb: number;
  rssStartMb: number;
  rssEndMb: number;
}

export async function runLoad(o: { dir: string; seconds: number; rate: number; batch: number; deployEveryMs?: number; warmupSeconds?: number }): Promise<LoadFigures> {
  const db = join(o.dir, 'load.db');
  const token = 'load-test-token-0123456789abcdef';
  const sc = await spawnSidecar({ db, env: { EDGEWATCH_TOKEN: token }, waitPath: '/readyz' });
  try {
    const config: LoadConfig = { url: sc.url, seconds: o.seconds, rate: o.rate, batch: o.batch, scrapeEveryMs: 1000, deployEveryMs: o.deployEveryMs ?? 2000, token };
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
    const inWindow = m.filter((x) => x.name === 'edgewatch_window_trades' && x.labels.window === '1h').reduce((sum, x) => sum + x.value, 0);
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
    const lastThird = warm.slice(Math.floor((warm.length * 2) / 3));
    const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;
    return {
      ...s,
      rate: o.rate,
      batch: o.batch,
      achievedRate: Math.round(total / s.seconds),
      ledgerTrades,
      heapStartMb: mb(warm[0]?.heapUsed ?? NaN),
      heapEndMb: mb(Math.max(...lastThird.map((x) => x.heapUsed))),
      rssStartMb: mb(warm[0]?.rss ?? NaN),
      rssEndMb: mb(Math.max(...lastThird.map((x) => x.rss))),
    };
  } finally {
    await sc.kill();
  }
}
