// `edgewatch params|experiments|report`: read the ledger file directly (read-only), so they
// work with or without a running sidecar.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { Ledger } from '../ledger/ledger.js';
import { NAME_RE, parseVersionLabel, versionLabel } from '../model/names.js';
import { diffParams } from '../model/params.js';
import { WINDOWS, WindowEngine, type WindowName } from '../sidecar/engine.js';
import { buildReport, renderMarkdown } from '../sidecar/report.js';
import { cusumRunKeys, snapshot } from '../sidecar/snapshot.js';
import { loadThresholds } from '../sidecar/thresholds.js';

export function openForReading(db: string | undefined): Ledger {
  const path = resolve(db ?? process.env.EDGEWATCH_DB ?? './data/edgewatch.db');
  if (!existsSync(path)) throw new ConfigError(`no ledger at ${path}: pass --db <path> or set EDGEWATCH_DB`);
  return Ledger.open(path, { readonly: true });
}

function strategyName(s: string | undefined): string {
  if (!s || !NAME_RE.test(s)) throw new ConfigError('--strategy <name> is required (letters, digits, _ . : -)');
  return s;
}

function version(ledger: Ledger, strategy: string, label: string) {
  const n = parseVersionLabel(label);
  if (n === undefined) throw new ConfigError(`"${label}" is not a version: write v1, v2, ...`);
  const v = ledger.getVersion(strategy, n);
  if (!v) throw new ConfigError(`strategy "${strategy}" has no version ${label} (see: edgewatch params history --strategy ${strategy})`);
  return v;
}

const print = (x: unknown): void => {
  process.stdout.write(`${typeof x === 'string' ? x : JSON.stringify(x, null, 2)}\n`);
};

export function paramsHistory(opts: { db?: string; strategy?: string; json?: boolean }): void {
  const ledger = openForReading(opts.db);
  try {
    const strategy = strategyName(opts.strategy);
    const deploys = ledger.deploys(strategy);
    if (opts.json) return print(deploys.map((d) => ({ ...d, version: versionLabel(d.version), deployedAt: new Date(d.deployedMs).toISOString() })));
    if (!deploys.length) return print(`no deploys for ${strategy}`);
    for (const d of deploys)
      print(`${new Date(d.deployedMs).toISOString()}  ${versionLabel(d.version).padEnd(5)} ${d.hash.slice(0, 12)}  ${d.source ?? ''} ${d.gitSha ?? ''} ${d.note ?? ''}`.trimEnd());
  } finally {
    ledger.close();
  }
}

export function paramsShow(label: string, opts: { db?: string; strategy?: string }): void {
  const ledger = openForReading(opts.db);
  try {
    const strategy = strategyName(opts.strategy);
    const v = version(ledger, strategy, label);
    print({ strategy, version: versionLabel(v.version), hash: v.hash, created: new Date(v.createdMs).toISOString(), params: v.params });
  } finally {
    ledger.close();
  }
}

export function paramsDiff(from: string, to: string, opts: { db?: string; strategy?: string }): void {
  const ledger = openForReading(opts.db);
  try {
    const strategy = strategyName(opts.strategy);
    const changes = diffParams(version(ledger, strategy, from).params, version(ledger, strategy, to).params);
    if (!changes.length) return print(`${from} and ${to} are identical`);
    for (const c of changes)
      print(c.change === 'added' ? `+ ${c.key} = ${JSON.stringify(c.to)}` : c.change === 'removed' ? `- ${c.key} = ${JSON.stringify(c.from)}` : `~ ${c.key}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`);
  } finally {
    ledger.close();
  }
}

function snapshots(ledger: Ledger) {
  const thresholds = loadThresholds(process.env.EDGEWATCH_THRESHOLDS, process.env.EDGEWATCH_THRESHOLDS_FILE);
  const engine = new WindowEngine(ledger, { runKey: cusumRunKeys(ledger, thresholds) });
  const now = Date.now();
  engine.refresh(now);
  return { now, snaps: snapshot(engine, ledger, now, { keepVersions: 1000, thresholds, stoppedExperiments: true }) };
}

export function experimentsList(opts: { db?: string; strategy?: string }): void {
  const ledger = openForReading(opts.db);
  try {
    for (const e of ledger.experiments(opts.strategy))
      print(`${e.strategy.padEnd(16)} ${e.name.padEnd(20)} ${e.stoppedMs === null ? 'running' : `stopped ${new Date(e.stoppedMs).toISOString()}${e.winner ? ` winner ${e.winner}` : ''}`}  variants ${Object.entries(e.variants).map(([k, n]) => `${k}=${versionLabel(n)}`).join(' ')}`);
  } finally {
    ledger.close();
  }
}

export function experimentsShow(name: string, opts: { db?: string; strategy?: string }): void {
  const ledger = openForReading(opts.db);
  try {
    const { snaps } = snapshots(ledger);
    const hits = snaps.flatMap((s) => s.experiments.filter((e) => e.name === name && (!opts.strategy || s.strategy === opts.strategy)).map((e) => ({ strategy: s.strategy, e })));
    if (!hits.length) throw new ConfigError(`no experiment "${name}" (see: edgewatch experiments list)`);
    for (const { strategy, e } of hits)
      print({
        strategy,
        experiment: e.name,
        running: e.stoppedMs === null,
        winner: e.winner,
        variants: Object.fromEntries(e.variants.map((v) => [v.variant, { param_version: versionLabel(v.version), ...v.stats }])),
        tests: e.tests.map((t) => ({ variant: t.variant, against: 'control', t: t.result.t, df: t.result.df, p_value: t.result.pValue })),
      });
  } finally {
    ledger.close();
  }
}

export function report(opts: { db?: string; strategy?: string; window?: string; format?: string }): void {
  const window = opts.window ?? '24h';
  if (!(window in WINDOWS)) throw new ConfigError('--window must be 1h, 24h or 7d');
  const format = opts.format ?? 'md';
  if (!['md', 'markdown', 'json'].includes(format)) throw new ConfigError('--format must be md or json');
  const ledger = openForReading(opts.db);
  try {
    const strategy = strategyName(opts.strategy);
    const { now, snaps } = snapshots(ledger);
    const s = snaps.find((x) => x.strategy === strategy);
    if (!s) throw new ConfigError(`no strategy "${strategy}" in the ledger (known: ${snaps.map((x) => x.strategy).join(', ') || 'none'})`);
    const r = buildReport(s, window as WindowName, now);
    print(format === 'json' ? r : renderMarkdown(r).trimEnd());
  } finally {
    ledger.close();
  }
}
