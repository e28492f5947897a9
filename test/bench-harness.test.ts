// `npm run bench` in miniature: the harness runs end to end on a tiny ledger and writes every
// section of the results. A smoke check only: the figures of a run this short mean nothing,
// so nothing here compares times.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Results } from '../bench/run.js';
import { findBinary } from './support/binaries.js';
import { tempDir } from './support/tmp.js';

const RUN = fileURLToPath(new URL('../bench/run.js', import.meta.url));

test('the benchmark harness runs every part on a tiny ledger and writes a results file with every target', (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'RESULTS.md');
  const r = spawnSync(process.execPath, [RUN, '--smoke', '--data', dir, '--out', out], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const md = readFileSync(out, 'utf8');
  for (const section of [
    '## Targets',
    '## Scrape',
    '## Cold start',
    '## Memory',
    '## Profile',
    '## Ingestion',
    '## PromQL',
  ])
    assert.ok(md.includes(section), `RESULTS.md lacks ${section}`);
  for (const figure of [
    'static-registry floor',
    'trades.record()',
    'insertTrades(1,000)',
    'HTTP batches of 1,000',
    'while ingesting',
  ])
    assert.ok(md.includes(figure), `RESULTS.md lacks ${figure}`);
  assert.match(md, /Node v\d+/);
  assert.match(md, /node dist\/bench\/run\.js --smoke/);

  const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
  const [s] = results.scrape;
  assert.equal(s.trades, 2_000);
  assert.ok(s.http.sidecar.n >= 30 && s.http.floor.n >= 30 && s.http.naive.n >= 1, 'every server was scraped');
  assert.equal(s.coldScan.mode, 'scan');
  assert.ok(s.series > 300, `the sidecar exposes its series (${s.series})`);
  // Not a timing: the engine and the naive SQL baseline give the same figures at the same instant.
  assert.ok(
    s.agreement.compared > 300 && s.agreement.worst < 1e-9,
    `engine vs naive SQL: ${s.agreement.worst} at ${s.agreement.worstSeries}`,
  );
  assert.ok(
    results.ingest!.http.every((h) => h.errors === 0 && h.trades > 0),
    'HTTP batches were all accepted',
  );
  assert.ok(
    results.ingest!.underLoad.every((u) => u.scrapeErrors === 0 && u.scrape.n > 0),
    'scrapes under load answered',
  );
  if (findBinary('promtool') && findBinary('prometheus')) {
    const pq = results.promql!;
    assert.equal(pq.skipped, undefined);
    assert.equal(pq.figures.length, 5, 'PromQL answers for every strategy');
    // The same figure from both sides: the counters are sampled on the query's edges and the
    // sidecar is asked at the query's instant, so increase() counts exactly the window's trades.
    for (const f of pq.figures)
      assert.ok(
        Math.abs(f.promql - f.sidecar) <= 1e-9 * Math.abs(f.sidecar),
        `${f.strategy}: PromQL ${f.promql}, sidecar ${f.sidecar}`,
      );
  }
});
