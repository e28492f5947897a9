// The alerting configuration, checked with the real programs: promtool (config, rules, the
// rule unit tests in prometheus/tests), amtool (config, routing) and a running
// Alertmanager 0.25 (inhibition, the notifications its templates produce).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBinary, requireBinary } from './support/binaries.js';
import { startSmtpSink, startWebhookSink } from '../scripts/lib/sinks.js';
import { PROMETHEUS_CONFIG_PATH, PROMETHEUS_DIR, renderPrometheusConfig } from '../prometheus/render.js';
import {
  ALERTMANAGER_ENTRYPOINT_PATH,
  ALERTMANAGER_TEMPLATE_PATH,
  alertmanagerPlaceholders,
  renderAlertmanagerConfig,
} from '../alertmanager/render.js';
import { freePort } from './support/ports.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const promtool = requireBinary('promtool');
const amtool = requireBinary('amtool');
const alertmanager = requireBinary('prometheus-alertmanager');

interface Run {
  code: number;
  /** The command line, stdout and stderr: what a failing assertion shows. */
  out: string;
  stdout: string;
}

/** Runs a program; never throws, so a failing assertion can show the program's own output. */
function run(bin: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      bin,
      args,
      { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, out: `$ ${bin} ${args.join(' ')}\n${stdout}${stderr}`, stdout });
      },
    );
  });
}

