// Small helpers shared by the benchmarks: percentiles, timing, the machine, child-process memory.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, totalmem } from 'node:os';

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of samples (milliseconds or any unit). */
export function summarize(samples: number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : NaN);
  return {
    n: s.length,
    p50: at(0.5),
    p99: at(0.99),
    max: s[s.length - 1] ?? NaN,
    mean: s.reduce((a, b) => a + b, 0) / (s.length || 1),
  };
}

export function ms(start: number): number {
  return performance.now() - start;
}

export const sleep = (msDelay: number) => new Promise<void>((r) => setTimeout(r, msDelay));

/** A number for a table: 3 significant digits, thousands kept whole. */
export function fmt(x: number | undefined, unit = ''): string {
  if (x === undefined || !Number.isFinite(x)) return 'n/a';
  const v =
    Math.abs(x) >= 1000
      ? Math.round(x).toLocaleString('en-US')
      : Math.abs(x) >= 100
        ? x.toFixed(0)
        : Math.abs(x) >= 10
          ? x.toFixed(1)
          : Math.abs(x) >= 1
            ? x.toFixed(2)
            : x.toPrecision(2);
  return unit ? `${v} ${unit}` : v;
}

export function ratio(a: number, b: number): string {
  return Number.isFinite(a / b) ? `${(a / b).toFixed(a / b >= 100 ? 0 : 2)}×` : 'n/a';
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  os: string;
  disk: string;
  loadBefore: number[];
}

export function machine(dir: string): Machine {
  const c = cpus();
  let os = `${process.platform} ${process.arch}`;
  let disk = 'unknown';
  try {
    os = execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim();
    disk = execFileSync('df', ['-h', '--output=source,fstype,size,avail', dir], { encoding: 'utf8' })
      .trim()
      .split('\n')[1]
      .replace(/\s+/g, ' ');
  } catch {
    // informational only
  }
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os,
    disk,
    loadBefore: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** Resident and peak resident memory of a process, in MB (Linux /proc). */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/** One HTTP request on a kept-alive loopback connection; resolves when the whole body has arrived. */
export function http(
  url: string,
  opts: { method?: string; body?: Buffer | string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: opts.method ?? 'GET', agent, headers: opts.headers, timeout: opts.timeoutMs ?? 600_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}
