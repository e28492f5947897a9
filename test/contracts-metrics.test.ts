// The metric catalog is docs/metrics.md: every family on the sidecar's /metrics and on the
// bot's (SDK) /metrics is documented there with its type and labels, every documented family
// is exposed, and every label value seen is among the values the page lists for that label.
// Both endpoints are real: a sidecar on loopback over a ledger with deploys, trades, an
// experiment and heartbeats (so that every family of ours has samples), and the SDK's server.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type TestContext } from 'node:test';
import type { Registry } from 'prom-client';
import { openEdgewatch } from '../src/sdk/index.js';
import { sidecar } from './support/sidecar.js';
import { parseExposition, tempDir } from './support/tmp.js';

const FILE = 'docs/metrics.md';
const SECTIONS = {
  sidecar: 'Sidecar metrics',
  bot: 'Bot metrics (SDK)',
  both: 'Process and Node.js metrics (both endpoints)',
} as const;
type Section = keyof typeof SECTIONS;

/** Families of ours that have no series until something fails: the fixture cannot show their labels. */
const MAY_BE_EMPTY = new Set(['edgewatch_scrape_errors_total']);

interface Documented {
  name: string;
  section: Section;
  type: string;
  /** label -> its listed values (undefined: free values) */
  labels: Map<string, string[] | undefined>;
  linuxOnly: boolean;
}

function readCatalog(): Documented[] {
  const text = readFileSync(fileURLToPath(new URL('../../docs/metrics.md', import.meta.url)), 'utf8');
  const out: Documented[] = [];
  let section: Section | undefined;
  for (const line of text.split('\n')) {
    const h2 = /^## (.+)$/.exec(line);
    if (h2) section = (Object.keys(SECTIONS) as Section[]).find((s) => SECTIONS[s] === h2[1].trim());
    const row = /^\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \| ([a-z]+) \| ([^|]*) \| [^|]* \| (.*) \|$/.exec(line);
    if (!row) continue;
    assert.ok(section, `${FILE}: the row of ${row[1]} is not under one of ## ${Object.values(SECTIONS).join(', ## ')}`);
    const labels = new Map<string, string[] | undefined>();
    if (row[3].trim() !== '—')
      for (const m of row[3].matchAll(/`([^`]+)`\s*(?:\(([^)]*)\))?/g)) {
        // Only a list of backticked values is a closed set; prose in parentheses is a comment.
        const parts = m[2]?.split(',') ?? [];
        const values = parts.flatMap((v) => /^\s*`([^`]*)`\s*$/.exec(v)?.slice(1, 2) ?? []);
        labels.set(m[1], parts.length > 0 && values.length === parts.length ? values : undefined);
      }
    out.push({ name: row[1], section, type: row[2], labels, linuxOnly: row[4].includes('*Linux only.*') });
  }
  return out;
}

const TYPE_LINE = /^# TYPE (\S+) (\S+)$/;

interface Scrape {
  families: Map<string, string>;
  samples: Array<{ family: string; labels: Record<string, string> }>;
}

function readExposition(text: string): Scrape {
  const families = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = TYPE_LINE.exec(line);
    if (m) families.set(m[1], m[2]);
  }
  const samples = parseExposition(text).map((s) => {
    const base = s.name.replace(/_(bucket|sum|count)$/, '');
    const family = families.has(s.name) ? s.name : base;
    const labels = { ...s.labels };
    delete labels.le;
    return { family, labels };
  });
  return { families, samples };
}

