// The real Prometheus 2.42 side of the benchmark: back-fill a TSDB from OpenMetrics with
// promtool, serve it with the real prometheus binary (loading the shipped rule files, so
// the rules evaluated are the ones Prometheus parsed), and run range queries of the exact
// alert expressions at the scrape step.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable, freePort } from '../../scripts/lib/host.js';

/** A rule as GET /api/v1/rules lists it (the fields read here). */
interface RawRule {
  type: 'alerting' | 'recording';
  name: string;
  query: string;
  duration: number;
  keepFiringFor?: number;
  labels?: Record<string, string>;
}

export function findBinary(name: string): string | undefined {
  return findExecutable(name);
}

export function run(bin: string, args: string[], timeoutMs = 30 * 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${bin} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

/**
 * OpenMetrics file -> TSDB blocks. Blocks of up to 1458h (60.75 days, the largest block
 * range the TSDB knows below 1500h): promtool re-reads the input once per block range.
 */
export async function backfill(promtool: string, omPath: string, tsdbDir: string): Promise<void> {
  await run(promtool, [
    'tsdb',
    'create-blocks-from',
    'openmetrics',
    '--max-block-duration=1500h',
    '-q',
    omPath,
    tsdbDir,
  ]);
}

export interface AlertingRule {
  name: string;
  query: string;
  forMs: number;
  keepFiringForMs: number;
  labels: Record<string, string>;
}

export interface RecordingRule {
  name: string;
  query: string;
}

export class PrometheusServer {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private log: string[],
  ) {}

  /**
   * Serves `tsdbDir`. The lookback delta is one step less a millisecond: at any query time
   * exactly the last scraped sample of a series is visible, and a series that was absent
   * from the last scrape is absent, which is what staleness markers give a live Prometheus
   * (back-filled blocks have none).
   */
  static async start(
    prometheus: string,
    tsdbDir: string,
    ruleFiles: string[],
    stepMs: number,
    workDir: string,
    /** how far back a query step looks for a sample (default one step less a millisecond) */
    lookbackMs = stepMs - 1,
  ): Promise<PrometheusServer> {
    const config = join(workDir, 'prometheus-bench.yml');
    writeFileSync(
      config,
      `# written by bench/detection: rules only, nothing is scraped\nrule_files:\n${ruleFiles.map((f) => `  - '${f}'`).join('\n')}\n`,
    );
    const port = await freePort();
    const child = spawn(
      prometheus,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${tsdbDir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--query.lookback-delta=${lookbackMs}ms`,
        '--query.max-samples=1000000000',
        '--query.timeout=30m',
        '--storage.tsdb.retention.time=100y',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const log: string[] = [];
    const keep = (d: Buffer) => {
      log.push(d.toString());
      if (log.length > 200) log.shift();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const server = new PrometheusServer(`http://127.0.0.1:${port}`, child, log);
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}):\n${log.join('')}`);
      try {
        const res = await fetch(`${server.url}/-/ready`);
        if (res.ok) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`prometheus not ready after 120s:\n${log.join('')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return server;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  private async api(path: string, params: Record<string, string>): Promise<unknown> {
    const res = await fetch(`${this.url}${path}`, { method: 'POST', body: new URLSearchParams(params) });
    const json = (await res.json()) as { status: string; data: unknown; error?: string };
    if (json.status !== 'success') throw new Error(`${path} ${JSON.stringify(params).slice(0, 400)}: ${json.error}`);
    return json.data;
  }

  /** The rules as Prometheus parsed and loaded them. */
  async rules(): Promise<{ alerting: AlertingRule[]; recording: RecordingRule[] }> {
    const res = await fetch(`${this.url}/api/v1/rules`);
    const json = (await res.json()) as { data: { groups: Array<{ rules: RawRule[] }> } };
    const alerting: AlertingRule[] = [];
    const recording: RecordingRule[] = [];
    for (const g of json.data.groups)
      for (const r of g.rules) {
        if (r.type === 'alerting')
          alerting.push({
            name: r.name,
            query: r.query,
            forMs: r.duration * 1000,
            keepFiringForMs: (r.keepFiringFor ?? 0) * 1000,
            labels: r.labels ?? {},
          });
        else recording.push({ name: r.name, query: r.query });
      }
    return { alerting, recording };
  }

  /**
   * Range query at every step from `fromMs` to `toMs` (both on the step grid), in chunks of
   * at most 10,000 steps (Prometheus refuses more than 11,000 points per series). Returns
   * each result series with its values by step index.
   */
  async range(query: string, fromMs: number, toMs: number, stepMs: number): Promise<Series[]> {
    const out = new Map<string, Series>();
    const chunk = 10_000 * stepMs;
    for (let start = fromMs; start <= toMs; start += chunk + stepMs) {
      const end = Math.min(toMs, start + chunk);
      const data = (await this.api('/api/v1/query_range', {
        query,
        start: String(start / 1000),
        end: String(end / 1000),
        step: `${stepMs / 1000}s`,
      })) as { result: unknown };
      for (const s of data.result as Array<{ metric: Record<string, string>; values: Array<[number, string]> }>) {
        const key = labelKey(s.metric);
        let series = out.get(key);
        if (!series) out.set(key, (series = { labels: s.metric, points: new Map() }));
        for (const [t, v] of s.values) series.points.set(Math.round((t * 1000 - fromMs) / stepMs), parseValue(v));
      }
    }
    return [...out.values()];
  }

  tail(): string {
    return this.log.join('').slice(-4000);
  }
}

export interface Series {
  labels: Record<string, string>;
  /** step index -> value */
  points: Map<number, number>;
}

export function labelKey(labels: Record<string, string>): string {
  return Object.keys(labels)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',');
}

function parseValue(v: string): number {
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return Number(v); // "NaN" -> NaN
}

/**
 * The alert expression with every recording rule it reads replaced by the rule's own
 * expression. Same values as recording rules evaluated first at each step (the order the
 * promtool tests fix with group_eval_order); the smoke test checks the whole evaluation
 * against promtool test rules, which runs the real rule groups. A recording rule read over
 * a range (`name[1d]`) becomes a subquery at `stepMs`, the evaluation step, which gives the
 * samples the rule would have recorded at each evaluation (the steps are aligned to the
 * epoch as Prometheus aligns subquery steps); without `stepMs` it is refused.
 */
export function inlineRecordingRules(query: string, recording: RecordingRule[], stepMs?: number): string {
  let q = query;
  // Longest names first, so a name that begins another never cuts the longer one.
  for (const r of [...recording].sort((a, b) => b.name.length - a.name.length)) {
    const re = new RegExp(
      `(?<![A-Za-z0-9_:])${r.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9_:])(\\[[0-9a-z]+\\])?`,
      'g',
    );
    q = q.replace(re, (match, range: string | undefined, offset: number) => {
      if (q[offset + match.length] === '{' || q[offset + match.length] === '[')
        throw new Error(`cannot inline ${r.name} with a selector in: ${query}`);
      if (range === undefined) return `(${r.query})`;
      if (stepMs === undefined)
        throw new Error(`cannot inline ${r.name} with a range without the evaluation step in: ${query}`);
      return `(${r.query})${range.slice(0, -1)}:${stepMs / 1000}s]`;
    });
  }
  return q;
}

/** Replaces a threshold series by a constant; throws when the expression does not read it. */
export function withThreshold(query: string, name: string, value: number): string {
  const sel = `edgewatch_threshold{name="${name}"}`;
  if (!query.includes(sel)) throw new Error(`${sel} not found in: ${query}`);
  return query.split(sel).join(`(${sel} * 0 + ${value})`);
}
