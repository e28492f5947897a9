import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import {
  ConfigError,
  ConflictError,
  EdgewatchError,
  LedgerError,
  ValidationError,
  openEdgewatch,
  type Edgewatch,
} from '../src/index.js';
import { Ledger } from '../src/ledger/index.js';
import { canonicalJson, diffParams, hashParams } from '../src/model/params.js';
import { requireBinary } from './support/binaries.js';
import { find, parseExposition, tempDir, value } from './support/tmp.js';

function open(t: test.TestContext, extra: Record<string, unknown> = {}, dir = tempDir(t)): Edgewatch {
  const ew = openEdgewatch({ ledger: join(dir, 'l.db'), strategies: ['alpha', 'beta'], logger: false, ...extra });
  t.after(() => ew.close());
  return ew;
}

async function samples(ew: Edgewatch) {
  return parseExposition(await ew.registry.metrics());
}

const TRADE = { id: 't1', symbol: 'BTC-USD', side: 'long' as const, pnl: 12.5, fees: 0.5, notional: 1000 };

test('canonical JSON sorts keys at every level, and the version hash is its SHA-256', () => {
  const params = { b: 1, a: { d: 2, c: [1, { f: 1, e: 2 }] } };
  const expected = '{"a":{"c":[1,{"e":2,"f":1}],"d":2},"b":1}'; // written by hand
  assert.equal(canonicalJson(params), expected);
  assert.equal(hashParams(params), createHash('sha256').update(expected).digest('hex'));
  assert.equal(hashParams({ a: { c: [1, { e: 2, f: 1 }], d: 2 }, b: 1 }), hashParams(params));
});

test('the diff lists added, removed and changed keys', () => {
  assert.deepEqual(diffParams({ keep: 1, gone: 2, moved: [1] }, { keep: 1, moved: [2], fresh: 'x' }), [
    { key: 'fresh', change: 'added', to: 'x' },
    { key: 'gone', change: 'removed', from: 2 },
    { key: 'moved', change: 'changed', from: [1], to: [2] },
  ]);
});

test('deploys number versions per strategy, re-activate identical sets and export the active version', async (t) => {
  const ew = open(t);
  const a = ew.strategy('alpha');
  const r1 = a.params.deploy({ lookback: 20, threshold: 0.5 }, { source: 'test', gitSha: 'abc123', note: 'first' });
  const r2 = a.params.deploy({ lookback: 30, threshold: 0.5 });
  const r3 = a.params.deploy({ threshold: 0.5, lookback: 20 });
  const b1 = ew.strategy('beta').params.deploy({ k: 1 });
  assert.ok(r1.ok && r2.ok && r3.ok && b1.ok);
  assert.deepEqual([r1.version, r2.version, r3.version, b1.version], ['v1', 'v2', 'v1', 'v1']);
  assert.deepEqual([r1.created, r2.created, r3.created], [true, true, false]);
  assert.deepEqual(r2.diff, [{ key: 'lookback', change: 'changed', from: 20, to: 30 }]);
  assert.equal(r3.previousVersion, 'v2');
  assert.equal(a.params.history().length, 3);
  const s = await samples(ew);
  const info = find(s, 'trading_param_version_info', { strategy: 'alpha' });
  assert.equal(info.length, 1, 'one info series per strategy');
  assert.deepEqual(info[0].labels, { strategy: 'alpha', param_version: 'v1', hash: r1.hash, git_sha: '' });
  assert.equal(value(s, 'trading_param_value', { strategy: 'alpha', param: 'lookback' }), 20);
  assert.equal(
    value(s, 'trading_param_deploy_timestamp_seconds', { strategy: 'alpha' }),
    r3.deployedAt.getTime() / 1000,
  );
});

