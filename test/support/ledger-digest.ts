// A fingerprint of everything a ledger stores, to prove that a refused request wrote nothing.
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';

export const LEDGER_TABLES = [
  'strategies',
  'param_versions',
  'param_deploys',
  'experiments',
  'trades',
  'heartbeats',
] as const;

/** SHA-256 over every row of every ledger table, in primary-key order. */
export function ledgerDigest(db: Database.Database): string {
  const h = createHash('sha256');
  for (const table of LEDGER_TABLES) {
    h.update(`\n${table}\n`);
    for (const row of db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).raw().all()) h.update(JSON.stringify(row));
  }
  return h.digest('hex');
}

/** Row counts per table, for messages. */
export function ledgerCounts(db: Database.Database): Record<string, number> {
  return Object.fromEntries(
    LEDGER_TABLES.map((t) => [t, db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number]),
  );
}
