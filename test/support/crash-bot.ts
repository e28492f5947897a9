// Child process for the crash tests: a bot that records trades through the SDK as fast as it
// can, deploys one of two parameter sets every 50 trades, and prints one line per acknowledged call
// ("ack <id>", "deploy <version> <deployed ms>") until it is killed. stdout to a pipe is
// written synchronously on Linux, so a printed line was acknowledged before the kill.
import { openEdgewatch } from '../../src/index.js';
import { crashTrade } from './crash-trades.js';

const [ledger, prefix, base] = process.argv.slice(2);
const baseMs = Number(base);
const ew = openEdgewatch({ ledger, strategies: ['alpha'], logger: false });
const a = ew.strategy('alpha');
// Two sets in turn: versions change between a trade and its retry at the end, which must
// still be a duplicate (the ledger keeps the version the trade was stored with).
const PARAMS = [
  { lookback: 20, threshold: 0.5 },
  { lookback: 30, threshold: 0.4 },
];
let i = 0;
const tick = () => {
  for (let k = 0; k < 10; k++, i++) {
    if (i % 50 === 0) {
      const d = a.params.deploy(PARAMS[(i / 50) % 2], { note: `${prefix} at ${i}` });
      if (d.ok) process.stdout.write(`deploy ${d.version} ${d.deployedAt.getTime()}\n`);
      else process.stdout.write(`fail deploy ${d.error.message}\n`);
    }
    const t = crashTrade(prefix, i, baseMs);
    const r = a.trades.record(t);
    if (r.ok) process.stdout.write(`ack ${t.id}\n`);
    else process.stdout.write(`fail ${t.id} ${r.error.message}\n`);
  }
  setImmediate(tick);
};
process.stdout.write('ready\n');
tick();