test('record stamps the active version, counts outcomes and money, and a retry is a duplicate', async (t) => {
  const ew = open(t);
  const a = ew.strategy('alpha');
  a.params.deploy({ x: 1 }, { at: Date.now() - 60_000 });
  const closedAt = Date.now() - 1000;
  assert.deepEqual(a.trades.record({ ...TRADE, closedAt }), { ok: true, duplicate: false, paramVersion: 'v1' });
  assert.deepEqual(a.trades.record({ ...TRADE, closedAt }), { ok: true, duplicate: true, paramVersion: 'v1' });
  a.trades.record({ ...TRADE, id: 't2', pnl: -4, fees: 0.25 });
  a.trades.record({ ...TRADE, id: 't3', pnl: 0, fees: 0 });
  const s = await samples(ew);
  const l = { strategy: 'alpha', param_version: 'v1' };
  assert.equal(value(s, 'trading_trades_total', { ...l, outcome: 'win' }), 1);
  assert.equal(value(s, 'trading_trades_total', { ...l, outcome: 'loss' }), 1);
  assert.equal(value(s, 'trading_trades_total', { ...l, outcome: 'flat' }), 1);
  assert.equal(value(s, 'trading_gross_profit_total', l), 12.5);
  assert.equal(value(s, 'trading_gross_loss_total', l), 4);
  assert.equal(value(s, 'trading_fees_total', l), 0.75);
  assert.equal(value(s, 'trading_volume_total', { ...l, symbol: 'BTC-USD' }), 3000);
  const rows = ew.ledger.raw.prepare("SELECT id, param_version FROM trades WHERE strategy = 'alpha' ORDER BY id").all();
  assert.deepEqual(rows, [
    { id: 't1', param_version: 1 },
    { id: 't2', param_version: 1 },
    { id: 't3', param_version: 1 },
  ]);
});

const INVALID: Array<[string, Record<string, unknown>, string]> = [
  ['NaN pnl', { pnl: NaN }, 'pnl'],
  ['infinite pnl', { pnl: Infinity }, 'pnl'],
  ['pnl given as a string', { pnl: '12' }, 'pnl'],
  ['missing id', { id: undefined }, 'id'],
  ['empty id', { id: '' }, 'id'],
  ['symbol breaking the label rule', { symbol: 'BTC/USD' }, 'symbol'],
  ['symbol with a quote', { symbol: 'a"b' }, 'symbol'],
  ['unknown side', { side: 'buy' }, 'side'],
  ['negative fees', { fees: -1 }, 'fees'],
  ['closed more than 5 minutes in the future', { closedAt: Date.now() + 600_000 }, 'closedAt'],
  ['closed before 2000 (seconds given as ms)', { closedAt: 1_700_000_000 }, 'closedAt'],
  ['unparseable time', { closedAt: '2026-13-45T00:00:00Z' }, 'closedAt'],
  ['opened after closed', { openedAt: Date.now(), closedAt: Date.now() - 60_000 }, 'openedAt'],
  ['unknown field', { size: 3 }, 'size'],
  ['variant without an experiment', { variant: 'control' }, 'variant'],
];

for (const [name, patch, path] of INVALID) {
  test(`record refuses ${name}: nothing written, error counted and returned`, async (t) => {
    const ew = open(t);
    const r = ew.strategy('alpha').trades.record({ ...TRADE, ...patch });
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error instanceof ValidationError);
    assert.ok(
      !r.ok && r.error.details.some((d) => d.path === path),
      `details should name ${path}: ${!r.ok && r.error.message}`,
    );
    assert.equal(ew.ledger.raw.prepare('SELECT count(*) FROM trades').pluck().get(), 0);
    assert.equal(value(await samples(ew), 'trading_errors_total', { strategy: 'alpha', kind: 'validation' }), 1);
  });
}

test('strict mode throws the typed error instead of returning it', (t) => {
  const ew = open(t, { strict: true });
  const a = ew.strategy('alpha');
  assert.throws(() => a.trades.record({ ...TRADE, pnl: NaN }), ValidationError);
  a.trades.record(TRADE);
  assert.throws(() => a.trades.record({ ...TRADE, pnl: 1 }), ConflictError);
  assert.throws(() => a.params.deploy({ 'bad name': 1 }), ValidationError);
});

