// The CUSUM's prior (src/sidecar/cusum-prior.ts) on real sidecars over one ledger: the
// inflation of the run a deploy ended, measured on its trades that closed before the deploy,
// gives the same exported values whether the sidecar ran through the deploy, started after it
// (reading every trade), or restarted from its state file; a late trade of that sample changes
// them everywhere alike; a straddling trade does not. Values worked out by hand in the comments.
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { cusumAdd, cusumStart } from '../src/analytics/index.js';
import { silentLogger } from '../src/log.js';
import { startSidecar } from '../src/sidecar/server.js';
import { parseThresholds } from '../src/sidecar/thresholds.js';
import { wireTrade } from './support/sidecar.js';
import { parseExposition, tempDir, value } from './support/tmp.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T1 = Date.UTC(2026, 10, 27, 6, 0, 0, 250); // v1 deployed
const T2 = T1 + 6 * HOUR; // v2 deployed
const NOW = T2 + 4 * HOUR;

// cusum_min_trades 2: the lag (n - 2)/3 is 0 for up to four trades, 1 from five.
// The previous run (v1): 1, 2, 4, 5. Its reference holds all four (lag 0): deviations from the
// mean 3 are -2, -1, 1, 2, so γ0 = 10/4 and γ1 = [(-1)(-2) + (1)(-1) + (2)(1)]/4 = 3/4; the
// bandwidth is min(200, ⌊4/3⌋) = 1: inflation 1 + 2·½·(3/4)/(10/4) = 1.3, the prior of v2's run.
const PRIOR = 1.3;
// v2's run: 10, 20, 5, 0 (as in test/sidecar-cusum.test.ts). At the third trade the reference
// (10, 20) has no bandwidth: f = the prior. At the fourth, (10, 20, 5) has bandwidth 1 and a
// negative lag-1 autocovariance (ratio 1 - 625/1050 < 1): f = the prior again. So every
// residual of the design without a prior is divided by √1.3:
//   W3(δ) = δ (√(4/3)/√f - δ/2),  W4(δ) = W3(δ) + δ ((√7/2)/√f - δ/2).
const W = (d: number, f: number) =>
  d * (Math.sqrt(4 / 3) / Math.sqrt(f) - d / 2) + d * (Math.sqrt(7) / 2 / Math.sqrt(f) - d / 2);

type Values = Record<string, number | undefined>;

async function open(db: string, now: () => number) {
  const s = await startSidecar({
    db,
    port: 0,
    logger: silentLogger(),
    thresholds: parseThresholds({ defaults: { cusum_min_trades: 2 } }, 'test'),
    now,
  });
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${s.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.ok(res.status < 300, `${path}: ${res.status} ${await res.text()}`);
  };
  const cusum = async (strategy = 's'): Promise<Values> => {
    const m = parseExposition(await (await fetch(`${s.url}/metrics`)).text());
    return Object.fromEntries(
      ['0.2', '0.5'].map((shift) => [shift, value(m, 'edgewatch_cusum_statistic', { strategy, shift })]),
    );
  };
  return { s, post, cusum };
}

const near = (got: Values, want: Values, what: string) => {
  for (const k of Object.keys(want))
    assert.ok(
      got[k] !== undefined && Math.abs(got[k] - (want[k] as number)) <= 1e-9 * Math.max(1, want[k] as number),
      `${what}, shift ${k}: ${got[k]}, expected ${want[k]}`,
    );
};

