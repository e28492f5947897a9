// Scrape benchmark at one ledger size: the sidecar against the naive SQL sidecar and the
// static-registry floor, each in its own process on loopback, scraped in interleaved rounds
// (so a noisy neighbour hurts all three alike); cold starts; memory; and the same scrape
// in-process, split into its parts, for the profile.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ledger } from '../src/ledger/ledger.js';
import { WindowEngine } from '../src/sidecar/engine.js';
import { SidecarMetrics } from '../src/sidecar/exposition.js';
import { snapshot } from '../src/sidecar/snapshot.js';
import { parseThresholds } from '../src/sidecar/thresholds.js';
import { staticRegistry } from './floor.js';
import { cachedLedger, type LedgerMeta } from './generate.js';
import { NaiveWindows } from './naive.js';
import { http, memoryOf, ms, summarize, type Summary } from './stats.js';

const SERVER = fileURLToPath(new URL('./server.js', import.meta.url));

export interface ScrapeOptions {
  size: string;
  trades: number;
  dataDir: string;
  regenerate?: boolean;
  /** Scrapes of the sidecar and of the floor (each), over HTTP and in-process. */
  scrapes: number;
  /** At most this many naive scrapes, and no new one after this much naive time. */
  naiveMax: number;
  naiveBudgetMs: number;
  log: (line: string) => void;
}

export interface ColdStart {
  /** From spawning the process to the end of its first /metrics answer. */
  ms: number;
  /** Loading inside the process (open, read, listen), as it reported. */
  loadMs: number;
  mode?: string;
  note?: string;
  rssMb: number;
  peakMb: number;
}

export interface ScrapeResult {
  size: string;
  trades: number;
  ledgerMb: number;
  stateMb: number;
  generated: { reused: boolean; seconds: number };
  series: number;
  exposedBytes: number;
  coldScan: ColdStart;
  coldState: ColdStart;
  coldNaive: ColdStart;
  http: { sidecar: Summary; floor: Summary; naive: Summary };
  /** The sidecar's HTML pages, timed in the same rounds as its scrapes (issue 15). */
  pages: { strategy: string; overview: Summary; strategyPage: Summary; report: Summary };
  inProcess: {
    sidecar: Summary;
    floor: Summary;
    parts: Record<'refresh' | 'snapshot' | 'apply' | 'serialize', Summary>;
  };
  memory: {
    sidecar: { rssMb: number; peakMb: number };
    naive: { rssMb: number; peakMb: number };
    floor: { rssMb: number; peakMb: number };
  };
  /** Largest relative difference between the engine's and the naive SQL figures at the same instant. */
  agreement: { compared: number; worst: number; worstSeries: string };
}

interface Server {
  child: ChildProcess;
  url: string;
  info: Record<string, unknown>;
  close(): void;
}

export function startServer(args: string[]): Promise<Server> {
  const child = spawn(process.execPath, [SERVER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const fail = (code: number | null) =>
      reject(new Error(`bench server ${args[0]} exited with ${code} before it was ready`));
    child.once('exit', fail);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /^READY (.*)$/m.exec(out);
      if (!m) return;
      child.off('exit', fail);
      const info = JSON.parse(m[1]) as Record<string, unknown>;
      resolve({ child, info, url: `http://127.0.0.1:${String(info.port)}`, close: () => child.stdin.end() });
    });
  });
}

async function cold(
  args: string[],
  log: (l: string) => void,
  what: string,
): Promise<{ server: Server; cold: ColdStart; body: string }> {
  const t = performance.now();
  const server = await startServer(args);
  const r = await http(`${server.url}/metrics`);
  if (r.status !== 200) throw new Error(`${what}: first scrape answered ${r.status}`);
  const total = ms(t);
  const mem = memoryOf(server.child.pid!);
  const result: ColdStart = {
    ms: total,
    loadMs: Number(server.info.startMs),
    mode: server.info.startMode as string | undefined,
    note: server.info.stateNote as string | undefined,
    ...mem,
  };
  log(
    `  ${what}: first complete scrape after ${Math.round(total)} ms (${result.mode ?? 'n/a'}), rss ${Math.round(mem.rssMb)} MB, peak ${Math.round(mem.peakMb)} MB`,
  );
  return { server, cold: result, body: r.body };
}

