// Pure analytics: the window aggregate (a monoid), window statistics, drift, Welch's
// t-test and the per-minute bucket series. No I/O anywhere below this folder.
export * from './aggregate.js';
export * from './stats.js';
export * from './drift.js';
export * from './ttest.js';
export * from './buckets.js';
export * from './cusum.js';
export * from './msprt.js';
export * from './msprt-running.js';
