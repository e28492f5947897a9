// `npm run bench`: every benchmark of issue 5 in one run, written to bench/RESULTS.md between
// the results markers (the hand-written notes below them are kept).
//   node dist/bench/run.js [--sizes 10k,1m,10m] [--only scrape,ingest,promql] [--regenerate]
//                          [--data .bench-data] [--out bench/RESULTS.md] [--smoke]
// --smoke: tiny sizes and short runs, to check the harness works (npm test runs it), never timed.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ingestBench, type IngestResult } from './ingest.js';
import { promqlBench, QUERY, type PromqlResult } from './promql.js';
import { scrapeBench, type ScrapeResult } from './scrape.js';
import { fmt, machine, ratio, type Machine } from './stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunOptions {
  sizes: string[];
  only: Set<string>;
  dataDir: string;
  out: string;
  regenerate: boolean;
  smoke: boolean;
  command: string;
  log: (l: string) => void;
}

export interface Results {
  startedAt: string;
  minutes: number;
  command: string;
  machine: Machine;
  loadAfter: number[];
  scrape: ScrapeResult[];
  ingest?: IngestResult;
  promql?: PromqlResult;
}

export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(s.trim());
  if (!m) throw new Error(`bad size "${s}": use e.g. 10k, 1m, 10m or a number`);
  return Math.round(Number(m[1]) * (m[2].toLowerCase() === 'k' ? 1e3 : m[2].toLowerCase() === 'm' ? 1e6 : 1));
}

export function parseArgs(argv: string[]): RunOptions {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const smoke = argv.includes('--smoke');
  return {
    sizes: (get('sizes') ?? (smoke ? '2k' : '10k,1m,10m')).split(',').map((s) => s.trim().toLowerCase()),
    only: new Set((get('only') ?? 'scrape,ingest,promql').split(',')),
    dataDir: resolve(get('data') ?? join(ROOT, '.bench-data')),
    out: resolve(get('out') ?? join(ROOT, 'bench', 'RESULTS.md')),
    regenerate: argv.includes('--regenerate'),
    smoke,
    command: `node dist/bench/run.js ${argv.join(' ')}`.trim(),
    log: (l) => console.log(l),
  };
}

export async function runBench(o: RunOptions): Promise<Results> {
  mkdirSync(o.dataDir, { recursive: true });
  const started = Date.now();
  const results: Results = {
    startedAt: new Date(started).toISOString(),
    minutes: 0,
    command: o.command,
    machine: machine(o.dataDir),
    loadAfter: [],
    scrape: [],
  };
  o.log(
    `edgewatch bench: ${results.machine.cores} cores, ${results.machine.memoryGb} GB, Node ${results.machine.node}; data in ${o.dataDir}`,
  );
  if (o.only.has('scrape'))
    for (const size of o.sizes)
      results.scrape.push(
        await scrapeBench({
          size,
          trades: parseSize(size),
          dataDir: o.dataDir,
          regenerate: o.regenerate,
          scrapes: o.smoke ? 30 : 300,
          naiveMax: o.smoke ? 2 : 30,
          naiveBudgetMs: o.smoke ? 5_000 : 90_000,
          log: o.log,
        }),
      );
  if (o.only.has('ingest')) {
    o.log('ingestion');
    results.ingest = await ingestBench(o.dataDir, {
      seconds: o.smoke ? 0.2 : 3,
      singleSeconds: o.smoke ? 0.2 : 5,
      httpBatches: o.smoke ? 4 : 100,
      loadSeconds: o.smoke ? 1.5 : 20,
      log: o.log,
    });
  }
  if (o.only.has('promql')) {
    const size = o.sizes[o.sizes.length - 1];
    o.log(`PromQL (counters from the ${size} ledger)`);
    results.promql = await promqlBench(o.dataDir, size, {
      queries: o.smoke ? 3 : 30,
      waitCompactionMs: o.smoke ? 0 : 180_000,
      stepSeconds: o.smoke ? 600 : 15,
      log: o.log,
    });
    if (results.promql.skipped) o.log(`  skipped: ${results.promql.skipped}`);
  }
  results.minutes = (Date.now() - started) / 60_000;
  results.loadAfter = loadavg().map((x) => Math.round(x * 100) / 100);
  writeFileSync(join(o.dataDir, 'results.json'), JSON.stringify(results, null, 2));
  writeResults(o.out, render(results, o));
  o.log(
    `results written to ${o.out} (figures as JSON in ${join(o.dataDir, 'results.json')}), ${results.minutes.toFixed(1)} min`,
  );
  return results;
}

