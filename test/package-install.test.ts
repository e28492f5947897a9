// edgewatch as a new user gets it: packed (`npm pack`, exactly the files package.json ships),
// installed into an empty project, the README's SDK snippet run there as written (ending
// after a few iterations), and the CLI run as the README says, `npx edgewatch`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { ROOT } from '../scripts/lib/processes.js';
import { Ledger } from '../src/ledger/ledger.js';

/** The README's "Instrumenting a bot" snippet, made to end: three iterations, then close. */
function readmeSnippet(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Instrumenting a bot'));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  assert.ok(code?.includes("from 'edgewatch'"), 'the README has an SDK snippet importing edgewatch');
  const adapted = code
    .replace('for (;;) {', 'for (let i = 0; i < 3; i++) {')
    // Any free port: a developer's own demo may hold 9464.
    .replace('ew.serve({ port: 9464 })', 'ew.serve({ port: 0 })');
  assert.notEqual(adapted, code);
  return [
    // What the snippet leaves to the reader: a strategy that fills, and a balance.
    'let n = 0;',
    "const tradeOnce = async () => ({ id: `fill-${++n}`, symbol: 'BTC-USD', side: 'long', netPnl: 1.5, fees: 0.1, notional: 100 });",
    'const balance = async () => 10_000;',
    adapted,
    'await ew.close();',
    "console.log('snippet done');",
  ].join('\n');
}

function sh(cmd: string, args: string[], cwd: string, timeout = 120_000) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  return { ...r, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

test(
  "installed from a packed clone into a fresh project, the README's SDK snippet runs as written and npx edgewatch answers",
  { timeout: 180_000 },
  async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'edgewatch-install-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // --ignore-scripts: `npm test` has just built dist/, and a `prepare` rebuilding it here
    // would rewrite files other tests are reading.
    const pack = sh('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, '--silent'], ROOT);
    assert.equal(pack.status, 0, pack.out);
    const tarball = path.join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz')) as string);

    const project = path.join(dir, 'bot');
    mkdirSync(project);
    writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'bot', version: '1.0.0', private: true, type: 'module' }),
    );
    // --ignore-scripts and the driver copied from this checkout: compiling better-sqlite3 takes
    // about two minutes (see the README) and proves nothing about edgewatch's package. The copy
    // is the same version built for this same Node.js.
    const install = sh(
      'npm',
      ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'],
      project,
      150_000,
    );
    if (install.status !== 0 && /ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|offline/.test(install.out))
      return t.skip(
        `npm could not reach the registry or its cache for edgewatch's dependencies: ${install.out.split('\n')[0]}`,
      );
    assert.equal(install.status, 0, install.out);
    const driver = path.join(project, 'node_modules', 'better-sqlite3');
    const ours = JSON.parse(
      readFileSync(path.join(ROOT, 'node_modules', 'better-sqlite3', 'package.json'), 'utf8'),
    ).version;
    assert.equal(
      JSON.parse(readFileSync(path.join(driver, 'package.json'), 'utf8')).version,
      ours,
      "the lock's better-sqlite3",
    );
    cpSync(path.join(ROOT, 'node_modules', 'better-sqlite3', 'build'), path.join(driver, 'build'), { recursive: true });

    // The snippet on a fresh project: no ./data folder yet.
    assert.equal(existsSync(path.join(project, 'data')), false);
    writeFileSync(path.join(project, 'bot.mjs'), readmeSnippet());
    const bot = sh(process.execPath, ['bot.mjs'], project, 60_000);
    assert.equal(bot.status, 0, bot.out);
    assert.match(bot.stdout, /snippet done/);
    const ledger = Ledger.open(path.join(project, 'data', 'edgewatch.db'), { readonly: true });
    try {
      assert.equal(ledger.deploys('momentum').length, 1);
      assert.equal(ledger.tradesAfter(0).length, 3);
    } finally {
      ledger.close();
    }

    // The README's CLI line, as typed in that project.
    const cli = sh(
      'npx',
      ['--no-install', 'edgewatch', 'params', 'history', '--strategy', 'momentum'],
      project,
      60_000,
    );
    assert.equal(cli.status, 0, cli.out);
    assert.match(cli.stdout, /v1 .*deploy/);
  },
);