test('a ledger fault does not throw in normal mode: the call reports it and the bot goes on', async (t) => {
  const ew = open(t);
  const a = ew.strategy('alpha');
  a.trades.record(TRADE);
  ew.ledger.raw.pragma(`max_page_count = ${ew.ledger.raw.pragma('page_count', { simple: true })}`);
  let r;
  for (let i = 0; i < 300; i++) {
    r = a.trades.record({ ...TRADE, id: `fill-${i}`, symbol: 'S'.repeat(60) });
    if (!r.ok) break;
  }
  assert.ok(r && !r.ok && r.error instanceof LedgerError && r.error.fault === 'disk_full');
  assert.equal(value(await samples(ew), 'trading_errors_total', { strategy: 'alpha', kind: 'ledger' }), 1);
});

test('configuration mistakes throw at open with what to write instead', (t) => {
  const dir = tempDir(t);
  assert.throws(
    () => openEdgewatch({ ledger: join(dir, 'l.db'), strategys: ['a'] } as never),
    (e: Error) => e instanceof ConfigError && /did you mean "strategies"/.test(e.message),
  );
  // A folder that cannot be made (here: a file is in the way) is named with the fix.
  writeFileSync(join(dir, 'a-file'), '');
  assert.throws(
    () => openEdgewatch({ ledger: join(dir, 'a-file', 'l.db'), strategies: ['a'] }),
    (e: Error) => e instanceof ConfigError && /mkdir -p/.test(e.message),
  );
  assert.throws(
    () => openEdgewatch({ ledger: join(dir, 'l.db'), strategies: ['has space'] }),
    (e: Error) => e instanceof ConfigError && /strategy name/.test(e.message),
  );
  assert.throws(() => openEdgewatch({ ledger: join(dir, 'l.db'), strategies: [] }), ConfigError);
  const ew = openEdgewatch({ ledger: join(dir, 'l.db'), strategies: ['a'], logger: false });
  assert.throws(
    () => ew.strategy('b'),
    (e: Error) => e instanceof ConfigError && /configured: a/.test(e.message),
  );
  void ew.close();
});

test('a ledger in a folder that does not exist yet is opened, the folder created (as edgewatch start does)', async (t) => {
  const dir = tempDir(t);
  const ew = openEdgewatch({ ledger: join(dir, 'data', 'nested', 'l.db'), strategies: ['a'], logger: false });
  assert.ok(existsSync(join(dir, 'data', 'nested', 'l.db')));
  await ew.close();
});

test("the bot's own registry is used when given, and its own metrics stay", async (t) => {
  const registry = new Registry();
  const mine = new (await import('prom-client')).Counter({
    name: 'my_bot_things_total',
    help: 'x',
    registers: [registry],
  });
  mine.inc();
  const ew = open(t, { registry });
  ew.strategy('alpha').heartbeat();
  const s = parseExposition(await registry.metrics());
  assert.equal(value(s, 'my_bot_things_total'), 1);
  assert.ok(value(s, 'trading_loop_last_success_timestamp_seconds', { strategy: 'alpha' }));
});