function assertOk(result: Run): void {
  assert.equal(result.code, 0, result.out);
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edgewatch-alerting-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function read(rel: string): string {
  return readFileSync(path.join(ROOT, rel), 'utf8');
}

/** Alert rules as written in prometheus/rules/alerts.yml, one text block per alert. */
function alertBlocks(): Map<string, string> {
  const text = read('prometheus/rules/alerts.yml');
  const blocks = new Map<string, string>();
  const parts = text.split(/^ {6}- alert: /m).slice(1);
  for (const part of parts) {
    const name = part.slice(0, part.indexOf('\n')).trim();
    blocks.set(name, part.split(/^ {6}#/m)[0]);
  }
  return blocks;
}

// Test values for the Alertmanager variables: nothing here is a real address.
function alertmanagerEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    EDGEWATCH_DISCORD_WEBHOOK_URL: 'https://discord.example.invalid/api/webhooks/1/token',
    EDGEWATCH_EMAIL_TO: 'oncall@example.invalid',
    EDGEWATCH_SMTP_SMARTHOST: 'smtp.example.invalid:587',
    EDGEWATCH_SMTP_FROM: 'edgewatch@example.invalid',
    EDGEWATCH_WATCHDOG_URL: 'https://deadman.example.invalid/ping/edgewatch',
    ...overrides,
  };
}

// ---------------------------------------------------------------- Prometheus

test(
  'promtool check config accepts the committed prometheus.yml and its rule files',
  { skip: promtool.skip },
  async () => {
    assertOk(await run(promtool.path!, ['check', 'config', PROMETHEUS_CONFIG_PATH]));
  },
);

test(
  'the loopback copy from renderPrometheusConfig targets only loopback and passes promtool check config',
  { skip: promtool.skip },
  async (t) => {
    const dir = tempDir(t);
    const text = renderPrometheusConfig({
      bot: '127.0.0.1:19464',
      sidecar: '127.0.0.1:19465',
      alertmanager: '127.0.0.1:19093',
      prometheus: '127.0.0.1:19090',
      scrapeInterval: '1s',
      evaluationInterval: '1s',
    });
    for (const host of ['bot:9464', 'sidecar:9465', 'alertmanager:9093', 'localhost:9090']) {
      assert.ok(!text.includes(host), `rendered config still names ${host}`);
    }
    assert.match(text, /targets: \['127\.0\.0\.1:19464'\]/);
    assert.match(text, /scrape_interval: 1s/);
    // Rendered into a temp dir: the rule files must still be found.
    assert.ok(text.includes(`'${path.join(PROMETHEUS_DIR, 'rules')}/alerts.yml'`), text);
    const file = path.join(dir, 'prometheus.yml');
    writeFileSync(file, text);
    const result = await run(promtool.path!, ['check', 'config', file], { cwd: dir });
    assertOk(result);
    assert.match(result.out, /3 rule files found/);
  },
);

test('renderPrometheusConfig refuses a value that would break out of its YAML string', () => {
  assert.throws(
    () => renderPrometheusConfig({ bot: "x'y:1", sidecar: '127.0.0.1:2', alertmanager: '127.0.0.1:3' }),
    /bot must not contain a quote/,
  );
});

test(
  'promtool check rules accepts the recording, alerting and daily report rules',
  { skip: promtool.skip },
  async () => {
    const result = await run(promtool.path!, [
      'check',
      'rules',
      'prometheus/rules/recording.yml',
      'prometheus/rules/alerts.yml',
      'prometheus/rules/daily.yml',
    ]);
    assertOk(result);
    assert.doesNotMatch(result.out, /FAILED/);
  },
);

test('every promtool unit test of the alerts passes (prometheus/tests)', { skip: promtool.skip }, async (t) => {
  const files = readdirSync(path.join(PROMETHEUS_DIR, 'tests'))
    .filter((f) => f.endsWith('.yml'))
    .map((f) => path.join('prometheus', 'tests', f));
  assert.ok(files.length >= 4, `expected the unit test files, found ${files.join(', ')}`);
  // One promtool per file, each with the whole time limit: one file's failure names it, and a
  // loaded machine does not time out the sum of all of them.
  for (const file of files)
    await t.test(file, async () => {
      const result = await run(promtool.path!, ['test', 'rules', file]);
      assertOk(result);
      assert.doesNotMatch(result.out, /FAILED/);
    });
});

test('every alert has a severity, summary, description, runbook section, dashboard and tests that show it firing and quiet', () => {
  const alerts = alertBlocks();
  const expected = [
    'TradingBotDown',
    'EdgewatchSidecarDown',
    'TradingBotRestarting',
    'TradingLoopStalled',
    'TradingNoRecentTrades',
    'TradingWinRatioDrift',
    'TradingPnlPerTradeDrift',
    'TradingPnlPerTradeCusum',
    'TradingLiveBelowExpectation',
    'TradingDrawdownHigh',
    'TradingParamVersionRegression',
    'TradingOrderErrorsHigh',
    'TradingExperimentDecided',
    'EdgewatchIngestRejects',
    'Watchdog',
  ];
  assert.deepEqual([...alerts.keys()].sort(), [...expected].sort());
  const runbook = read('docs/runbook.md');
  const anchors = new Set(
    [...runbook.matchAll(/^#{2,3} (.+)$/gm)].map((m) =>
      m[1]
        .trim()
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, '')
        .replace(/ /g, '-'),
    ),
  );
  const tests = readdirSync(path.join(PROMETHEUS_DIR, 'tests'))
    .map((f) => read(path.join('prometheus', 'tests', f)))
    .join('\n');
  for (const [name, block] of alerts) {
    assert.match(block, /\n\s+severity: (critical|warning|info)\n/, `${name}: severity`);
    for (const key of ['summary', 'description', 'action', 'runbook_url', 'dashboard']) {
      assert.match(block, new RegExp(`\\n\\s+${key}: `), `${name}: annotation ${key}`);
    }
    // The notification's "what to do" is the runbook's own first sentence of "Act.", so the two cannot drift apart.
    const action = /\n\s+action: "([^"]+)"\n/.exec(block)?.[1];
    const section = runbook.split(/^## /m).find((x) => x.startsWith(`${name}\n`)) ?? '';
    const act = (/\*\*Act\.\*\* ([\s\S]*?)(\n\n|$)/.exec(section)?.[1] ?? '').replace(/\s+/g, ' ');
    assert.ok(
      action && act.startsWith(action),
      `${name}: action "${action}" must open the runbook's Act: "${act.slice(0, 120)}"`,
    );
    // No Grafana configured (edgewatch_grafana unset): the dashboard annotation is empty, not a dead link.
    assert.match(
      block,
      /dashboard: '\{\{ with \$externalLabels\.edgewatch_grafana \}\}\{\{ \. \}\}\/d\/[^']*\{\{ end \}\}'/,
      `${name}: dashboard only with edgewatch_grafana`,
    );
    const anchor = block.match(/runbook_url: '\{\{ \$externalLabels\.edgewatch_runbook \}\}#([a-z0-9-]+)'/);
    assert.ok(anchor, `${name}: runbook_url must be {{ $externalLabels.edgewatch_runbook }}#anchor`);
    assert.ok(anchors.has(anchor[1]), `${name}: docs/runbook.md has no section #${anchor[1]}`);
    // Firing, with the exact labels and annotations of the notification.
    assert.match(
      tests,
      new RegExp(`exp_labels:\\n\\s+alertname: ${name}\\n[\\s\\S]*?exp_annotations:`),
      `${name}: no firing test`,
    );
    if (name !== 'Watchdog') {
      const quiet = new RegExp(
        `alertname: ${name}\\n\\s+exp_alerts: \\[\\]|ALERTS\\{alertname="${name}"[^}]*\\}(\\[\\w+\\]\\))?\\n\\s+eval_time: \\w+\\n\\s+exp_samples: \\[\\]`,
      );
      assert.match(tests, quiet, `${name}: no test showing it quiet`);
    }
    if (/keep_firing_for:/.test(block)) {
      assert.match(
        tests,
        new RegExp(
          `changes\\(ALERTS_FOR_STATE\\{alertname="${name}"|count_over_time\\(ALERTS\\{alertname="${name}",alertstate="firing"\\}`,
        ),
        `${name}: no hovering test`,
      );
    }
  }
});

