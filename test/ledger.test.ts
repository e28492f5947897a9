import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import Database from 'better-sqlite3';
import { ConfigError, ConflictError, LedgerError, LimitError, ValidationError } from '../src/errors.js';
import { Ledger, SCHEMA_VERSION } from '../src/ledger/index.js';
import type { TradeInput } from '../src/model/trade.js';
import { tempDir } from './support/tmp.js';

const T0 = Date.UTC(2026, 0, 1);

function trade(id: string, over: Partial<TradeInput> = {}): TradeInput {
  return {
    strategy: 's',
    id,
    symbol: 'BTC-USD',
    side: 'long',
    closedMs: T0,
    openedMs: null,
    pnl: 1,
    fees: 0.1,
    notional: 100,
    paramVersion: null,
    experiment: null,
    variant: null,
    ...over,
  };
}

function count(l: Ledger): number {
  return l.raw.prepare('SELECT count(*) FROM trades').pluck().get() as number;
}

test('a new ledger is created in WAL mode with the schema version recorded', (t) => {
  const dir = tempDir(t);
  const l = Ledger.open(join(dir, 'a.db'));
  t.after(() => l.close());
  assert.equal(l.raw.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(l.raw.pragma('synchronous', { simple: true }), 2); // FULL
  assert.equal(l.schemaVersion(), SCHEMA_VERSION);
  const recorded = l.raw.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
  assert.equal(recorded.length, SCHEMA_VERSION);
});

test('an old file without the schema is migrated at open and keeps its own tables', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'old.db');
  const old = new Database(path);
  old.exec("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('kept')");
  old.close();
  const l = Ledger.open(path);
  t.after(() => l.close());
  assert.equal(l.schemaVersion(), SCHEMA_VERSION);
  assert.equal(l.raw.prepare('SELECT x FROM notes').pluck().get(), 'kept');
  l.insertTrades([trade('a')], T0);
  assert.equal(count(l), 1);
});

test('reopening a migrated file does not run migrations again', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'a.db');
  Ledger.open(path).close();
  const l = Ledger.open(path);
  t.after(() => l.close());
  assert.equal(l.raw.prepare('SELECT count(*) FROM schema_migrations').pluck().get(), SCHEMA_VERSION);
});

test('a file from a newer edgewatch is refused with a message to upgrade', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'new.db');
  Ledger.open(path).close();
  const db = new Database(path);
  db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(SCHEMA_VERSION + 1, 'future', 0);
  db.close();
  assert.throws(
    () => Ledger.open(path),
    (e: Error) => e instanceof ConfigError && /newer.*upgrade edgewatch/.test(e.message),
  );
});

test('a missing directory or a directory path is a configuration error saying what to do', (t) => {
  const dir = tempDir(t);
  assert.throws(
    () => Ledger.open(join(dir, 'nope', 'a.db')),
    (e: Error) => e instanceof ConfigError && /does not exist: create it/.test(e.message),
  );
  assert.throws(
    () => Ledger.open(dir),
    (e: Error) => e instanceof ConfigError && /is a directory/.test(e.message),
  );
});

test('the same trade twice is stored once and reported as a duplicate', (t) => {
  const l = Ledger.open(join(tempDir(t), 'a.db'));
  t.after(() => l.close());
  assert.deepEqual(l.insertTrades([trade('a')], T0).outcomes, ['accepted']);
  const again = l.insertTrades([trade('a')], T0 + 5);
  assert.deepEqual([again.accepted, again.duplicates], [0, 1]);
  assert.equal(count(l), 1);
});

test('the same id with other content is a conflict and the whole batch is stored nowhere', (t) => {
  const l = Ledger.open(join(tempDir(t), 'a.db'));
  t.after(() => l.close());
  l.insertTrades([trade('a')], T0);
  assert.throws(
    () => l.insertTrades([trade('b'), trade('a', { pnl: 2 })], T0),
    (e: Error) => e instanceof ConflictError && e.details[0].index === 1 && /pnl/.test(e.details[0].message),
  );
  assert.equal(count(l), 1, 'trade b of the refused batch must not be stored');
  assert.equal(l.getTrade('s', 'b'), undefined);
});

test('the same id in two strategies is two trades', (t) => {
  const l = Ledger.open(join(tempDir(t), 'a.db'));
  t.after(() => l.close());
  const r = l.insertTrades([trade('a'), trade('a', { strategy: 'other' })], T0);
  assert.equal(r.accepted, 2);
});

