// One simulated experiment through the real sidecar: its trades go into a real ledger (a temp
// SQLite file), the real WindowEngine and snapshot() compute the experiment's tests at each
// scrape step that saw a trade, the real SidecarMetrics exposition turns them into series, and
// the experiment's series are written as OpenMetrics samples for `promtool tsdb
// create-blocks-from openmetrics` (bench/detection/prometheus.ts). A sample is written only
// when its value changes: the Prometheus that reads them looks back over the whole run, so each
// step sees the last value written, as a live scrape would (experiment series never disappear
// within a run). The Observer reads the same snapshots, for the other rules and to predict
// what Prometheus will make of the series.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../../src/ledger/ledger.js';
import type { TradeInput } from '../../src/model/trade.js';
import { WindowEngine } from '../../src/sidecar/engine.js';
import { SidecarMetrics } from '../../src/sidecar/exposition.js';
import { snapshot } from '../../src/sidecar/snapshot.js';
import { parseThresholds } from '../../src/sidecar/thresholds.js';
import { body, type Sink } from '../detection/simulate.js';
import { Observer, type Observed, type RuleTiming } from './observe.js';
import { ARM_NAMES, tradeStream, type ExpRunSpec, type StreamTrade } from './stream.js';

export interface E2eResult extends Observed {
  strategy: string;
  samples: number;
}

/** The series' name and labels, as bench/detection writes them (its sample line less the value). */
function key(name: string, bot: string, labels: Partial<Record<string, string | number>>): string {
  return body(name, bot, labels, 0).slice(0, -' 0'.length);
}

/** The experiment's series and thresholds from the real exposition registry. */
async function seriesOf(metrics: SidecarMetrics, bot: string): Promise<Array<[string, number]>> {
  const out: Array<[string, number]> = [];
  const get = async (name: string) => (await metrics.registry.getSingleMetric(name)!.get()).values;
  for (const name of [
    'edgewatch_experiment_p_value',
    'edgewatch_experiment_trades',
    'edgewatch_experiment_difference_lower',
    'edgewatch_experiment_difference_upper',
  ])
    for (const v of await get(name)) out.push([key(name, bot, v.labels), v.value]);
  for (const v of await get('edgewatch_threshold'))
    if (String(v.labels.name).startsWith('experiment_')) out.push([key('edgewatch_threshold', bot, v.labels), v.value]);
  return out;
}

let shared: SidecarMetrics | undefined;

/** Simulates one experiment through the sidecar and writes its changed samples to `sink`. */
export async function simulateE2e(
  spec: ExpRunSpec,
  tmpDir: string,
  bot: string,
  sink: Sink,
  rule: RuleTiming,
): Promise<E2eResult> {
  const arms = ARM_NAMES.slice(0, spec.arms);
  const path = join(tmpDir, `${spec.strategy}.db`);
  const ledger = Ledger.open(path, { synchronous: 'NORMAL' });
  const metrics = (shared ??= new SidecarMetrics());
  const opts = { keepVersions: 5, thresholds: parseThresholds(undefined, 'defaults') };
  let samples = 0;
  try {
    ledger.deployParams(spec.strategy, { arm: 'control' }, { source: 'bench' }, spec.startMs);
    ledger.startExperiment(
      spec.strategy,
      'exp',
      Object.fromEntries(arms.map((a) => [a, { arm: a }])),
      Object.fromEntries(arms.map((a) => [a, 1])),
      spec.startMs,
    );
    const engine = new WindowEngine(ledger, { statePath: null });
    const observer = new Observer(spec, opts.thresholds.defaults, rule);
    const last = new Map<string, number>();
    let buf = '';
    const stream = tradeStream(spec);
    const next = (): StreamTrade | undefined => {
      const r = stream.next();
      return r.done ? undefined : r.value;
    };
    let pending = next();
    let id = 0;
    for (let step = 0, now = spec.startMs; now <= spec.endMs; step++, now += spec.stepMs) {
      const batch: TradeInput[] = [];
      while (pending && pending.step <= step) {
        batch.push({
          strategy: spec.strategy,
          id: `t${id++}`,
          symbol: 'SIM',
          side: 'long',
          closedMs: pending.closedMs,
          openedMs: null,
          pnl: pending.pnl,
          fees: 0,
          notional: null,
          paramVersion: null,
          experiment: 'exp',
          variant: arms[pending.arm],
        });
        observer.trade(pending.arm, pending.pnl);
        pending = next();
      }
      if (!batch.length && step > 0) continue;
      if (batch.length) ledger.insertTrades(batch, now);
      engine.refresh(now);
      const snap = snapshot(engine, ledger, now, opts).find((s) => s.strategy === spec.strategy)!;
      metrics.apply([snap]);
      const ts = ` ${now / 1000}\n`;
      for (const [k, value] of await seriesOf(metrics, bot)) {
        if (last.get(k) === value) continue;
        last.set(k, value);
        buf += `${k} ${value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : value}${ts}`;
        samples++;
      }
      if (buf.length > 1 << 20) {
        sink.write(buf);
        buf = '';
      }
      if (batch.length) {
        const exp = snap.experiments[0];
        observer.look(step, exp.variants, exp.tests);
      }
    }
    if (buf) sink.write(buf);
    return { strategy: spec.strategy, samples, ...observer.finish() };
  } finally {
    ledger.close();
    for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
  }
}
