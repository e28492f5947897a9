// Forward-only schema migrations. Each runs once, in order, inside a transaction, and is
// recorded in schema_migrations. Never edit a released migration: add the next one.
import type Database from 'better-sqlite3';
import { ConfigError, LedgerError } from '../errors.js';
import { FAULT_TEXT, faultOf } from './faults.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** SQL that needs the data: runs after `sql`, in the same transaction. */
  data?: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'initial ledger',
    sql: `
      CREATE TABLE strategies (
        name        TEXT PRIMARY KEY,
        created_ms  INTEGER NOT NULL
      );
      CREATE TABLE param_versions (
        strategy    TEXT NOT NULL REFERENCES strategies(name),
        version     INTEGER NOT NULL,
        hash        TEXT NOT NULL,
        params      TEXT NOT NULL,          -- canonical JSON
        created_ms  INTEGER NOT NULL,
        PRIMARY KEY (strategy, version),
        UNIQUE (strategy, hash)
      );
      CREATE TABLE param_deploys (
        seq         INTEGER PRIMARY KEY,
        strategy    TEXT NOT NULL,
        version     INTEGER NOT NULL,
        deployed_ms INTEGER NOT NULL,
        source      TEXT,
        git_sha     TEXT,
        note        TEXT,
        FOREIGN KEY (strategy, version) REFERENCES param_versions(strategy, version)
      );
      CREATE INDEX param_deploys_by_strategy ON param_deploys(strategy, seq);
      CREATE TABLE experiments (
        strategy    TEXT NOT NULL REFERENCES strategies(name),
        name        TEXT NOT NULL,
        variants    TEXT NOT NULL,          -- JSON {variant: version number}
        allocation  TEXT NOT NULL,          -- JSON {variant: weight}
        started_ms  INTEGER NOT NULL,
        stopped_ms  INTEGER,
        outcome     TEXT,
        winner      TEXT,
        PRIMARY KEY (strategy, name)
      );
      CREATE TABLE trades (
        seq           INTEGER PRIMARY KEY,  -- arrival order: the sidecar reads seq > last seen
        strategy      TEXT NOT NULL REFERENCES strategies(name),
        id            TEXT NOT NULL,
        symbol        TEXT NOT NULL,
        side          TEXT NOT NULL CHECK (side IN ('long', 'short')),
        opened_ms     INTEGER,
        closed_ms     INTEGER NOT NULL,
        pnl           REAL NOT NULL,
        fees          REAL NOT NULL DEFAULT 0,
        notional      REAL,
        param_version INTEGER,
        experiment    TEXT,
        variant       TEXT,
        recorded_ms   INTEGER NOT NULL,
        UNIQUE (strategy, id)
      );
      CREATE INDEX trades_by_close ON trades(strategy, closed_ms);
      CREATE TABLE heartbeats (
        strategy    TEXT PRIMARY KEY REFERENCES strategies(name),
        last_ms     INTEGER NOT NULL,
        beats       INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'attribution by time',
    // A trade's version is the one whose deploy interval contains its opened_at (closed_at
    // without one) unless the trade named it (version_by 'trade') or ran under an experiment
    // variant ('variant'). Only 'time' trades move when a back-dated deploy lands among them.
    // straddle: the trade opened before a deploy and closed at or after it.
    // attribution_epoch: bumped when a deploy re-attributes stored trades (the sidecar then
    // rebuilds the strategy's per-version series).
    // One running experiment per strategy: a partial unique index, whoever starts it.
    sql: `
      ALTER TABLE trades ADD COLUMN version_by TEXT NOT NULL DEFAULT 'time' CHECK (version_by IN ('time', 'trade', 'variant'));
      ALTER TABLE trades ADD COLUMN straddle INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE strategies ADD COLUMN attribution_epoch INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX param_deploys_by_time ON param_deploys(strategy, deployed_ms, seq);
    `,
    // Earlier releases stamped a trade without a version with the version active when it
    // arrived. Such a stamp (equal to the newest deploy at or before recorded_ms) is replaced
    // by the version of the trade's own time; a version that matches neither was sent with the
    // trade and stays. Running experiments beyond the newest of a strategy are stopped.
    data: `
      UPDATE trades SET version_by = 'variant' WHERE experiment IS NOT NULL;
      CREATE TEMP TABLE attribution AS
        SELECT t.seq, t.param_version AS stored,
          (SELECT d.version FROM param_deploys d WHERE d.strategy = t.strategy AND d.deployed_ms <= coalesce(t.opened_ms, t.closed_ms)
            ORDER BY d.deployed_ms DESC, d.seq DESC LIMIT 1) AS by_time,
          (SELECT d.version FROM param_deploys d WHERE d.strategy = t.strategy AND d.deployed_ms <= t.recorded_ms
            ORDER BY d.seq DESC LIMIT 1) AS at_arrival
        FROM trades t WHERE t.experiment IS NULL;
      UPDATE trades SET version_by = 'trade'
        WHERE seq IN (SELECT seq FROM attribution WHERE stored IS NOT NULL AND stored IS NOT by_time AND stored IS NOT at_arrival);
      UPDATE trades SET param_version = (SELECT by_time FROM attribution a WHERE a.seq = trades.seq)
        WHERE version_by = 'time' AND param_version IS NOT (SELECT by_time FROM attribution a WHERE a.seq = trades.seq);
      DROP TABLE attribution;
      UPDATE trades SET straddle = 1 WHERE opened_ms IS NOT NULL AND EXISTS (
        SELECT 1 FROM param_deploys d WHERE d.strategy = trades.strategy AND d.deployed_ms > trades.opened_ms AND d.deployed_ms <= trades.closed_ms);
      UPDATE experiments SET stopped_ms = started_ms, outcome = 'superseded'
        WHERE stopped_ms IS NULL AND EXISTS (SELECT 1 FROM experiments e WHERE e.strategy = experiments.strategy AND e.stopped_ms IS NULL AND e.started_ms > experiments.started_ms);
      CREATE UNIQUE INDEX experiments_one_running ON experiments(strategy) WHERE stopped_ms IS NULL;
    `,
  },
  {
    version: 3,
    name: 'planned trades per experiment arm',
    // A sample size declared up front (POST /v1/experiments planned_trades_per_arm): the
    // fixed-sample Welch test is then read once, on the first that many trades of each arm.
    // NULL: none declared (every experiment before this migration). The index serves both
    // that read and the sidecar's fold of an experiment's trades in arrival order (the
    // always-valid test's running minimum), without scanning other strategies' trades.
    sql: `
      ALTER TABLE experiments ADD COLUMN planned_trades INTEGER CHECK (planned_trades IS NULL OR planned_trades >= 2);
      CREATE INDEX trades_by_experiment ON trades(strategy, experiment, seq) WHERE experiment IS NOT NULL;
    `,
  },
  {
    version: 4,
    name: 'expectations per parameter version',
    // What a version's backtest promised (src/model/expectation.ts): one row per submission,
    // the newest of a (strategy, version) in force, earlier ones kept (nothing acknowledged is
    // lost). outcomes: the backtest's trades as JSON [[pnl, return|null], ...], oldest first,
    // at most 10,000 (null when a summary was sent); hash: the content, so a resend is a no-op.
    sql: `
      CREATE TABLE expectations (
        seq               INTEGER PRIMARY KEY,
        strategy          TEXT NOT NULL,
        version           INTEGER NOT NULL,
        trades            INTEGER NOT NULL CHECK (trades >= 2),
        trades_per_day    REAL NOT NULL CHECK (trades_per_day > 0),
        pnl_mean          REAL,
        pnl_sd            REAL CHECK (pnl_sd > 0),
        return_mean       REAL,
        return_sd         REAL CHECK (return_sd > 0),
        win_ratio         REAL CHECK (win_ratio BETWEEN 0 AND 1),
        max_drawdown      REAL CHECK (max_drawdown >= 0),
        fee_per_trade     REAL CHECK (fee_per_trade >= 0),
        period_start_ms   INTEGER,
        period_end_ms     INTEGER,
        inflation         REAL NOT NULL DEFAULT 1 CHECK (inflation >= 1),
        outcomes          TEXT,
        outcomes_dropped  INTEGER NOT NULL DEFAULT 0,
        source            TEXT,
        note              TEXT,
        hash              TEXT NOT NULL,
        created_ms        INTEGER NOT NULL,
        CHECK ((pnl_mean IS NULL) = (pnl_sd IS NULL) AND (return_mean IS NULL) = (return_sd IS NULL)),
        CHECK (pnl_mean IS NOT NULL OR return_mean IS NOT NULL),
        FOREIGN KEY (strategy, version) REFERENCES param_versions(strategy, version)
      );
      CREATE INDEX expectations_by_version ON expectations(strategy, version, seq);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** The ledger's schema version (0: a new file). */
