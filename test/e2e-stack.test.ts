// `npm run stack` (scripts/stack.ts) as a user runs it: the compiled script starts the demo,
// the sidecar, Prometheus and Alertmanager on the given ports, Prometheus scrapes both
// targets and knows the Alertmanager, a notification reaches the local sink and is printed,
// and SIGINT stops every process it started. Without the binaries it says how to install them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from '../scripts/lib/processes.js';
import { requireBinary } from './support/binaries.js';
import { freePort } from './support/ports.js';
import { until } from './support/stack.js';

const STACK = path.join(ROOT, 'dist', 'scripts', 'stack.js');
const prometheusBin = requireBinary('prometheus');
const alertmanagerBin = requireBinary('prometheus-alertmanager');
const skip = prometheusBin.skip ?? alertmanagerBin.skip;

/** The environment without EDGEWATCH_* (a developer's real Discord URL must not be used here). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EDGEWATCH_')));
  return { ...env, ...extra };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('npm run stack without Prometheus names the missing program and the install command, and starts nothing', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'edgewatch-stack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [STACK, '--data-dir', path.join(dir, 'data')], {
    env: cleanEnv({ EDGEWATCH_PROMETHEUS_BIN: path.join(dir, 'no-such-prometheus') }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 1, out);
  assert.match(out, /not found on PATH: .*no-such-prometheus/);
  assert.ok(out.includes('apt-get install -y prometheus prometheus-alertmanager'), out);
  assert.ok(!existsSync(path.join(dir, 'data')), 'the data folder was created although nothing could start');
});

test('npm run stack --fresh refuses to delete a data folder holding files it did not make', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'edgewatch-stack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'thesis.tex'), 'years of work');
  writeFileSync(path.join(dir, 'edgewatch.db'), '');
  const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      STACK,
      '--fresh',
      '--data-dir',
      dir,
      '--prometheus-port',
      `${ports[0]}`,
      '--alertmanager-port',
      `${ports[1]}`,
      '--bot-port',
      `${ports[2]}`,
      '--sidecar-port',
      `${ports[3]}`,
    ],
    // Any executable passes the binary check; nothing may get as far as starting one.
    {
      env: cleanEnv({ EDGEWATCH_PROMETHEUS_BIN: '/bin/false', EDGEWATCH_ALERTMANAGER_BIN: '/bin/false' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  assert.equal(await new Promise<number | null>((resolve) => child.on('exit', resolve)), 1, out);
  assert.match(out, /--fresh: .* holds files the stack did not make \(thesis\.tex\)/);
  assert.deepEqual(readdirSync(dir).sort(), ['edgewatch.db', 'thesis.tex']);
});

test('npm run stack with a port taken: one line naming the port and the flag, nothing started', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'edgewatch-stack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const held = createServer();
  await new Promise<void>((r) => held.listen(0, '127.0.0.1', r));
  t.after(() => held.close());
  const taken = (held.address() as { port: number }).port;
  const ports = { prometheus: await freePort(), alertmanager: await freePort(), bot: await freePort(), sidecar: taken };
  const args = [
    STACK,
    '--data-dir',
    path.join(dir, 'data'),
    ...Object.entries(ports).flatMap(([name, port]) => [`--${name}-port`, String(port)]),
  ];
  const child = spawn(process.execPath, args, {
    env: cleanEnv({ EDGEWATCH_PROMETHEUS_BIN: '/bin/false', EDGEWATCH_ALERTMANAGER_BIN: '/bin/false' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  assert.equal(await new Promise<number | null>((resolve) => child.on('exit', resolve)), 1, `${out}${err}`);
  assert.equal(out, '');
  assert.equal(
    err,
    `edgewatch stack: port ${taken} (sidecar) is in use: pass --sidecar-port <port> (or EDGEWATCH_PORT), or stop the program that holds it\n`,
  );
  assert.ok(!existsSync(path.join(dir, 'data')));
});

test(
  'npm run stack: a part that fails to start stops the ones already running, with one line naming the part and its cause',
  { timeout: 120_000 },
  async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'edgewatch-stack-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const ports = {
      prometheus: await freePort(),
      alertmanager: await freePort(),
      bot: await freePort(),
      sidecar: await freePort(),
    };
    const args = [
      STACK,
      '--data-dir',
      dir,
      ...Object.entries(ports).flatMap(([name, port]) => [`--${name}-port`, String(port)]),
    ];
    // The demo starts; the sidecar then refuses its thresholds. Any executable passes the
    // binary check: nothing gets as far as Prometheus.
    const env = cleanEnv({
      EDGEWATCH_PROMETHEUS_BIN: '/bin/false',
      EDGEWATCH_ALERTMANAGER_BIN: '/bin/false',
      EDGEWATCH_THRESHOLDS: '{"defaults":{"max_drawdwn":5}}',
    });
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.exitCode === null && child.kill('SIGKILL'));
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    assert.equal(await new Promise<number | null>((resolve) => child.on('exit', resolve)), 1, `${out}${err}`);
    assert.match(out, /demo bot \(back-fills 8 days on a new ledger\) \.\.\. ready\nsidecar \.\.\. failed/);
    assert.doesNotMatch(out, /is running/);
    const lines = err.trim().split('\n');
    assert.equal(lines.length, 1, err);
    assert.match(
      lines[0],
      /^edgewatch stack: sidecar did not start: edgewatch: EDGEWATCH_THRESHOLDS.*did you mean "max_drawdown".*\(its output: .*sidecar\.log\)$/,
    );
    // The demo that had started is stopped: its port is free again.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(ports.bot, '127.0.0.1', resolve));
    probe.close();
  },
);

test(
  'npm run stack --degrade starts demo, sidecar, Prometheus and Alertmanager on loopback, says the signal would undo the degrade, prints notifications from the local sink, and SIGINT stops all four',
  { skip, timeout: 180_000 },
  async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'edgewatch-stack-'));
    const ports = {
      prometheus: await freePort(),
      alertmanager: await freePort(),
      bot: await freePort(),
      sidecar: await freePort(),
    };
    const args = [
      STACK,
      '--fast',
      '--degrade',
      '--data-dir',
      dir,
      ...Object.entries(ports).flatMap(([name, port]) => [`--${name}-port`, String(port)]),
    ];
    const child = spawn(process.execPath, args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    let pids: number[] = [];
    t.after(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
    const context = () => `stack output:\n${out}`;

    // The demo back-fills 8 days on a new ledger first: the slow part.
    await until(
      'the stack to report it is running',
      () => (/edgewatch stack is running/.test(out) ? true : undefined),
      context,
      150_000,
    );
    const processes = /processes {5}(.*)/.exec(out)?.[1] ?? '';
    pids = [...processes.matchAll(/(\w+) (\d+)/g)].map((m) => Number(m[2]));
    assert.deepEqual(
      [...processes.matchAll(/(\w+) \d+/g)].map((m) => m[1]),
      ['demo', 'sidecar', 'alertmanager', 'prometheus'],
      out,
    );
    for (const [name, port] of Object.entries(ports))
      assert.ok(out.includes(`http://127.0.0.1:${port}`), `${name} URL not printed:\n${out}`);
    assert.match(out, /receivers {5}local sink/);
    assert.match(out, /kill -USR2 \d+/);
    // Degraded already: the same signal would undo it, and the banner says so.
    assert.match(out, /The demo is degraded \(--degrade\)\. Undo: kill -USR2 \d+/);
    assert.doesNotMatch(out, /Degrade the demo: kill -USR2/);
    assert.match(
      out,
      new RegExp(
        `Inspect: npx edgewatch report --strategy momentum --db ${path.join(dir, 'edgewatch.db').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
      ),
    );

    // Rendered from the committed files: loopback targets, --fast's 5s interval, the Alertmanager
    // copy private (it may hold a Discord URL).
    const promYml = readFileSync(path.join(dir, 'prometheus.yml'), 'utf8');
    assert.ok(promYml.includes(`targets: ['127.0.0.1:${ports.bot}']`), promYml);
    assert.match(promYml, /scrape_interval: 5s/);
    assert.match(
      readFileSync(path.join(dir, 'rules', 'alerts.yml'), 'utf8'),
      /TradingPnlPerTradeDrift[\s\S]*?for: 1m\n/,
    );
    assert.equal(statSync(path.join(dir, 'alertmanager.yml')).mode & 0o777, 0o600);

    // Prometheus scrapes the bot and the sidecar and sends to this Alertmanager.
    const prom = `http://127.0.0.1:${ports.prometheus}`;
    await until(
      'both targets up',
      async () => {
        const body = (await (
          await fetch(
            `${prom}/api/v1/query?query=${encodeURIComponent('up{job=~"trading-bot|edgewatch-sidecar"} == 1')}`,
          )
        ).json()) as { data: { result: unknown[] } };
        return body.data.result.length === 2 ? true : undefined;
      },
      context,
      30_000,
    );
    const managers = (await (await fetch(`${prom}/api/v1/alertmanagers`)).json()) as {
      data: { activeAlertmanagers: Array<{ url: string }> };
    };
    assert.deepEqual(
      managers.data.activeAlertmanagers.map((a) => a.url),
      [`http://127.0.0.1:${ports.alertmanager}/api/v2/alerts`],
    );

    // An alert posted to Alertmanager goes the shipped warning route to "Discord", which is the
    // local sink here, and the stack prints it.
    const post = await fetch(`http://127.0.0.1:${ports.alertmanager}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          labels: { alertname: 'StackSmokeTest', severity: 'warning', strategy: 'momentum', bot: 'demo' },
          annotations: { summary: 'smoke test of the local sink' },
        },
      ]),
    });
    assert.equal(post.status, 200);
    await until(
      'the printed notification',
      () => (/\[notification\] \S+ discord: \[FIRING:1\] StackSmokeTest · momentum/.test(out) ? true : undefined),
      context,
      30_000,
    );

    // Ctrl-C: everything it started stops, and it says so.
    child.kill('SIGINT');
    assert.equal(await exited, 0, context());
    assert.match(out, /stopped\.\n$/);
    await until(
      'every child process gone',
      () => (pids.every((pid) => !alive(pid)) ? true : undefined),
      context,
      5_000,
    );
  },
);
