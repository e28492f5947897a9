// Every statement the ledger runs (but the window engine's reads: trade-reads.ts, and the
// migrations), prepared once per connection.
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';

export const TRADE_COLUMNS = `seq, strategy, id, symbol, side, opened_ms AS openedMs, closed_ms AS closedMs, pnl, fees,
  notional, param_version AS paramVersion, experiment, variant, version_by AS versionBy, straddle`;
/** The deploy order of the timeline: by time, and by arrival within one millisecond. */
const DEPLOY_ORDER = 'd.deployed_ms, d.seq';

/** The ledger's statements by name. */
export type StatementName =
  | 'strategyExists'
  | 'strategyCount'
  | 'insertStrategy'
  | 'insertTrade'
  | 'tradeById'
  | 'activeDeploy'
  | 'maxDeploySeq'
  | 'timeline'
  | 'nextDeployAfter'
  | 'reattribute'
  | 'markStraddles'
  | 'bumpEpoch'
  | 'epochs'
  | 'versionExists'
  | 'versionByHash'
  | 'versionRow'
  | 'maxVersion'
  | 'insertVersion'
  | 'insertDeploy'
  | 'experiment'
  | 'insertExperiment'
  | 'stopExperiment'
  | 'heartbeat'
  | 'tradesAfter'
  | 'tradesInRange'
  | 'maxSeq'
  | 'versions'
  | 'deploys'
  | 'allExperiments'
  | 'experimentsOf'
  | 'firstVariantTrades'
  | 'experimentTradesAfter'
  | 'strategies'
  | 'heartbeats';

