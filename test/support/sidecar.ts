// A real sidecar on a loopback port over a temporary ledger, for HTTP tests.
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { startSidecar, type Sidecar, type SidecarOptions } from '../../src/sidecar/server.js';
import { parseThresholds } from '../../src/sidecar/thresholds.js';
import { parseExposition, tempDir, type Sample } from './tmp.js';

export interface TestSidecar extends Sidecar {
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  get(path: string): Promise<Response>;
  scrape(): Promise<Sample[]>;
}

export async function sidecar(
  t: TestContext,
  opts: Partial<SidecarOptions> & { thresholdsJson?: unknown } = {},
): Promise<TestSidecar> {
  const { thresholdsJson, ...rest } = opts;
  const s = await startSidecar({
    db: join(tempDir(t), 'ledger.db'),
    port: 0,
    logger: silentLogger(),
    thresholds: parseThresholds(thresholdsJson, 'test'),
    ...rest,
  });
  t.after(() => s.close());
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${s.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const get = (path: string) => fetch(`${s.url}${path}`);
  const scrape = async () => parseExposition(await (await get('/metrics')).text());
  return Object.assign(s, { post, get, scrape });
}

let seq = 0;
export function wireTrade(strategy: string, closedMs: number, pnl: number, extra: Record<string, unknown> = {}) {
  return { id: `t${++seq}`, strategy, symbol: 'BTC-USD', side: 'long', closed_at: closedMs, pnl, fees: 0, ...extra };
}
