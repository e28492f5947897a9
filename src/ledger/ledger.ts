// The ledger: the one module that speaks SQL. A SQLite file in WAL mode that the bot (SDK)
// and the sidecar open at the same time. Every write is one transaction; when a write
// method returns, the transaction is committed (and, with synchronous=FULL, fsynced).
//
// Over 350 lines on purpose: the Ledger class keeps the invariants that span tables inside
// one transaction each (attribution on insert and deploy, one running experiment per
// strategy, caps); its statements, timeline, faults, rows and types are in their own files.
import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  ConfigError,
  ConflictError,
  LedgerError,
  LimitError,
  NotFoundError,
  ValidationError,
  type ErrorDetail,
} from '../errors.js';
import { canonicalJson, diffParams, hashParams, type ParamSet } from '../model/params.js';
import type { TradeInput } from '../model/trade.js';
import { FAULT_TEXT, faultOf } from './faults.js';
import { currentVersion, migrate } from './migrations.js';
import { differingFields, experimentFromRow, type RawExperiment } from './rows.js';
import { prepareStatements, type Statements } from './statements.js';
import { straddles, versionAt, type TimelineEntry } from './timeline.js';
import { TradeReads } from './trade-reads.js';
import { ExpectationStore } from './expectations.js';
import type {
  DeployInfo,
  DeployMeta,
  DeployResult,
  ExperimentInfo,
  ExperimentTrade,
  InsertResult,
  LedgerOptions,
  TradeRow,
  VersionBy,
  VersionInfo,
} from './types.js';

export * from './types.js';
export { faultOf } from './faults.js';
export { versionAt, type TimelineEntry } from './timeline.js';

export class Ledger {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly maxStrategies: number;
  private readonly maxVersions: number;
  private readonly knownStrategies = new Set<string>();
  private readonly knownVersions = new Set<string>();
  /** Each strategy's deploys in time order, with the max deploy seq they were read at (re-read when another process deploys). */
  private readonly timelines = new Map<string, { maxSeq: number; entries: TimelineEntry[] }>();
  /** One transaction wrapper, built once: building it per call was 8% of a record(). */
  private readonly inTransaction: Database.Transaction<(fn: () => unknown) => unknown>;
  /** The last storage fault of a write, until a write succeeds or it is older than faultMemoryMs. */
  private lastFault?: { error: LedgerError; atMs: number };
  /** How long a write fault keeps the ledger "not ready" without a successful write (default 30 s). */
  faultMemoryMs = 30_000;
  private readonly st: Statements;
  private reads?: TradeReads;
  /** What each parameter version's backtest promised (src/ledger/expectations.ts); prepared at open, so a closed ledger answers its calls with a LedgerError. */
  readonly expectations: ExpectationStore;

  private constructor(path: string, db: Database.Database, opts: LedgerOptions) {
    this.path = path;
    this.db = db;
    this.maxStrategies = opts.maxStrategies ?? 100;
    this.maxVersions = opts.maxVersionsPerStrategy ?? 10_000;
    this.st = prepareStatements(db);
    this.inTransaction = db.transaction((fn: () => unknown) => fn());
    this.expectations = new ExpectationStore(
      db,
      (what, fn) => this.write(what, fn),
      (what, fn) => this.read(what, fn),
    );
  }

