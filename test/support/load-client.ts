// The load generator, run as its own process (the second process on loopback): posts trades
// at a fixed rate in batches, scrapes /metrics every second, deploys parameters now and then,
// and prints one JSON summary line when done. Usage:
//   node dist/test/support/load-client.js '{"url":"http://127.0.0.1:9465","seconds":5,"rate":2000,"batch":10}'

export interface LoadConfig {
  url: string;
  seconds: number;
  /** Trades per second. */
  rate: number;
  /** Trades per request. */
  batch: number;
  scrapeEveryMs?: number;
  deployEveryMs?: number;
  strategies?: number;
  /** Most requests in flight at once (default 64). */
  maxInFlight?: number;
  token?: string;
  /** closed_at = send time minus (index mod jitterMs): trades arrive out of order within a second (default 1000; 1 = in order). */
  jitterMs?: number;
}

export interface Sample {
  atMs: number;
  rss: number;
  heapUsed: number;
  ledgerTrades: number;
  scrapeMs: number;
}

export interface LoadSummary {
  trades: number;
  acked: number;
  requests: number;
  errors: number;
  errorSamples: string[];
  deploys: number;
  deployErrors: number;
  scrapes: number;
  scrapeErrors: number;
  seconds: number;
  /** Request latency of trade posts, milliseconds. */
  latency: { p50: number; p95: number; p99: number; max: number };
  scrapeLatency: { p50: number; p99: number; max: number };
  samples: Sample[];
}

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

export async function runClient(c: LoadConfig): Promise<LoadSummary> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(c.token ? { authorization: `Bearer ${c.token}` } : {}),
  };
  const strategies = c.strategies ?? 4;
  const total = Math.round(c.rate * c.seconds);
  const requests = Math.ceil(total / c.batch);
  const maxInFlight = c.maxInFlight ?? 64;
  const jitter = Math.max(1, c.jitterMs ?? 1000);
  const s: LoadSummary = {
    trades: 0,
    acked: 0,
    requests: 0,
    errors: 0,
    errorSamples: [],
    deploys: 0,
    deployErrors: 0,
    scrapes: 0,
    scrapeErrors: 0,
    seconds: 0,
    latency: { p50: 0, p95: 0, p99: 0, max: 0 },
    scrapeLatency: { p50: 0, p99: 0, max: 0 },
    samples: [],
  };
  const latencies: number[] = [];
  const scrapeTimes: number[] = [];
  const error = (what: string) => {
    s.errors++;
    if (s.errorSamples.length < 10) s.errorSamples.push(what);
  };
  let inFlight = 0;
  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  const started = performance.now();

  const postBatch = async (k: number) => {
    const n = Math.min(c.batch, total - k * c.batch);
    const now = Date.now();
    const trades = Array.from({ length: n }, (_, j) => {
      const i = k * c.batch + j;
      // Zero-padded ids: trades closed in the same millisecond sort by id in arrival order.
      return {
        id: `L-${String(i).padStart(9, '0')}`,
        strategy: `s${i % strategies}`,
        symbol: 'BTC-USD',
        side: i % 2 ? 'long' : 'short',
        closed_at: now - (i % jitter),
        pnl: ((i * 7919) % 200) / 10 - 9.9,
        fees: 0.01,
      };
    });
    s.trades += n;
    inFlight++;
    const t0 = performance.now();
    try {
      const res = await fetch(`${c.url}/v1/trades`, {
        method: 'POST',
        headers,
        body: JSON.stringify(n === 1 ? trades[0] : { trades }),
      });
      const body = (await res.json()) as { accepted?: number; error?: string };
      latencies.push(performance.now() - t0);
      if (res.status !== 201 || body.accepted !== n) error(`${res.status} ${JSON.stringify(body).slice(0, 200)}`);
      else s.acked += n;
    } catch (err) {
      error(String(err));
    } finally {
      inFlight--;
      s.requests++;
    }
  };

  const scrape = async () => {
    const t0 = performance.now();
    try {
      const res = await fetch(`${c.url}/metrics`);
      const text = await res.text();
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      scrapeTimes.push(ms);
      s.scrapes++;
      s.samples.push({
        atMs: Math.round(performance.now() - started),
        rss: metric(text, 'process_resident_memory_bytes'),
        heapUsed: metric(text, 'nodejs_heap_size_used_bytes'),
        ledgerTrades: metric(text, 'edgewatch_ledger_trades'),
        scrapeMs: Math.round(ms * 10) / 10,
      });
    } catch (err) {
      s.scrapeErrors++;
      error(`scrape: ${String(err)}`);
    }
  };

  let deployN = 0;
  const deploy = async () => {
    const k = deployN++;
    try {
      const res = await fetch(`${c.url}/v1/params`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          strategy: `s${k % strategies}`,
          params: { lookback: 10 + (k % 7), threshold: 0.5 },
          source: 'load',
          note: `deploy ${k}`,
        }),
      });
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 201) s.deploys++;
      else {
        s.deployErrors++;
        error(`deploy: ${res.status}`);
      }
    } catch (err) {
      s.deployErrors++;
      error(`deploy: ${String(err)}`);
    }
  };

  // Trades on a schedule: by time t, rate * t trades should have been sent.
  let sent = 0;
  let nextScrape = 0;
  let nextDeploy = (c.deployEveryMs ?? 2000) / 2;
  while (sent < requests) {
    const elapsed = performance.now() - started;
    const due = Math.min(requests, Math.floor((elapsed / 1000) * (c.rate / c.batch)) + 1);
    while (sent < due && inFlight < maxInFlight) track(postBatch(sent++));
    if (elapsed >= nextScrape) {
      nextScrape += c.scrapeEveryMs ?? 1000;
      track(scrape());
    }
    if (elapsed >= nextDeploy) {
      nextDeploy += c.deployEveryMs ?? 2000;
      track(deploy());
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  while (pending.size) await Promise.all([...pending]);
  s.seconds = (performance.now() - started) / 1000;
  await scrape(); // the final state
  latencies.sort((a, b) => a - b);
  scrapeTimes.sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  s.latency = {
    p50: r(quantile(latencies, 0.5)),
    p95: r(quantile(latencies, 0.95)),
    p99: r(quantile(latencies, 0.99)),
    max: r(latencies[latencies.length - 1] ?? NaN),
  };
  s.scrapeLatency = {
    p50: r(quantile(scrapeTimes, 0.5)),
    p99: r(quantile(scrapeTimes, 0.99)),
    max: r(scrapeTimes[scrapeTimes.length - 1] ?? NaN),
  };
  return s;
}

// Run as a program when given a configuration.
if (process.argv[2]) {
  runClient(JSON.parse(process.argv[2]) as LoadConfig).then(
    (s) => process.stdout.write(`${JSON.stringify(s)}\n`),
    (err) => {
      process.stderr.write(`${String(err?.stack ?? err)}\n`);
      process.exit(1);
    },
  );
}
