// The SDK a TypeScript bot embeds. Every call validates, writes one ledger transaction and
// updates the bot's metrics. Monitoring must never take the bot down: a bad input or a
// ledger fault writes nothing, is logged with its cause, counted in trading_errors_total
// and returned as `{ ok: false, error }`; only `strict: true` (tests, development) throws.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { ConfigError, EdgewatchError, LedgerError, ValidationError } from '../errors.js';
import { rejectUnknownKeys } from '../config-check.js';
import { Ledger } from '../ledger/ledger.js';
import { createLogger, silentLogger, type Logger } from '../log.js';
import { NAME_RE, NAME_RULE, isPlainObject } from '../model/names.js';
import { BotMetrics } from './metrics.js';
import { serveMetrics, metricsHandler, type MetricsServer, type ServeOptions } from './serve.js';
import { StrategyHandle } from './strategy.js';
import type { EdgewatchOptions, Failure } from './types.js';

export * from './types.js';
export { StrategyHandle } from './strategy.js';

const OPTION_KEYS = [
  'ledger',
  'strategies',
  'registry',
  'strict',
  'logger',
  'keepVersions',
  'synchronous',
  'heartbeatLedgerIntervalMs',
  'maxSymbols',
  'maxAssignedPositions',
] as const;

/** One open ledger and the bot's metrics. */
export class Edgewatch {
  readonly registry: Registry;
  readonly metrics: BotMetrics;
  readonly ledger: Ledger;
  readonly log: Logger;
  readonly strict: boolean;
  readonly keepVersions: number;
  private readonly handles = new Map<string, StrategyHandle>();
  private readonly servers: MetricsServer[] = [];

  constructor(options: EdgewatchOptions) {
    if (!isPlainObject(options))
      throw new ConfigError(
        'openEdgewatch(options): pass an object such as { ledger: "./data/edgewatch.db", strategies: ["my_strategy"] }',
      );
    rejectUnknownKeys(options, OPTION_KEYS, 'openEdgewatch');
    if (!Array.isArray(options.strategies) || options.strategies.length === 0)
      throw new ConfigError(
        'openEdgewatch: "strategies" must be a non-empty array of strategy names, e.g. strategies: ["momentum"]',
      );
    for (const s of options.strategies)
      if (typeof s !== 'string' || !NAME_RE.test(s))
        throw new ConfigError(
          `openEdgewatch: strategy name ${JSON.stringify(s)} ${NAME_RULE} (use letters, digits, _ . : -)`,
        );
    const keep = options.keepVersions ?? 5;
    if (!Number.isInteger(keep) || keep < 1)
      throw new ConfigError('openEdgewatch: "keepVersions" must be an integer ≥ 1 (default 5)');
    const maxPositions = options.maxAssignedPositions ?? 10_000;
    if (!Number.isInteger(maxPositions) || maxPositions < 1)
      throw new ConfigError('openEdgewatch: "maxAssignedPositions" must be an integer ≥ 1 (default 10000)');
    if (options.synchronous !== undefined && options.synchronous !== 'FULL' && options.synchronous !== 'NORMAL')
      throw new ConfigError('openEdgewatch: "synchronous" must be "FULL" or "NORMAL"');
    if (options.registry !== undefined && !(options.registry instanceof Registry))
      throw new ConfigError(
        'openEdgewatch: "registry" must be a prom-client Registry (import { Registry } from "prom-client")',
      );
    this.strict = options.strict ?? false;
    this.keepVersions = keep;
    this.log = options.logger === false ? silentLogger() : (options.logger ?? createLogger('edgewatch'));
    // Create the ledger's folder, as `edgewatch start` and `sidecar` do: the README's snippet
    // on a fresh project ("./data/edgewatch.db") must not stop at a missing ./data.
    if (typeof options.ledger === 'string' && options.ledger !== '') {
      try {
        mkdirSync(dirname(resolve(options.ledger)), { recursive: true });
      } catch {
        // not creatable (permissions, read-only): Ledger.open names the folder and the fix
      }
    }
    this.ledger = Ledger.open(options.ledger, { synchronous: options.synchronous });
    if (options.registry) {
      this.registry = options.registry;
    } else {
      this.registry = new Registry();
      collectDefaultMetrics({ register: this.registry });
    }
    this.metrics = new BotMetrics(this.registry);
    for (const name of options.strategies)
      this.handles.set(
        name,
        new StrategyHandle(
          this,
          name,
          options.heartbeatLedgerIntervalMs ?? 10_000,
          options.maxSymbols ?? 50,
          maxPositions,
        ),
      );
  }

  /** The handle of one configured strategy. */
  strategy(name: string): StrategyHandle {
    const h = this.handles.get(name);
    if (!h)
      throw new ConfigError(
        `strategy "${name}" was not passed to openEdgewatch (configured: ${[...this.handles.keys()].join(', ')})`,
      );
    return h;
  }

  get strategyNames(): string[] {
    return [...this.handles.keys()];
  }

  /** Serves /metrics (and /healthz) on its own port, default 127.0.0.1:9464. */
  serve(options: ServeOptions = {}): Promise<MetricsServer> {
    return serveMetrics(this.registry, options).then((s) => {
      this.servers.push(s);
      this.log.info({ url: s.url }, 'bot metrics served');
      return s;
    });
  }

  /** A (req, res) handler that writes the exposition: mount it on the bot's own HTTP server or express app. */
  metricsHandler() {
    return metricsHandler(this.registry);
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.splice(0).map((s) => s.close()));
    this.ledger.close();
  }

  /** @internal Reports a failed call: log, count, and return or (strict) throw. */
  fail(strategy: string, what: string, error: unknown): Failure {
    const err =
      error instanceof EdgewatchError
        ? error
        : new LedgerError(`${what}: ${(error as Error)?.message ?? String(error)}`, 'other', error);
    this.metrics.errors.inc({ strategy, kind: err.kind });
    const fields: Record<string, unknown> = { strategy, kind: err.kind, err: err.message };
    if ('details' in err) fields.details = (err as ValidationError).details;
    if (err instanceof LedgerError) fields.fault = err.fault;
    this.log.error(fields, `${what} failed`);
    if (this.strict) throw err;
    return { ok: false, error: err };
  }
}

export function openEdgewatch(options: EdgewatchOptions): Edgewatch {
  return new Edgewatch(options);
}
