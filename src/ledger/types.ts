// What the ledger's API takes and returns.
import type { ParamChange, ParamSet } from '../model/params.js';
import type { TradeInput } from '../model/trade.js';

export interface LedgerOptions {
  /** Open without writing (no migrations); the file must exist. */
  readonly?: boolean;
  /** FULL (default): a committed write survives power loss. NORMAL: survives a process crash only. */
  synchronous?: 'FULL' | 'NORMAL';
  busyTimeoutMs?: number;
  /** Cap on distinct strategies (default 100): the next new one is refused with a LimitError. */
  maxStrategies?: number;
  /** Cap on distinct parameter versions per strategy (default 10,000). */
  maxVersionsPerStrategy?: number;
}

/** How a stored trade got its parameter version (see attribution in docs/architecture.md). */
export type VersionBy = 'time' | 'trade' | 'variant';

/** A stored trade: the validated input plus its arrival sequence number and how its version was chosen. */
export type TradeRow = Omit<TradeInput, 'closedDefaulted'> & { seq: number; versionBy: VersionBy; straddle: number };

export interface InsertResult {
  accepted: number;
  duplicates: number;
  /** Per input trade: stored now, or already stored with the same content. */
  outcomes: Array<'accepted' | 'duplicate'>;
  /** Per input trade: the parameter version it carries. */
  versions: Array<number | null>;
}

export interface VersionInfo {
  strategy: string;
  version: number;
  hash: string;
  params: ParamSet;
  createdMs: number;
}

export interface DeployInfo {
  strategy: string;
  version: number;
  hash: string;
  deployedMs: number;
  source: string | null;
  gitSha: string | null;
  note: string | null;
}

export interface DeployResult {
  version: number;
  hash: string;
  created: boolean;
  deployedMs: number;
  previousVersion: number | null;
  diff: ParamChange[];
  /** Stored trades whose version this deploy changed (a back-dated deploy among them). */
  reattributed: number;
  /** The version active after this deploy: the latest in time (a back-dated deploy need not be it). */
  activeVersion: number;
}

export interface ExperimentInfo {
  strategy: string;
  name: string;
  variants: Record<string, number>;
  allocation: Record<string, number>;
  startedMs: number;
  stoppedMs: number | null;
  outcome: string | null;
  winner: string | null;
  /** Trades per arm declared up front for the fixed-sample test; null when none was. */
  plannedTrades: number | null;
}

/** One trade of an experiment as its tests read it. */
export interface ExperimentTrade {
  seq: number;
  variant: string;
  pnl: number;
  fees: number;
  notional: number | null;
}

export interface DeployMeta {
  source?: string | null;
  gitSha?: string | null;
  note?: string | null;
}
