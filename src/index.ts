// Public API of the edgewatch package.
export * from './sdk/index.js';
export * from './errors.js';
export { Ledger } from './ledger/index.js';
export type { ParamSet, ParamChange, Json } from './model/params.js';
export { NAME_RE } from './model/names.js';
