// Recording an expectation: POST/GET /v1/params/:strategy/:version/expectation on a real
// sidecar, the SDK's params.expect, and `edgewatch params expect` importing a Freqtrade
// backtest result written by Python as Freqtrade writes it (test/support/freqtrade-result.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { zipEntries, zipRead } from '../src/cli/zip.js';
import { Ledger } from '../src/ledger/ledger.js';
import { openEdgewatch } from '../src/sdk/index.js';
import { FT_END_MS, FT_LOSS, FT_STAMP, FT_START_MS, FT_WIN, writeFreqtradeResult } from './support/freqtrade-result.js';
import { sidecar } from './support/sidecar.js';
import { tempDir, value } from './support/tmp.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const NOW = Date.UTC(2026, 2, 1, 12);
const DAY = 86_400_000;
const close = (a: number, b: number | null | undefined, eps = 1e-9) =>
  assert.ok(b != null && Math.abs(a - b) <= eps * Math.max(1, Math.abs(a)), `expected ${a}, got ${b}`);

const SUMMARY = {
  summary: { trades: 400, trades_per_day: 8, pnl_mean: 1.25, pnl_sd: 12, win_ratio: 0.52, max_drawdown: 310 },
};
const listOf = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    pnl: i % 2 ? -4 : 6,
    return: i % 2 ? -0.04 : 0.06,
    closed_at: NOW - 40 * DAY + i * DAY,
  }));

test('POST stores a summary (201), a resend is 200 and stores nothing, GET shows it; a trade list is summarised by the sidecar', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  assert.equal((await s.post('/v1/params', { strategy: 's', params: { a: 1 } })).status, 201);
  let r = await s.post('/v1/params/s/v1/expectation', { ...SUMMARY, source: 'summary by hand', fee_per_trade: 0.3 });
  assert.equal(r.status, 201);
  let body = await r.json();
  assert.equal(body.param_version, 'v1');
  assert.equal(body.created, true);
  assert.equal(body.expectation.trades_per_day, 8);
  assert.equal(body.expectation.pnl_sd, 12);
  assert.equal(body.expectation.fee_per_trade, 0.3);
  assert.equal(body.expectation.return_mean, null);
  r = await s.post('/v1/params/s/v1/expectation', { ...SUMMARY, source: 'summary by hand', fee_per_trade: 0.3 });
  assert.equal(r.status, 200);
  assert.equal((await r.json()).created, false);

  // A trade list: 40 trades alternating 6 and -4, one a day: mean 1, sd 5·√(40/39), 39 days.
  r = await s.post('/v1/params/s/v1/expectation', { trades: listOf(40) });
  assert.equal(r.status, 201);
  body = await r.json();
  close(1, body.expectation.pnl_mean);
  close(5 * Math.sqrt(40 / 39), body.expectation.pnl_sd);
  close(0.01, body.expectation.return_mean);
  close(40 / 39, body.expectation.trades_per_day);
  close(0.5, body.expectation.win_ratio);
  assert.equal(body.expectation.max_drawdown, 4);
  assert.equal(body.expectation.outcomes_stored, 40);
  assert.equal(body.expectation.previous_expectations, 1);

  r = await s.get('/v1/params/s/v1/expectation?outcomes=true');
  assert.equal(r.status, 200);
  body = await r.json();
  assert.equal(body.expectation.outcomes_stored, 40);
  assert.deepEqual(body.outcomes.slice(0, 2), [
    [6, 0.06],
    [-4, -0.04],
  ]);
  const m = await s.scrape();
  assert.equal(value(m, 'edgewatch_ingest_events_total', { kind: 'expectations', result: 'accepted' }), 2);
  assert.equal(value(m, 'edgewatch_ingest_events_total', { kind: 'expectations', result: 'duplicate' }), 1);
});

