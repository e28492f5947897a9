// The command line as other programs use it: `edgewatch sidecar`, `edgewatch start`, the
// inspection commands, and configuration errors that name the variable.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ledger } from '../src/ledger/ledger.js';
import { versionLabel } from '../src/model/names.js';
import { requireBinary } from './support/binaries.js';
import { freePort, waitFor } from './support/ports.js';
import { find, parseExposition, tempDir } from './support/tmp.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, EDGEWATCH_LOG_FORMAT: 'json', ...env },
    timeout: 30_000,
  });
}

function start(t: test.TestContext, args: string[], env: Record<string, string>): ChildProcess {
  // Its own process group, so that a failed test can kill `start` and the children it spawned.
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, EDGEWATCH_LOG_FORMAT: 'json', EDGEWATCH_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  t.after(() => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  });
  return child;
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  return exited;
}

for (const [variable, bad] of [
  ['EDGEWATCH_PORT', 'abc'],
  ['EDGEWATCH_HOST', 'bad host!'],
  ['EDGEWATCH_KEEP_VERSIONS', '0'],
  ['EDGEWATCH_THRESHOLDS', '{"defaults":{"max_drawdwn":5}}'],
  ['EDGEWATCH_TOKEN', 'short'],
] as const) {
  test(`a bad ${variable} stops the sidecar with a message naming it`, (t) => {
    const r = run(['sidecar'], { EDGEWATCH_DB: join(tempDir(t), 'l.db'), [variable]: bad });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(variable));
  });
}

test('a misspelled threshold name is answered with the right spelling', (t) => {
  const r = run(['sidecar'], {
    EDGEWATCH_DB: join(tempDir(t), 'l.db'),
    EDGEWATCH_THRESHOLDS: '{"defaults":{"max_drawdwn":5}}',
  });
  assert.match(r.stderr, /did you mean "max_drawdown"/);
});

test('edgewatch sidecar serves /metrics and /readyz and stops cleanly on SIGTERM', async (t) => {
  const port = await freePort();
  const child = start(t, ['sidecar'], { EDGEWATCH_DB: join(tempDir(t), 'l.db'), EDGEWATCH_PORT: String(port) });
  await waitFor(`http://127.0.0.1:${port}/readyz`);
  const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(body, /edgewatch_ledger_trades 0/);
  assert.equal(await stop(child), 0);
});

test('npm start: the demo back-fills a week and the sidecar shows 24h and 7d windows, drift and per-version series at once; promtool is clean', async (t) => {
  const dir = tempDir(t);
  const [botPort, port] = [await freePort(), await freePort()];
  const child = start(t, ['start', '--db', join(dir, 'edgewatch.db')], {
    EDGEWATCH_BOT_PORT: String(botPort),
    EDGEWATCH_PORT: String(port),
  });
  const bot = parseExposition(await (await waitFor(`http://127.0.0.1:${botPort}/metrics`, 30_000)).text());
  // The back-filled experiment ended with its better variant deployed: that version is active.
  const ledger = Ledger.open(join(dir, 'edgewatch.db'), { readonly: true });
  const experiment = ledger.getExperiment('momentum', 'lookback-25');
  ledger.close();
  assert.ok(experiment?.winner && experiment.stoppedMs !== null, JSON.stringify(experiment));
  const winner = versionLabel(experiment.variants[experiment.winner]);
  assert.ok(
    find(bot, 'trading_trades_total', { strategy: 'momentum' }).some(
      (s) => s.labels.param_version === winner && s.value > 0,
    ),
    `trades of ${winner}`,
  );
  assert.deepEqual(
    find(bot, 'trading_param_version_info', { strategy: 'momentum' }).map((s) => s.labels.param_version),
    [winner],
  );
  assert.equal(find(bot, 'trading_loop_last_success_timestamp_seconds').length, 2);
  assert.equal(find(bot, 'trading_equity').length, 2);
  await waitFor(`http://127.0.0.1:${port}/readyz`, 30_000);
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = parseExposition(text);
  for (const strategy of ['momentum', 'meanrev']) {
    for (const window of ['24h', '7d'])
      assert.ok(
        (find(m, 'edgewatch_window_trades', { strategy, window })[0]?.value ?? 0) > 20,
        `${strategy} ${window}`,
      );
    assert.equal(find(m, 'edgewatch_drift_zscore', { strategy }).length, 2, `${strategy} drift`);
    assert.ok(find(m, 'edgewatch_version_trades', { strategy }).length >= 2, `${strategy} versions`);
  }
  const promtool = requireBinary('promtool');
  if (promtool.path) {
    const r = spawnSync(promtool.path, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    const complaints = `${r.stdout}${r.stderr}`
      .split('\n')
      .filter((l) => l.trim() && !/^nodejs_active_(handles|requests|resources)_total/.test(l));
    assert.deepEqual(complaints, []);
  }
  const report = run(['report', '--strategy', 'momentum', '--db', join(dir, 'edgewatch.db')]);
  assert.equal(report.status, 0, report.stderr);
  assert.match(report.stdout, /# edgewatch report: momentum/);
  const history = run(['params', 'history', '--strategy', 'momentum', '--db', join(dir, 'edgewatch.db')]);
  assert.equal(history.stdout.trim().split('\n').length, 3);
  assert.equal(await stop(child), 0);
});
