// `edgewatch params|experiments|report`: read the ledger file directly (read-only), so they
// work with or without a running sidecar. `experiments stop` is the one write: it goes
// through the ledger module, with the same checks as POST /v1/experiments/:name/stop.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { suggest } from '../config-check.js';
import { ConfigError, NotFoundError, ValidationError } from '../errors.js';
import { Ledger } from '../ledger/ledger.js';
import { NAME_RE, parseVersionLabel, versionLabel } from '../model/names.js';
import { diffParams } from '../model/params.js';
import { WINDOWS, WindowEngine, type WindowName } from '../sidecar/engine.js';
import { buildReport, renderMarkdown } from '../sidecar/report.js';
import { cusumRunKeys, snapshot } from '../sidecar/snapshot.js';
import { loadThresholds } from '../sidecar/thresholds.js';
import { DEFAULT_DB } from './sidecar.js';
import { experimentTestsJson } from '../sidecar/http/shapes.js';

/** Where `npm run stack` keeps its ledger (scripts/stack.ts, --data-dir default). */
const STACK_DB = './data/stack/edgewatch.db';

/** --db, else EDGEWATCH_DB, else ./data/edgewatch.db (the same order as the sidecar's). */
export function dbPath(db: string | undefined): string {
  return resolve(db ?? process.env.EDGEWATCH_DB ?? DEFAULT_DB);
}

function openLedger(db: string | undefined, readonly: boolean): Ledger {
  const path = dbPath(db);
  if (!existsSync(path)) {
    // The stack writes elsewhere than `start`: point at it rather than leave the reader guessing.
    const stack = resolve(STACK_DB);
    const hint = path !== stack && existsSync(stack) ? ` (npm run stack writes ${STACK_DB}: --db ${STACK_DB})` : '';
    throw new ConfigError(`no ledger at ${path}: pass --db <path> or set EDGEWATCH_DB${hint}`);
  }
  return Ledger.open(path, { readonly });
}

export function openForReading(db: string | undefined): Ledger {
  return openLedger(db, true);
}

/** A missing --strategy is told before the ledger is looked for. */
export function needStrategy(s: string | undefined): void {
  if (!s) throw new ConfigError('--strategy <name> is required: e.g. --strategy momentum');
}

/** The strategy, checked against the ledger: an unknown one lists the known ones. */
export function knownStrategy(ledger: Ledger, s: string | undefined): string {
  if (!s || !NAME_RE.test(s)) throw new ConfigError('--strategy <name> is required: letters, digits, _ . : -');
  const known = ledger.strategies();
  if (known.includes(s)) return s;
  const guess = suggest(s, known);
  throw new ConfigError(
    `no strategy "${s}" in ${ledger.path}: ${guess ? `did you mean "${guess}"? ` : ''}known: ${known.join(', ') || 'none yet'}`,
  );
}

export function version(ledger: Ledger, strategy: string, label: string) {
  const n = parseVersionLabel(label);
  if (n === undefined) throw new ConfigError(`"${label}" is not a version: write v1, v2, ...`);
  const v = ledger.getVersion(strategy, n);
  if (!v)
    throw new ConfigError(
      `strategy "${strategy}" has no version ${label}: see edgewatch params history --strategy ${strategy}`,
    );
  return v;
}

const print = (x: unknown): void => {
  process.stdout.write(`${typeof x === 'string' ? x : JSON.stringify(x, null, 2)}\n`);
};