export function currentVersion(db: Database.Database): number {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!has) return 0;
  return db.prepare('SELECT coalesce(max(version), 0) FROM schema_migrations').pluck().get() as number;
}

/** Brings the file to SCHEMA_VERSION in one IMMEDIATE transaction; a newer file or a read-only old one is a ConfigError. */
export function migrate(db: Database.Database, path: string, readonly: boolean): void {
  const found = currentVersion(db);
  if (found > SCHEMA_VERSION)
    throw new ConfigError(
      `ledger ${path} has schema version ${found}, newer than this edgewatch understands (${SCHEMA_VERSION}): upgrade edgewatch`,
    );
  if (found === SCHEMA_VERSION) return;
  if (readonly)
    throw new ConfigError(
      `ledger ${path} has schema version ${found}, needs ${SCHEMA_VERSION}: open it once writable to migrate`,
    );
  try {
    // IMMEDIATE: the bot and the sidecar may open a new file at the same moment; the second waits and finds it migrated.
    db.transaction(() => {
      db.exec(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)',
      );
      const at = currentVersion(db);
      for (const m of MIGRATIONS) {
        if (m.version <= at) continue;
        db.exec(m.sql);
        if (m.data) db.exec(m.data);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)').run(
          m.version,
          m.name,
          Date.now(),
        );
      }
    }).immediate();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const fault = faultOf(err);
    throw new LedgerError(
      `migrating ledger ${path} failed: ${FAULT_TEXT[fault]} (${(err as Error).message})`,
      fault,
      err,
    );
  }
}