test('a trade gets the version deployed at its time (opened_at, else closed_at), or the version it names', (t) => {
  const l = Ledger.open(join(tempDir(t), 'a.db'));
  t.after(() => l.close());
  assert.deepEqual(l.insertTrades([trade('before')], T0).versions, [null]);
  l.deployParams('s', { x: 1 }, {}, T0);
  l.deployParams('s', { x: 2 }, {}, T0 + 1);
  // Arrival order does not matter: 'at-v1' closed at T0, when v1 was in force; 'at-v2' at T0 + 1.
  const r = l.insertTrades(
    [
      trade('at-v1'),
      trade('at-v2', { closedMs: T0 + 1 }),
      trade('named', { paramVersion: 1, closedMs: T0 + 5 }),
      trade('opened-v1', { openedMs: T0, closedMs: T0 + 9 }),
    ],
    T0 + 10,
  );
  assert.deepEqual(r.versions, [1, 2, 1, 1]);
  assert.throws(
    () => l.insertTrades([trade('bad', { paramVersion: 9 })], T0),
    (e: Error) => e instanceof ValidationError && /unknown version v9/.test(e.message),
  );
});

test('deploys are content-addressed: an identical set re-activates its version and every deploy is kept', (t) => {
  const l = Ledger.open(join(tempDir(t), 'a.db'));
  t.after(() => l.close());
  const a = l.deployParams('s', { b: 1, a: [1, 2] }, { source: 'ci', gitSha: 'abc', note: 'first' }, T0);
  const b = l.deployParams('s', { a: [1, 2], b: 2 }, {}, T0 + 1);
  const c = l.deployParams('s', { a: [1, 2], b: 1 }, {}, T0 + 2); // same as the first, keys in another order
  assert.deepEqual([a.version, a.created, b.version, b.created, c.version, c.created], [1, true, 2, true, 1, false]);
  assert.equal(c.hash, a.hash);
  assert.deepEqual(c.diff, [{ key: 'b', change: 'changed', from: 2, to: 1 }]);
  assert.deepEqual(
    l.deploys('s').map((d) => [d.version, d.deployedMs]),
    [
      [1, T0],
      [2, T0 + 1],
      [1, T0 + 2],
    ],
  );
  assert.equal(l.activeDeploy('s')?.version, 1);
  assert.equal(l.deploys('s')[0].note, 'first');
});

test('the strategy cap refuses the next new strategy and writes nothing', (t) => {
  const l = Ledger.open(join(tempDir(t), 'a.db'), { maxStrategies: 2 });
  t.after(() => l.close());
  l.insertTrades([trade('a', { strategy: 'one' }), trade('a', { strategy: 'two' })], T0);
  assert.throws(
    () => l.insertTrades([trade('a', { strategy: 'three' })], T0),
    (e: Error) => e instanceof LimitError && /limit 2/.test(e.message),
  );
  assert.deepEqual(l.strategies(), ['one', 'two']);
  l.insertTrades([trade('b', { strategy: 'one' })], T0); // known strategies still write
});

test('a read-only ledger refuses writes with a LedgerError naming the cause, and stores nothing', (t) => {
  const path = join(tempDir(t), 'ro.db');
  const w = Ledger.open(path);
  w.insertTrades([trade('a')], T0);
  w.close();
  // Root ignores file modes, so the read-only file is SQLite's own read-only open: the same SQLITE_READONLY path.
  const l = Ledger.open(path, { readonly: true });
  t.after(() => l.close());
  assert.throws(
    () => l.insertTrades([trade('b')], T0),
    (e: Error) => e instanceof LedgerError && e.fault === 'readonly' && /read-only/.test(e.message),
  );
  assert.throws(
    () => l.deployParams('s', { x: 1 }, {}, T0),
    (e: Error) => e instanceof LedgerError && e.fault === 'readonly',
  );
  assert.equal(count(l), 1);
});

test('a full disk refuses writes with a LedgerError, stores nothing, and writes resume when space returns', (t) => {
  const l = Ledger.open(join(tempDir(t), 'full.db'));
  t.after(() => l.close());
  l.insertTrades([trade('a')], T0);
  // max_page_count makes SQLite answer SQLITE_FULL exactly as a full disk does.
  const pages = l.raw.pragma('page_count', { simple: true }) as number;
  l.raw.pragma(`max_page_count = ${pages}`);
  const big = Array.from({ length: 200 }, (_, i) => trade(`big-${i}`, { symbol: 'X'.repeat(60) }));
  assert.throws(
    () => l.insertTrades(big, T0),
    (e: Error) => e instanceof LedgerError && e.fault === 'disk_full' && /disk is full/.test(e.message),
  );
  assert.equal(count(l), 1);
  l.raw.pragma('max_page_count = 1073741823');
  assert.equal(l.insertTrades(big, T0).accepted, 200);
});

test('tradesInRange returns trades in (closed_at, id) order within [from, to)', (t) => {
  const l = Ledger.open(join(tempDir(t), 'a.db'));
  t.after(() => l.close());
  l.insertTrades(
    [
      trade('c', { closedMs: T0 + 10 }),
      trade('b', { closedMs: T0 }),
      trade('a', { closedMs: T0 }),
      trade('z', { closedMs: T0 + 20 }),
    ],
    T0,
  );
  assert.deepEqual(
    l.tradesInRange('s', T0, T0 + 20).map((r) => r.id),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(
    l.tradesAfter(2).map((r) => r.id),
    ['a', 'z'],
  );
});