const BEGIN = '<!-- results:begin (written by `npm run bench`; edit the notes below the end marker instead) -->';
const END = '<!-- results:end -->';

function writeResults(path: string, body: string): void {
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const i = old.indexOf(BEGIN);
  const j = old.indexOf(END);
  const block = `${BEGIN}\n${body}\n${END}`;
  const text =
    i >= 0 && j > i ? old.slice(0, i) + block + old.slice(j + END.length) : `# edgewatch benchmarks\n\n${block}\n`;
  writeFileSync(path, text);
}

type Verdict = 'met' | 'not met' | 'not measured';
const mark = (v: Verdict) => (v === 'met' ? '**met**' : v === 'not met' ? '**not met**' : 'not measured');

export function render(r: Results, o: Pick<RunOptions, 'smoke'>): string {
  const m = r.machine;
  const by = new Map(r.scrape.map((s) => [s.size, s]));
  const small = r.scrape[0];
  const large = r.scrape[r.scrape.length - 1];
  const big = by.get('10m');
  const lines: string[] = [];
  const p = (s = '') => lines.push(s);
  p(
    `Run ${r.startedAt} (${r.minutes.toFixed(1)} min): \`${r.command}\`${o.smoke ? ' — **smoke run: tiny sizes, figures meaningless**' : ''}.`,
  );
  p();
  p(
    `Machine: ${m.cpu}, ${m.cores} cores (shared with other work: load average ${m.loadBefore.join(' / ')} before, ${r.loadAfter.join(' / ')} after), ${m.memoryGb} GB memory, Node ${m.node}, ${m.os}, disk ${m.disk}.`,
  );
  p();

  // ---- targets ----
  const rows: Array<[string, string, string, Verdict, string]> = [];
  if (big && small && small !== big) {
    const x = big.http.sidecar.p99 / small.http.sidecar.p99;
    rows.push([
      '/metrics p99 at 10M vs at ' + small.size,
      '≤ 1.5×',
      `${fmt(big.http.sidecar.p99)} ms vs ${fmt(small.http.sidecar.p99)} ms = ${ratio(big.http.sidecar.p99, small.http.sidecar.p99)}`,
      x <= 1.5 ? 'met' : 'not met',
      `p50 ${fmt(big.http.sidecar.p50)} vs ${fmt(small.http.sidecar.p50)} ms`,
    ]);
  } else rows.push(['/metrics p99 at 10M vs at 10k', '≤ 1.5×', 'n/a', 'not measured', 'needs sizes 10k and 10m']);
  for (const s of big ? [big] : large ? [large] : []) {
    const x = s.http.naive.p50 / s.http.sidecar.p50;
    rows.push([
      `naive SQL sidecar / sidecar at ${s.size} (p50)`,
      '≥ 100×',
      `${fmt(s.http.naive.p50)} ms / ${fmt(s.http.sidecar.p50)} ms = ${ratio(s.http.naive.p50, s.http.sidecar.p50)}`,
      s === big ? (x >= 100 ? 'met' : 'not met') : 'not measured',
      `${s.http.naive.n} naive scrapes; p99 ratio ${ratio(s.http.naive.p99, s.http.sidecar.p99)}`,
    ]);
  }
  for (const s of r.scrape) {
    const a = s.http.sidecar.p50 / s.http.floor.p50;
    const b = s.http.sidecar.p99 / s.http.floor.p99;
    rows.push([
      `sidecar / static-registry floor at ${s.size}`,
      '≤ 2×',
      `p50 ${ratio(s.http.sidecar.p50, s.http.floor.p50)}, p99 ${ratio(s.http.sidecar.p99, s.http.floor.p99)}`,
      a <= 2 && b <= 2 ? 'met' : 'not met',
      `in-process (no HTTP) p50 ${ratio(s.inProcess.sidecar.p50, s.inProcess.floor.p50)}`,
    ]);
  }
  if (big) {
    rows.push([
      'cold start at 10M, first start (no saved state)',
      '< 5 s',
      `${fmt(big.coldScan.ms / 1000)} s`,
      big.coldScan.ms < 5000 ? 'met' : 'not met',
      `reads all ${fmt(big.trades)} trades once: ${fmt((big.coldScan.loadMs * 1000) / big.trades)} µs per trade`,
    ]);
    rows.push([
      'cold start at 10M, restart (saved state)',
      '< 5 s',
      `${fmt(big.coldState.ms / 1000)} s`,
      big.coldState.ms < 5000 ? 'met' : 'not met',
      `mode ${big.coldState.mode}; state file ${fmt(big.stateMb)} MB`,
    ]);
    const peak = Math.max(big.memory.sidecar.peakMb, big.coldState.peakMb);
    rows.push([
      'sidecar memory at 10M (RSS after the scrapes; peak)',
      '< 200 MB',
      `${fmt(big.memory.sidecar.rssMb)} MB; peak ${fmt(peak)} MB`,
      big.memory.sidecar.rssMb < 200 && peak < 200 ? 'met' : 'not met',
      `first start without state peaked at ${fmt(big.coldScan.peakMb)} MB`,
    ]);
  } else rows.push(['cold start and memory at 10M', '< 5 s, < 200 MB', 'n/a', 'not measured', 'needs size 10m']);
  const ing = r.ingest;
  if (ing) {
    for (const s of ing.single)
      rows.push([
        `SDK trades.record() vs bare autocommit INSERT (synchronous=${s.sync})`,
        '≤ 1.5×',
        `${fmt(s.edgewatchPerSec)}/s vs ${fmt(s.barePerSec)}/s = ${ratio(s.barePerSec, s.edgewatchPerSec)}`,
        s.sync === 'FULL' || s.sync === 'NORMAL'
          ? s.barePerSec / s.edgewatchPerSec <= 1.5
            ? 'met'
            : 'not met'
          : 'not measured',
        `per call p50 ${fmt(s.edgewatch.p50 * 1000)} µs vs ${fmt(s.bare.p50 * 1000)} µs`,
      ]);
    for (const s of ing.batch)
      rows.push([
        `Ledger.insertTrades(1,000) vs bare 1,000-row transaction (synchronous=${s.sync})`,
        '≤ 1.5×',
        `${fmt(s.edgewatchPerSec)} vs ${fmt(s.barePerSec)} trades/s = ${ratio(s.barePerSec, s.edgewatchPerSec)}`,
        s.barePerSec / s.edgewatchPerSec <= 1.5 ? 'met' : 'not met',
        `per batch p50 ${fmt(s.edgewatch.p50)} ms vs ${fmt(s.bare.p50)} ms`,
      ]);
    for (const h of ing.http)
      rows.push([
        `HTTP batches of 1,000, ${h.concurrency} in flight`,
        '≥ 50,000 trades/s',
        `${fmt(h.tradesPerSec)} trades/s`,
        h.tradesPerSec >= 50_000 && h.errors === 0 ? 'met' : 'not met',
        `${h.batches} batches, p50 ${fmt(h.batch.p50)} ms per batch, ${h.errors} errors`,
      ]);
    for (const u of ing.underLoad)
      rows.push([
        `scrape every 1 s while ingesting ${u.label}`,
        'p99 < 50 ms, no error',
        `p99 ${fmt(u.scrape.p99)} ms, ${u.scrapeErrors} errors`,
        u.scrape.p99 < 50 && u.scrapeErrors === 0 ? 'met' : 'not met',
        `${fmt(u.ingestTradesPerSec)} trades/s in; ${u.scrape.n} scrapes, p50 ${fmt(u.scrape.p50)} ms, max ${fmt(u.scrape.max)} ms`,
      ]);
  }
  const pq = r.promql;
  if (pq && !pq.skipped) {
    const best = pq.runs[pq.runs.length - 1];
    rows.push([
      `PromQL 24h/7d win ratio (${best.label}) vs one sidecar scrape`,
      'report',
      `${fmt(best.warm.p50)} ms vs ${fmt(pq.sidecarScrape.p50)} ms = ${ratio(best.warm.p50, pq.sidecarScrape.p50)}`,
      'met',
      `first query ${fmt(best.cold)} ms; ${best.blocks} blocks`,
    ]);
  }
  p('## Targets');
  p();
  p('| figure | target | measured | verdict | detail |');
  p('|---|---|---|---|---|');
  for (const [f, t, v, verdict, d] of rows) p(`| ${f} | ${t} | ${v} | ${mark(verdict)} | ${d} |`);
  p();

  if (r.scrape.length) {
    p('## Scrape: /metrics over HTTP on loopback, milliseconds');
    p();
    p(
      "Each server runs in its own process; rounds alternate sidecar, floor and naive scrapes so that a noisy neighbour hits all three. The floor holds the same series as the sidecar (values of one real scrape) plus prom-client's default metrics, which both collect on every scrape.",
    );
    p();
    p(
      '| ledger | series | sidecar p50 / p99 | floor p50 / p99 | naive p50 / p99 (scrapes) | naive / sidecar p50 | sidecar / floor p50 |',
    );
    p('|---|---|---|---|---|---|---|');
    for (const s of r.scrape)
      p(
        `| ${s.size} (${fmt(s.ledgerMb)} MB) | ${s.series} | ${fmt(s.http.sidecar.p50)} / ${fmt(s.http.sidecar.p99)} | ${fmt(s.http.floor.p50)} / ${fmt(s.http.floor.p99)} | ${fmt(s.http.naive.p50)} / ${fmt(s.http.naive.p99)} (${s.http.naive.n}) | ${ratio(s.http.naive.p50, s.http.sidecar.p50)} | ${ratio(s.http.sidecar.p50, s.http.floor.p50)} |`,
      );
    p();
    p(
      'Same figures: the engine and the naive SQL baseline, asked at the same instant, give the same statistics (every window, baseline, drift, version, regression and experiment figure of the snapshot), to rounding (sums in another order, the naive variance from Σx²):',
    );
    for (const s of r.scrape)
      p(
        `- ${s.size}: ${s.agreement.compared} figures, largest relative difference ${s.agreement.worst.toExponential(1)} (${s.agreement.worstSeries})`,
      );
    p();
    p("## Pages: the sidecar's HTML pages next to its scrape, milliseconds (issue 15)");
    p();
    p(
      'Timed in the same rounds as the sidecar scrapes above, over HTTP: the overview (`/`), one strategy page (7d charts from the hour blocks, versions, experiments) and its report page.',
    );
    p();
    p('| ledger | /metrics p50 / p99 | `/` p50 / p99 | `/strategies/<s>` p50 / p99 | `/report/<s>` p50 / p99 |');
    p('|---|---|---|---|---|');
    for (const s of r.scrape)
      if (s.pages)
        p(
          `| ${s.size} | ${fmt(s.http.sidecar.p50)} / ${fmt(s.http.sidecar.p99)} | ${fmt(s.pages.overview.p50)} / ${fmt(s.pages.overview.p99)} | ${fmt(s.pages.strategyPage.p50)} / ${fmt(s.pages.strategyPage.p99)} | ${fmt(s.pages.report.p50)} / ${fmt(s.pages.report.p99)} |`,
        );
    p();
    p('## Cold start: process spawn to the end of the first /metrics answer');
    p();
    p('| ledger | first start (no saved state) | restart (saved state) | naive (one full scrape) | state file |');
    p('|---|---|---|---|---|');
    for (const s of r.scrape)
      p(
        `| ${s.size} | ${fmt(s.coldScan.ms)} ms (load ${fmt(s.coldScan.loadMs)} ms, ${s.coldScan.mode}) | ${fmt(s.coldState.ms)} ms (load ${fmt(s.coldState.loadMs)} ms, ${s.coldState.mode}) | ${fmt(s.coldNaive.ms)} ms | ${s.stateMb ? `${fmt(s.stateMb)} MB` : 'none (under 100,000 trades)'} |`,
      );
    p();
    p('## Memory: resident set (RSS) of each process, MB');
    p();
    p('| ledger | sidecar after scrapes (peak) | sidecar first start peak | naive (peak) | floor (peak) |');
    p('|---|---|---|---|---|');
    for (const s of r.scrape)
      p(
        `| ${s.size} | ${fmt(s.memory.sidecar.rssMb)} (${fmt(s.memory.sidecar.peakMb)}) | ${fmt(s.coldScan.peakMb)} | ${fmt(s.memory.naive.rssMb)} (${fmt(s.memory.naive.peakMb)}) | ${fmt(s.memory.floor.rssMb)} (${fmt(s.memory.floor.peakMb)}) |`,
      );
    p();
    p("## Profile: the /metrics handler's work in-process (no HTTP), milliseconds p50 / p99");
    p();
    p(
      '| ledger | refresh (new rows) | snapshot (windows, drift, versions) | apply (set gauges) | serialize (prom-client) | total | floor serialize |',
    );
    p('|---|---|---|---|---|---|---|');
    for (const s of r.scrape) {
      const q = s.inProcess.parts;
      p(
        `| ${s.size} | ${fmt(q.refresh.p50)} / ${fmt(q.refresh.p99)} | ${fmt(q.snapshot.p50)} / ${fmt(q.snapshot.p99)} | ${fmt(q.apply.p50)} / ${fmt(q.apply.p99)} | ${fmt(q.serialize.p50)} / ${fmt(q.serialize.p99)} | ${fmt(s.inProcess.sidecar.p50)} / ${fmt(s.inProcess.sidecar.p99)} | ${fmt(s.inProcess.floor.p50)} / ${fmt(s.inProcess.floor.p99)} |`,
      );
    }
    p();
  }
  if (ing) {
    p('## Ingestion');
    p();
    p(
      'Interleaved in slices of 50 ms for 5 s a side (single trades) and of 300 ms for 3 s a side (batches), on fresh ledgers on the same disk, same pragmas (WAL, foreign keys on) and the same row; batches are built outside the timed call on both sides.',
    );
    p();
    p(
      '| path | synchronous | edgewatch | bare better-sqlite3 | bare / edgewatch | per call p50 / p99 (edgewatch; bare) |',
    );
    p('|---|---|---|---|---|---|');
    for (const s of ing.single)
      p(
        `| trades.record() vs autocommit INSERT | ${s.sync} | ${fmt(s.edgewatchPerSec)} trades/s | ${fmt(s.barePerSec)} trades/s | ${ratio(s.barePerSec, s.edgewatchPerSec)} | ${fmt(s.edgewatch.p50 * 1000)} / ${fmt(s.edgewatch.p99 * 1000)} µs; ${fmt(s.bare.p50 * 1000)} / ${fmt(s.bare.p99 * 1000)} µs |`,
      );
    for (const s of ing.batch)
      p(
        `| insertTrades(1,000) vs 1,000-row transaction | ${s.sync} | ${fmt(s.edgewatchPerSec)} trades/s | ${fmt(s.barePerSec)} trades/s | ${ratio(s.barePerSec, s.edgewatchPerSec)} | ${fmt(s.edgewatch.p50)} / ${fmt(s.edgewatch.p99)} ms; ${fmt(s.bare.p50)} / ${fmt(s.bare.p99)} ms |`,
      );
    p();
    p('| HTTP POST /v1/trades, 1,000 per batch | trades/s | batch p50 / p99 | errors |');
    p('|---|---|---|---|');
    for (const h of ing.http)
      p(
        `| ${h.concurrency} in flight, ${h.batches} batches | ${fmt(h.tradesPerSec)} | ${fmt(h.batch.p50)} / ${fmt(h.batch.p99)} ms | ${h.errors} |`,
      );
    p();
    p(
      '| scrapes every 1 s while ingesting | trades/s in | scrapes | scrape p50 / p99 / max | scrape errors | ingest errors |',
    );
    p('|---|---|---|---|---|---|');
    for (const u of ing.underLoad)
      p(
        `| ${u.label} | ${fmt(u.ingestTradesPerSec)} | ${u.scrape.n} | ${fmt(u.scrape.p50)} / ${fmt(u.scrape.p99)} / ${fmt(u.scrape.max)} ms | ${u.scrapeErrors} | ${u.ingestErrors} |`,
      );
    p();
  }
  if (pq) {
    p('## PromQL: the same figure from raw counters in a real Prometheus');
    p();
    if (pq.skipped) p(`Skipped: ${pq.skipped}.`);
    else {
      p(
        `Prometheus (Debian 2.42) back-filled with \`promtool tsdb create-blocks-from openmetrics\`: ${pq.series} series of \`trading_trades_total{strategy,param_version,outcome}\` every 15 s over 7 days (${fmt(pq.samples)} samples, ${pq.blocksBackfilled} blocks, back-fill ${fmt(pq.backfillSeconds)} s), computed from the ${pq.size} ledger. Query (instant, at the ledger's newest trade):`,
      );
      p();
      p('```promql');
      p(QUERY);
      p('```');
      p();
      p('| | first | p50 | p99 | blocks |');
      p('|---|---|---|---|---|');
      for (const run of pq.runs)
        p(
          `| PromQL, ${run.label} | ${fmt(run.cold)} ms | ${fmt(run.warm.p50)} ms | ${fmt(run.warm.p99)} ms | ${run.blocks} |`,
        );
      p(
        `| one sidecar scrape (all windows of all strategies) | | ${fmt(pq.sidecarScrape.p50)} ms | ${fmt(pq.sidecarScrape.p99)} ms | |`,
      );
      p();
      p('| strategy | PromQL | sidecar win_ratio{24h} / win_ratio{7d} |');
      p('|---|---|---|');
      for (const f of pq.figures) p(`| ${f.strategy} | ${f.promql.toFixed(6)} | ${f.sidecar.toFixed(6)} |`);
    }
    p();
  }
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runBench(parseArgs(process.argv.slice(2)));
}