test('a bad expectation is a 400 naming every problem and stores nothing; unknown versions are 404', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  await s.post('/v1/params', { strategy: 's', params: { a: 1 } });
  let r = await s.post('/v1/params/s/v1/expectation', { summary: { trades: 10, pnl_mean: 1 }, extra: 1 });
  assert.equal(r.status, 400);
  const body = await r.json();
  assert.equal(body.error, 'invalid expectation');
  assert.deepEqual(body.details.map((d: { path: string }) => d.path).sort(), ['extra']);
  r = await s.post('/v1/params/s/v1/expectation', { summary: { trades: 10, pnl_mean: 1 } });
  assert.deepEqual((await r.json()).details.map((d: { path: string }) => d.path).sort(), [
    'summary.pnl_sd',
    'summary.trades',
    'summary.trades_per_day',
  ]);
  assert.equal((await s.post('/v1/params/s/v1/expectation', '{"summary": ')).status, 400);
  assert.equal((await s.post('/v1/params/s/v9/expectation', SUMMARY)).status, 404);
  assert.equal((await s.post('/v1/params/s/nine/expectation', SUMMARY)).status, 400);
  assert.equal((await s.post('/v1/params/nosuch/v1/expectation', SUMMARY)).status, 404);
  r = await s.get('/v1/params/s/v1/expectation');
  assert.equal(r.status, 404);
  assert.match((await r.json()).error, /has no expectation: POST one to \/v1\/params\/s\/v1\/expectation/);
  assert.equal(s.ledger.raw.prepare('SELECT count(*) FROM expectations').pluck().get(), 0);
  const m = await s.scrape();
  assert.equal(value(m, 'edgewatch_ingest_events_total', { kind: 'expectations', result: 'rejected' }), 6);
});

test('with a token, an expectation without it is refused (401) and not stored', async (t) => {
  const s = await sidecar(t, { now: () => NOW, token: 'secret-token-1234567890' });
  const auth = { authorization: 'Bearer secret-token-1234567890' };
  assert.equal((await s.post('/v1/params', { strategy: 's', params: { a: 1 } }, auth)).status, 201);
  assert.equal((await s.post('/v1/params/s/v1/expectation', SUMMARY)).status, 401);
  assert.equal((await s.post('/v1/params/s/v1/expectation', SUMMARY, auth)).status, 201);
});

test('the SDK records an expectation on the params handle; bad input is a failed result, nothing stored', (t) => {
  const ew = openEdgewatch({ ledger: join(tempDir(t), 'sdk.db'), strategies: ['s'], logger: false });
  t.after(() => ew.close());
  const s = ew.strategy('s');
  const d = s.params.deploy({ a: 1 });
  assert.ok(d.ok);
  const r = s.params.expect(d.version, {
    trades: listOf(40).map((x) => ({ pnl: x.pnl, closedAt: new Date(x.closed_at) })),
    feePerTrade: 0.1,
  });
  assert.ok(r.ok);
  close(1, r.expectation.summary.pnl?.mean);
  assert.equal(r.expectation.summary.feePerTrade, 0.1);
  const bad = s.params.expect('v1', { summary: { trades: 40, tradesPerDay: 2 } });
  assert.equal(bad.ok, false);
  assert.match(String(!bad.ok && bad.error.message), /summary\.pnlMean/);
  assert.equal(s.params.expect('v7', { summary: { trades: 40, tradesPerDay: 2, pnlMean: 1, pnlSd: 2 } }).ok, false);
  assert.equal(ew.ledger.raw.prepare('SELECT count(*) FROM expectations').pluck().get(), 1);
});

function cli(args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });
}

test('edgewatch params expect imports a Freqtrade backtest result (.zip, .json, its folder) with hand-worked figures', (t) => {
  const dir = tempDir(t);
  const files = writeFreqtradeResult(dir);
  if (files.skip !== undefined) return t.skip(files.skip);
  const db = join(dir, 'l.db');
  const l = Ledger.open(db);
  l.deployParams('momentum', { a: 1 }, {}, NOW);
  l.close();
  const r = cli(['params', 'expect', 'v1', '--strategy', 'momentum', '--freqtrade', files.zip, '--db', db, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout).expectation;
  const d = (FT_WIN - FT_LOSS) / 2; // each trade lies d from the mean
  assert.equal(e.trades, 30);
  close(3, e.trades_per_day); // 30 trades in the 10-day backtest
  close((FT_WIN + FT_LOSS) / 2, e.pnl_mean);
  close(d * Math.sqrt(30 / 29), e.pnl_sd);
  close((FT_WIN + FT_LOSS) / 200, e.return_mean); // over the notional 10 · 10
  close((d / 100) * Math.sqrt(30 / 29), e.return_sd);
  close(0.5, e.win_ratio);
  close(-FT_LOSS, e.max_drawdown);
  close((0.21 + 0.195) / 2, e.fee_per_trade); // 10·10·0.001 + 10·11·0.001, and 10·9.5·0.001 at close
  assert.equal(e.period_start, new Date(FT_START_MS).toISOString());
  assert.equal(e.period_end, new Date(FT_END_MS).toISOString());
  assert.equal(e.variance_inflation, 1, 'alternating outcomes: no inflation');
  assert.equal(e.source, 'freqtrade backtest-result-2025-01-15_10-00-00.zip (SampleStrategy)');
  // The plain .json (earlier releases) and the folder (.last_result.json names the zip) give the same figures.
  for (const path of [files.json, dir]) {
    const again = cli(['params', 'expect', 'v1', '--strategy', 'momentum', '--freqtrade', path, '--db', db, '--json']);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).expectation.pnl_mean, e.pnl_mean);
  }
  const shown = cli(['params', 'expectation', 'v1', '--strategy', 'momentum', '--db', db]);
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /30 trades over 10 days, 3 a day/);
  assert.match(shown.stdout, /win ratio 50\.0%, max drawdown 5\.20, fee per trade 0\.203/);
});