test('a restart brings back the active version, its deploy time and the running experiment', async (t) => {
  const dir = tempDir(t);
  const deployedAt = Date.UTC(2026, 10, 20, 12);
  {
    const ew = open(t, {}, dir);
    const a = ew.strategy('alpha');
    a.params.deploy({ x: 1 }, { at: deployedAt - 1000 });
    a.params.deploy({ x: 2 }, { gitSha: 'feed', at: deployedAt });
    a.experiments.start({ name: 'exp1', variants: { control: { x: 2 }, candidate: { x: 3 } } });
    await ew.close();
  }
  const ew = open(t, {}, dir);
  const a = ew.strategy('alpha');
  assert.equal(a.activeVersion?.version, 'v2');
  assert.equal(a.activeVersion?.deployedAt.getTime(), deployedAt);
  assert.equal(a.experiments.running()?.name, 'exp1');
  const s = await samples(ew);
  assert.equal(value(s, 'trading_param_deploy_timestamp_seconds', { strategy: 'alpha' }), deployedAt / 1000);
  assert.equal(
    find(s, 'trading_param_version_info', { strategy: 'alpha', param_version: 'v2', git_sha: 'feed' }).length,
    1,
  );
  assert.deepEqual(
    find(s, 'trading_experiment_info', { strategy: 'alpha', experiment: 'exp1' })
      .map((x) => x.labels.variant)
      .sort(),
    ['candidate', 'control'],
  );
});

test('experiments: variants become versions, assignment follows the allocation and is stable per key, trades carry the variant', async (t) => {
  const ew = open(t);
  const a = ew.strategy('alpha');
  a.params.deploy({ x: 1 });
  const started = a.experiments.start({
    name: 'e',
    variants: { control: { x: 1 }, candidate: { x: 2 } },
    allocation: { control: 1, candidate: 3 },
  });
  assert.deepEqual(started.ok && started.variants, { control: 'v1', candidate: 'v2' });
  const first = a.experiments.assign('BTC-USD');
  for (let i = 0; i < 20; i++) assert.equal(a.experiments.assign('BTC-USD')?.variant, first?.variant);
  let candidates = 0;
  for (let i = 0; i < 4000; i++) if (a.experiments.assign(`k${i}`)?.variant === 'candidate') candidates++;
  assert.ok(Math.abs(candidates / 4000 - 0.75) < 0.03, `candidate share ${candidates / 4000} should be near 3/4`);
  assert.deepEqual(
    a.experiments.assign('x')?.params ?? {},
    a.experiments.assign('x')?.variant === 'control' ? { x: 1 } : { x: 2 },
  );
  const r = a.trades.record({ ...TRADE, id: 'c1', variant: 'candidate' });
  assert.deepEqual(r, { ok: true, duplicate: false, paramVersion: 'v2' });
  const row = ew.ledger.getTrade('alpha', 'c1');
  assert.deepEqual([row?.experiment, row?.variant, row?.paramVersion], ['e', 'candidate', 2]);
  assert.equal(a.trades.record({ ...TRADE, id: 'c2', variant: 'nope' }).ok, false);
  assert.ok(a.experiments.stop('e', { winner: 'candidate' }).ok);
  assert.equal(ew.ledger.getExperiment('alpha', 'e')?.winner, 'candidate');
  assert.equal(find(await samples(ew), 'trading_experiment_info').length, 0);
});

const VARIANTS = { control: { x: 1 }, candidate: { x: 2 } };

/** The first position id (p0, p1, ...) that the experiment "e" hashes to `variant`. */
function positionOf(a: ReturnType<Edgewatch['strategy']>, variant: string, prefix: string): string {
  for (let i = 0; ; i++) {
    const id = `${prefix}${i}`;
    // assign without remembering: the key alone gives the same hash as { position: id }
    if (a.experiments.assign(id)?.variant === variant) return id;
  }
}

