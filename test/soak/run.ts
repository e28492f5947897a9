// The long reliability runs behind `npm run test:soak` (too long for `npm test`):
//   1. load, trades in order: 60 s at 2,000 trades/s (batches of 10) with a scrape every second and
//      a deploy every 2 s, from a second process against the sidecar process;
//   2. the same with trades shuffled within a second (closed_at up to 1 s apart, arriving out of order);
//   3. kill -9 of the SDK bot, 100 times; 4. kill -9 of the sidecar process, 100 times.
// Each run checks its properties (zero errors, exact counts, nothing acknowledged lost, a retry
// stores each trade once); the load runs also check that memory is flat (the post-GC floor of the
// heap does not rise) and that no request or scrape takes long enough to time out. Prints the figures as JSON lines and a
// summary; exits 1 if any property failed. Settings (environment):
//   EDGEWATCH_SOAK_SECONDS (60), EDGEWATCH_SOAK_RATE (2000), EDGEWATCH_SOAK_BATCH (10 trades per
//   request), EDGEWATCH_SOAK_KILLS (100),
//   EDGEWATCH_SOAK_ONLY (load|crash), EDGEWATCH_CRASH_SEED.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sdkCrashRounds, sidecarCrashRounds } from '../support/crash.js';
import { runLoad, type LoadFigures } from '../support/load.js';

const seconds = Number(process.env.EDGEWATCH_SOAK_SECONDS ?? 60);
const rate = Number(process.env.EDGEWATCH_SOAK_RATE ?? 2000);
const batch = Number(process.env.EDGEWATCH_SOAK_BATCH ?? 10);
const kills = Number(process.env.EDGEWATCH_SOAK_KILLS ?? 100);
const only = process.env.EDGEWATCH_SOAK_ONLY;
const seed = Number(process.env.EDGEWATCH_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

/**
 * Latency bounds that mean failure rather than a slow machine: no scrape may reach Prometheus'
 * default scrape_timeout (10 s), and no write may take longer than a client's usual 5 s timeout.
 * The p99 figures are reported; on 2 shared cores they depend on what else runs.
 */
const MAX_REQUEST_MS = 5000;
const MAX_SCRAPE_MS = 10_000;
/** The heap floor may rise by half, plus 16 MB of slack for caches that fill once. */
const flat = (f: LoadFigures) => f.heapFloorLastMb <= f.heapFloorFirstMb * 1.5 + 16;

const failures: string[] = [];
const summary: string[] = [];
const log = (what: string, data: unknown) => process.stdout.write(`${JSON.stringify({ what, ...(data as object) })}\n`);

async function step(name: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'edgewatch-soak-'));
  process.stderr.write(`soak: ${name} ...\n`);
  try {
    await fn(dir);
  } catch (err) {
    failures.push(`${name}: ${(err as Error).message.split('\n').slice(0, 6).join('\n')}`);
    summary.push(`FAIL ${name}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function load(name: string, jitterMs: number): Promise<void> {
  await step(name, async (dir) => {
    const f = await runLoad({ dir, seconds, rate, batch, deployEveryMs: 2000, warmupSeconds: 5, jitterMs });
    // Latencies depend on what else the machine runs: say how busy it was (1-minute load average).
    const busy = `load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores`;
    const { samples, ...figures } = f;
    log(name, {
      ...figures,
      busy,
      samples: samples.map((x) => [x.atMs, Math.round(x.heapUsed / 1048576), Math.round(x.rss / 1048576), x.scrapeMs]),
    });
    const problems: string[] = [];
    if (!flat(f)) problems.push(`heap floor rose from ${f.heapFloorFirstMb} to ${f.heapFloorLastMb} MB`);
    if (f.latency.max > MAX_REQUEST_MS) problems.push(`slowest request ${f.latency.max} ms > ${MAX_REQUEST_MS}`);
    if (f.scrapeLatency.max > MAX_SCRAPE_MS)
      problems.push(`slowest scrape ${f.scrapeLatency.max} ms > ${MAX_SCRAPE_MS}`);
    summary.push(
      `${problems.length ? 'FAIL' : 'ok  '} ${name}: ${f.acked} trades in ${f.requests} requests over ${f.seconds.toFixed(1)} s (${f.achievedRate}/s), ${f.scrapes} scrapes, ${f.deploys} deploys, 0 errors; ` +
        `request p50/p99/max ${f.latency.p50}/${f.latency.p99}/${f.latency.max} ms, scrape p50/p99/max ${f.scrapeLatency.p50}/${f.scrapeLatency.p99}/${f.scrapeLatency.max} ms; ` +
        `heap floor ${f.heapFloorFirstMb} -> ${f.heapFloorLastMb} MB (peak ${f.heapPeakMb}), rss ${f.rssFirstMb} -> ${f.rssLastMb} MB; ${busy}`,
    );
    if (problems.length) throw new Error(problems.join('; '));
  });
}

if (only === undefined || only === 'load') {
  await load(`load, in order, ${seconds} s at ${rate}/s in batches of ${batch}`, 1);
  await load(`load, shuffled within 1 s, ${seconds} s at ${rate}/s in batches of ${batch}`, 1000);
}
if (only === undefined || only === 'crash') {
  await step(`kill -9 of the SDK bot x${kills}`, async (dir) => {
    const f = await sdkCrashRounds({ dir, rounds: kills, seed });
    log('sdk crash', { seed, ...f });
    summary.push(
      `ok   kill -9 of the SDK bot x${f.kills} (seed ${seed}): ${f.ackedTrades} acknowledged trades and ${f.ackedDeploys} deploys, none lost; retry: ${f.retryDuplicates} duplicates, ${f.retryAccepted} new, ${f.stored} stored once (${f.seconds.toFixed(0)} s)`,
    );
  });
  await step(`kill -9 of the sidecar x${kills}`, async (dir) => {
    const f = await sidecarCrashRounds({ dir, rounds: kills, seed });
    log('sidecar crash', { seed, ...f });
    summary.push(
      `ok   kill -9 of the sidecar x${f.kills} (seed ${seed}, ${f.killsMidWrite} with requests in flight): ${f.ackedTrades} acknowledged trades and ${f.ackedDeploys} deploys, none lost; retry: ${f.retryDuplicates} duplicates, ${f.retryAccepted} new, ${f.stored} stored once (${f.seconds.toFixed(0)} s)`,
    );
  });
}

process.stdout.write(`\n${summary.join('\n')}\n`);
if (failures.length) {
  process.stdout.write(`\n${failures.length} failed:\n${failures.join('\n')}\n`);
  process.exit(1);
}