export async function scrapeBench(o: ScrapeOptions): Promise<ScrapeResult> {
  const db = join(o.dataDir, `ledger-${o.size}.db`);
  const t = performance.now();
  const { meta, reused } = cachedLedger(db, o.trades, o.regenerate);
  o.log(
    `${o.size}: ledger ${reused ? 'reused' : `generated in ${Math.round(ms(t) / 1000)} s`} (${meta.trades.toLocaleString('en-US')} trades, ${(statSync(db).size / 2 ** 20).toFixed(0)} MB)`,
  );
  const asOf = String(meta.endMs + 1000);
  const statePath = `${db}.sidecar-state`;
  rmSync(statePath, { force: true });

  // Cold starts: without state (reads every trade), then a restart that finds the saved state.
  const scan = await cold(['sidecar', db, asOf], o.log, 'sidecar start without state');
  scan.server.close();
  await new Promise((r) => scan.server.child.once('exit', r));
  const state = await cold(['sidecar', db, asOf], o.log, 'sidecar restart with state');
  const sidecar = state.server;
  let stateMb = 0;
  try {
    stateMb = statSync(statePath).size / 2 ** 20;
  } catch {
    // small ledgers are not worth a state file
  }
  const expositionFile = join(o.dataDir, `exposition-${o.size}.txt`);
  writeFileSync(expositionFile, state.body);
  const floor = await startServer(['floor', expositionFile, asOf]);
  const naive = await cold(['naive', db, asOf], o.log, 'naive sidecar start (one full scrape)');

  // Warm-up (JIT, connections), then interleaved rounds over HTTP.
  for (let i = 0; i < 20; i++) for (const s of [sidecar, floor]) await http(`${s.url}/metrics`);
  // The pages: the first strategy the overview shows, its strategy page and its report page.
  const overview = await http(`${sidecar.url}/`);
  const pageStrategy = /data-strategy="([^"]+)"/.exec(overview.body)?.[1];
  if (overview.status !== 200 || !pageStrategy) throw new Error(`the overview page answered ${overview.status}`);
  const pagePaths = {
    overview: '/',
    strategyPage: `/strategies/${pageStrategy}`,
    report: `/report/${pageStrategy}`,
  };
  const pageTimes = { overview: [] as number[], strategyPage: [] as number[], report: [] as number[] };
  for (const path of Object.values(pagePaths)) for (let i = 0; i < 5; i++) await http(`${sidecar.url}${path}`);
  const times = { sidecar: [] as number[], floor: [] as number[], naive: [] as number[] };
  let naiveSpent = 0;
  const rounds = 6;
  const perRound = Math.ceil(o.scrapes / rounds);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < perRound; i++) {
      const r = await http(`${sidecar.url}/metrics`);
      if (r.status !== 200) throw new Error(`sidecar scrape answered ${r.status}`);
      times.sidecar.push(r.ms);
    }
    for (let i = 0; i < perRound; i++) times.floor.push((await http(`${floor.url}/metrics`)).ms);
    for (const [name, path] of Object.entries(pagePaths) as Array<[keyof typeof pagePaths, string]>)
      for (let i = 0; i < Math.ceil(perRound / 4); i++) {
        const r = await http(`${sidecar.url}${path}`);
        if (r.status !== 200) throw new Error(`${path} answered ${r.status}`);
        pageTimes[name].push(r.ms);
      }
    const naiveRounds = Math.max(1, Math.ceil(o.naiveMax / rounds));
    for (let i = 0; i < naiveRounds && times.naive.length < o.naiveMax && naiveSpent < o.naiveBudgetMs; i++) {
      const r = await http(`${naive.server.url}/metrics`);
      times.naive.push(r.ms);
      naiveSpent += r.ms;
    }
  }
  const memory = {
    sidecar: memoryOf(sidecar.child.pid!),
    naive: memoryOf(naive.server.child.pid!),
    floor: memoryOf(floor.child.pid!),
  };

  for (const s of [sidecar, floor, naive.server]) s.close();

  const inProcess = await inProcessScrapes(db, meta, state.body, o.scrapes);
  const agreement = agree(db, meta);
  const series = state.body.split('\n').filter((l) => l && !l.startsWith('#')).length;
  const h = { sidecar: summarize(times.sidecar), floor: summarize(times.floor), naive: summarize(times.naive) };
  const pages = {
    strategy: pageStrategy,
    overview: summarize(pageTimes.overview),
    strategyPage: summarize(pageTimes.strategyPage),
    report: summarize(pageTimes.report),
  };
  o.log(
    `  pages p50/p99 ms: / ${pages.overview.p50.toFixed(2)}/${pages.overview.p99.toFixed(2)}, /strategies/${pageStrategy} ${pages.strategyPage.p50.toFixed(2)}/${pages.strategyPage.p99.toFixed(2)}, /report/${pageStrategy} ${pages.report.p50.toFixed(2)}/${pages.report.p99.toFixed(2)}`,
  );
  o.log(
    `  http p50/p99 ms: sidecar ${h.sidecar.p50.toFixed(2)}/${h.sidecar.p99.toFixed(2)}, floor ${h.floor.p50.toFixed(2)}/${h.floor.p99.toFixed(2)}, naive ${h.naive.p50.toFixed(0)}/${h.naive.p99.toFixed(0)} (${h.naive.n} scrapes)`,
  );
  return {
    size: o.size,
    trades: meta.trades,
    ledgerMb: statSync(db).size / 2 ** 20,
    stateMb,
    generated: { reused, seconds: meta.seconds },
    series,
    exposedBytes: state.body.length,
    coldScan: scan.cold,
    coldState: state.cold,
    coldNaive: naive.cold,
    http: h,
    pages,
    inProcess,
    memory,
    agreement,
  };
}