test('overlapping positions of two variants are each recorded under their own variant', (t) => {
  const ew = open(t);
  const a = ew.strategy('alpha');
  a.params.deploy({ x: 1 });
  assert.ok(a.experiments.start({ name: 'e', variants: VARIANTS }).ok);
  const pc = positionOf(a, 'control', 'pc');
  const pk = positionOf(a, 'candidate', 'pk');
  // Both open before either closes; the candidate one opens last, which is the variant the old
  // "last assign() wins" default would have given both trades.
  assert.equal(a.experiments.assign({ position: pc })?.variant, 'control');
  assert.equal(a.experiments.assign({ position: pk })?.variant, 'candidate');
  assert.deepEqual(a.trades.record({ ...TRADE, id: 'close-c', position: pc }), {
    ok: true,
    duplicate: false,
    paramVersion: 'v1',
  });
  assert.deepEqual(a.trades.record({ ...TRADE, id: 'close-k', position: pk }), {
    ok: true,
    duplicate: false,
    paramVersion: 'v2',
  });
  const row = (id: string) => {
    const r = ew.ledger.getTrade('alpha', id);
    return [r?.experiment, r?.variant, r?.paramVersion];
  };
  assert.deepEqual(row('close-c'), ['e', 'control', 1]);
  assert.deepEqual(row('close-k'), ['e', 'candidate', 2]);
  // Recording forgets the position; a retry of the same trade is still a duplicate, not a conflict.
  assert.equal(a.experiments.variantOf(pc), undefined);
  assert.deepEqual(a.trades.record({ ...TRADE, id: 'close-c', position: pc }), {
    ok: true,
    duplicate: true,
    paramVersion: 'v1',
  });
  // An explicit variant wins over the position's, and the position is forgotten too.
  const p3 = positionOf(a, 'control', 'p3-');
  a.experiments.assign({ position: p3 });
  a.trades.record({ ...TRADE, id: 'explicit', position: p3, variant: 'candidate' });
  assert.deepEqual(row('explicit'), ['e', 'candidate', 2]);
  assert.equal(a.experiments.variantOf(p3), undefined);
});

test("a refused record keeps the position's variant for the retry", (t) => {
  const ew = open(t);
  const a = ew.strategy('alpha');
  a.params.deploy({ x: 1 });
  a.experiments.start({ name: 'e', variants: VARIANTS });
  const pk = positionOf(a, 'candidate', 'p');
  a.experiments.assign({ position: pk });
  assert.equal(a.trades.record({ ...TRADE, id: 'r', pnl: NaN, position: pk }).ok, false);
  assert.equal(a.trades.record({ ...TRADE, id: 'r', position: pk }).ok, true);
  assert.equal(ew.ledger.getTrade('alpha', 'r')?.variant, 'candidate');
});

test('a trade that names no position is recorded without a variant while an experiment runs', (t) => {
  const ew = open(t);
  const a = ew.strategy('alpha');
  a.params.deploy({ x: 1 });
  a.experiments.start({ name: 'e', variants: VARIANTS });
  const pk = positionOf(a, 'candidate', 'p');
  assert.equal(a.experiments.assign({ position: pk })?.variant, 'candidate');
  assert.equal(a.experiments.assign('BTC-USD') !== undefined, true);
  assert.deepEqual(a.trades.record({ ...TRADE, id: 'plain' }), { ok: true, duplicate: false, paramVersion: 'v1' });
  // A position that was never assigned is plain trading too.
  assert.equal(a.trades.record({ ...TRADE, id: 'unassigned', position: 'never-assigned' }).ok, true);
  for (const id of ['plain', 'unassigned']) {
    const row = ew.ledger.getTrade('alpha', id);
    assert.deepEqual([row?.experiment, row?.variant, row?.paramVersion], [null, null, 1], id);
  }
  assert.equal(a.experiments.variantOf(pk), 'candidate', 'the open position is still remembered');
});

test('remembered positions are bounded: the oldest is forgotten first, and all go when the experiment stops', (t) => {
  const ew = open(t, { maxAssignedPositions: 3 });
  const a = ew.strategy('alpha');
  a.params.deploy({ x: 1 });
  a.experiments.start({ name: 'e', variants: VARIANTS });
  for (let i = 1; i <= 4; i++) a.experiments.assign({ position: `p${i}` });
  a.experiments.assign({ position: 'p2' }); // re-assigned: now the newest, so p3 is the oldest
  a.experiments.assign({ position: 'p5' });
  assert.deepEqual(
    ['p1', 'p2', 'p3', 'p4', 'p5'].map((p) => a.experiments.variantOf(p) !== undefined),
    [false, true, false, true, true],
  );
  // A forgotten position's trade is recorded, without a variant.
  assert.equal(a.trades.record({ ...TRADE, id: 'late', position: 'p1' }).ok, true);
  assert.equal(ew.ledger.getTrade('alpha', 'late')?.variant, null);
  assert.ok(a.experiments.stop('e').ok);
  assert.equal(a.experiments.variantOf('p5'), undefined);
  // A new experiment starts with an empty map: its assignments are not confused with the old ones.
  a.experiments.start({ name: 'e2', variants: VARIANTS });
  assert.equal(a.experiments.variantOf('p5'), undefined);
  assert.equal(a.trades.record({ ...TRADE, id: 'after-stop', position: 'p5' }).ok, true);
  assert.equal(ew.ledger.getTrade('alpha', 'after-stop')?.variant, null);
});

