// The front door under ordinary mistakes, through the real CLI (a spawned dist/src/cli/main.js,
// real ports held by real listening servers): `start` starts all its parts or none, bad
// settings and taken ports are one line with the fix, and every command follows the
// convention of docs/cli.md (one line `edgewatch: <what>: <fix>`, exit 0/1/2, --json).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ledger } from '../src/ledger/ledger.js';
import { freePort, waitFor } from './support/ports.js';
import { tempDir } from './support/tmp.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

function run(args: string[], env: Record<string, string> = {}, cwd?: string) {
  return spawnSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    cwd,
    env: { ...process.env, EDGEWATCH_LOG_FORMAT: 'json', ...env },
    timeout: 60_000,
  });
}

/** One line on stderr, in the convention's form. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${stderr}`);
  assert.match(lines[0], /^edgewatch: /);
  return lines[0];
}

/** A port held by a listening server, as another program would hold it. */
async function holdPort(t: test.TestContext): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  return (server.address() as { port: number }).port;
}

/** A small ledger: two strategies, a deploy each, and an experiment whose candidate was never deployed. */
function seed(t: test.TestContext): string {
  const db = join(tempDir(t), 'edgewatch.db');
  const l = Ledger.open(db);
  const t0 = Date.now() - 3600_000;
  l.deployParams('momentum', { lookback: 20 }, { source: 'test', note: 'first' }, t0);
  l.deployParams('meanrev', { band: 2 }, {}, t0);
  l.startExperiment(
    'momentum',
    'lookback-25',
    { control: { lookback: 20 }, candidate: { lookback: 25 } },
    { control: 0.5, candidate: 0.5 },
    t0 + 1000,
  );
  l.close();
  return db;
}

// ---- start: all parts or none ----

test('npm start with the sidecar port taken: one line naming the port and --port / EDGEWATCH_PORT, exit 1, no banner, nothing written', async (t) => {
  const dir = tempDir(t);
  const [taken, botPort] = [await holdPort(t), await freePort()];
  const r = run(['start', '--db', join(dir, 'data', 'edgewatch.db')], {
    EDGEWATCH_PORT: String(taken),
    EDGEWATCH_BOT_PORT: String(botPort),
  });
  assert.equal(r.status, 1, r.stderr);
  const line = oneLine(r.stderr);
  assert.match(line, new RegExp(`port ${taken} \\(sidecar\\).*in use.*--port.*EDGEWATCH_PORT`));
  assert.doesNotMatch(r.stdout, /running/);
  // Checked before the demo's back-fill: no week of trades for a start that failed.
  assert.equal(existsSync(join(dir, 'data', 'edgewatch.db')), false);
});

test('npm start with the bot port taken: one line naming the port and --bot-port / EDGEWATCH_BOT_PORT, exit 1, no banner', async (t) => {
  const dir = tempDir(t);
  const [taken, port] = [await holdPort(t), await freePort()];
  const r = run(['start', '--db', join(dir, 'edgewatch.db')], {
    EDGEWATCH_PORT: String(port),
    EDGEWATCH_BOT_PORT: String(taken),
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    oneLine(r.stderr),
    new RegExp(`port ${taken} \\(demo bot metrics\\).*in use.*--bot-port.*EDGEWATCH_BOT_PORT`),
  );
  assert.doesNotMatch(r.stdout, /running/);
  // The sidecar did not start either: its port is still free.
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(port, '127.0.0.1', resolve));
  probe.close();
});

test('npm start on a read-only data folder: one line naming the ledger, exit 1, no banner', async (t) => {
  const ro = mkdtempSync(join(tmpdir(), 'edgewatch-ro-'));
  // One hook, in order: unmount (or make writable), then delete.
  let undo = () => chmodSync(ro, 0o755);
  t.after(() => {
    undo();
    rmSync(ro, { recursive: true, force: true });
  });
  if (process.getuid?.() === 0) {
    // root writes through permissions: a read-only mount is the honest equivalent.
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro], { encoding: 'utf8' });
    if (m.status !== 0) return t.skip(`running as root, and no read-only tmpfs: ${m.stderr.trim()}`);
    undo = () => void spawnSync('umount', ['-l', ro]);
  } else {
    chmodSync(ro, 0o555);
  }
  const r = run(['start', '--db', join(ro, 'edgewatch.db')], {
    EDGEWATCH_PORT: String(await freePort()),
    EDGEWATCH_BOT_PORT: String(await freePort()),
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(oneLine(r.stderr), /cannot open ledger .*edgewatch-ro-.*edgewatch\.db.*--db/);
  assert.doesNotMatch(r.stdout, /running/);
});