/** Everything that differs between the page and one endpoint, each with what to do. */
function compare(endpoint: 'sidecar' | 'bot', scrape: Scrape, registry: Registry, catalog: Documented[]): string[] {
  const problems: string[] = [];
  const where = `${FILE}, table under "## ${SECTIONS[endpoint]}"`;
  const docs = new Map<string, Documented>();
  for (const d of catalog.filter((x) => x.section === endpoint || x.section === 'both')) {
    if (docs.has(d.name)) problems.push(`${FILE} lists ${d.name} twice`);
    if (d.linuxOnly && process.platform !== 'linux') continue;
    docs.set(d.name, d);
  }
  for (const [name, type] of scrape.families) {
    const d = docs.get(name);
    const labels = [...((registry.getSingleMetric(name) as unknown as { labelNames?: string[] })?.labelNames ?? [])];
    if (!d) {
      problems.push(
        `${name} (${type}) is on the ${endpoint}'s /metrics but not in ${FILE}: add to the ${where} the row ` +
          `| \`${name}\` | ${type} | ${labels.map((l) => `\`${l}\``).join(', ') || '—'} | <unit> | <meaning> |`,
      );
      continue;
    }
    if (d.type !== type) problems.push(`${name}: ${FILE} says ${d.type}, the exposition says ${type}`);
    const documented = [...d.labels.keys()].sort();
    if (documented.join() !== [...labels].sort().join())
      problems.push(
        `${name}: ${FILE} lists labels [${documented.join(', ')}], the metric has [${labels.sort().join(', ')}]`,
      );
  }
  for (const d of docs.values())
    if (!scrape.families.has(d.name))
      problems.push(
        `${FILE} lists ${d.name} but the ${endpoint}'s /metrics has no such family: remove its row or register it`,
      );
  for (const s of scrape.samples) {
    const d = docs.get(s.family);
    if (!d) continue;
    for (const [label, value] of Object.entries(s.labels)) {
      const values = d.labels.get(label);
      if (!d.labels.has(label)) problems.push(`${s.family}: a sample has label ${label}, which ${FILE} does not list`);
      else if (values && !values.includes(value))
        problems.push(
          `${s.family}{${label}="${value}"}: add \`${value}\` to the values of \`${label}\` in its row of ${FILE}`,
        );
    }
  }
  const sampled = new Set(scrape.samples.map((s) => s.family));
  for (const d of docs.values())
    if (d.section === endpoint && !sampled.has(d.name) && !MAY_BE_EMPTY.has(d.name))
      problems.push(
        `${d.name} has no sample in the scrape of test/contracts-metrics.test.ts: extend its ${endpoint} fixture so that it appears (or add it to MAY_BE_EMPTY with why)`,
      );
  return [...new Set(problems)];
}

const NOW = Date.UTC(2026, 10, 27, 12);
const H = 3_600_000;
const D = 24 * H;

/** A sidecar whose ledger holds two deploys, trades in every window, a running experiment and a heartbeat. */
async function busySidecar(t: TestContext) {
  let clock = NOW;
  const s = await sidecar(t, {
    now: () => clock,
    // Small minimum samples, so that every statistic has a value with a few trades.
    thresholdsJson: {
      defaults: { drift_min_trades: 2, regression_min_trades: 2, cusum_min_trades: 2, experiment_min_trades: 2 },
    },
  });
  const ok = async (path: string, body: unknown) => {
    const res = await s.post(path, body);
    assert.ok(res.status < 300, `${path}: ${res.status} ${await res.text()}`);
  };
  let n = 0;
  const trade = (closedMs: number, pnl: number, extra: object = {}) => ({
    id: `t${++n}`,
    strategy: 'momentum',
    symbol: 'BTC-USD',
    side: 'long',
    closed_at: closedMs,
    pnl,
    fees: 0.1,
    notional: 1000,
    ...extra,
  });
  const pnls = [3, -1, 2, -2, 4, 1];
  await ok('/v1/params', { strategy: 'momentum', params: { lookback: 20 }, deployed_at: NOW - 6 * D });
  await ok('/v1/trades', { trades: pnls.map((p, i) => trade(NOW - 6 * D + (i + 1) * H, p)) });
  await ok('/v1/params', { strategy: 'momentum', params: { lookback: 30 }, deployed_at: NOW - 5 * D });
  // The new version: trades in the baseline (the 7d window less the last 24h) and in the last 24h and hour.
  // What v2's backtest promised (returns, drawdown and fee too), so every edgewatch_expectation_* family has samples.
  await ok('/v1/params/momentum/v2/expectation', {
    summary: {
      trades: 400,
      trades_per_day: 4,
      pnl_mean: 1,
      pnl_sd: 2,
      return_mean: 0.001,
      return_sd: 0.002,
      max_drawdown: 5,
    },
    fee_per_trade: 0.05,
  });
  await ok('/v1/trades', { trades: pnls.map((p, i) => trade(NOW - 4 * D + i * H, p * 0.8)) });
  await ok('/v1/trades', { trades: pnls.map((p, i) => trade(NOW - 20 * H + i * H, p * 1.1)) });
  await ok('/v1/trades', { trades: pnls.map((p, i) => trade(NOW - 50 * 60_000 + i * 60_000, p * 0.9)) });
  clock = NOW - 2 * H;
  await ok('/v1/experiments', {
    strategy: 'momentum',
    name: 'lookback-40',
    variants: { control: 'v2', candidate: { lookback: 40 } },
  });
  clock = NOW;
  const arms = pnls.map((p, i) =>
    trade(NOW - 2 * H + (i + 1) * 60_000, p, { experiment: 'lookback-40', variant: i % 2 ? 'candidate' : 'control' }),
  );
  await ok('/v1/trades', { trades: [...arms, ...arms.map((a) => ({ ...a, id: `${a.id}b`, pnl: a.pnl * 1.5 }))] });
  await ok('/v1/heartbeat', { strategy: 'momentum' });
  return s;
}