test('the prior is the inflation of the run the deploy ended, the same whether the sidecar ran through the deploy, started after it or restarted from its state', async (t) => {
  const db = join(tempDir(t), 'ledger.db');
  let clock = T1;
  const a = await open(db, () => clock);
  await a.post('/v1/params', { strategy: 's', params: { x: 1 } });
  clock = T2 - MIN;
  await a.post('/v1/trades', {
    trades: [1, 2, 4, 5].map((pnl, i) => wireTrade('s', T1 + (i + 1) * HOUR, pnl)),
  });
  assert.equal((await a.cusum())['0.2'], 0, 'the v1 run is read (and in memory) before the deploy');
  clock = T2;
  await a.post('/v1/params', { strategy: 's', params: { x: 2 } });
  clock = NOW;
  // Opened under v1 a minute before the deploy, closed after it: v1's, in neither the run nor the prior.
  const straddle = wireTrade('s', T2 + 30 * MIN, 1000, { opened_at: T2 - MIN });
  await a.post('/v1/trades', {
    trades: [straddle, ...[10, 20, 5, 0].map((pnl, i) => wireTrade('s', T2 + (i + 1) * HOUR - MIN, pnl))],
  });
  const want = { '0.2': W(0.2, PRIOR), '0.5': W(0.5, PRIOR) };
  near(await a.cusum(), want, 'ran through the deploy');
  assert.ok(W(0.5, PRIOR) < W(0.5, 1), 'the prior lowers the statistic of this run');
  await a.s.close();

  // Started after the deploy, without a state file: reads every trade and the prior with them.
  rmSync(`${db}.sidecar-state`, { force: true });
  const b = await open(db, () => clock);
  near(await b.cusum(), want, 'started after the deploy');
  await b.s.close();
  assert.ok(existsSync(`${db}.sidecar-state`), 'a clean stop saves the state');
  // Restarted from the state file: the run and its prior are continued, not read.
  const c = await open(db, () => clock);
  assert.equal(c.s.engine.startMode, 'state');
  near(await c.cusum(), want, 'restarted from the state file');

  // A late trade of the previous run, closed between its first two: the sample is 1, 3, 2, 4, 5,
  // the reference 1, 3, 2, 4 (lag 1): mean 2.5, γ0 = 5/4, γ1 = (-0.75 - 0.25 - 0.75)/4 < 0, so
  // its inflation is 1: no prior any more, and v2's values are those of the design without one.
  await c.post('/v1/trades', wireTrade('s', T1 + 90 * MIN, 3));
  const late = { '0.2': W(0.2, 1), '0.5': W(0.5, 1) };
  near(await c.cusum(), late, 'after a late trade of the prior sample');
  await c.s.close();
  rmSync(`${db}.sidecar-state`, { force: true });
  const d = await open(db, () => clock);
  near(await d.cusum(), late, 'a fresh start after the late trade');
  await d.s.close();
});

test('a first deploy takes its prior from the unversioned trades before it; a strategy without a deploy has none', async (t) => {
  const db = join(tempDir(t), 'ledger.db');
  let clock = T1 - MIN;
  const a = await open(db, () => clock);
  // History recorded before any deploy: 1, 2, 4, 5 (inflation 1.3, as above).
  await a.post('/v1/trades', {
    trades: [1, 2, 4, 5].map((pnl, i) => wireTrade('s', T1 - 5 * HOUR + i * HOUR, pnl)),
  });
  clock = T1;
  await a.post('/v1/params', { strategy: 's', params: { x: 1 } });
  clock = NOW;
  await a.post('/v1/trades', {
    trades: [10, 20, 5, 0].map((pnl, i) => wireTrade('s', T1 + (i + 1) * HOUR, pnl)),
  });
  near(await a.cusum(), { '0.2': W(0.2, PRIOR), '0.5': W(0.5, PRIOR) }, 'first deploy');
  // The same history and run on a strategy that never deployed: one run of all eight trades, no prior.
  await a.post('/v1/trades', {
    trades: [1, 2, 4, 5, 10, 20, 5, 0].map((pnl, i) => wireTrade('u', T1 - 5 * HOUR + i * HOUR, pnl)),
  });
  const noDeploy = await a.cusum('u');
  const reference = cusumStart();
  for (const pnl of [1, 2, 4, 5, 10, 20, 5, 0]) cusumAdd(reference, pnl, 2);
  assert.equal(reference.lrv?.prior, 1);
  near(noDeploy, { '0.2': reference.llr[0], '0.5': reference.llr[1] }, 'no deploy');
  await a.s.close();
});
