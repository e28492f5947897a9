// A real Prometheus and Alertmanager for tests, started from configuration text with the
// helpers `npm run stack` uses (scripts/lib). Each returns a small API client; `until` waits
// for something to arrive and fails with what did arrive.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { alertmanagerArgs, prometheusArgs, startProc, waitReady, type Proc } from '../../scripts/lib/processes.js';

export interface PromAnswer {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value?: [number, string] }> };
}

export interface RunningPrometheus {
  proc: Proc;
  base: string;
  /** Instant query, now. */
  query(expr: string): Promise<PromAnswer>;
  /** Active alerts (pending and firing) as Prometheus sees them. */
  alerts(): Promise<Array<{ labels: Record<string, string>; state: string }>>;
}

export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  receivers: Array<{ name: string }>;
  status: { state: string; inhibitedBy: string[]; silencedBy: string[] };
}

export interface RunningAlertmanager {
  proc: Proc;
  base: string;
  alerts(): Promise<AmAlert[]>;
}

/** Writes `config` into `dir` and runs Prometheus on 127.0.0.1:`port` until it is ready. */
export async function startPrometheus(
  bin: string,
  dir: string,
  config: string,
  port: number,
  extraArgs: string[] = [],
): Promise<RunningPrometheus> {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'prometheus.yml');
  writeFileSync(file, config);
  const proc = startProc('prometheus', bin, [
    ...prometheusArgs({ config: file, dataDir: path.join(dir, 'data'), port }),
    ...extraArgs,
  ]);
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(proc, `${base}/-/ready`, 60_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const query = async (expr: string) => {
    const res = await fetch(`${base}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: expr }),
    });
    return (await res.json()) as PromAnswer;
  };
  const alerts = async () =>
    (
      (await (await fetch(`${base}/api/v1/alerts`)).json()) as {
        data: { alerts: Array<{ labels: Record<string, string>; state: string }> };
      }
    ).data.alerts;
  return { proc, base, query, alerts };
}

/** Writes `config` into `dir` and runs Alertmanager on 127.0.0.1:`port` until it is ready. */
export async function startAlertmanager(
  bin: string,
  dir: string,
  config: string,
  port: number,
): Promise<RunningAlertmanager> {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'alertmanager.yml');
  writeFileSync(file, config);
  const proc = startProc(
    'alertmanager',
    bin,
    alertmanagerArgs({ config: file, dataDir: path.join(dir, 'data'), port }),
  );
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(proc, `${base}/-/ready`, 30_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const alerts = async () => (await (await fetch(`${base}/api/v2/alerts`)).json()) as AmAlert[];
  return { proc, base, alerts };
}

/**
 * Polls `fn` until it returns something other than undefined. On timeout the error carries
 * `context()`: what had arrived by then (notifications, alerts, logs).
 */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  context: () => Promise<string> | string,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}\n${await context()}`,
  );
}