test('a wrong Freqtrade file is a one-line usage error (exit 2) and stores nothing', (t) => {
  const dir = tempDir(t);
  const files = writeFreqtradeResult(dir, ['SampleStrategy', 'Other']);
  if (files.skip !== undefined) return t.skip(files.skip);
  const db = join(dir, 'l.db');
  const l = Ledger.open(db);
  l.deployParams('momentum', { a: 1 }, {}, NOW);
  l.close();
  const expect = (...extra: string[]) =>
    cli(['params', 'expect', 'v1', '--strategy', 'momentum', '--db', db, ...extra]);
  let r = expect('--freqtrade', files.zip);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /several strategies \(SampleStrategy, Other\): pick one with --freqtrade-strategy/);
  r = expect('--freqtrade', files.meta);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /is the metadata of a backtest/);
  r = expect('--freqtrade', files.zip, '--freqtrade-strategy', 'Nope');
  assert.match(r.stderr, /has no strategy "Nope": it holds SampleStrategy, Other/);
  // A damaged archive: one byte of the result entry's compressed data changed.
  const bytes = readFileSync(files.zip);
  const entry = zipEntries(bytes).find((x) => x.name === `backtest-result-${FT_STAMP}.json`) as ReturnType<
    typeof zipEntries
  >[number];
  const at = entry.localOffset + 30 + entry.name.length + 40;
  bytes[at] ^= 0xff;
  const damaged = join(dir, 'damaged.zip');
  writeFileSync(damaged, bytes);
  r = expect('--freqtrade', damaged);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^edgewatch: .*damaged\.zip: .*(CRC-32 mismatch|cannot inflate|bytes inflated)/);
  r = expect('--freqtrade', files.zip, '--freqtrade-strategy', 'Other', '--fee-per-trade', 'cheap');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--fee-per-trade must be a number/);
  // The second strategy of the result, with the fee given: its PnL is twice the first's.
  r = expect('--freqtrade', files.zip, '--freqtrade-strategy', 'Other', '--fee-per-trade', '0.5', '--json');
  assert.equal(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout).expectation;
  close(FT_WIN + FT_LOSS, e.pnl_mean);
  close(-2 * FT_LOSS, e.max_drawdown);
  assert.equal(e.fee_per_trade, 0.5);
  const check = Ledger.open(db, { readonly: true });
  assert.equal(check.raw.prepare('SELECT count(*) FROM expectations').pluck().get(), 1);
  check.close();
});

test('the ZIP reader inflates deflate entries, copies stored ones and refuses a CRC mismatch', () => {
  // An archive built by hand: one stored and one deflated entry, central directory, end record.
  const files = [
    { name: 'a.txt', data: Buffer.from('stored entry'), method: 0 },
    { name: 'b.json', data: Buffer.from(JSON.stringify({ x: 'y'.repeat(500) })), method: 8 },
  ];
  const crc32 = (b: Buffer) => {
    let c = ~0;
    for (const byte of b) {
      c ^= byte;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    }
    return ~c >>> 0;
  };
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const body = f.method === 8 ? deflateRawSync(f.data) : f.data;
    const name = Buffer.from(f.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(f.method, 8);
    local.writeUInt32LE(crc32(f.data), 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(f.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(f.method, 10);
    central.writeUInt32LE(crc32(f.data), 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(f.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  const zip = Buffer.concat([...locals, cd, end]);
  const entries = zipEntries(zip);
  assert.deepEqual(
    entries.map((e) => [e.name, e.method]),
    [
      ['a.txt', 0],
      ['b.json', 8],
    ],
  );
  assert.equal(zipRead(zip, entries[0]).toString(), 'stored entry');
  assert.equal(JSON.parse(zipRead(zip, entries[1]).toString()).x.length, 500);
  const bad = Buffer.from(zip);
  bad[30 + 5] ^= 1; // a byte of the stored entry's data
  assert.throws(() => zipRead(bad, zipEntries(bad)[0]), /CRC-32 mismatch/);
  assert.throws(() => zipEntries(Buffer.from('not a zip at all, just some text here')), /not a ZIP archive/);
});