test('rules compare against threshold names that docs/architecture.md documents, never threshold literals', () => {
  const rules = read('prometheus/rules/alerts.yml') + read('prometheus/rules/recording.yml');
  const documented = new Set([...read('docs/architecture.md').matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]));
  const used = new Set([...rules.matchAll(/edgewatch_threshold\{name="([a-z_]+)"\}/g)].map((m) => m[1]));
  assert.ok(used.size >= 9, `thresholds used: ${[...used].join(', ')}`);
  for (const name of used) assert.ok(documented.has(name), `threshold ${name} is not in docs/architecture.md`);
  // The documented defaults must not reappear as literals in comparisons.
  const expressions = [
    ...read('prometheus/rules/alerts.yml').matchAll(/expr: (?:\|\n)?([\s\S]*?)\n {8}(?:for|labels):/g),
  ].map((m) => m[1]);
  assert.equal(expressions.length, 15);
  for (const expr of expressions) {
    assert.doesNotMatch(
      expr,
      /[<>]=? *-?(3\.5|3|4|10|20|30|300|1000|0\.05|0\.01|5)\b(?!m)/,
      `a threshold literal in: ${expr}`,
    );
  }
});

// ---------------------------------------------------------------- Alertmanager

test('the rendered Alertmanager configuration passes amtool check-config', { skip: amtool.skip }, async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'alertmanager.yml');
  const text = renderAlertmanagerConfig(alertmanagerEnv());
  assert.doesNotMatch(
    text
      .split('\n')
      .filter((l) => !/^\s*#/.test(l))
      .join('\n'),
    /\$\{/,
    'a placeholder was left',
  );
  writeFileSync(file, text);
  const result = await run(amtool.path!, ['check-config', file]);
  assertOk(result);
  assert.match(result.out, /6 receivers/);
  assert.match(result.out, /4 inhibit rules/);
  assert.match(result.out, /1 templates/);
});

test('rendering without the required variables names every missing one', () => {
  assert.throws(
    () => renderAlertmanagerConfig({}),
    (error: Error) => {
      for (const name of [
        'EDGEWATCH_DISCORD_WEBHOOK_URL',
        'EDGEWATCH_EMAIL_TO',
        'EDGEWATCH_SMTP_SMARTHOST',
        'EDGEWATCH_SMTP_FROM',
        'EDGEWATCH_WATCHDOG_URL',
      ]) {
        assert.ok(error.message.includes(name), `${name} not named in: ${error.message}`);
      }
      assert.ok(!error.message.includes('EDGEWATCH_SMTP_USERNAME'), 'an optional variable was reported missing');
      return true;
    },
  );
  assert.throws(
    () => renderAlertmanagerConfig(alertmanagerEnv({ EDGEWATCH_EMAIL_TO: "o'brien@example.invalid" })),
    /EDGEWATCH_EMAIL_TO/,
  );
});

test('every Alertmanager variable is documented in the template header and in docs/runbook.md', () => {
  const template = readFileSync(ALERTMANAGER_TEMPLATE_PATH, 'utf8');
  const header = template
    .split('\n')
    .filter((l) => l.startsWith('#'))
    .join('\n');
  const runbook = read('docs/runbook.md');
  const names = alertmanagerPlaceholders().map((p) => p.name);
  assert.ok(names.length >= 8, names.join(', '));
  for (const name of names) {
    assert.ok(header.includes(name), `${name} is not documented at the top of the template`);
    assert.ok(runbook.includes(name), `${name} is not documented in docs/runbook.md`);
  }
});

