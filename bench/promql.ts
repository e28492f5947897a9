// The alternative a user reaches for: no sidecar, just the bot's counters in Prometheus and a
// query. A real Prometheus is back-filled (promtool tsdb create-blocks-from openmetrics) with 7
// days of trading_trades_total at a 15 s scrape interval, computed from the same ledger the
// sidecar reads, and the query for "24h win ratio against 7d win ratio" is timed against one
// sidecar scrape that carries both ratios.
import { spawn, execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import Database from 'better-sqlite3';
import { findBinary } from '../test/support/binaries.js';
import { readMeta } from './generate.js';
import { startServer } from './scrape.js';
import { http, ms, sleep, summarize, type Summary } from './stats.js';
import { freePort } from '../scripts/lib/host.js';

export const QUERY = `(
  sum by (strategy) (increase(trading_trades_total{outcome="win"}[24h]))
  / sum by (strategy) (increase(trading_trades_total[24h]))
) / (
  sum by (strategy) (increase(trading_trades_total{outcome="win"}[7d]))
  / sum by (strategy) (increase(trading_trades_total[7d]))
)`;

export interface PromqlResult {
  size: string;
  series: number;
  samples: number;
  backfillSeconds: number;
  blocksBackfilled: number;
  /** Query latency right after start (2h blocks as back-filled) and after Prometheus compacted them. */
  runs: Array<{ label: string; blocks: number; cold: number; warm: Summary }>;
  sidecarScrape: Summary;
  /** Per strategy: the PromQL figure and the sidecar's win_ratio{24h} / win_ratio{7d}. */
  figures: Array<{ strategy: string; promql: number; sidecar: number }>;
  skipped?: string;
}

/** Writes the OpenMetrics file: cumulative trade counts per (strategy, version, outcome) every 15 s. */
async function writeCounters(
  db: string,
  file: string,
  endMs: number,
  shiftMs: number,
  days: number,
  stepS: number,
): Promise<{ series: number; samples: number }> {
  const ledger = new Database(db, { readonly: true });
  const startMs = endMs - days * 86_400_000 - 3_600_000; // an hour of lead so increase()[7d] sees a full range
  const steps = Math.floor((endMs - startMs) / (stepS * 1000)) + 1;
  const out = createWriteStream(file);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : once(out, 'drain').then(() => undefined));
  await write('# HELP trading_trades Closed trades, by outcome.\n# TYPE trading_trades counter\n');
  let series = 0;
  const strategies = ledger.prepare('SELECT name FROM strategies ORDER BY name').pluck().all() as string[];
  const before =
    ledger.prepare(`SELECT coalesce(param_version, 0) AS v, sum(pnl > 0) AS win, sum(pnl < 0) AS loss, sum(pnl = 0) AS flat
    FROM trades WHERE strategy = ? AND closed_ms <= ? GROUP BY v`);
  const rows = ledger
    .prepare(
      'SELECT coalesce(param_version, 0) AS v, closed_ms, pnl FROM trades WHERE strategy = ? AND closed_ms > ? AND closed_ms <= ? ORDER BY closed_ms',
    )
    .raw();
  for (const strategy of strategies) {
    // counts[version][outcome] at each step
    const counts = new Map<number, { win: number; loss: number; flat: number; at: Float64Array[] }>();
    const get = (v: number) => {
      let c = counts.get(v);
      if (!c)
        counts.set(
          v,
          (c = {
            win: 0,
            loss: 0,
            flat: 0,
            at: [
              new Float64Array(steps).fill(NaN),
              new Float64Array(steps).fill(NaN),
              new Float64Array(steps).fill(NaN),
            ],
          }),
        );
      return c;
    };
    for (const r of before.all(strategy, startMs) as Array<{ v: number; win: number; loss: number; flat: number }>)
      Object.assign(get(r.v), { win: r.win, loss: r.loss, flat: r.flat });
    let step = 0;
    const record = (upTo: number) => {
      for (; step < steps && startMs + step * stepS * 1000 < upTo; step++)
        for (const c of counts.values()) [c.win, c.loss, c.flat].forEach((x, i) => (c.at[i][step] = x));
    };
    for (const [v, closed, pnl] of rows.iterate(strategy, startMs, endMs) as IterableIterator<
      [number, number, number]
    >) {
      record(closed); // samples taken before this trade closed do not count it
      const c = get(v);
      if (pnl > 0) c.win++;
      else if (pnl < 0) c.loss++;
      else c.flat++;
    }
    record(Infinity);
    for (const [v, c] of counts) {
      for (const [i, outcome] of ['win', 'loss', 'flat'].entries()) {
        const labels = `{strategy="${strategy}",param_version="${v === 0 ? 'none' : `v${v}`}",outcome="${outcome}"}`;
        let chunk = '';
        let any = false;
        for (let k = 0; k < steps; k++) {
          const x = c.at[i][k];
          if (Number.isNaN(x)) continue; // the series did not exist yet (a version deployed later)
          any = true;
          chunk += `trading_trades_total${labels} ${x} ${((startMs + k * stepS * 1000 + shiftMs) / 1000).toFixed(3)}\n`;
          if (chunk.length > 1 << 20) {
            await write(chunk);
            chunk = '';
          }
        }
        await write(chunk);
        if (any) series++;
      }
    }
  }
  ledger.close();
  await write('# EOF\n');
  out.end();
  await once(out, 'finish');
  return { series, samples: series * steps };
}

