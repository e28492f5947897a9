export * from './ledger.js';
export { SCHEMA_VERSION } from './migrations.js';
export * from './trade-reads.js';
export type { ExpectationRecord, ExpectationTradeRow, SetResult } from './expectations.js';
