// Child process for the crash test: records trades through the SDK as fast as it can and
// prints "ack <id>" after each record() that returned ok, until it is killed.
import { openEdgewatch } from '../../src/index.js';

const [ledger, prefix] = process.argv.slice(2);
const ew = openEdgewatch({ ledger, strategies: ['alpha'], logger: false });
const a = ew.strategy('alpha');
if (!a.activeVersion) a.params.deploy({ x: 1 });
let i = 0;
const tick = () => {
  for (let k = 0; k < 20; k++) {
    const id = `${prefix}-${i++}`;
    const r = a.trades.record({ id, symbol: 'BTC-USD', side: 'long', pnl: (i % 7) - 3 });
    if (r.ok) process.stdout.write(`ack ${id}\n`);
  }
  setImmediate(tick);
};
tick();