test('the default bound holds 10,000 unrecorded positions per strategy, not more', (t) => {
  const ew = open(t);
  const a = ew.strategy('alpha');
  a.params.deploy({ x: 1 });
  a.experiments.start({ name: 'e', variants: VARIANTS });
  for (let i = 0; i < 25_000; i++) a.experiments.assign({ position: `p${i}` });
  assert.equal(a.experiments.variantOf('p14999'), undefined);
  assert.notEqual(a.experiments.variantOf('p15000'), undefined);
  assert.notEqual(a.experiments.variantOf('p24999'), undefined);
});

test("a position's variant is a stable hash of its id, so re-assigning after a restart gives it back", async (t) => {
  const dir = tempDir(t);
  let before: string[];
  {
    const ew = open(t, {}, dir);
    const a = ew.strategy('alpha');
    a.params.deploy({ x: 1 });
    a.experiments.start({ name: 'e', variants: VARIANTS });
    before = Array.from({ length: 50 }, (_, i) => a.experiments.assign({ position: `p${i}` })?.variant ?? '');
    await ew.close();
  }
  const ew = open(t, {}, dir);
  const a = ew.strategy('alpha');
  assert.equal(a.experiments.variantOf('p0'), undefined, 'assignments live in memory only');
  const after = Array.from({ length: 50 }, (_, i) => a.experiments.assign({ position: `p${i}` })?.variant ?? '');
  assert.deepEqual(after, before);
  assert.ok(new Set(before).size === 2, 'both variants occur');
  // With an explicit key, the key decides and the position only remembers.
  const byKey = a.experiments.assign('BTC-USD')?.variant;
  assert.equal(a.experiments.assign({ position: 'q', key: 'BTC-USD' })?.variant, byKey);
  assert.equal(a.experiments.variantOf('q'), byKey);
});

test('an invalid position id is refused where it is given, and assign() then trades the active version', async (t) => {
  const ew = open(t);
  const a = ew.strategy('alpha');
  a.params.deploy({ x: 1 });
  a.experiments.start({ name: 'e', variants: VARIANTS });
  assert.equal(a.experiments.assign({ position: 42 as never }), undefined);
  assert.equal(a.experiments.assign({ position: '' }), undefined);
  assert.equal(a.experiments.assign({ positon: 'p' } as never), undefined);
  const r = a.trades.record({ ...TRADE, id: 'bad', position: 'a\nb', pnl: NaN });
  assert.ok(!r.ok && r.error instanceof ValidationError);
  assert.deepEqual(r.error.details.map((d) => d.path).sort(), ['pnl', 'position'], 'every problem is reported at once');
  assert.equal(ew.ledger.raw.prepare('SELECT count(*) FROM trades').pluck().get(), 0);
  const s = await samples(ew);
  assert.equal(value(s, 'trading_errors_total', { strategy: 'alpha', kind: 'validation' }), 4);
  const strict = open(t, { strict: true });
  assert.throws(() => strict.strategy('alpha').experiments.assign({ position: 7 as never }), ValidationError);
  assert.throws(
    () => strict.strategy('alpha').experiments.assign({ positon: 'p' } as never),
    (e: Error) => e instanceof ValidationError && /did you mean "position"/.test(e.details[0].message),
  );
});

