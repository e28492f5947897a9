// Engine workload for callgrind: scan a ledger, then N scrapes (refresh + snapshot) with new trades between.
const root = process.argv[2];
const db = process.argv[3];
const scrapes = Number(process.argv[4] ?? 50);
const { Ledger } = await import(`${root}/dist/src/ledger/ledger.js`);
const { WindowEngine } = await import(`${root}/dist/src/sidecar/engine.js`);
const { snapshot, cusumRunKeys } = await import(`${root}/dist/src/sidecar/snapshot.js`);
const { parseThresholds } = await import(`${root}/dist/src/sidecar/thresholds.js`);
const ledger = Ledger.open(db);
const thresholds = parseThresholds(undefined, 'x');
const engine = new WindowEngine(ledger, { statePath: null, runKey: cusumRunKeys(ledger, thresholds) });
const now = Number(process.argv[5]);
let t = now;
engine.refresh(t);
for (let i = 0; i < scrapes; i++) {
  t += 15_000;
  const trades = [];
  for (let k = 0; k < 5; k++)
    trades.push({
      strategy: 'momentum',
      id: `w-${i}-${k}`,
      symbol: 'BTC-USD',
      side: 'long',
      openedMs: t - 5000,
      closedMs: t - 1000 + k,
      pnl: (k % 3) - 1,
      fees: 0.1,
      notional: 1000,
      paramVersion: null,
      experiment: null,
      variant: null,
      closedDefaulted: false,
    });
  ledger.insertTrades(trades, t);
  engine.refresh(t);
  snapshot(engine, ledger, t, { keepVersions: 5, thresholds });
}
ledger.close();
console.log('done', engine.tradesSeen);