export function prepareStatements(db: Database.Database): Record<StatementName, Statement> {
  return {
    strategyExists: db.prepare('SELECT 1 FROM strategies WHERE name = ?').pluck(),
    strategyCount: db.prepare('SELECT count(*) FROM strategies').pluck(),
    insertStrategy: db.prepare('INSERT OR IGNORE INTO strategies (name, created_ms) VALUES (?, ?)'),
    // Bound by position: binding by name with an object spread costs ~60% more per row.
    insertTrade: db.prepare(`INSERT OR IGNORE INTO trades
      (strategy, id, symbol, side, opened_ms, closed_ms, pnl, fees, notional, param_version, experiment, variant, recorded_ms, version_by, straddle)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    tradeById: db.prepare(`SELECT ${TRADE_COLUMNS} FROM trades WHERE strategy = ? AND id = ?`),
    activeDeploy:
      db.prepare(`SELECT d.strategy, d.version, v.hash, d.deployed_ms AS deployedMs, d.source, d.git_sha AS gitSha, d.note
      FROM param_deploys d JOIN param_versions v USING (strategy, version)
      WHERE d.strategy = ? ORDER BY d.deployed_ms DESC, d.seq DESC LIMIT 1`),
    maxDeploySeq: db.prepare('SELECT coalesce(max(seq), 0) FROM param_deploys WHERE strategy = ?').pluck(),
    timeline: db.prepare(
      `SELECT d.deployed_ms AS ms, d.seq, d.version FROM param_deploys d WHERE d.strategy = ? ORDER BY ${DEPLOY_ORDER}`,
    ),
    nextDeployAfter: db
      .prepare('SELECT min(deployed_ms) FROM param_deploys WHERE strategy = ? AND deployed_ms > ?')
      .pluck(),
    // Trades attributed by time whose time lies in [from, to): closed_ms >= from bounds the index range.
    reattribute:
      db.prepare(`UPDATE trades SET param_version = ? WHERE strategy = ? AND version_by = 'time' AND closed_ms >= ?
      AND coalesce(opened_ms, closed_ms) >= ? AND coalesce(opened_ms, closed_ms) < ? AND param_version IS NOT ?`),
    markStraddles: db.prepare(
      `UPDATE trades SET straddle = 1 WHERE strategy = ? AND closed_ms >= ? AND opened_ms < ? AND straddle = 0`,
    ),
    bumpEpoch: db.prepare('UPDATE strategies SET attribution_epoch = attribution_epoch + 1 WHERE name = ?'),
    epochs: db.prepare('SELECT name, attribution_epoch AS epoch FROM strategies'),
    versionExists: db.prepare('SELECT 1 FROM param_versions WHERE strategy = ? AND version = ?').pluck(),
    versionByHash: db.prepare('SELECT version FROM param_versions WHERE strategy = ? AND hash = ?').pluck(),
    versionRow: db.prepare(
      'SELECT strategy, version, hash, params, created_ms AS createdMs FROM param_versions WHERE strategy = ? AND version = ?',
    ),
    maxVersion: db.prepare('SELECT coalesce(max(version), 0) FROM param_versions WHERE strategy = ?').pluck(),
    insertVersion: db.prepare(
      'INSERT INTO param_versions (strategy, version, hash, params, created_ms) VALUES (?, ?, ?, ?, ?)',
    ),
    insertDeploy: db.prepare(
      'INSERT INTO param_deploys (strategy, version, deployed_ms, source, git_sha, note) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    experiment: db.prepare('SELECT * FROM experiments WHERE strategy = ? AND name = ?'),
    insertExperiment: db.prepare(
      'INSERT INTO experiments (strategy, name, variants, allocation, started_ms, planned_trades) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    stopExperiment: db.prepare(
      'UPDATE experiments SET stopped_ms = ?, outcome = ?, winner = ? WHERE strategy = ? AND name = ? AND stopped_ms IS NULL',
    ),
    heartbeat: db.prepare(`INSERT INTO heartbeats (strategy, last_ms, beats) VALUES (?, ?, 1)
      ON CONFLICT (strategy) DO UPDATE SET last_ms = max(last_ms, excluded.last_ms), beats = beats + 1`),
    tradesAfter: db.prepare(`SELECT ${TRADE_COLUMNS} FROM trades WHERE seq > ? ORDER BY seq LIMIT ?`),
    tradesInRange: db.prepare(`SELECT ${TRADE_COLUMNS} FROM trades
      WHERE strategy = ? AND closed_ms >= ? AND closed_ms < ? ORDER BY closed_ms, id`),
    maxSeq: db.prepare('SELECT coalesce(max(seq), 0) FROM trades').pluck(),
    versions: db.prepare(
      'SELECT strategy, version, hash, params, created_ms AS createdMs FROM param_versions WHERE strategy = ? ORDER BY version',
    ),
    deploys:
      db.prepare(`SELECT d.strategy, d.version, v.hash, d.deployed_ms AS deployedMs, d.source, d.git_sha AS gitSha, d.note
      FROM param_deploys d JOIN param_versions v USING (strategy, version) WHERE d.strategy = ? ORDER BY ${DEPLOY_ORDER}`),
    allExperiments: db.prepare('SELECT * FROM experiments ORDER BY strategy, started_ms'),
    experimentsOf: db.prepare('SELECT * FROM experiments WHERE strategy = ? ORDER BY started_ms'),
    // The first n trades of each arm in arrival order: what the fixed-sample test reads once.
    firstVariantTrades: db.prepare(`SELECT seq, variant, pnl, fees, notional FROM (
        SELECT seq, variant, pnl, fees, notional, row_number() OVER (PARTITION BY variant ORDER BY seq) AS k
        FROM trades WHERE strategy = ? AND experiment = ?)
      WHERE k <= ? ORDER BY variant, seq`),
    // An experiment's trades after a seq: the fold of the always-valid test's running minimum.
    experimentTradesAfter: db.prepare(`SELECT seq, variant, pnl, fees, notional FROM trades
      WHERE strategy = ? AND experiment = ? AND seq > ? ORDER BY seq LIMIT ?`),
    strategies: db.prepare('SELECT name FROM strategies ORDER BY name').pluck(),
    heartbeats: db.prepare('SELECT strategy, last_ms AS lastMs, beats FROM heartbeats'),
  };
}

export type Statements = Record<StatementName, Statement>;
