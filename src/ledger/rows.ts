// Stored rows as the API returns them, and what a retried trade may not change.
import type { TradeInput } from '../model/trade.js';
import type { ExperimentInfo, TradeRow } from './types.js';

export interface RawExperiment {
  strategy: string;
  name: string;
  variants: string;
  allocation: string;
  started_ms: number;
  stopped_ms: number | null;
  outcome: string | null;
  winner: string | null;
  planned_trades: number | null;
}

export function experimentFromRow(r: RawExperiment): ExperimentInfo {
  return {
    strategy: r.strategy,
    name: r.name,
    variants: JSON.parse(r.variants) as Record<string, number>,
    allocation: JSON.parse(r.allocation) as Record<string, number>,
    startedMs: r.started_ms,
    stoppedMs: r.stopped_ms,
    outcome: r.outcome,
    winner: r.winner,
    plannedTrades: r.planned_trades ?? null,
  };
}

/** Fields the client sent that differ from the stored trade (a retry must match). */
export function differingFields(stored: TradeRow, t: TradeInput): string[] {
  const out: string[] = [];
  if (stored.symbol !== t.symbol) out.push('symbol');
  if (stored.side !== t.side) out.push('side');
  if (stored.closedMs !== t.closedMs && !t.closedDefaulted) out.push('closed_at');
  if (stored.openedMs !== t.openedMs) out.push('opened_at');
  if (stored.pnl !== t.pnl) out.push('pnl');
  if (stored.fees !== t.fees) out.push('fees');
  if (stored.notional !== t.notional) out.push('notional');
  if (t.paramVersion !== null && stored.paramVersion !== t.paramVersion) out.push('param_version');
  if (t.experiment !== null && (stored.experiment !== t.experiment || stored.variant !== t.variant))
    out.push('experiment/variant');
  return out;
}