// The container runs the official busybox image: when busybox is installed, run the
// entrypoint with busybox's sh and awk only, as there; otherwise with the system's sh.
function entrypointShell(dir: string): { sh: string; env: NodeJS.ProcessEnv } {
  const busybox = findBinary('busybox');
  if (!busybox) return { sh: 'sh', env: { PATH: process.env.PATH } };
  const bin = path.join(dir, 'busybox-bin');
  mkdirSync(bin);
  for (const applet of ['sh', 'awk', 'dirname', 'mv', 'rm', 'echo']) symlinkSync(busybox, path.join(bin, applet));
  return { sh: path.join(bin, 'sh'), env: { PATH: bin } };
}

test('entrypoint.sh renders exactly what render.ts renders, mode 600, and execs Alertmanager with its arguments', async (t) => {
  const dir = tempDir(t);
  const shell = entrypointShell(dir);
  const config = path.join(dir, 'alertmanager.yml');
  // Characters that a sed-based renderer would have mangled.
  const env = alertmanagerEnv({
    EDGEWATCH_DISCORD_WEBHOOK_URL: 'https://discord.example.invalid/api/webhooks/1/a&b|c\\d/e',
  });
  const result = await run(shell.sh, [ALERTMANAGER_ENTRYPOINT_PATH, '--storage.path=/alertmanager'], {
    env: {
      ...shell.env,
      ...env,
      EDGEWATCH_AM_TEMPLATE: ALERTMANAGER_TEMPLATE_PATH,
      EDGEWATCH_AM_CONFIG: config,
      ALERTMANAGER_BIN: 'echo',
    },
  });
  assertOk(result);
  assert.ok(result.out.includes(`--config.file=${config} --storage.path=/alertmanager`), result.out);
  assert.equal(readFileSync(config, 'utf8'), renderAlertmanagerConfig(env));
  assert.equal(statSync(config).mode & 0o777, 0o600);
});

test('entrypoint.sh stops naming every missing variable and leaves no config behind', async (t) => {
  const dir = tempDir(t);
  const shell = entrypointShell(dir);
  const config = path.join(dir, 'alertmanager.yml');
  const result = await run(shell.sh, [ALERTMANAGER_ENTRYPOINT_PATH], {
    env: {
      ...shell.env,
      EDGEWATCH_EMAIL_TO: 'x@example.invalid',
      EDGEWATCH_AM_TEMPLATE: ALERTMANAGER_TEMPLATE_PATH,
      EDGEWATCH_AM_CONFIG: config,
      ALERTMANAGER_BIN: 'echo',
    },
  });
  assert.notEqual(result.code, 0, result.out);
  for (const name of [
    'EDGEWATCH_DISCORD_WEBHOOK_URL',
    'EDGEWATCH_SMTP_SMARTHOST',
    'EDGEWATCH_SMTP_FROM',
    'EDGEWATCH_WATCHDOG_URL',
  ]) {
    assert.ok(result.out.includes(name), `${name} not named:\n${result.out}`);
  }
  assert.ok(!result.out.includes('EDGEWATCH_EMAIL_TO'), result.out);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('alertmanager.yml')),
    [],
  );
});

test(
  'amtool routes critical, warning, info, Watchdog and unlabelled alerts to their receivers',
  { skip: amtool.skip },
  async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'alertmanager.yml');
    writeFileSync(file, renderAlertmanagerConfig(alertmanagerEnv()));
    const cases: Array<[string, string[]]> = [
      ['critical', ['alertname=TradingBotDown', 'severity=critical', 'bot=demo']],
      ['critical', ['alertname=TradingDrawdownHigh', 'severity=critical', 'strategy=alpha']],
      ['discord', ['alertname=TradingWinRatioDrift', 'severity=warning', 'strategy=alpha']],
      ['digest', ['alertname=TradingExperimentDecided', 'severity=info', 'strategy=alpha']],
      ['watchdog', ['alertname=Watchdog', 'severity=info']],
      ['discord', ['alertname=SomethingElse']],
    ];
    for (const [receiver, labels] of cases) {
      const result = await run(amtool.path!, [
        'config',
        'routes',
        'test',
        `--config.file=${file}`,
        `--verify.receivers=${receiver}`,
        ...labels,
      ]);
      assertOk(result);
      assert.equal(result.stdout.trim(), receiver, result.out);
    }
  },
);

