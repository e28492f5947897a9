// The Freqtrade pull against a real tradesv3.sqlite (Freqtrade 2024.10's schema) and a real
// HTTP peer serving Freqtrade's REST API shapes from it, into real ledger files.
import assert from 'node:assert/strict';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import test from 'node:test';
import Database from 'better-sqlite3';
import { FreqtradeApi } from '../src/integrations/freqtrade/api.js';
import { FreqtradeDb } from '../src/integrations/freqtrade/db.js';
import { ApiSource, DbSource, type FtSource } from '../src/integrations/freqtrade/sources.js';
import { FreqtradeSync } from '../src/integrations/freqtrade/sync.js';
import { Ledger } from '../src/ledger/ledger.js';
import { silentLogger } from '../src/log.js';
import { micros, pyTimestampMs, showConfig, startFreqtradeApi } from './support/freqtrade-api.js';
import { createFreqtradeDb, ftDate, setStartupTime, writeTrades, type FtFixtureTrade } from './support/freqtrade-db.js';
import { ledgerDigest } from './support/ledger-digest.js';
import { tempDir } from './support/tmp.js';

const S = 'SampleStrategy';
const NOW = Math.floor(Date.now() / 1000) * 1000;
const H = 3600_000;
const T0 = NOW - 48 * H;

function setup(t: test.TestContext) {
  const dir = tempDir(t);
  const ftDb = join(dir, 'tradesv3.sqlite');
  createFreqtradeDb(ftDb);
  const open = (name = 'edgewatch.db') => {
    const l = Ledger.open(join(dir, name));
    t.after(() => l.close());
    return l;
  };
  return { dir, ftDb, open };
}

const sync = (
  ledger: Ledger,
  source: FtSource,
  opts: { settleMs?: number; paramsFile?: string; now?: () => number } = {},
) => new FreqtradeSync(ledger, source, { settleMs: 60_000, log: silentLogger(), ...opts });

const dbSource = (path: string) => new DbSource(new FreqtradeDb(path));

/** Six trades of every kind the pull meets; times with microseconds, as Freqtrade stores them. */
function sixTrades(): FtFixtureTrade[] {
  return [
    {
      id: 1,
      pair: 'BTC/USDT',
      strategy: S,
      openDate: ftDate(T0, 123),
      closeDate: ftDate(T0 + H, 456),
      closeProfitAbs: 2.5,
      stakeAmount: 100,
      feeOpenCost: 0.1,
      feeOpenCurrency: 'USDT',
      feeCloseCost: 0.1015,
      feeCloseCurrency: 'USDT',
    },
    {
      id: 2,
      pair: 'ETH/USDT:USDT',
      strategy: S,
      isShort: true,
      leverage: 3,
      openDate: ftDate(T0 + 2 * H),
      closeDate: ftDate(T0 + 3 * H),
      closeProfitAbs: -1.2,
      stakeAmount: 50,
      feeOpenCost: 0.03,
      feeOpenCurrency: 'USDT',
      feeCloseCost: 0.02,
      feeCloseCurrency: 'BNB', // paid in BNB: not counted
    },
    { id: 3, pair: 'XRP/USDT', strategy: S, isOpen: true, openDate: ftDate(T0 + 4 * H), stakeAmount: 20 },
    {
      id: 4,
      pair: 'SOL/USDT',
      strategy: S,
      openDate: ftDate(NOW - H),
      closeDate: ftDate(NOW - 10_000), // closed 10 s ago: not settled
      closeProfitAbs: 0.5,
      stakeAmount: 30,
    },
    {
      id: 5,
      pair: 'LINK/USDT',
      strategy: 'Other',
      stakeCurrency: null, // a row from before the column: the pair's quote currency is the stake
      openDate: ftDate(T0 + 5 * H),
      closeDate: ftDate(T0 + 6 * H),
      closeProfitAbs: 1,
      stakeAmount: 40,
      feeOpenCost: 0.04,
      feeOpenCurrency: 'USDT',
    },
    {
      id: 6,
      pair: 'ADA/USDT',
      strategy: null,
      openDate: ftDate(T0 + 7 * H),
      closeDate: ftDate(T0 + 8 * H),
      closeProfitAbs: 1,
      stakeAmount: 10,
    },
  ];
}

const sec = (ms: number) => Math.floor(ms / 1000);

