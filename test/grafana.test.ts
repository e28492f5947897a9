// The Grafana dashboards: the committed JSON is what grafana/dashboards.ts generates, every
// panel uses the provisioned datasource, and every query parses in the real Prometheus 2.42.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDashboards, DATASOURCE_UID, renderDashboards } from '../grafana/dashboards.js';
import { allPanelQueries, EXAMPLE_VARS, substitute } from '../grafana/queries.js';
import { requireBinary } from './support/binaries.js';
import { freePort } from './support/ports.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DASHBOARDS = join(ROOT, 'grafana', 'dashboards');

describe('grafana dashboards as code', () => {
  test('the committed dashboard JSON is exactly what the generator produces', () => {
    const expected = renderDashboards();
    const committed = readdirSync(DASHBOARDS)
      .filter((f) => f.endsWith('.json'))
      .sort();
    assert.deepEqual(
      committed,
      [...expected.keys()].sort(),
      'dashboard files differ from the generator: run npm run dashboards',
    );
    for (const [file, text] of expected) {
      assert.ok(
        readFileSync(join(DASHBOARDS, file), 'utf8') === text,
        `grafana/dashboards/${file} is stale: run npm run dashboards`,
      );
    }
  });

  test('the five dashboards exist with unique uids, panel ids and panel titles', () => {
    const boards = buildDashboards().map((b) => b.dashboard);
    assert.deepEqual(boards.map((d) => d.uid).sort(), [
      'edgewatch-daily-review',
      'edgewatch-experiments',
      'edgewatch-overview',
      'edgewatch-pipeline',
      'edgewatch-versions',
    ]);
    for (const d of boards) {
      const panels = (d.panels ?? []).filter((p) => p.type !== 'row');
      const ids = (d.panels ?? []).map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, `${d.uid}: duplicate panel ids`);
      const titles = panels.map((p) => p.title);
      assert.equal(new Set(titles).size, titles.length, `${d.uid}: duplicate panel titles ${titles}`);
      for (const p of panels)
        assert.ok(((p as { targets?: unknown[] }).targets ?? []).length > 0, `${d.uid}/${p.title} has no query`);
    }
  });

  test('the strategy overview has the deploy annotation and a strategy variable from label_values', () => {
    const overview = buildDashboards().find((b) => b.dashboard.uid === 'edgewatch-overview')!.dashboard;
    const exprs = (overview.annotations?.list ?? []).map((a) => (a as { expr?: string }).expr ?? '');
    assert.ok(
      exprs.some((e) => /changes\(trading_param_deploy_timestamp_seconds\{.*\}\[\w+\]\) > 0/.test(e)),
      exprs.join('\n'),
    );
    const variable = overview.templating?.list?.find((v) => v.name === 'strategy');
    assert.match(String(variable?.query), /^label_values\(edgewatch_window_trades, strategy\)$/);
  });

  test('every panel, target, annotation and variable uses the provisioned datasource uid', () => {
    const provisioned = readFileSync(join(ROOT, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8');
    assert.match(provisioned, new RegExp(`^\\s+uid: ${DATASOURCE_UID}$`, 'm'));
    assert.match(provisioned, /^\s+url: http:\/\/prometheus:9090$/m);
    let refs = 0;
    const walk = (node: unknown, path: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${path}[${i}]`));
      if (node === null || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(node)) {
        if (key === 'datasource') {
          refs++;
          assert.deepEqual(value, { type: 'prometheus', uid: DATASOURCE_UID }, `${path}.datasource`);
        } else walk(value, `${path}.${key}`);
      }
    };
    for (const { file, dashboard } of buildDashboards()) walk(dashboard, file);
    assert.ok(refs > 100, `only ${refs} datasource references found`);
  });

  test('the dashboard provider loads the folder docker-compose mounts the JSON into', () => {
    const provider = readFileSync(join(ROOT, 'grafana/provisioning/dashboards/edgewatch.yml'), 'utf8');
    assert.match(provider, /^\s+path: \/etc\/grafana\/dashboards\/edgewatch$/m);
  });

  test('substitute fills template and built-in variables and refuses unknown ones', () => {
    assert.equal(
      substitute(
        'rate(x{strategy=~"$strategy", e="${experiment}", f="${strategy:regex}"}[$__rate_interval]) offset $__range_s',
        {
          strategy: 's1',
          experiment: 'e1',
          __rate_interval: '2m',
          __range_s: '60',
        },
      ),
      'rate(x{strategy=~"s1", e="e1", f="s1"}[2m]) offset 60',
    );
    assert.throws(() => substitute('x[$__nope]', EXAMPLE_VARS), /no value for \$__nope/);
  });

  test('allPanelQueries lists panel, annotation and variable queries and marks core panels', () => {
    const queries = allPanelQueries();
    assert.ok(queries.length > 100);
    assert.ok(queries.some((q) => q.panel.startsWith('annotation: ')));
    assert.ok(queries.some((q) => q.panel === 'variable: strategy'));
    const core = new Set(queries.filter((q) => q.core).map((q) => `${q.dashboard}/${q.panel}`));
    for (const p of ['edgewatch-overview/Net PnL 24h', 'edgewatch-overview/Equity', 'edgewatch-pipeline/Targets up'])
      assert.ok(core.has(p), p);
  });
});

// ---------------------------------------------------------------------------------------------

const prometheusBin = requireBinary('prometheus');

interface ApiAnswer {
  status: string;
  errorType?: string;
  error?: string;
}

describe('dashboard queries against a real Prometheus', { skip: prometheusBin.skip }, () => {
  let dir = '';
  let proc: ChildProcess | undefined;
  let base = '';
  let log = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgewatch-grafana-'));
    writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\n');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    proc = spawn(
      prometheusBin.path!,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    proc.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`prometheus exited with ${proc.exitCode}:\n${log}`);
      try {
        if ((await fetch(`${base}/-/ready`)).ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`prometheus not ready after 30s:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function query(expr: string): Promise<ApiAnswer> {
    const res = await fetch(`${base}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: expr }),
    });
    return (await res.json()) as ApiAnswer;
  }

  test('Prometheus rejects a malformed query with bad_data (the check below can fail)', async () => {
    const answer = await query('sum by (strategy (edgewatch_window_trades)');
    assert.equal(answer.status, 'error');
    assert.equal(answer.errorType, 'bad_data');
  });

  test('every panel, annotation and variable query parses and runs, variables substituted', async () => {
    const failures: string[] = [];
    const queries = allPanelQueries();
    for (const q of queries) {
      const expr = substitute(q.expr, EXAMPLE_VARS);
      const answer = await query(expr);
      if (answer.status !== 'success')
        failures.push(`${q.dashboard} / ${q.panel}: ${expr}\n  -> ${answer.errorType}: ${answer.error}`);
    }
    assert.deepEqual(failures, [], `${failures.length} of ${queries.length} queries failed`);
  });
});