test("a second sidecar on the same ledger refuses to start and names the first; a dead one's lock is taken over", async (t) => {
  const db = join(tempDir(t), 'edgewatch.db');
  const port = await freePort();
  const first = spawn(process.execPath, [MAIN, 'sidecar', '--db', db, '--port', String(port)], {
    env: { ...process.env, EDGEWATCH_LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  t.after(() => first.kill('SIGKILL'));
  await waitFor(`http://127.0.0.1:${port}/readyz`);
  const second = run(['sidecar', '--db', db, '--port', String(await freePort())]);
  assert.equal(second.status, 1, second.stderr);
  assert.match(
    oneLine(second.stderr),
    new RegExp(`another sidecar \\(pid ${first.pid}, http://127.0.0.1:${port}\\) already serves`),
  );
  // kill -9 leaves the lock behind; its process is gone, so the next sidecar takes it over.
  const gone = new Promise((r) => first.once('exit', r));
  first.kill('SIGKILL');
  await gone;
  assert.ok(existsSync(`${db}.sidecar`));
  const port3 = await freePort();
  const third = spawn(process.execPath, [MAIN, 'sidecar', '--db', db, '--port', String(port3)], {
    env: { ...process.env, EDGEWATCH_LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  t.after(() => third.kill('SIGKILL'));
  await waitFor(`http://127.0.0.1:${port3}/readyz`);
  const exited = new Promise<number | null>((r) => third.once('exit', (code) => r(code)));
  third.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.equal(existsSync(`${db}.sidecar`), false, 'a clean stop removes the lock');
});

test('the sidecar creates a ledger folder that does not exist yet, like start and the SDK', async (t) => {
  const db = join(tempDir(t), 'new', 'folder', 'edgewatch.db');
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, 'sidecar', '--db', db, '--port', String(port)], {
    env: { ...process.env, EDGEWATCH_LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  t.after(() => child.kill('SIGKILL'));
  await waitFor(`http://127.0.0.1:${port}/readyz`);
  assert.ok(existsSync(db));
});

// ---- configuration ----

for (const [variable, value, allowed] of [
  ['EDGEWATCH_LOG_LEVEL', 'loud', /fatal, error, warn, info, debug, trace, silent/],
  ['EDGEWATCH_LOG_FORMAT', 'bogus', /json or pretty/],
] as const) {
  for (const command of ['start', 'sidecar', 'demo']) {
    test(`${variable}=${value} stops \`edgewatch ${command}\` with one line naming the variable and the allowed values (exit 2)`, (t) => {
      const r = run([command, '--db', join(tempDir(t), 'l.db')], { [variable]: value });
      assert.equal(r.status, 2, r.stderr);
      const line = oneLine(r.stderr);
      assert.match(line, new RegExp(variable));
      assert.match(line, allowed);
    });
  }
}

test('EDGEWATCH_LOG_FORMAT=pretty is honoured off a terminal', async (t) => {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, 'sidecar', '--db', join(tempDir(t), 'l.db'), '--port', String(port)], {
    env: { ...process.env, EDGEWATCH_LOG_FORMAT: 'pretty' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await waitFor(`http://127.0.0.1:${port}/readyz`);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  assert.match(out, /INFO \(edgewatch-sidecar\): sidecar ready/);
  assert.doesNotMatch(out, /^\{"level"/m);
});

test('demo --seed x names --seed, the flag that was typed', (t) => {
  const r = run(['demo', '--seed', 'x', '--db', join(tempDir(t), 'l.db')]);
  assert.equal(r.status, 2);
  assert.match(oneLine(r.stderr), /--seed must be an integer .*got "x"/);
  assert.doesNotMatch(r.stderr, /--demo-seed/);
});

// ---- the convention of every command ----

test('an unknown option names the closest one (exit 2)', (t) => {
  const r = run(['report', '--stratgy', 'momentum', '--db', seed(t)]);
  assert.equal(r.status, 2);
  assert.match(oneLine(r.stderr), /unknown option '--stratgy': did you mean --strategy\?/);
});

for (const args of [
  ['params', 'history'],
  ['params', 'show', 'v1'],
  ['params', 'diff', 'v1', 'v2'],
  ['report'],
  ['experiments', 'list'],
  ['experiments', 'show', 'lookback-25'],
  ['experiments', 'stop', 'lookback-25'],
]) {
  test(`an unknown strategy in \`${args.join(' ')}\` lists the known ones (exit 2)`, (t) => {
    const r = run([...args, '--strategy', 'nosuch', '--db', seed(t)]);
    assert.equal(r.status, 2, r.stdout);
    assert.match(oneLine(r.stderr), /no strategy "nosuch" .*known: (momentum, meanrev|meanrev, momentum)/);
  });
}

for (const args of [
  ['params', 'history', '--strategy', 'momentum'],
  ['params', 'show', 'v1', '--strategy', 'momentum'],
  ['params', 'diff', 'v1', 'v2', '--strategy', 'momentum'],
  ['report', '--strategy', 'momentum'],
  ['experiments', 'list'],
  ['experiments', 'show', 'lookback-25'],
]) {
  test(`\`${args.join(' ')} --json\` prints JSON (exit 0)`, (t) => {
    const r = run([...args, '--json', '--db', seed(t)]);
    assert.equal(r.status, 0, r.stderr);
    JSON.parse(r.stdout);
  });
}

test('every option of every command has help text', () => {
  const commands = [
    ['demo'],
    ['sidecar'],
    ['start'],
    ['params', 'history'],
    ['params', 'show'],
    ['params', 'diff'],
    ['experiments', 'list'],
    ['experiments', 'show'],
    ['experiments', 'stop'],
    ['report'],
  ];
  for (const c of commands) {
    const r = run([...c, '--help']);
    assert.equal(r.status, 0, `${c.join(' ')}: ${r.stderr}`);
    const options = r.stdout
      .split('Options:\n')[1]
      .split('\n')
      .filter((l) => /^ {2}-/.test(l));
    assert.ok(options.length > 1, c.join(' '));
    for (const line of options) assert.match(line, /^ {2}\S.*\S {2,}\S/, `${c.join(' ')}: no help text in "${line}"`);
  }
});

test("params history lists deploys and, apart, the versions never deployed (an experiment's candidate)", (t) => {
  const r = run(['params', 'history', '--strategy', 'momentum', '--db', seed(t)]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /v1 .*test +first/);
  assert.match(r.stdout, /never deployed:\n {2}v2 .*variant candidate of experiment lookback-25/);
  const json = JSON.parse(run(['params', 'history', '--strategy', 'momentum', '--json', '--db', seed(t)]).stdout);
  assert.deepEqual(
    json.neverDeployed.map((v: { version: string }) => v.version),
    ['v2'],
  );
});

test('experiments stop ends a running experiment with its winner, as the runbook says; a wrong winner or a second stop is refused', (t) => {
  const db = seed(t);
  const wrong = run([
    'experiments',
    'stop',
    'lookback-25',
    '--strategy',
    'momentum',
    '--winner',
    'candidat',
    '--db',
    db,
  ]);
  assert.equal(wrong.status, 2);
  assert.match(oneLine(wrong.stderr), /--winner "candidat" .*variants: control, candidate/);
  const r = run(['experiments', 'stop', 'lookback-25', '--strategy', 'momentum', '--winner', 'candidate', '--db', db]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /stopped experiment lookback-25 of momentum; winner candidate \(v2\)/);
  const l = Ledger.open(db, { readonly: true });
  const e = l.getExperiment('momentum', 'lookback-25');
  l.close();
  assert.equal(e?.winner, 'candidate');
  assert.notEqual(e?.stoppedMs, null);
  const again = run(['experiments', 'stop', 'lookback-25', '--db', db]);
  assert.equal(again.status, 2);
  assert.match(oneLine(again.stderr), /no running experiment "lookback-25"/);
  const listed = JSON.parse(run(['experiments', 'list', '--json', '--db', db]).stdout);
  assert.deepEqual(
    listed.map((x: { running: boolean; winner: string }) => [x.running, x.winner]),
    [[false, 'candidate']],
  );
});

test("with no ledger where the CLI looks, it says where it looked and points at the stack's ledger when there is one", (t) => {
  const cwd = tempDir(t);
  mkdirSync(join(cwd, 'data', 'stack'), { recursive: true });
  Ledger.open(join(cwd, 'data', 'stack', 'edgewatch.db')).close();
  const env = { ...process.env, EDGEWATCH_LOG_FORMAT: 'json' } as Record<string, string>;
  delete env.EDGEWATCH_DB;
  const r = spawnSync(process.execPath, [MAIN, 'experiments', 'list'], { cwd, env, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(
    oneLine(r.stderr),
    /no ledger at .*data\/edgewatch\.db: pass --db <path> or set EDGEWATCH_DB \(npm run stack writes \.\/data\/stack\/edgewatch\.db/,
  );
  assert.deepEqual(readdirSync(join(cwd, 'data')), ['stack'], 'a read does not create a ledger');
});