test('label sets of versions older than the newest K leave the exposition', async (t) => {
  const ew = open(t, { keepVersions: 2 });
  const a = ew.strategy('alpha');
  for (let v = 1; v <= 4; v++) {
    a.params.deploy({ v });
    a.trades.record({ ...TRADE, id: `t${v}` });
    a.orders.record({ status: 'filled', latencySeconds: 0.05 });
  }
  const s = await samples(ew);
  const versions = new Set(find(s, 'trading_trades_total', { strategy: 'alpha' }).map((x) => x.labels.param_version));
  assert.deepEqual([...versions].sort(), ['v3', 'v4']);
  assert.deepEqual(
    [...new Set(find(s, 'trading_orders_total', { strategy: 'alpha' }).map((x) => x.labels.param_version))].sort(),
    ['v3', 'v4'],
  );
  assert.deepEqual(
    [
      ...new Set(
        find(s, 'trading_order_latency_seconds_count', { strategy: 'alpha' }).map((x) => x.labels.param_version),
      ),
    ].sort(),
    ['v3', 'v4'],
  );
});

test("loop iterations are timed and counted, and the bot's own error is rethrown untouched", async (t) => {
  const ew = open(t);
  const a = ew.strategy('alpha');
  assert.equal(await a.iteration(() => 42), 42);
  const boom = new Error('exchange down');
  await assert.rejects(
    a.iteration(() => {
      throw boom;
    }),
    (e) => e === boom,
  );
  const s = await samples(ew);
  assert.equal(value(s, 'trading_loop_iterations_total', { strategy: 'alpha' }), 1);
  assert.equal(value(s, 'trading_loop_duration_seconds_count', { strategy: 'alpha' }), 1);
  assert.ok(ew.ledger.heartbeats().some((h) => h.strategy === 'alpha'));
});

test('equity, open positions and orders are exported; bad values are refused', async (t) => {
  const ew = open(t);
  const a = ew.strategy('alpha');
  a.setEquity(10_500.5);
  a.setOpenPositions(2);
  assert.equal(a.setOpenPositions(-1).ok, false);
  assert.equal(a.setEquity(NaN).ok, false);
  a.orders.record({ status: 'rejected' });
  assert.equal(a.orders.record({ status: 'lost' as never }).ok, false);
  const s = await samples(ew);
  assert.equal(value(s, 'trading_equity', { strategy: 'alpha' }), 10_500.5);
  assert.equal(value(s, 'trading_open_positions', { strategy: 'alpha' }), 2);
  assert.equal(value(s, 'trading_orders_total', { strategy: 'alpha', status: 'rejected', param_version: 'none' }), 1);
  assert.equal(value(s, 'trading_errors_total', { strategy: 'alpha', kind: 'validation' }), 3);
});

test('served metrics pass promtool check metrics', async (t) => {
  const bin = requireBinary('promtool');
  if (bin.skip) return t.skip(bin.skip);
  const ew = open(t);
  const a = ew.strategy('alpha');
  a.params.deploy({ x: 1 });
  a.trades.record(TRADE);
  a.orders.record({ status: 'filled', latencySeconds: 0.1 });
  await a.iteration(() => undefined);
  const server = await ew.serve({ port: 0 });
  const body = await (await fetch(server.url)).text();
  const r = spawnSync(bin.path as string, ['check', 'metrics'], { input: body, encoding: 'utf8' });
  // prom-client's own nodejs_active_* gauges carry a _total suffix (docs/metrics.md lets those three be).
  const complaints = `${r.stdout}${r.stderr}`
    .split('\n')
    .filter((l) => l.trim() && !/^nodejs_active_(handles|requests|resources)_total/.test(l));
  assert.deepEqual(complaints, []);
});

const RECORDER = fileURLToPath(new URL('./support/recorder.js', import.meta.url));