test('closed trades of a tradesv3.sqlite become edgewatch trades: id, strategy, side, net PnL, stake-currency fees, notional, times', async (t) => {
  const { ftDb, open } = setup(t);
  writeTrades(ftDb, sixTrades());
  const ledger = open();
  const r = await sync(ledger, dbSource(ftDb)).runOnce();
  assert.equal(r.accepted, 3);
  assert.equal(r.pending, 1);
  assert.deepEqual(
    r.rejected.map((x) => x.id),
    [6],
  );
  assert.match(r.rejected[0].error, /strategy: the trade has no strategy/);
  const get = (strategy: string, id: string) => {
    const row = ledger.getTrade(strategy, id);
    assert.ok(row, `${strategy}/${id} stored`);
    const { symbol, side, pnl, fees, notional, openedMs, closedMs, paramVersion } = row;
    return { symbol, side, pnl, fees, notional, openedMs, closedMs, paramVersion };
  };
  // Microseconds are cut to the millisecond: .123 of 123 µs is 0 ms.
  assert.deepEqual(get(S, `ft-1-${sec(T0)}`), {
    symbol: 'BTC-USDT',
    side: 'long',
    pnl: 2.5,
    fees: 0.1 + 0.1015,
    notional: 100,
    openedMs: T0,
    closedMs: T0 + H,
    paramVersion: null,
  });
  assert.deepEqual(get(S, `ft-2-${sec(T0 + 2 * H)}`), {
    symbol: 'ETH-USDT:USDT',
    side: 'short',
    pnl: -1.2,
    fees: 0.03,
    notional: 150,
    openedMs: T0 + 2 * H,
    closedMs: T0 + 3 * H,
    paramVersion: null,
  });
  assert.equal(get('Other', `ft-5-${sec(T0 + 5 * H)}`).fees, 0.04);
  assert.deepEqual(ledger.strategies().sort(), ['Other', S]);
});

test('reading again, or from a restarted sidecar, imports nothing and changes nothing', async (t) => {
  const { ftDb, open } = setup(t);
  writeTrades(ftDb, sixTrades());
  const ledger = open();
  const first = sync(ledger, dbSource(ftDb));
  await first.runOnce();
  const before = ledgerDigest(ledger.raw);
  const again = await first.runOnce();
  assert.deepEqual([again.accepted, again.duplicates, again.rejected.length], [0, 0, 0]);
  const restarted = await sync(ledger, dbSource(ftDb)).runOnce(); // a new process: everything read once more
  assert.deepEqual([restarted.accepted, restarted.duplicates], [0, 3]);
  assert.equal(ledgerDigest(ledger.raw), before);
});

test('catching up: an old open trade that closes after newer ones, and trades closed while edgewatch was away', async (t) => {
  const { ftDb, open } = setup(t);
  writeTrades(ftDb, sixTrades());
  const ledger = open();
  let now = NOW;
  const s = sync(ledger, dbSource(ftDb), { now: () => now });
  await s.runOnce();
  // Trade 3 (open) closes after trades 7 and 8 opened and closed; the sidecar was away meanwhile.
  const later = (id: number, hours: number): FtFixtureTrade => ({
    id,
    pair: 'DOT/USDT',
    strategy: S,
    openDate: ftDate(T0 + hours * H),
    closeDate: ftDate(T0 + (hours + 1) * H),
    closeProfitAbs: id,
    stakeAmount: 10,
  });
  writeTrades(ftDb, [later(7, 10), later(8, 11)]);
  assert.equal((await s.runOnce()).accepted, 2);
  writeTrades(ftDb, [{ ...sixTrades()[2], isOpen: false, closeDate: ftDate(T0 + 20 * H), closeProfitAbs: 3 }]);
  now += 60_000; // and trade 4 has now been closed for 70 s
  const r = await s.runOnce();
  assert.equal(r.accepted, 2);
  assert.equal(ledger.getTrade(S, `ft-3-${sec(T0 + 4 * H)}`)?.pnl, 3);
  assert.equal(ledger.getTrade(S, `ft-4-${sec(NOW - H)}`)?.pnl, 0.5);
  assert.equal(ledger.maxSeq(), 3 + 2 + 2);
});

