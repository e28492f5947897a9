// Forward-only schema migrations. Each runs once, in order, inside a transaction, and is
// recorded in schema_migrations. Never edit a released migration: add the next one.

export interface Migration {
  version: number;
  name: string;
  sql: string;
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
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
