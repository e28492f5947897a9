// Freqtrade through the real CLI: `edgewatch import freqtrade` and `edgewatch sidecar
// --freqtrade-*`, spawned as operators run them, against a real tradesv3.sqlite and a REST
// API peer; the conventions of docs/cli.md (one line on stderr, exit 0/1/2).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import test from 'node:test';
import { Ledger } from '../src/ledger/ledger.js';
import { showConfig, startFreqtradeApi } from './support/freqtrade-api.js';
import { createFreqtradeDb, ftDate, writeTrades, type FtFixtureTrade } from './support/freqtrade-db.js';
import { freePort } from './support/ports.js';
import { CLI_MAIN, spawnSidecar } from './support/sidecar-process.js';
import { parseExposition, tempDir, value } from './support/tmp.js';

const S = 'SampleStrategy';
const NOW = Math.floor(Date.now() / 1000) * 1000;
const H = 3600_000;

/** The CLI in its own process; asynchronous, since a peer in this process may have to answer it. */
function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], {
      env: { ...process.env, EDGEWATCH_LOG_FORMAT: 'json', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${stderr}`);
  assert.match(lines[0], /^edgewatch: /);
  return lines[0];
}

function trades(from: number, n: number, strategy: string | null = S): FtFixtureTrade[] {
  return Array.from({ length: n }, (_, i) => ({
    id: from + i,
    pair: 'BTC/USDT',
    strategy,
    openDate: ftDate(NOW - 30 * H + (from + i) * 60_000, 250),
    closeDate: ftDate(NOW - 29 * H + (from + i) * 60_000),
    closeProfitAbs: 0.5,
    stakeAmount: 10,
  }));
}

function fixture(t: test.TestContext, list: FtFixtureTrade[]) {
  const dir = tempDir(t);
  const ftDb = join(dir, 'tradesv3.sqlite');
  createFreqtradeDb(ftDb);
  writeTrades(ftDb, list);
  return { dir, ftDb, ledger: join(dir, 'edgewatch.db') };
}

const count = (ledger: string) => {
  const l = Ledger.open(ledger, { readonly: true });
  try {
    return l.maxSeq();
  } finally {
    l.close();
  }
};

test('import freqtrade --db imports the history once; a second run imports nothing', async (t) => {
  const { ftDb, ledger } = fixture(t, trades(1, 4));
  const first = await run(['import', 'freqtrade', '--db', ftDb, '--ledger', ledger]);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /^imported 4 trades into /);
  const second = await run(['import', 'freqtrade', '--db', ftDb, '--ledger', ledger, '--json']);
  assert.equal(second.status, 0, second.stderr);
  const r = JSON.parse(second.stdout);
  assert.deepEqual([r.accepted, r.duplicates, r.rejected], [0, 4, []]);
  assert.equal(count(ledger), 4);
});

test('import freqtrade names each refused trade on stderr and exits 1; the others are imported', async (t) => {
  const { ftDb, ledger } = fixture(t, [...trades(1, 2), ...trades(3, 1, null)]);
  const r = await run(['import', 'freqtrade', '--db', ftDb, '--ledger', ledger]);
  assert.equal(r.status, 1);
  assert.match(oneLine(r.stderr), /^edgewatch: Freqtrade trade 3 not imported: .*no strategy/);
  assert.equal(count(ledger), 2);
});

test('import freqtrade --api reads the REST API with the credentials of the environment', async (t) => {
  const { ftDb, ledger } = fixture(t, trades(1, 3));
  const peer = await startFreqtradeApi({ db: ftDb, username: 'ft', password: 'secret', showConfig: showConfig(S) });
  t.after(() => peer.stop());
  const env = { EDGEWATCH_FREQTRADE_USER: 'ft', EDGEWATCH_FREQTRADE_PASSWORD: 'secret' };
  const ok = await run(['import', 'freqtrade', '--api', peer.url, '--ledger', ledger, '--json'], env);
  assert.equal(ok.status, 0, ok.stderr);
  const r = JSON.parse(ok.stdout);
  assert.equal(r.accepted, 3);
  assert.equal(r.deploy.strategy, S); // show_config became v1
  const refused = await run(['import', 'freqtrade', '--api', peer.url, '--ledger', ledger], {
    ...env,
    EDGEWATCH_FREQTRADE_PASSWORD: 'wrong',
  });
  assert.equal(refused.status, 1);
  assert.match(oneLine(refused.stderr), /refused the credentials \(401\): set EDGEWATCH_FREQTRADE_USER/);
});

test('import freqtrade: usage mistakes exit 2, a Freqtrade that cannot be reached exits 1, one line each', async (t) => {
  const { dir, ftDb, ledger } = fixture(t, trades(1, 1));
  const closed = await freePort();
  const cases: Array<[string[], Record<string, string>, number, RegExp]> = [
    [['--api', 'http://127.0.0.1:1', '--db', ftDb], {}, 2, /give --api or --db, not both/],
    [[], {}, 2, /give --api <url> or --db <path>/],
    [['--api', 'ftp://x'], {}, 2, /must start with http:\/\/ or https:\/\//],
    [['--api', 'http://127.0.0.1:1'], { EDGEWATCH_FREQTRADE_USER: 'ft' }, 2, /set both EDGEWATCH_FREQTRADE_USER and/],
    [['--db', join(dir, 'none.sqlite')], {}, 2, /does not exist/],
    [['--db', ftDb, '--settle', 'soon'], {}, 2, /--settle must be an integer/],
    [
      ['--db', ftDb, '--params-file', join(dir, 'X.json')],
      {},
      2,
      /--params-file: hyperopt parameter file .* cannot read it/,
    ],
    [['--api', `http://127.0.0.1:${closed}`], {}, 1, /unreachable: ECONNREFUSED/],
  ];
  for (const [args, env, code, message] of cases) {
    const r = await run(['import', 'freqtrade', ...args, '--ledger', ledger], env);
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(oneLine(r.stderr), message);
  }
  // The edgewatch ledger given as Freqtrade's database, by habit of --db.
  await run(['import', 'freqtrade', '--db', ftDb, '--ledger', ledger]);
  // (--ledger elsewhere: the default ./data/edgewatch.db would land in the directory the suite runs from)
  const swapped = await run(['import', 'freqtrade', '--db', ledger, '--ledger', join(dir, 'other.db')]);
  assert.equal(swapped.status, 2);
  assert.match(oneLine(swapped.stderr), /is an edgewatch ledger, not Freqtrade's tradesv3\.sqlite/);
});