test('kill -9 in the middle of recording loses no acknowledged trade', async (t) => {
  const dir = tempDir(t);
  const ledger = join(dir, 'crash.db');
  const acked = new Set<string>();
  for (let round = 0; round < 5; round++) {
    const child = spawn(process.execPath, [RECORDER, ledger, `r${round}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) if (l.startsWith('ack ')) acked.add(l.slice(4));
    });
    // Kill at a random moment once the child is writing (start-up time varies on a busy machine).
    const before = acked.size;
    const deadline = Date.now() + 20_000;
    while (acked.size < before + 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, Math.random() * 300));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
  }
  assert.ok(acked.size >= 50, `recorded ${acked.size} trades before the kills`);
  const l = Ledger.open(ledger);
  t.after(() => l.close());
  assert.equal(l.integrityCheck(), 'ok');
  const stored = new Set(l.raw.prepare('SELECT id FROM trades').pluck().all() as string[]);
  const lost = [...acked].filter((id) => !stored.has(id));
  assert.deepEqual(lost, []);
  assert.equal(l.activeDeploy('alpha')?.version, 1, 'the active version survives the kills');
});

test('experiments.start accepts existing version labels as variants and refuses unknown ones and the {params} shape', (t) => {
  const ew = open(t);
  const a = ew.strategy('alpha');
  a.params.deploy({ x: 1 });
  const unknown = a.experiments.start({ name: 'e', variants: { control: 'v9', candidate: { x: 2 } } });
  assert.ok(
    !unknown.ok &&
      unknown.error instanceof ValidationError &&
      /has no version v9/.test(JSON.stringify(unknown.error.details)),
  );
  const shaped = a.experiments.start({ name: 'e', variants: { control: { params: { x: 1 } }, candidate: { x: 2 } } });
  assert.ok(!shaped.ok && /is not a variant shape/.test(JSON.stringify((shaped.error as ValidationError).details)));
  const started = a.experiments.start({ name: 'e', variants: { control: 'v1', candidate: { param_version: 'v1' } } });
  assert.deepEqual(started.ok && started.variants, { control: 'v1', candidate: 'v1' });
  assert.deepEqual(a.experiments.assign('k')?.params, { x: 1 });
});

test('a typo in a call option is bad input of that call, counted as validation, never as a ledger fault', async (t) => {
  const ew = open(t);
  const a = ew.strategy('alpha');
  const r = a.params.deploy({ lookback: 20 }, { gitsha: 'abc' } as never);
  assert.ok(!r.ok && r.error instanceof ValidationError, 'a ValidationError');
  assert.ok(!r.ok && /did you mean "gitSha"/.test(r.error.message), !r.ok ? r.error.message : '');
  assert.equal(a.activeVersion, undefined, 'nothing deployed');
  const s = await samples(ew);
  assert.equal(value(s, 'trading_errors_total', { strategy: 'alpha', kind: 'validation' }), 1);
  assert.equal(value(s, 'trading_errors_total', { strategy: 'alpha', kind: 'ledger' }), undefined);
});

test('a deploy note longer than 1000 characters is refused by the SDK as by the HTTP API', (t) => {
  const ew = open(t);
  const r = ew.strategy('alpha').params.deploy({ lookback: 20 }, { note: 'n'.repeat(1001) });
  assert.ok(!r.ok && r.error instanceof ValidationError);
  assert.ok(!r.ok && r.error.summary === 'invalid deploy' && r.error.details[0].path === 'note');
  assert.equal(ew.ledger.raw.prepare('SELECT count(*) FROM param_deploys').pluck().get(), 0);
});

test('a configuration mistake is an EdgewatchError of kind config', (t) => {
  const dir = tempDir(t);
  assert.throws(
    () => openEdgewatch({ ledger: join(dir, 'l.db'), strategies: ['a'], keepVersions: 0 }),
    (err: unknown) => err instanceof ConfigError && err instanceof EdgewatchError && err.kind === 'config',
  );
});