test('fees revised before a trade settles are imported; a revision after it is neither applied nor a conflict', async (t) => {
  const { ftDb, open } = setup(t);
  const trade = (id: number, closeMs: number, feeClose: number | null): FtFixtureTrade => ({
    id,
    pair: 'BTC/USDT',
    strategy: S,
    openDate: ftDate(closeMs - H),
    closeDate: ftDate(closeMs),
    closeProfitAbs: 1,
    stakeAmount: 100,
    feeOpenCost: 0.1,
    feeOpenCurrency: 'USDT',
    feeCloseCost: feeClose,
    feeCloseCurrency: feeClose === null ? null : 'USDT',
  });
  writeTrades(ftDb, [trade(1, NOW - 30_000, null)]);
  const ledger = open();
  let now = NOW;
  const s = sync(ledger, dbSource(ftDb), { now: () => now });
  assert.equal((await s.runOnce()).pending, 1);
  writeTrades(ftDb, [trade(1, NOW - 30_000, 0.11)]); // Freqtrade fills in the exit fee
  now += 40_000;
  assert.equal((await s.runOnce()).accepted, 1);
  const id = `ft-1-${sec(NOW - 30_000 - H)}`;
  assert.equal(ledger.getTrade(S, id)?.fees, 0.1 + 0.11);
  const before = ledgerDigest(ledger.raw);
  writeTrades(ftDb, [trade(1, NOW - 30_000, 0.2)]); // revised at Freqtrade's next start
  const same = await s.runOnce();
  const restarted = await sync(ledger, dbSource(ftDb), { now: () => now }).runOnce();
  assert.deepEqual([same.accepted, restarted.accepted, restarted.duplicates], [0, 0, 1]);
  assert.equal(ledgerDigest(ledger.raw), before);
});

function hyperoptFile(path: string, buyRsi: number, mtimeMs: number): void {
  writeFileSync(
    path,
    JSON.stringify({
      strategy_name: S,
      params: {
        buy: { buy_rsi: buyRsi },
        sell: { sell_rsi: 70 },
        roi: { '0': 0.1, '30': 0.05 },
        stoploss: { stoploss: -0.1 },
      },
      ft_stratparam_v: 1,
      export_time: '2024-10-24 09:29:03.123456+00:00',
    }),
  );
  utimesSync(path, mtimeMs / 1000, mtimeMs / 1000);
}