test('every metric on the sidecar /metrics is in docs/metrics.md with its type and labels, and the page lists nothing else', async (t) => {
  const s = await busySidecar(t);
  const scrape = readExposition(await (await s.get('/metrics')).text());
  assert.deepEqual(compare('sidecar', scrape, s.metrics.registry, readCatalog()), []);
});

test("every metric on the bot's /metrics (SDK) is in docs/metrics.md with its type and labels, and the page lists nothing else", async (t) => {
  const ew = openEdgewatch({
    ledger: join(tempDir(t), 'bot.db'),
    strategies: ['alpha'],
    logger: false,
    maxSymbols: 1,
  });
  t.after(() => ew.close());
  const a = ew.strategy('alpha');
  a.params.deploy({ lookback: 20, mode: 'fast' }, { gitSha: '3f2c1e9' });
  a.trades.record({ id: 'w', symbol: 'BTC-USD', side: 'long', pnl: 5, fees: 0.1, notional: 100 });
  a.trades.record({ id: 'l', symbol: 'ETH-USD', side: 'short', pnl: -3, fees: 0.1, notional: 100 }); // over maxSymbols
  a.trades.record({ id: 'f', symbol: 'BTC-USD', side: 'long', pnl: 0 });
  assert.equal(a.trades.record({ id: 'bad', symbol: 'BTC-USD', side: 'up' as never, pnl: 1 }).ok, false);
  a.orders.record({ status: 'filled', latencySeconds: 0.02 });
  await a.iteration(() => undefined);
  a.setEquity(10_000);
  a.setOpenPositions(1);
  assert.ok(
    a.experiments.start({
      name: 'e',
      variants: { control: { lookback: 20, mode: 'fast' }, candidate: { lookback: 30 } },
    }).ok,
  );
  const server = await ew.serve({ port: 0 });
  const scrape = readExposition(await (await fetch(server.url)).text());
  assert.deepEqual(compare('bot', scrape, ew.registry, readCatalog()), []);
});

test('docs/metrics.md: every row is under a known section, once, with a known type', () => {
  const catalog = readCatalog();
  assert.ok(catalog.length > 80, `only ${catalog.length} rows read from ${FILE}: has the table format changed?`);
  const names = catalog.map((d) => d.name);
  assert.deepEqual(
    names.filter((n, i) => names.indexOf(n) !== i),
    [],
    'names listed twice',
  );
  for (const d of catalog) assert.match(d.type, /^(counter|gauge|histogram|summary)$/, d.name);
});