  /** Opens (creating if needed) and migrates a ledger file. Configuration mistakes throw ConfigError. */
  static open(path: string, opts: LedgerOptions = {}): Ledger {
    if (typeof path !== 'string' || path === '')
      throw new ConfigError('ledger path is empty: pass a file path such as "./data/edgewatch.db"');
    const full = resolve(path);
    const dir = dirname(full);
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new ConfigError(
        `ledger directory ${dir} does not exist: create it (mkdir -p ${dir}) or choose another path`,
      );
    if (existsSync(full) && statSync(full).isDirectory())
      throw new ConfigError(
        `ledger path ${full} is a directory: give a file path such as ${resolve(full, 'edgewatch.db')}`,
      );
    if (opts.readonly && !existsSync(full)) throw new ConfigError(`ledger ${full} does not exist (opened read-only)`);
    let db: Database.Database;
    try {
      db = new Database(full, { readonly: opts.readonly ?? false });
      db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
      if (!opts.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
      }
      db.pragma('foreign_keys = ON');
    } catch (err) {
      throw new LedgerError(
        `cannot open ledger ${full}: ${FAULT_TEXT[faultOf(err)]} (${(err as Error).message})`,
        faultOf(err),
        err,
      );
    }
    try {
      migrate(db, full, opts.readonly ?? false);
    } catch (err) {
      db.close();
      throw err;
    }
    return new Ledger(full, db, opts);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  schemaVersion(): number {
    return currentVersion(this.db);
  }

  /** Runs `fn` in one IMMEDIATE transaction and turns SQLite faults into LedgerError. */
  private write<T>(what: string, fn: () => T): T {
    try {
      const result = this.inTransaction.immediate(fn) as T;
      this.lastFault = undefined;
      return result;
    } catch (err) {
      if (
        err instanceof ValidationError ||
        err instanceof ConflictError ||
        err instanceof LimitError ||
        err instanceof NotFoundError
      )
        throw err;
      if (
        (err as { code?: string })?.code === 'SQLITE_CONSTRAINT_UNIQUE' &&
        /experiments/.test(String((err as Error).message))
      )
        throw new ConflictError(
          `${what} refused: another experiment of this strategy is running (one at a time per strategy): stop it first`,
          [{ path: 'name', message: 'one experiment at a time per strategy' }],
        );
      const fault = faultOf(err);
      const error = new LedgerError(
        `${what} failed, nothing was written: ${FAULT_TEXT[fault]} (${(err as Error).message})`,
        fault,
        err,
      );
      // Only storage faults make the ledger not ready; a lock wait or a bug in a caller does not.
      if (fault === 'disk_full' || fault === 'readonly' || fault === 'io' || fault === 'corrupt')
        this.lastFault = { error, atMs: Date.now() };
      throw error;
    }
  }

  private read<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      const fault = faultOf(err);
      throw new LedgerError(`${what} failed: ${FAULT_TEXT[fault]} (${(err as Error).message})`, fault, err);
    }
  }

  /** Versions are never deleted, so a version seen once is remembered (one SELECT less per trade). */
  private versionKnown(strategy: string, version: number): boolean {
    const key = `${strategy}\u0000${version}`;
    if (this.knownVersions.has(key)) return true;
    if (!this.st.versionExists.get(strategy, version)) return false;
    this.knownVersions.add(key);
    return true;
  }

  private ensureStrategy(name: string, nowMs: number): void {
    if (this.knownStrategies.has(name)) return;
    if (!this.st.strategyExists.get(name)) {
      const count = this.st.strategyCount.get() as number;
      if (count >= this.maxStrategies)
        throw new LimitError(
          `strategy "${name}" refused: the ledger already holds ${count} strategies (limit ${this.maxStrategies}; raise maxStrategies / EDGEWATCH_MAX_STRATEGIES if this is intended)`,
          'strategies',
        );
      this.st.insertStrategy.run(name, nowMs);
    }
    this.knownStrategies.add(name);
  }

  /** The strategy's deploys in time order; re-read only when a deploy was added (by any process). */
  private timeline(strategy: string): TimelineEntry[] {
    const maxSeq = this.st.maxDeploySeq.get(strategy) as number;
    const cached = this.timelines.get(strategy);
    if (cached && cached.maxSeq === maxSeq) return cached.entries;
    const entries = this.st.timeline.all(strategy) as TimelineEntry[];
    this.timelines.set(strategy, { maxSeq, entries });
    return entries;
  }

  /**
   * Stores trades all-or-nothing. A trade whose (strategy, id) is already stored with the same
   * content is a duplicate (stored once); with other content it is a ConflictError.
   * A trade's version: the one it names, else its experiment variant's, else the version whose
   * deploy interval contains its opened_at (closed_at without one); none before the first deploy.
   * A trade of an experiment must lie within the experiment's run (started_at to stopped_at).
   */
  insertTrades(trades: TradeInput[], nowMs: number): InsertResult {
    return this.write('recording trades', () => {
      const result: InsertResult = { accepted: 0, duplicates: 0, outcomes: [], versions: [] };
      const timelines = new Map<string, TimelineEntry[]>();
      const details: ErrorDetail[] = [];
      trades.forEach((t, index) => {
        this.ensureStrategy(t.strategy, nowMs);
        let timeline = timelines.get(t.strategy);
        if (!timeline) timelines.set(t.strategy, (timeline = this.timeline(t.strategy)));
        const at = t.openedMs ?? t.closedMs;
        let version = t.paramVersion;
        let by: VersionBy = version === null ? 'time' : 'trade';
        if (t.experiment !== null) {
          const exp = this.st.experiment.get(t.strategy, t.experiment) as RawExperiment | undefined;
          if (!exp)
            throw new ValidationError('invalid trade', [
              {
                index,
                path: 'experiment',
                message: `unknown experiment "${t.experiment}" of strategy "${t.strategy}"`,
              },
            ]);
          const variants = JSON.parse(exp.variants) as Record<string, number>;
          if (t.variant === null || !Object.hasOwn(variants, t.variant))
            throw new ValidationError('invalid trade', [
              {
                index,
                path: 'variant',
                message: `unknown variant "${t.variant}" of experiment "${t.experiment}" (known: ${Object.keys(variants).join(', ')})`,
              },
            ]);
          // The trade's own time must lie in the experiment's run: a trade that closed before it
          // started, or that opened (closed, without opened_at) after it stopped, is not of it.
          if (t.closedMs < exp.started_ms)
            throw new ValidationError('invalid trade', [
              {
                index,
                path: 'experiment',
                message: `experiment "${t.experiment}" started at ${new Date(exp.started_ms).toISOString()}, after this trade closed`,
              },
            ]);
          if (exp.stopped_ms !== null && at > exp.stopped_ms)
            throw new ValidationError('invalid trade', [
              {
                index,
                path: 'experiment',
                message: `experiment "${t.experiment}" stopped at ${new Date(exp.stopped_ms).toISOString()}, before this trade ${t.openedMs === null ? 'closed' : 'opened'}: record it without the experiment`,
              },
            ]);
          if (version === null) {
            version = variants[t.variant];
            by = 'variant';
          }
        }
        if (version !== null) {
          if (!this.versionKnown(t.strategy, version))
            throw new ValidationError('invalid trade', [
              {
                index,
                path: 'param_version',
                message: `unknown version v${version} of strategy "${t.strategy}": deploy it first (POST /v1/params)`,
              },
            ]);
        } else version = versionAt(timeline, at);
        const straddle = straddles(timeline, t.openedMs, t.closedMs) ? 1 : 0;
        const info = this.st.insertTrade.run(
          t.strategy,
          t.id,
          t.symbol,
          t.side,
          t.openedMs,
          t.closedMs,
          t.pnl,
          t.fees,
          t.notional,
          version,
          t.experiment,
          t.variant,
          nowMs,
          by,
          straddle,
        );
        if (info.changes === 1) {
          result.accepted++;
          result.outcomes.push('accepted');
          result.versions.push(version);
          return;
        }
        const existing = this.st.tradeById.get(t.strategy, t.id) as TradeRow;
        const diff = differingFields(existing, t);
        if (diff.length) {
          details.push({
            index,
            path: 'id',
            message: `trade "${t.id}" of strategy "${t.strategy}" was already recorded with other ${diff.join(', ')}`,
          });
          return;
        }
        result.duplicates++;
        result.outcomes.push('duplicate');
        result.versions.push(existing.paramVersion);
      });
      if (details.length)
        throw new ConflictError('same trade id recorded with different content: nothing was stored', details);
      return result;
    });
  }

  /**
   * Records a deploy of `params` at `deployedMs` (default now): re-activates an identical earlier
   * version or creates the next one. A deploy at or before stored trades (a back-dated one, as
   * when a history is imported) re-attributes the trades attributed by time that fall in its
   * interval, up to the next deploy in time; trades that named their version or variant keep it.
   */
  deployParams(strategy: string, params: ParamSet, meta: DeployMeta, nowMs: number, deployedMs = nowMs): DeployResult {
    return this.write('deploying parameters', () => {
      this.ensureStrategy(strategy, nowMs);
      const previous = this.st.activeDeploy.get(strategy) as DeployInfo | undefined;
      const { version, hash, created } = this.upsertVersion(strategy, params, nowMs);
      this.st.insertDeploy.run(
        strategy,
        version,
        deployedMs,
        meta.source ?? null,
        meta.gitSha ?? null,
        meta.note ?? null,
      );
      const next = (this.st.nextDeployAfter.get(strategy, deployedMs) as number | null) ?? Number.MAX_SAFE_INTEGER;
      const reattributed = this.st.reattribute.run(version, strategy, deployedMs, deployedMs, next, version).changes;
      const marked = this.st.markStraddles.run(strategy, deployedMs, deployedMs).changes;
      if (reattributed > 0 || marked > 0) this.st.bumpEpoch.run(strategy);
      const active = this.st.activeDeploy.get(strategy) as DeployInfo;
      const before = previous ? this.getVersion(strategy, previous.version)?.params : undefined;
      return {
        version,
        hash,
        created,
        deployedMs,
        previousVersion: previous?.version ?? null,
        diff: diffParams(before, params),
        reattributed,
        activeVersion: active.version,
      };
    });
  }

  private upsertVersion(
    strategy: string,
    params: ParamSet,
    nowMs: number,
  ): { version: number; hash: string; created: boolean } {
    const hash = hashParams(params);
    const found = this.st.versionByHash.get(strategy, hash) as number | undefined;
    if (found !== undefined) return { version: found, hash, created: false };
    const version = (this.st.maxVersion.get(strategy) as number) + 1;
    if (version > this.maxVersions)
      throw new LimitError(
        `strategy "${strategy}" already has ${this.maxVersions} parameter versions (limit ${this.maxVersions}; raise maxVersionsPerStrategy / EDGEWATCH_MAX_VERSIONS if this is intended)`,
        'versions',
      );
    this.st.insertVersion.run(strategy, version, hash, canonicalJson(params), nowMs);
    return { version, hash, created: true };
  }

  startExperiment(
    strategy: string,
    name: string,
    variants: Record<string, ParamSet>,
    allocation: Record<string, number>,
    nowMs: number,
    plannedTrades: number | null = null,
  ): ExperimentInfo {
    return this.write('starting an experiment', () => {
      this.ensureStrategy(strategy, nowMs);
      const running = (this.st.experimentsOf.all(strategy) as RawExperiment[]).find((e) => e.stopped_ms === null);
      if (running && running.name !== name)
        throw new ConflictError(
          `experiment "${running.name}" of strategy "${strategy}" is still running: stop it first`,
          [{ path: 'name', message: 'one experiment at a time per strategy' }],
        );
      const existing = this.st.experiment.get(strategy, name) as { stopped_ms: number | null } | undefined;
      if (existing)
        throw new ConflictError(
          `experiment "${name}" of strategy "${strategy}" ${existing.stopped_ms === null ? 'is already running' : 'was run before: choose a new name'}`,
          [{ path: 'name', message: 'already used' }],
        );
      const versions: Record<string, number> = {};
      for (const [variant, params] of Object.entries(variants))
        versions[variant] = this.upsertVersion(strategy, params, nowMs).version;
      this.st.insertExperiment.run(
        strategy,
        name,
        JSON.stringify(versions),
        JSON.stringify(allocation),
        nowMs,
        plannedTrades,
      );
      return {
        strategy,
        name,
        variants: versions,
        allocation,
        startedMs: nowMs,
        stoppedMs: null,
        outcome: null,
        winner: null,
        plannedTrades,
      };
    });
  }

  stopExperiment(
    strategy: string,
    name: string,
    outcome: string | null,
    winner: string | null,
    nowMs: number,
  ): ExperimentInfo {
    return this.write('stopping an experiment', () => {
      const exp = this.getExperiment(strategy, name);
      if (!exp) throw new NotFoundError(`no experiment "${name}" for strategy "${strategy}"`);
      if (exp.stoppedMs !== null)
        throw new ConflictError(`experiment "${name}" of strategy "${strategy}" is already stopped`, [
          { path: 'name', message: 'already stopped' },
        ]);
      if (winner !== null && !Object.hasOwn(exp.variants, winner))
        throw new ValidationError('invalid stop', [
          { path: 'winner', message: `not a variant of "${name}" (variants: ${Object.keys(exp.variants).join(', ')})` },
        ]);
      this.st.stopExperiment.run(nowMs, outcome, winner, strategy, name);
      return { ...exp, stoppedMs: nowMs, outcome, winner };
    });
  }

  heartbeat(strategy: string, nowMs: number): void {
    this.write('recording a heartbeat', () => {
      this.ensureStrategy(strategy, nowMs);
      this.st.heartbeat.run(strategy, nowMs);
    });
  }

  // ---- reads ----

  activeDeploy(strategy: string): DeployInfo | undefined {
    return this.read('reading the active version', () => this.st.activeDeploy.get(strategy) as DeployInfo | undefined);
  }

  getVersion(strategy: string, version: number): VersionInfo | undefined {
    return this.read('reading a version', () => {
      const row = this.st.versionRow.get(strategy, version) as
        (Omit<VersionInfo, 'params'> & { params: string }) | undefined;
      return row ? { ...row, params: JSON.parse(row.params) as ParamSet } : undefined;
    });
  }

  versions(strategy: string): VersionInfo[] {
    return this.read('listing versions', () =>
      (this.st.versions.all(strategy) as Array<Omit<VersionInfo, 'params'> & { params: string }>).map((r) => ({
        ...r,
        params: JSON.parse(r.params) as ParamSet,
      })),
    );
  }

  deploys(strategy: string): DeployInfo[] {
    return this.read('listing deploys', () => this.st.deploys.all(strategy) as DeployInfo[]);
  }

  getExperiment(strategy: string, name: string): ExperimentInfo | undefined {
    return this.read('reading an experiment', () => {
      const row = this.st.experiment.get(strategy, name) as RawExperiment | undefined;
      return row ? experimentFromRow(row) : undefined;
    });
  }

  experiments(strategy?: string): ExperimentInfo[] {
    return this.read('listing experiments', () => {
      const rows = (
        strategy === undefined ? this.st.allExperiments.all() : this.st.experimentsOf.all(strategy)
      ) as RawExperiment[];
      return rows.map(experimentFromRow);
    });
  }

  /**
   * The first `n` trades of each arm of an experiment, in arrival order (seq): a trade that
   * arrives later never changes them, so a fixed-sample test read on them is read once.
   */
  firstVariantTrades(strategy: string, experiment: string, n: number): ExperimentTrade[] {
    return this.read(
      'reading an experiment sample',
      () => this.st.firstVariantTrades.all(strategy, experiment, n) as ExperimentTrade[],
    );
  }

  /** An experiment's trades after `afterSeq`, in arrival order, at most `limit`. */
  experimentTradesAfter(strategy: string, experiment: string, afterSeq: number, limit: number): ExperimentTrade[] {
    return this.read(
      'reading an experiment',
      () => this.st.experimentTradesAfter.all(strategy, experiment, afterSeq, limit) as ExperimentTrade[],
    );
  }

  /** Per strategy, how many deploys have re-attributed stored trades: the sidecar rebuilds per-version series when it moves. */
  attributionEpochs(): Map<string, number> {
    return this.read(
      'reading attribution epochs',
      () => new Map((this.st.epochs.all() as Array<{ name: string; epoch: number }>).map((r) => [r.name, r.epoch])),
    );
  }

  strategies(): string[] {
    return this.read('listing strategies', () => this.st.strategies.all() as string[]);
  }

  heartbeats(): Array<{ strategy: string; lastMs: number; beats: number }> {
    return this.read(
      'reading heartbeats',
      () => this.st.heartbeats.all() as Array<{ strategy: string; lastMs: number; beats: number }>,
    );
  }

  getTrade(strategy: string, id: string): TradeRow | undefined {
    return this.read('reading a trade', () => this.st.tradeById.get(strategy, id) as TradeRow | undefined);
  }

  /** Trades with seq > afterSeq, in arrival order: the sidecar's incremental read. */
  tradesAfter(afterSeq: number, limit = 50_000): TradeRow[] {
    return this.read('reading new trades', () => this.st.tradesAfter.all(afterSeq, limit) as TradeRow[]);
  }

  /** Trades of a strategy with fromMs <= closed_at < toMs, ordered by (closed_at, id). */
  tradesInRange(strategy: string, fromMs: number, toMs: number): TradeRow[] {
    return this.read('reading trades', () => this.st.tradesInRange.all(strategy, fromMs, toMs) as TradeRow[]);
  }

  maxSeq(): number {
    return this.read('counting trades', () => this.st.maxSeq.get() as number);
  }

  /**
   * Readable and writable (for /readyz): a recent write fault (a full disk fails only the writes
   * that need new pages) counts until a write succeeds or it is older than faultMemoryMs; then a
   * write that changes nothing checks that the file takes writes at all.
   */
  checkWritable(): void {
    if (this.lastFault && Date.now() - this.lastFault.atMs < this.faultMemoryMs) throw this.lastFault.error;
    this.write('checking the ledger', () => {
      this.db.prepare("INSERT INTO strategies (name, created_ms) SELECT '__readyz__', 0 WHERE 0").run();
      this.db.pragma('user_version = 0');
    });
  }

  integrityCheck(): string {
    return this.db.pragma('integrity_check', { simple: true }) as string;
  }

  /** The window engine's reads of the trades table (src/ledger/trade-reads.ts). */
  get tradeReads(): TradeReads {
    this.reads ??= new TradeReads(this.db);
    return this.reads;
  }

  /** Opened read-only: nothing (not even the sidecar's state file) is written for it. */
  get readonly(): boolean {
    return this.db.readonly;
  }

  /** Escape hatch for tests and benchmarks only. */
  get raw(): Database.Database {
    return this.db;
  }
}
