export * from './names.js';
export * from './params.js';
export * from './trade.js';
export * from './experiment.js';
export * from './expectation.js';