function blocks(dir: string): number {
  return readdirSync(dir).filter((d) => /^[0-9A-Z]{26}$/.test(d)).length;
}

export async function promqlBench(
  dataDir: string,
  size: string,
  opts: { queries: number; waitCompactionMs: number; stepSeconds?: number; log: (l: string) => void },
): Promise<PromqlResult> {
  const empty: PromqlResult = {
    size,
    series: 0,
    samples: 0,
    backfillSeconds: 0,
    blocksBackfilled: 0,
    runs: [],
    sidecarScrape: summarize([]),
    figures: [],
  };
  const promtool = findBinary('promtool');
  const prometheus = findBinary('prometheus');
  if (!promtool || !prometheus)
    return { ...empty, skipped: 'promtool/prometheus not installed (apt-get install prometheus)' };
  const db = join(dataDir, `ledger-${size}.db`);
  const meta = readMeta(db);
  if (!meta) return { ...empty, skipped: `no ledger ${db}` };
  const dir = join(dataDir, 'promql');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'tsdb'), { recursive: true });

  // The ledger's clock is shifted so its newest trade is "now": the blocks fall inside retention.
  const asOf = meta.endMs + 1000;
  const shift = Date.now() - asOf;
  const file = join(dir, 'counters.om');
  let t = performance.now();
  const { series, samples } = await writeCounters(db, file, asOf, shift, 7, opts.stepSeconds ?? 15);
  opts.log(
    `  wrote ${series} counter series, ${samples.toLocaleString('en-US')} samples in ${(ms(t) / 1000).toFixed(1)} s`,
  );
  t = performance.now();
  execFileSync(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', file, join(dir, 'tsdb')], {
    stdio: ['ignore', 'ignore', 'inherit'],
    maxBuffer: 1 << 26,
  });
  const backfillSeconds = ms(t) / 1000;
  const blocksBackfilled = blocks(join(dir, 'tsdb'));
  opts.log(`  promtool back-filled ${blocksBackfilled} blocks in ${backfillSeconds.toFixed(1)} s`);
  rmSync(file, { force: true });

  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\n');
  const prom = spawn(
    prometheus,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=15d',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const sidecar = await startServer(['sidecar', db, String(asOf), 'frozen']); // the figure at the query's instant
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let k = 0; k < 300 && (await http(`${base}/-/ready`).catch(() => ({ status: 0 }))).status !== 200; k++)
      await sleep(100);
    // Evaluated at the ledger's "now" (its newest trade), shifted as the samples were.
    const url = `${base}/api/v1/query?query=${encodeURIComponent(QUERY)}&time=${(asOf + shift) / 1000}`;
    const measure = async (label: string) => {
      const first = await http(url);
      if (first.status !== 200) throw new Error(`Prometheus answered ${first.status}: ${first.body.slice(0, 300)}`);
      const warm: number[] = [];
      for (let k = 0; k < opts.queries; k++) warm.push((await http(url)).ms);
      const run = { label, blocks: blocks(join(dir, 'tsdb')), cold: first.ms, warm: summarize(warm) };
      opts.log(
        `  PromQL ${label}: first ${first.ms.toFixed(0)} ms, then p50 ${run.warm.p50.toFixed(1)} ms p99 ${run.warm.p99.toFixed(1)} ms (${run.blocks} blocks)`,
      );
      return { run, body: first.body };
    };
    const fresh = await measure('as back-filled');
    const runs = [fresh.run];
    // Prometheus compacts the 2h blocks into larger ones about a minute after start: the state of a server that ran for a week.
    const deadline = performance.now() + opts.waitCompactionMs;
    let last = blocks(join(dir, 'tsdb'));
    while (performance.now() < deadline) {
      await sleep(5000);
      const now = blocks(join(dir, 'tsdb'));
      if (now < last && now <= 12) break;
      last = now;
    }
    if (blocks(join(dir, 'tsdb')) < fresh.run.blocks) runs.push((await measure('after compaction')).run);

    const scrape: number[] = [];
    let body = '';
    for (let k = 0; k < opts.queries; k++) {
      const r = await http(`${sidecar.url}/metrics`);
      scrape.push(r.ms);
      body = r.body;
    }
    const ratio = (strategy: string, w: string) =>
      Number(
        new RegExp(`^edgewatch_window_win_ratio\\{strategy="${strategy}",window="${w}"\\} (\\S+)$`, 'm').exec(
          body,
        )?.[1],
      );
    const result = (
      JSON.parse(fresh.body) as { data: { result: Array<{ metric: { strategy: string }; value: [number, string] }> } }
    ).data.result;
    const figures = result
      .map((r) => ({
        strategy: r.metric.strategy,
        promql: Number(r.value[1]),
        sidecar: ratio(r.metric.strategy, '24h') / ratio(r.metric.strategy, '7d'),
      }))
      .sort((a, b) => a.strategy.localeCompare(b.strategy));
    return {
      size,
      series,
      samples,
      backfillSeconds,
      blocksBackfilled,
      runs,
      sidecarScrape: summarize(scrape),
      figures,
    };
  } finally {
    sidecar.close();
    prom.kill('SIGTERM');
    await once(prom, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
}