/** The /metrics handler's work without HTTP, split into parts, against the floor's serialization. */
async function inProcessScrapes(
  db: string,
  meta: LedgerMeta,
  exposition: string,
  n: number,
): Promise<ScrapeResult['inProcess']> {
  const ledger = Ledger.open(db, { readonly: true });
  const engine = new WindowEngine(ledger);
  const metrics = new SidecarMetrics();
  const thresholds = parseThresholds(undefined, 'defaults');
  const floor = staticRegistry(exposition);
  const offset = Date.now() - (meta.endMs + 1000);
  engine.refresh(Date.now() - offset);
  for (let i = 0; i < 20; i++) {
    const now = Date.now() - offset;
    engine.refresh(now);
    metrics.apply(snapshot(engine, ledger, now, { keepVersions: 5, thresholds }));
    await metrics.registry.metrics();
    await floor.metrics();
  }
  const parts = { refresh: [] as number[], snapshot: [] as number[], apply: [] as number[], serialize: [] as number[] };
  const total: number[] = [];
  const floorTimes: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const now = Date.now() - offset;
    engine.refresh(now);
    metrics.ledgerTrades.set(engine.tradesSeen);
    const t1 = performance.now();
    const snaps = snapshot(engine, ledger, now, { keepVersions: 5, thresholds });
    const t2 = performance.now();
    metrics.apply(snaps);
    metrics.scrapeDuration.set((performance.now() - t0) / 1000);
    const t3 = performance.now();
    await metrics.registry.metrics();
    const t4 = performance.now();
    parts.refresh.push(t1 - t0);
    parts.snapshot.push(t2 - t1);
    parts.apply.push(t3 - t2);
    parts.serialize.push(t4 - t3);
    total.push(t4 - t0);
    const f = performance.now();
    await floor.metrics();
    floorTimes.push(performance.now() - f);
  }
  ledger.close();
  return {
    sidecar: summarize(total),
    floor: summarize(floorTimes),
    parts: {
      refresh: summarize(parts.refresh),
      snapshot: summarize(parts.snapshot),
      apply: summarize(parts.apply),
      serialize: summarize(parts.serialize),
    },
  };
}

/** Every statistic of the engine's snapshot against the naive SQL one, at the same instant. */
function agree(db: string, meta: LedgerMeta): ScrapeResult['agreement'] {
  const ledger = Ledger.open(db, { readonly: true });
  const now = meta.endMs + 1000;
  const opts = { keepVersions: 5, thresholds: parseThresholds(undefined, 'defaults') };
  const engine = new WindowEngine(ledger);
  engine.refresh(now);
  const a = snapshot(engine, ledger, now, opts);
  const b = snapshot(new NaiveWindows(ledger.raw), ledger, now, opts);
  ledger.close();
  let worst = 0;
  let worstSeries = '';
  let compared = 0;
  const walk = (x: unknown, y: unknown, path: string) => {
    if (typeof x === 'number') {
      if (/maxPrefix|minPrefix|\.m2$|agg\.mean/.test(path)) return; // internal fields the naive baseline does not keep
      compared++;
      const d = typeof y !== 'number' ? Infinity : x === y ? 0 : Math.abs(x - y) / Math.max(1e-12, Math.abs(x));
      if (d > worst) [worst, worstSeries] = [d, path];
    } else if (x && typeof x === 'object')
      for (const k of Object.keys(x))
        walk((x as Record<string, unknown>)[k], (y as Record<string, unknown> | undefined)?.[k], `${path}.${k}`);
  };
  walk(a, b, 'snapshot');
  return { compared, worst, worstSeries };
}