export function withLedger<T>(db: string | undefined, fn: (ledger: Ledger) => T, readonly = true): T {
  const ledger = openLedger(db, readonly);
  try {
    return fn(ledger);
  } finally {
    ledger.close();
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

export interface ReadOpts {
  db?: string;
  strategy?: string;
  json?: boolean;
}

/**
 * Deploys, oldest first, then the versions that were never deployed: a version created by
 * an experiment's variant exists (`params show` finds it) without a deploy, and used to be
 * missing from the history with no word.
 */
export function paramsHistory(opts: ReadOpts): void {
  needStrategy(opts.strategy);
  withLedger(opts.db, (ledger) => {
    const strategy = knownStrategy(ledger, opts.strategy);
    const deploys = ledger.deploys(strategy);
    const deployed = new Set(deploys.map((d) => d.version));
    const origin = new Map<number, string>();
    for (const e of ledger.experiments(strategy))
      for (const [variant, v] of Object.entries(e.variants))
        if (!origin.has(v)) origin.set(v, `variant ${variant} of experiment ${e.name}`);
    const undeployed = ledger.versions(strategy).filter((v) => !deployed.has(v.version));
    if (opts.json)
      return print({
        strategy,
        deploys: deploys.map((d) => ({ ...d, version: versionLabel(d.version), deployedAt: iso(d.deployedMs) })),
        neverDeployed: undeployed.map((v) => ({
          version: versionLabel(v.version),
          hash: v.hash,
          createdAt: iso(v.createdMs),
          origin: origin.get(v.version) ?? null,
        })),
      });
    if (!deploys.length) print(`no deploys for ${strategy}`);
    for (const d of deploys)
      print(
        `${iso(d.deployedMs)}  ${versionLabel(d.version).padEnd(5)} ${d.hash.slice(0, 12)}  ${d.source ?? ''} ${d.gitSha ?? ''} ${d.note ?? ''}`.trimEnd(),
      );
    if (undeployed.length) {
      print('never deployed:');
      for (const v of undeployed)
        print(
          `  ${versionLabel(v.version).padEnd(5)} ${v.hash.slice(0, 12)}  created ${iso(v.createdMs)}${origin.has(v.version) ? `  ${origin.get(v.version)}` : ''}`,
        );
    }
  });
}

/** One version's parameters: JSON (with or without --json; it is the parameters' own form). */
export function paramsShow(label: string, opts: ReadOpts): void {
  needStrategy(opts.strategy);
  withLedger(opts.db, (ledger) => {
    const strategy = knownStrategy(ledger, opts.strategy);
    const v = version(ledger, strategy, label);
    print({ strategy, version: versionLabel(v.version), hash: v.hash, created: iso(v.createdMs), params: v.params });
  });
}

export function paramsDiff(from: string, to: string, opts: ReadOpts): void {
  needStrategy(opts.strategy);
  withLedger(opts.db, (ledger) => {
    const strategy = knownStrategy(ledger, opts.strategy);
    const changes = diffParams(version(ledger, strategy, from).params, version(ledger, strategy, to).params);
    if (opts.json) return print({ strategy, from, to, changes });
    if (!changes.length) return print(`${from} and ${to} are identical`);
    for (const c of changes)
      print(
        c.change === 'added'
          ? `+ ${c.key} = ${JSON.stringify(c.to)}`
          : c.change === 'removed'
            ? `- ${c.key} = ${JSON.stringify(c.from)}`
            : `~ ${c.key}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`,
      );
  });
}

function snapshots(ledger: Ledger) {
  const thresholds = loadThresholds(process.env.EDGEWATCH_THRESHOLDS, process.env.EDGEWATCH_THRESHOLDS_FILE);
  const engine = new WindowEngine(ledger, { runKey: cusumRunKeys(ledger, thresholds) });
  const now = Date.now();
  engine.refresh(now);
  return {
    now,
    snaps: snapshot(engine, ledger, now, {
      keepVersions: 1000,
      thresholds,
      stoppedExperiments: true,
      fixedSample: true,
    }),
  };
}

export function experimentsList(opts: ReadOpts): void {
  withLedger(opts.db, (ledger) => {
    const strategy = opts.strategy === undefined ? undefined : knownStrategy(ledger, opts.strategy);
    const list = ledger.experiments(strategy);
    if (opts.json)
      return print(
        list.map((e) => ({
          strategy: e.strategy,
          name: e.name,
          running: e.stoppedMs === null,
          startedAt: iso(e.startedMs),
          stoppedAt: e.stoppedMs === null ? null : iso(e.stoppedMs),
          outcome: e.outcome,
          winner: e.winner,
          variants: Object.fromEntries(Object.entries(e.variants).map(([k, n]) => [k, versionLabel(n)])),
          allocation: e.allocation,
          plannedTradesPerArm: e.plannedTrades,
        })),
      );
    if (!list.length) return print(`no experiments${strategy ? ` for ${strategy}` : ''}`);
    for (const e of list)
      print(
        `${e.strategy.padEnd(16)} ${e.name.padEnd(20)} ${e.stoppedMs === null ? 'running' : `stopped ${iso(e.stoppedMs)}${e.winner ? ` winner ${e.winner}` : ''}`}  variants ${Object.entries(
          e.variants,
        )
          .map(([k, n]) => `${k}=${versionLabel(n)}`)
          .join(' ')}${e.plannedTrades === null ? '' : `  planned ${e.plannedTrades} trades per arm`}`,
      );
  });
}

function unknownExperiment(ledger: Ledger, name: string, strategy: string | undefined, running = false): ConfigError {
  const names = [
    ...new Set(
      ledger
        .experiments(strategy)
        .filter((e) => !running || e.stoppedMs === null)
        .map((e) => e.name),
    ),
  ];
  const guess = suggest(name, names);
  return new ConfigError(
    `no ${running ? 'running ' : ''}experiment "${name}"${strategy ? ` for ${strategy}` : ''}: ${guess ? `did you mean "${guess}"? ` : ''}known: ${names.join(', ') || 'none'} (edgewatch experiments list)`,
  );
}

/** Variants, statistics and p-values: JSON (with or without --json). */
export function experimentsShow(name: string, opts: ReadOpts): void {
  withLedger(opts.db, (ledger) => {
    const strategy = opts.strategy === undefined ? undefined : knownStrategy(ledger, opts.strategy);
    const { snaps } = snapshots(ledger);
    const hits = snaps.flatMap((s) =>
      s.experiments
        .filter((e) => e.name === name && (!strategy || s.strategy === strategy))
        .map((e) => ({ strategy: s.strategy, e, alpha: s.thresholds.experiment_p_value })),
    );
    if (!hits.length) throw unknownExperiment(ledger, name, strategy);
    for (const { strategy: st, e, alpha } of hits)
      print({
        strategy: st,
        experiment: e.name,
        running: e.stoppedMs === null,
        winner: e.winner,
        variants: Object.fromEntries(
          e.variants.map((v) => [v.variant, { param_version: versionLabel(v.version), ...v.stats }]),
        ),
        ...experimentTestsJson(e, alpha),
      });
  });
}

/**
 * Stops a running experiment, optionally naming the winning variant: the runbook's "stop it
 * with a winner" as a command. Writes the ledger directly (WAL: safe next to a running
 * sidecar, which shows the stop at its next scrape), like POST /v1/experiments/:name/stop.
 */
export function experimentsStop(
  name: string,
  opts: { db?: string; strategy?: string; winner?: string; outcome?: string; json?: boolean },
): void {
  withLedger(
    opts.db,
    (ledger) => {
      let strategy = opts.strategy === undefined ? undefined : knownStrategy(ledger, opts.strategy);
      if (strategy === undefined) {
        const running = ledger.experiments().filter((e) => e.name === name && e.stoppedMs === null);
        if (running.length > 1)
          throw new ConfigError(
            `several strategies run an experiment "${name}" (${running.map((e) => e.strategy).join(', ')}): name one with --strategy`,
          );
        if (!running.length) throw unknownExperiment(ledger, name, undefined, true);
        strategy = running[0].strategy;
      }
      if (opts.winner !== undefined && !NAME_RE.test(opts.winner))
        throw new ConfigError('--winner must be a variant name: letters, digits, _ . : -');
      let info;
      try {
        info = ledger.stopExperiment(strategy, name, opts.outcome ?? null, opts.winner ?? null, Date.now());
      } catch (err) {
        // What was typed does not match the ledger: a usage error (exit 2), with the fix.
        if (err instanceof NotFoundError) throw unknownExperiment(ledger, name, strategy);
        if (err instanceof ValidationError)
          throw new ConfigError(`--winner "${opts.winner}" is ${err.details[0]?.message ?? err.message}`);
        throw err;
      }
      const result = {
        strategy,
        experiment: name,
        stoppedAt: iso(info.stoppedMs as number),
        outcome: info.outcome,
        winner: info.winner,
        winnerVersion: info.winner ? versionLabel(info.variants[info.winner]) : null,
      };
      if (opts.json) return print(result);
      print(
        `stopped experiment ${name} of ${strategy}${info.winner ? `; winner ${info.winner} (${result.winnerVersion}): deploy it to make it the active version` : ''}`,
      );
    },
    false,
  );
}

export function report(opts: {
  db?: string;
  strategy?: string;
  window?: string;
  format?: string;
  json?: boolean;
}): void {
  const window = opts.window ?? '24h';
  if (!(window in WINDOWS)) throw new ConfigError(`--window must be 1h, 24h or 7d (got "${window}")`);
  const format = opts.json ? 'json' : (opts.format ?? 'md');
  if (!['md', 'markdown', 'json'].includes(format))
    throw new ConfigError(`--format must be md or json (got "${format}")`);
  needStrategy(opts.strategy);
  withLedger(opts.db, (ledger) => {
    const strategy = knownStrategy(ledger, opts.strategy);
    const { now, snaps } = snapshots(ledger);
    const s = snaps.find((x) => x.strategy === strategy);
    if (!s)
      throw new ConfigError(
        `no strategy "${strategy}" in the ledger: known: ${snaps.map((x) => x.strategy).join(', ') || 'none'}`,
      );
    const r = buildReport(s, window as WindowName, now);
    print(format === 'json' ? r : renderMarkdown(r).trimEnd());
  });
}