// ---------------------------------------------------------------- a running Alertmanager

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  context: () => string = () => '',
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}\n${context()}`);
}

test(
  'a running Alertmanager inhibits symptoms of a down bot and warnings under a critical, and its Discord and Watchdog notifications carry what an operator needs',
  { skip: alertmanager.skip, timeout: 60_000 },
  async (t) => {
    const dir = tempDir(t);
    const sink = await startWebhookSink();
    const smtp = await startSmtpSink();
    t.after(() => Promise.all([sink.close(), smtp.close()]).then(() => undefined));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    let text = renderAlertmanagerConfig(
      alertmanagerEnv({
        EDGEWATCH_DISCORD_WEBHOOK_URL: `http://127.0.0.1:${sink.port}/discord`,
        EDGEWATCH_WATCHDOG_URL: `http://127.0.0.1:${sink.port}/watchdog`,
        EDGEWATCH_SMTP_SMARTHOST: `127.0.0.1:${smtp.port}`,
        EDGEWATCH_SMTP_REQUIRE_TLS: 'false',
      }),
    );
    // The test only shortens the waits; routing, grouping and inhibition are as shipped.
    text = text.replace(/group_wait: \w+/g, 'group_wait: 1s');
    const file = path.join(dir, 'alertmanager.yml');
    writeFileSync(file, text);
    const child: ChildProcess = spawn(
      alertmanager.path!,
      [
        `--config.file=${file}`,
        `--storage.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        `--web.external-url=${base}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGTERM');
    });
    // What a failing wait shows: the notifications received so far and Alertmanager's log.
    const context = () =>
      `discord/webhook: ${JSON.stringify(sink.received)}\nmails: ${JSON.stringify(smtp.received.map((m) => m.body))}\nalertmanager log:\n${log}`;
    await waitFor(
      'Alertmanager to be ready',
      async () => ((await fetch(`${base}/-/ready`)).ok ? true : undefined),
      context,
    );

    // The actions as the rules write them; the drawdown alert as a stack without Grafana sends
    // it: an empty dashboard and the runbook served by the sidecar.
    const actions = new Map(
      [...read('prometheus/rules/alerts.yml').matchAll(/- alert: (\w+)\n[\s\S]*?\n\s+action: "([^"]+)"/g)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    const annotations = (name: string, strategy: string) => ({
      summary: `${name} of ${strategy} (test)`,
      description: `The values that tripped ${name} for ${strategy}.`,
      action: actions.get(name) ?? '',
      ...(name === 'TradingDrawdownHigh'
        ? { runbook_url: `http://127.0.0.1:9465/runbook#${name.toLowerCase()}`, dashboard: '' }
        : {
            runbook_url: `https://docs.example.invalid/runbook.md#${name.toLowerCase()}`,
            dashboard: `http://grafana.example.invalid/d/edgewatch-overview?var-strategy=${strategy}`,
          }),
    });
    const alert = (labels: Record<string, string>) => ({
      labels,
      annotations: annotations(labels.alertname, labels.strategy ?? labels.bot ?? '-'),
      generatorURL: 'http://prometheus.example.invalid/graph?g0.expr=up',
    });
    const posted = [
      alert({
        alertname: 'TradingBotDown',
        severity: 'critical',
        bot: 'demo',
        job: 'trading-bot',
        instance: 'bot:9464',
      }),
      alert({
        alertname: 'TradingLoopStalled',
        severity: 'critical',
        bot: 'demo',
        strategy: 'alpha',
        param_version: 'v3',
      }),
      alert({
        alertname: 'TradingLoopStalled',
        severity: 'critical',
        bot: 'other',
        strategy: 'alpha',
        param_version: 'v1',
      }),
      alert({
        alertname: 'TradingWinRatioDrift',
        severity: 'warning',
        bot: 'demo',
        strategy: 'alpha',
        param_version: 'v3',
        metric: 'win_ratio',
      }),
      alert({
        alertname: 'TradingDrawdownHigh',
        severity: 'critical',
        bot: 'demo',
        strategy: 'beta',
        param_version: 'v2',
      }),
      alert({
        alertname: 'TradingDrawdownHigh',
        severity: 'warning',
        bot: 'demo',
        strategy: 'beta',
        param_version: 'v2',
      }),
      alert({ alertname: 'Watchdog', severity: 'info' }),
      alert({
        alertname: 'TradingExperimentDecided',
        severity: 'info',
        bot: 'demo',
        strategy: 'alpha',
        experiment: 'spread',
        variant: 'candidate',
      }),
    ];
    const post = await fetch(`${base}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(posted),
    });
    assert.equal(post.status, 200, await post.text());

    const key = (labels: Record<string, string>) =>
      `${labels.alertname}/${labels.severity}/${labels.bot ?? ''}/${labels.strategy ?? ''}`;
    const states = await waitFor(
      'inhibition to settle',
      async () => {
        const list = (await (await fetch(`${base}/api/v2/alerts`)).json()) as Array<{
          labels: Record<string, string>;
          status: { state: string; inhibitedBy: string[] };
        }>;
        const map = new Map(list.map((a) => [key(a.labels), a.status]));
        const stalled = map.get('TradingLoopStalled/critical/demo/alpha');
        const warning = map.get('TradingDrawdownHigh/warning/demo/beta');
        if (map.size < posted.length || stalled?.state !== 'suppressed' || warning?.state !== 'suppressed')
          return undefined;
        return map;
      },
      context,
    );
    // Symptom of the down bot: inhibited; the same alert of another bot: not.
    assert.equal(states.get('TradingLoopStalled/critical/demo/alpha')!.inhibitedBy.length, 1);
    assert.equal(states.get('TradingLoopStalled/critical/other/alpha')!.state, 'active');
    // Drift is not a symptom of the bot being down: still active.
    assert.equal(states.get('TradingWinRatioDrift/warning/demo/alpha')!.state, 'active');
    // The warning under a critical of the same alert and strategy: inhibited; the critical is not.
    assert.equal(states.get('TradingDrawdownHigh/warning/demo/beta')!.state, 'suppressed');
    assert.equal(states.get('TradingDrawdownHigh/critical/demo/beta')!.state, 'active');
    assert.equal(states.get('TradingBotDown/critical/demo/')!.state, 'active');

    // Discord receives the drift warning, readable, with strategy, version, values and links.
    const discord = await waitFor('the Discord message for the drift', () =>
      sink.received.find((r) => r.channel === 'discord' && JSON.stringify(r.body).includes('TradingWinRatioDrift')),
    );
    const embed = discord.body.embeds[0];
    assert.equal(embed.title, '[FIRING:1] TradingWinRatioDrift · alpha');
    assert.match(
      embed.description,
      /^\*\*FIRING\*\* TradingWinRatioDrift of alpha \(test\)\nThe values that tripped TradingWinRatioDrift for alpha\.\n/,
    );
    assert.match(
      embed.description,
      /strategy alpha · version v3 · bot demo · metric win_ratio · warning · since \d{4}-\d\d-\d\d \d\d:\d\d UTC/,
    );
    assert.ok(
      embed.description.includes('[Dashboard](http://grafana.example.invalid/d/edgewatch-overview?var-strategy=alpha)'),
      embed.description,
    );
    assert.ok(
      embed.description.includes('[Runbook](https://docs.example.invalid/runbook.md#tradingwinratiodrift)'),
      embed.description,
    );
    assert.ok(!embed.description.includes('edgewatch_'), 'link-base labels leaked into the message');
    assert.ok(
      embed.description.includes(`\n**What to do:** ${actions.get('TradingWinRatioDrift')}\n`),
      embed.description,
    );
    // Without Grafana: no dashboard line, the runbook a link to the sidecar's /runbook.
    const drawdown = await waitFor(
      'the Discord message for the drawdown',
      () =>
        sink.received.find(
          (r) => r.channel === 'discord' && r.body.embeds?.[0]?.title === '[FIRING:1] TradingDrawdownHigh · beta',
        ),
      context,
    );
    const dd = drawdown.body.embeds[0].description as string;
    assert.ok(dd.includes(`**What to do:** ${actions.get('TradingDrawdownHigh')}`), dd);
    assert.ok(!/Dashboard/.test(dd), `no dashboard without Grafana: ${dd}`);
    assert.ok(dd.includes('[Runbook](http://127.0.0.1:9465/runbook#tradingdrawdownhigh)'), dd);

    // The Watchdog reaches its own webhook, and nothing else does.
    const watchdog = await waitFor(
      'the Watchdog ping',
      () => sink.received.find((r) => r.channel === 'watchdog'),
      context,
    );
    assert.equal(watchdog.body.commonLabels.alertname, 'Watchdog');
    assert.equal(watchdog.body.receiver, 'watchdog');

    // Critical alerts reach Discord and email; info alerts reach the digest mail only.
    t.diagnostic(`Discord message:\n${embed.title}\n${embed.description}`);
    const critical = await waitFor(
      'the critical mail',
      () => smtp.received.map((m) => String(m.body)).find((m) => m.includes('Subject: [FIRING:1] TradingLoopStalled')),
      context,
    );
    assert.match(critical, /^To: oncall@example\.invalid\r?$/m);
    assert.ok(critical.includes('FIRING: TradingLoopStalled of alpha (test)'), critical);
    assert.ok(critical.includes('strategy alpha · version v1 · bot other · critical · since'), critical);
    assert.ok(
      critical.includes('<a href="https://docs.example.invalid/runbook.md#tradingloopstalled">Runbook</a>'),
      critical,
    );
    assert.ok(
      critical.includes('Dashboard: http://grafana.example.invalid/d/edgewatch-overview?var-strategy=alpha'),
      critical,
    );
    assert.ok(critical.includes(`What to do: ${actions.get('TradingLoopStalled')}`), 'the text part says what to do');
    assert.ok(
      critical.includes(`<strong>What to do:</strong> ${actions.get('TradingLoopStalled')}`),
      'the HTML part says what to do',
    );
    const ddMail = await waitFor(
      'the drawdown mail',
      () => smtp.received.map((m) => String(m.body)).find((m) => m.includes('Subject: [FIRING:1] TradingDrawdownHigh')),
      context,
    );
    assert.ok(!/Dashboard/.test(ddMail), `no dashboard without Grafana: ${ddMail}`);
    assert.ok(ddMail.includes('Runbook:   http://127.0.0.1:9465/runbook#tradingdrawdownhigh'), ddMail);
    const digest = await waitFor(
      'the digest mail',
      () => smtp.received.map((m) => String(m.body)).find((m) => m.includes('Subject: edgewatch daily digest')),
      context,
    );
    assert.ok(digest.includes('Subject: edgewatch daily digest: 1 info alert(s) firing'), digest);
    assert.ok(digest.includes('strategy alpha · bot demo · experiment spread · variant candidate · info'), digest);
    assert.ok(!JSON.stringify(sink.received).includes('TradingExperimentDecided'), 'an info alert went to Discord');
    assert.equal(
      smtp.received.filter((m) => String(m.body).includes('Subject: [FIRING:1] TradingWinRatioDrift')).length,
      0,
      'a warning went to email',
    );
    await waitFor(
      "the Discord message for the other bot's stalled loop",
      () =>
        sink.received.find(
          (r) =>
            r.channel === 'discord' &&
            r.body.embeds?.[0]?.title === '[FIRING:1] TradingLoopStalled · alpha' &&
            r.body.embeds[0].description.includes('bot other'),
        ),
      context,
    );
    // An alert without strategy: the facts line starts with what it has.
    const botDown = await waitFor(
      'the Discord message for the down bot',
      () =>
        sink.received.find(
          (r) => r.channel === 'discord' && r.body.embeds?.[0]?.title === '[FIRING:1] TradingBotDown · bot demo',
        ),
      context,
    );
    assert.match(botDown.body.embeds[0].description, /\nbot demo · instance bot:9464 · critical · since /);
    // Give the inhibited ones the same time; none may arrive.
    await new Promise((r) => setTimeout(r, 1500));
    const all = JSON.stringify(sink.received);
    assert.ok(!all.includes('version v3 · bot demo · critical'), 'the inhibited stalled loop of bot demo was notified');
    assert.equal(
      sink.received.filter(
        (r) =>
          r.channel === 'discord' &&
          JSON.stringify(r.body).includes('beta') &&
          JSON.stringify(r.body).includes('· warning ·'),
      ).length,
      0,
      'the inhibited warning was notified',
    );
    assert.equal(
      sink.received.filter((r) => r.channel === 'watchdog' && !JSON.stringify(r.body).includes('Watchdog')).length,
      0,
    );
  },
);
