export * from './ledger.js';
export { SCHEMA_VERSION } from './migrations.js';
export * from './trade-reads.js';
