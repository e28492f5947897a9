// A demo ledger as `edgewatch start --degrade` leaves it after a while: the demo bot's
// back-filled week (deploys, the lookback-25 experiment), then `degradedHours` of live
// trading degraded (the demo's --degrade: momentum's fills slip), simulated minute by minute
// up to `nowMs`. For the page tests and scripts/screenshots.ts.
import { DemoBot } from '../../src/demo/bot.js';

export const DEGRADED_STRATEGY = 'momentum';

export interface DemoLedgerOptions {
  nowMs: number;
  /** Hours of degraded trading before nowMs (0: none). Default 12. */
  degradedHours?: number;
  seed?: number;
}

/** Writes the back-fill up to nowMs − degradedHours; returns a function that writes the degraded hours. */
export function writeDemoBackfill(
  db: string,
  opts: DemoLedgerOptions,
): { degradedFromMs: number; degrade: () => Promise<number> } {
  const hours = opts.degradedHours ?? 12;
  const degradedFromMs = opts.nowMs - hours * 3_600_000;
  const bot = new DemoBot({ ledger: db, logger: false, seed: opts.seed ?? 42 });
  bot.backfill(degradedFromMs);
  return {
    degradedFromMs,
    degrade: async () => {
      bot.setDegraded(true);
      for (let t = degradedFromMs + 60_000; t <= opts.nowMs; t += 60_000) bot.tickAll(t);
      await bot.stop();
      return bot.recorded;
    },
  };
}

/** The whole ledger at once: back-fill, then the degraded hours. Returns the trades recorded. */
export async function writeDemoLedger(db: string, opts: DemoLedgerOptions): Promise<number> {
  return writeDemoBackfill(db, opts).degrade();
}