async function scrape(url: string) {
  return parseExposition(await (await fetch(`${url}/metrics`)).text());
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('sidecar --freqtrade-db pulls while running and catches up after it was killed', async (t) => {
  const { ftDb, ledger } = fixture(t, trades(1, 5));
  const env = { EDGEWATCH_FREQTRADE_DB: ftDb, EDGEWATCH_FREQTRADE_INTERVAL: '1', EDGEWATCH_FREQTRADE_SETTLE: '0' };
  const accepted = async (url: string, n: number) =>
    until(`${n} pulled`, async () => {
      const v = value(await scrape(url), 'edgewatch_ingest_events_total', {
        kind: 'freqtrade_pull',
        result: 'accepted',
      });
      return v === n ? v : undefined;
    });
  let proc = await spawnSidecar({ db: ledger, env });
  t.after(() => proc.kill());
  await accepted(proc.url, 5);
  writeTrades(ftDb, trades(6, 2)); // closes while the sidecar runs
  await accepted(proc.url, 7);
  await proc.kill('SIGKILL');
  writeTrades(ftDb, trades(8, 3)); // and while it is down
  proc = await spawnSidecar({ db: ledger, env });
  await accepted(proc.url, 3);
  const dup = value(await scrape(proc.url), 'edgewatch_ingest_events_total', {
    kind: 'freqtrade_pull',
    result: 'duplicate',
  });
  assert.equal(dup, 7); // the restarted sidecar read everything again: stored once
  await proc.kill('SIGTERM');
  assert.equal(count(ledger), 10);
});

test('sidecar: a bad Freqtrade setting stops the start with one line, exit 2', async (t) => {
  const { ftDb, ledger } = fixture(t, []);
  const cases: Array<[Record<string, string>, RegExp]> = [
    [
      { EDGEWATCH_FREQTRADE_DB: ftDb, EDGEWATCH_FREQTRADE_API: 'http://127.0.0.1:8080' },
      /give EDGEWATCH_FREQTRADE_API or EDGEWATCH_FREQTRADE_DB, not both/,
    ],
    [
      { EDGEWATCH_FREQTRADE_DB: ftDb, EDGEWATCH_FREQTRADE_INTERVAL: '0' },
      /EDGEWATCH_FREQTRADE_INTERVAL must be an integer between 1/,
    ],
    [{ EDGEWATCH_FREQTRADE_STRATEGY: 'a b' }, /EDGEWATCH_FREQTRADE_STRATEGY must match/],
    [{ EDGEWATCH_FREQTRADE_PARAMS_FILE: '/nope.json' }, /needs --freqtrade-api or --freqtrade-db/],
  ];
  for (const [env, message] of cases) {
    const port = String(await freePort());
    const r = await run(['sidecar', '--db', ledger, '--port', port], env);
    assert.equal(r.status, 2, r.stderr);
    assert.match(oneLine(r.stderr), message);
  }
});

test('a sidecar listening on :: takes the webhook over IPv6 with the token', async (t) => {
  const v6 = await new Promise<boolean>((resolve) => {
    const s = createServer().listen(0, '::1', () => s.close(() => resolve(true)));
    s.on('error', () => resolve(false));
  });
  if (!v6) {
    t.skip('this host has no IPv6 loopback');
    return;
  }
  const { ledger } = fixture(t, []);
  const token = 'a'.repeat(32);
  const proc = await spawnSidecar({ db: ledger, env: { EDGEWATCH_HOST: '::', EDGEWATCH_TOKEN: token } });
  t.after(() => proc.kill());
  const body = new URLSearchParams({
    type: 'exit_fill',
    strategy: S,
    trade_id: '1',
    pair: 'BTC/USDT',
    direction: 'Long',
    open_date: '2024-10-24 09:29:03+00:00',
    close_date: '2024-10-24 10:29:03+00:00',
    cumulative_profit: '1.5',
    is_final_exit: 'True',
  });
  const res = await fetch(`http://[::1]:${proc.port}/v1/integrations/freqtrade`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`freqtrade:${token}`).toString('base64')}` },
    body,
  });
  assert.equal(res.status, 201, await res.text());
});