test('hyperopt parameters are deployed at Freqtrade start time, so trades land on the version they ran under', async (t) => {
  const { dir, ftDb, open } = setup(t);
  const file = join(dir, `${S}.json`);
  const start1 = T0 + 10 * H;
  const start2 = T0 + 20 * H;
  hyperoptFile(file, 30, start1 - H);
  setStartupTime(ftDb, ftDate(start1));
  const trade = (id: number, openMs: number): FtFixtureTrade => ({
    id,
    pair: 'BTC/USDT',
    strategy: S,
    openDate: ftDate(openMs),
    closeDate: ftDate(openMs + H / 2),
    closeProfitAbs: 1,
    stakeAmount: 10,
  });
  writeTrades(ftDb, [trade(1, start1 - H), trade(2, start1 + H)]);
  const ledger = open();
  const s = sync(ledger, dbSource(ftDb), { paramsFile: file });
  const r = await s.runOnce();
  assert.deepEqual(r.deploy, { strategy: S, version: 'v1', deployedAt: new Date(start1).toISOString(), created: true });
  assert.deepEqual(ledger.getVersion(S, 1)?.params, {
    buy: { buy_rsi: 30 },
    sell: { sell_rsi: 70 },
    roi: { '0': 0.1, '30': 0.05 },
    stoploss: { stoploss: -0.1 },
  });
  assert.equal(ledger.getTrade(S, `ft-1-${sec(start1 - H)}`)?.paramVersion, null); // before the start
  assert.equal(ledger.getTrade(S, `ft-2-${sec(start1 + H)}`)?.paramVersion, 1);
  assert.match(JSON.stringify((await s.runOnce()).deploy), /already in force/);

  // Re-tuned while Freqtrade runs: not in force until it starts again.
  hyperoptFile(file, 25, start1 + 2 * H);
  assert.match(JSON.stringify((await s.runOnce()).deploy), /takes effect at Freqtrade's next start/);
  assert.equal(ledger.deploys(S).length, 1);
  setStartupTime(ftDb, ftDate(start2));
  writeTrades(ftDb, [trade(3, start2 + H)]);
  const r2 = await s.runOnce();
  assert.deepEqual(r2.deploy, {
    strategy: S,
    version: 'v2',
    deployedAt: new Date(start2).toISOString(),
    created: true,
  });
  assert.equal(ledger.getTrade(S, `ft-3-${sec(start2 + H)}`)?.paramVersion, 2);
  assert.equal(ledger.getTrade(S, `ft-2-${sec(start1 + H)}`)?.paramVersion, 1);
});

test('a file that is not Freqtrade database is refused with what it is', async (t) => {
  const { dir, open } = setup(t);
  const ledger = open();
  await assert.rejects(
    sync(ledger, dbSource(ledger.path)).runOnce(),
    /is an edgewatch ledger, not Freqtrade's tradesv3\.sqlite/,
  );
  const other = join(dir, 'other.sqlite');
  new Database(other).exec('CREATE TABLE trades (id INTEGER)').close();
  await assert.rejects(sync(ledger, dbSource(other)).runOnce(), /not a Freqtrade database: table "trades" lacks pair/);
  await assert.rejects(sync(ledger, dbSource(join(dir, 'none.sqlite'))).runOnce(), /does not exist/);
});

/** Early 2004, where Python's int(timestamp() * 1000) of a whole-millisecond time can fall a millisecond short. */
const Y2004 = 1075000000123;

/**
 * n closed trades whose open times are whole milliseconds (µs = 000, as exchange fill times
 * are); the first ten in 2004, a history a first import back-fills.
 */
function manyTrades(n: number): FtFixtureTrade[] {
  return Array.from({ length: n }, (_, i) => {
    const openMs = i < 10 ? Y2004 + i * 7_654_321 : T0 + i * 60_000 + ((i * 37) % 1000);
    return {
      id: i + 1,
      pair: i % 3 ? 'BTC/USDT' : 'ETH/USDT:USDT',
      strategy: S,
      isShort: i % 3 === 0,
      leverage: i % 3 ? 1 : 2,
      openDate: ftDate(openMs),
      closeDate: ftDate(openMs + 30_000),
      closeProfitAbs: ((i % 7) - 3) * 0.125,
      stakeAmount: 25 + (i % 5),
      feeOpenCost: 0.025,
      feeOpenCurrency: 'USDT',
    };
  });
}

test('the REST API pull pages through 1,203 trades with HTTP Basic and gives the same ids as the database pull', async (t) => {
  const { ftDb, open } = setup(t);
  const trades = manyTrades(1203);
  writeTrades(ftDb, trades);
  // Freqtrade's int(timestamp() * 1000), computed by Python itself, puts some open times a
  // millisecond early; the peer computes the same in JavaScript. The id must not care.
  const opens = trades.slice(0, 10).map((x) => x.openDate);
  const py = spawnSync(
    'python3',
    [
      '-c',
      'import sys, json; from datetime import datetime, timezone\n' +
        'print(json.dumps([int(datetime.fromisoformat(d).replace(tzinfo=timezone.utc).timestamp() * 1000) for d in json.load(sys.stdin)]))',
    ],
    { input: JSON.stringify(opens), encoding: 'utf8' },
  );
  const pyMs = JSON.parse(py.stdout) as number[];
  assert.deepEqual(pyMs, opens.map(pyTimestampMs));
  const early = opens.filter((d, i) => pyMs[i] !== Math.floor(micros(d) / 1000)).length;
  assert.ok(early > 0, 'some open times are a millisecond early through the API');
  t.diagnostic(`${early} of the 10 trades of 2004 open a millisecond early through the API`);
  const peer = await startFreqtradeApi({ db: ftDb, username: 'ft', password: 'pw', showConfig: showConfig(S) });
  t.after(() => peer.stop());
  const viaDb = open('a.db');
  const viaApi = open('b.db');
  await sync(viaDb, dbSource(ftDb)).runOnce();
  const api = new FreqtradeApi({ url: `${peer.url}/api/v1`, username: 'ft', password: 'pw' });
  const r = await sync(viaApi, new ApiSource(api)).runOnce();
  assert.equal(r.accepted, 1203);
  assert.equal(peer.hits.get('/api/v1/trades'), 3); // 500 + 500 + 203
  const rows = (l: Ledger) =>
    l.tradesAfter(0).map((x) => [x.id, x.side, x.symbol, x.pnl, x.fees, x.notional, x.closedMs - x.openedMs!]);
  const a = rows(viaDb);
  const b = rows(viaApi);
  assert.equal(a.length, 1203);
  assert.deepEqual(
    b.map((x) => x[0]),
    a.map((x) => x[0]),
  );
  // Durations differ by the API's lost millisecond at most; all else is equal.
  assert.deepEqual(
    b.map((x) => x.slice(1, 6)),
    a.map((x) => x.slice(1, 6)),
  );

  const wrong = new FreqtradeApi({ url: peer.url, username: 'ft', password: 'nope' });
  await assert.rejects(sync(open('c.db'), new ApiSource(wrong)).runOnce(), /refused the credentials \(401\)/);
});

test('REST pull: catching up after Freqtrade was down, and a trade deleted behind the cursor does not hide the next one', async (t) => {
  const { ftDb, open } = setup(t);
  writeTrades(ftDb, manyTrades(5));
  let peer = await startFreqtradeApi({ db: ftDb, username: 'ft', password: 'pw', showConfig: showConfig(S) });
  const port = peer.port;
  t.after(() => peer.stop());
  const ledger = open();
  const s = sync(ledger, new ApiSource(new FreqtradeApi({ url: peer.url, username: 'ft', password: 'pw' })));
  assert.equal((await s.runOnce()).accepted, 5);
  await peer.stop();
  await assert.rejects(s.runOnce(), /unreachable/);
  const more = manyTrades(8).slice(5); // closed while Freqtrade's API was down
  writeTrades(ftDb, more);
  peer = await startFreqtradeApi({ db: ftDb, username: 'ft', password: 'pw', showConfig: showConfig(S), port });
  assert.equal((await s.runOnce()).accepted, 3);
  // Trade 2 deleted (DELETE /api/v1/trades/2): offsets shift left by one; trade 9 closes.
  const db = new Database(ftDb);
  db.prepare('DELETE FROM trades WHERE id = 2').run();
  db.close();
  writeTrades(ftDb, manyTrades(9).slice(8));
  const r = await s.runOnce();
  assert.equal(r.accepted, 1);
  assert.equal(ledger.maxSeq(), 9);
});

test('show_config and the start time of the API become a deploy; the hyperopt file adds its buy and sell spaces', async (t) => {
  const { dir, ftDb, open } = setup(t);
  const start = T0 + 5 * H;
  const peer = await startFreqtradeApi({
    db: ftDb,
    username: 'ft',
    password: 'pw',
    showConfig: showConfig(S, { strategy_version: '1.2' }),
    startupTs: start / 1000,
  });
  t.after(() => peer.stop());
  const file = join(dir, `${S}.json`);
  hyperoptFile(file, 30, start - H);
  const ledger = open();
  const api = new FreqtradeApi({ url: peer.url, username: 'ft', password: 'pw' });
  const r = await sync(ledger, new ApiSource(api), { paramsFile: file }).runOnce();
  assert.deepEqual(r.deploy, { strategy: S, version: 'v1', deployedAt: new Date(start).toISOString(), created: true });
  assert.deepEqual(ledger.getVersion(S, 1)?.params, {
    strategy_version: '1.2',
    timeframe: '5m',
    minimal_roi: { '0': 0.04, '30': 0.02, '60': 0.01 },
    stoploss: -0.1,
    trailing_stop: false,
    trailing_stop_positive: null,
    trailing_stop_positive_offset: 0,
    trailing_only_offset_is_reached: false,
    buy: { buy_rsi: 30 },
    sell: { sell_rsi: 70 },
  });
  assert.equal(ledger.deploys(S)[0].source, 'freqtrade');
  // The bot restarts with a new stoploss: a new version from its new start.
  peer.showConfig = showConfig(S, { strategy_version: '1.2', stoploss: -0.05 });
  peer.startupTs = (start + 2 * H) / 1000;
  const r2 = await sync(ledger, new ApiSource(api), { paramsFile: file }).runOnce();
  assert.equal((r2.deploy as { version: string }).version, 'v2');
  assert.equal(ledger.deploys(S)[1].deployedMs, start + 2 * H);
});

test('a Freqtrade without /health: the parameters are deployed when first seen', async (t) => {
  const { ftDb, open } = setup(t);
  const peer = await startFreqtradeApi({ db: ftDb, username: 'ft', password: 'pw', showConfig: showConfig(S) });
  t.after(() => peer.stop());
  peer.health = false;
  const ledger = open();
  const api = new FreqtradeApi({ url: peer.url, username: 'ft', password: 'pw' });
  const r = await sync(ledger, new ApiSource(api), { now: () => NOW }).runOnce();
  assert.deepEqual(r.deploy, { strategy: S, version: 'v1', deployedAt: new Date(NOW).toISOString(), created: true });
  assert.equal(peer.hits.get('/api/v1/health'), 1);
});
