// What the SDK's calls take and return.
import { Registry } from 'prom-client';
import { EdgewatchError } from '../errors.js';
import { type ExperimentInfo } from '../ledger/ledger.js';
import { type Logger } from '../log.js';
import { type ParamChange, type ParamSet } from '../model/params.js';
import { type Side } from '../model/trade.js';

export interface EdgewatchOptions {
  /** Path of the SQLite ledger file (created if missing; its directory must exist). */
  ledger: string;
  /** The strategies this bot runs (label `strategy`). */
  strategies: string[];
  /** The bot's own prom-client registry; a new one (with default process metrics) otherwise. */
  registry?: Registry;
  /** Throw typed errors instead of returning `{ ok: false }` (tests, development). */
  strict?: boolean;
  /** A pino logger, or false for silence. Default: a pino logger named "edgewatch". */
  logger?: Logger | false;
  /** Label sets of parameter versions older than the newest K are removed (default 5). */
  keepVersions?: number;
  /** Ledger durability: FULL (default, survives power loss) or NORMAL (survives a process crash). */
  synchronous?: 'FULL' | 'NORMAL';
  /** Minimum time between two heartbeat rows written to the ledger (default 10 s). */
  heartbeatLedgerIntervalMs?: number;
  /** Distinct symbols per strategy in trading_volume_total before folding into "other" (default 50). */
  maxSymbols?: number;
  /**
   * Positions per strategy whose experiment variant is remembered between experiments.assign()
   * and trades.record() (default 10,000). Beyond it the oldest assignment is forgotten (logged):
   * its trade is then recorded without a variant. Bounds the memory of a bot that assigns
   * positions it never records.
   */
  maxAssignedPositions?: number;
}

export type Failure = { ok: false; error: EdgewatchError };
export type Result<T> = ({ ok: true } & T) | Failure;

export interface TradeRecord {
  id: string;
  symbol: string;
  side: Side;
  pnl: number;
  fees?: number;
  notional?: number;
  closedAt?: Date | number | string;
  openedAt?: Date | number | string;
  /**
   * The position this trade closes, as passed to experiments.assign({ position }): the trade is
   * recorded under the variant assigned to it, and the assignment is forgotten once the trade is
   * stored. A position with no remembered assignment (none was made, the experiment stopped, the
   * process restarted, or it was evicted) records no variant.
   */
  position?: string;
  /**
   * Experiment variant this trade ran under; wins over the position's. With neither a variant
   * nor an assigned position the trade records no variant: it is plain trading of the active
   * version, even while an experiment runs (the SDK does not guess from the last assign()).
   */
  variant?: string;
}

export interface DeployOptions {
  source?: string;
  gitSha?: string;
  note?: string;
  /** When the deploy happened (default now); for importing history. Same forms as a trade's closedAt. */
  at?: Date | number | string;
}

/** What a version's backtest promised: its summary figures or its trade list (see params.expect). */
export interface ExpectationSpec {
  summary?: {
    trades: number;
    tradesPerDay?: number;
    pnlMean?: number;
    pnlSd?: number;
    returnMean?: number;
    returnSd?: number;
    winRatio?: number;
    maxDrawdown?: number;
  };
  trades?: Array<{
    pnl: number;
    return?: number;
    fees?: number;
    openedAt?: Date | number | string;
    closedAt?: Date | number | string;
  }>;
  periodStart?: Date | number | string;
  periodEnd?: Date | number | string;
  feePerTrade?: number;
  source?: string;
  note?: string;
}

export interface Deployed {
  version: string;
  hash: string;
  created: boolean;
  deployedAt: Date;
  previousVersion: string | null;
  diff: ParamChange[];
}

export interface ExperimentStart {
  name: string;
  /**
   * Variant name -> parameter set, or the label of an existing version of this strategy
   * ("v1", or { param_version: 'v1' }); one must be "control".
   */
  variants: Record<string, ParamSet | string | { param_version: string }>;
  /** Variant name -> weight (default equal weights). */
  allocation?: Record<string, number>;
  /** When the experiment started (default now). Same forms as a trade's closedAt. */
  at?: Date | number | string;
}

export interface AssignOptions {
  /**
   * The bot's id of the position this assignment is for (a string, like a trade id). The variant
   * is remembered under it until trades.record({ position }) stores the trade that closes it.
   */
  position?: string;
  /** Stable hash key (a symbol, an order id...): the same key gets the same variant. Default: the position, else random. */
  key?: string;
}

export interface Assignment {
  experiment: string;
  variant: string;
  paramVersion: string;
  params: ParamSet;
}

export interface ActiveVersion {
  version: string;
  hash: string;
  params: ParamSet;
  deployedAt: Date;
  gitSha: string | null;
}

export interface RunningExperiment {
  info: ExperimentInfo;
  params: Record<string, ParamSet>;
  weights: Array<[string, number]>;
  /** Position id -> assigned variant, oldest first (Map keeps insertion order) for eviction. */
  positions: Map<string, string>;
  /** Assignments forgotten because of maxAssignedPositions, for the log. */
  evicted: number;
}
