// The daily report's delivery by the shipped Alertmanager configuration (routes, receivers,
// templates), with a real Alertmanager 0.25 and local Discord and mail sinks: one Discord
// message per strategy and one digest mail for all of them, each with the figures and the
// link to the sidecar's report page; Prometheus' resends within the hour send nothing more,
// the end of the hour sends no "resolved", the next day's report arrives again. The rule
// itself (the hour, once a day, silent strategies) is tested by promtool
// (prometheus/tests/daily.yml), its way from Prometheus to the sink in test/e2e.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { capDurations, localAlertmanagerEnv, renderLocalAlertmanager } from '../scripts/lib/configs.js';
import { startSmtpSink, startWebhookSink, type Notification } from '../scripts/lib/sinks.js';
import { requireBinary } from './support/binaries.js';
import { freePort } from './support/ports.js';
import { startAlertmanager, until } from './support/stack.js';
import { ConfigError } from '../src/errors.js';
import { parseThresholds } from '../src/sidecar/thresholds.js';
import { sidecar } from './support/sidecar.js';
import { tempDir, value } from './support/tmp.js';

const alertmanagerBin = requireBinary('prometheus-alertmanager');
const amtool = requireBinary('amtool');

function config(webhook: number, smtp: number): string {
  const env = localAlertmanagerEnv({}, { webhookBase: `http://127.0.0.1:${webhook}`, smtp: `127.0.0.1:${smtp}` }).env;
  // Only the waits are shortened: 1s before a group's first notification, 2s between its
  // flushes (shipped: 30s or 5m, and 5m). Routes, grouping, repeat intervals and receivers are
  // as shipped.
  return capDurations(renderLocalAlertmanager(env, { maxGroupWait: '1s' }), 'group_interval', '2s').text;
}

test(
  'amtool routes the daily report to its Discord receiver and on to the daily digest mail',
  { skip: amtool.skip },
  (t) => {
    const file = path.join(tempDir(t), 'alertmanager.yml');
    writeFileSync(file, config(1, 2));
    const out = execFileSync(
      amtool.path!,
      [
        'config',
        'routes',
        'test',
        `--config.file=${file}`,
        'alertname=TradingDailyReport',
        'severity=info',
        'strategy=alpha',
        'bot=demo',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    assert.equal(out.trim(), 'daily-discord,daily-digest');
  },
);

test(
  'the shipped Alertmanager sends each daily report once to Discord, gathers them in one mail, repeats nothing within the day and sends no "resolved"',
  { skip: alertmanagerBin.skip, timeout: 60_000 },
  async (t) => {
    const dir = tempDir(t);
    const received: Notification[] = [];
    const webhook = await startWebhookSink((n) => received.push(n));
    const smtp = await startSmtpSink((n) => received.push(n));
    t.after(() => Promise.all([webhook.close(), smtp.close()]).then(() => undefined));
    const port = await freePort();
    const am = await startAlertmanager(alertmanagerBin.path!, dir, config(webhook.port, smtp.port), port);
    t.after(() => am.proc.stop());
    const context = () =>
      `received: ${JSON.stringify(
        received.map((n) => [n.channel, n.body]),
        null,
        1,
      )}\n${am.proc.tail(20)}`;

    // As Prometheus sends them (rules/daily.yml rendered for two strategies), with its
    // external labels; endsAt is how long Alertmanager may keep one without a resend.
    const report = (strategy: string, startsAt: Date, endsAt: Date) => ({
      labels: {
        alertname: 'TradingDailyReport',
        severity: 'info',
        bot: 'demo',
        job: 'edgewatch-sidecar',
        instance: 'sidecar:9465',
        strategy,
        param_version: 'v3',
        edgewatch_runbook: 'http://127.0.0.1:9465/runbook',
        edgewatch_pages: 'http://127.0.0.1:9465',
      },
      annotations: {
        summary: `Daily report of ${strategy}: 40 trades, net PnL -120.00 in the last 24h`,
        description: `Strategy ${strategy} (bot demo, version v3), last 24h against the baseline: win ratio 40% against 62.67%. In alert now: nothing.`,
        report_url: `http://127.0.0.1:9465/report/${strategy}`,
        runbook_url: 'http://127.0.0.1:9465/runbook#tradingdailyreport',
        action:
          "Read the report's recommendations; act on any alert it lists as firing (each has its own runbook section).",
        dashboard: '',
      },
      startsAt: startsAt.toISOString(),
      endsAt: endsAt.toISOString(),
      generatorURL: 'http://127.0.0.1:9090/graph',
    });
    const post = async (alerts: unknown[]) => {
      const res = await fetch(`${am.base}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      });
      assert.equal(res.status, 200, await res.text());
    };
    const discord = () => received.filter((n) => n.channel === 'discord');
    const mails = () => received.filter((n) => n.channel === 'email').map((n) => String(n.body));

    const day1 = new Date();
    const inAnHour = new Date(day1.getTime() + 3_600_000);
    await post([report('alpha', day1, inAnHour), report('beta', day1, inAnHour)]);
    await until(
      'both Discord messages and the mail',
      () => (discord().length === 2 && mails().length === 1 ? true : undefined),
      context,
      20_000,
    );
    const titles = discord()
      .map((n) => n.body.embeds[0].title as string)
      .sort();
    assert.deepEqual(titles, ['Daily report · alpha (bot demo)', 'Daily report · beta (bot demo)']);
    const alpha = discord().find((n) => n.body.embeds[0].title.includes('alpha'))!.body.embeds[0].description as string;
    assert.match(alpha, /^\*\*FIRING\*\* Daily report of alpha: 40 trades, net PnL -120\.00 in the last 24h\n/);
    assert.ok(
      alpha.includes(
        '[Report](http://127.0.0.1:9465/report/alpha) · [Runbook](http://127.0.0.1:9465/runbook#tradingdailyreport)',
      ),
      alpha,
    );
    assert.ok(alpha.includes('strategy alpha · version v3 · bot demo · instance sidecar:9465 · info · since'), alpha);
    assert.ok(!alpha.includes('edgewatch_'), `link-base labels leaked: ${alpha}`);
    const mail = mails()[0];
    assert.match(mail, /^Subject: edgewatch daily report: alpha, beta\r?$/m);
    assert.ok(mail.includes('Report:    http://127.0.0.1:9465/report/alpha'), mail);
    assert.ok(mail.includes('Report:    http://127.0.0.1:9465/report/beta'), mail);
    assert.ok(mail.includes('<a href="http://127.0.0.1:9465/report/beta">Report</a>'), mail);
    assert.ok(mail.includes('<h2 style="font-size:17px;">edgewatch daily report: alpha, beta</h2>'), mail);
    // Nothing in the alerts' "[FIRING:n] name" format: no other receiver had it.
    assert.ok(!received.some((n) => JSON.stringify(n.body).includes('[FIRING')), context());

    // Prometheus resends firing alerts every minute for the hour: several group flushes later, nothing new.
    for (let i = 0; i < 3; i++) {
      await post([report('alpha', day1, inAnHour), report('beta', day1, inAnHour)]);
      await new Promise((r) => setTimeout(r, 2500));
    }
    assert.equal(received.length, 3, context());

    // The hour ends: resolved, and nothing is sent for it.
    const ended = new Date();
    await post([report('alpha', day1, ended), report('beta', day1, ended)]);
    await new Promise((r) => setTimeout(r, 6000));
    assert.equal(received.length, 3, context());

    // The next day's report (a new firing) is delivered again.
    const day2 = new Date();
    await post([report('alpha', day2, new Date(day2.getTime() + 3_600_000))]);
    await until(
      "the next day's Discord message and mail",
      () => (discord().length === 3 && mails().length === 2 ? true : undefined),
      context,
      20_000,
    );
    assert.match(mails()[1], /^Subject: edgewatch daily report: alpha\r?$/m);
  },
);

test('the report hour is a threshold like the others: 7 UTC by default, per strategy, a whole hour 0-23 or the sidecar does not start', async (t) => {
  assert.equal(parseThresholds(undefined, 'test').defaults.daily_report_hour_utc, 7);
  const ok = parseThresholds(
    { defaults: { daily_report_hour_utc: 0 }, strategies: { a: { daily_report_hour_utc: 23 } } },
    'test',
  );
  assert.equal(ok.defaults.daily_report_hour_utc, 0);
  assert.equal(ok.strategies.a.daily_report_hour_utc, 23);
  for (const bad of [24, 7.5, -1, '7'])
    assert.throws(
      () => parseThresholds({ strategies: { a: { daily_report_hour_utc: bad } } }, 'EDGEWATCH_THRESHOLDS'),
      (err: Error) => err instanceof ConfigError && /strategies\.a\.daily_report_hour_utc: must be/.test(err.message),
      String(bad),
    );
  // Exported for the rule to compare with, per strategy.
  const s = await sidecar(t, { thresholdsJson: { strategies: { b: { daily_report_hour_utc: 18 } } } });
  assert.equal((await s.post('/v1/heartbeat', { strategy: 'a' })).status, 200);
  assert.equal((await s.post('/v1/heartbeat', { strategy: 'b' })).status, 200);
  const m = await s.scrape();
  assert.equal(value(m, 'edgewatch_threshold', { strategy: 'a', name: 'daily_report_hour_utc' }), 7);
  assert.equal(value(m, 'edgewatch_threshold', { strategy: 'b', name: 'daily_report_hour_utc' }), 18);
});

test("the daily report rule keeps the alerts' conventions: info, its runbook section's Act. opens with its action, links built from external labels", () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const rule = readFileSync(path.join(root, 'prometheus/rules/daily.yml'), 'utf8');
  const runbook = readFileSync(path.join(root, 'docs/runbook.md'), 'utf8');
  assert.match(rule, /- alert: TradingDailyReport\n[\s\S]*?\n\s+severity: info\n/);
  const action = /\n\s+action: "([^"]+)"\n/.exec(rule)?.[1];
  const section = runbook.split(/^## /m).find((x) => x.startsWith('TradingDailyReport\n')) ?? '';
  const act = (/\*\*Act\.\*\* ([\s\S]*?)(\n\n|$)/.exec(section)?.[1] ?? '').replace(/\s+/g, ' ');
  assert.ok(action && act.startsWith(action), `action "${action}" must open the runbook's Act: "${act}"`);
  assert.match(rule, /runbook_url: '\{\{ \$externalLabels\.edgewatch_runbook \}\}#tradingdailyreport'/);
  assert.match(
    rule,
    /report_url: '\{\{ with \$externalLabels\.edgewatch_pages \}\}\{\{ \. \}\}\/report\/\{\{ \$labels\.strategy \}\}\{\{ end \}\}'/,
  );
  assert.match(rule, /dashboard: '\{\{ with \$externalLabels\.edgewatch_grafana \}\}/);
  // The hour is a threshold the sidecar exports, not a literal in the rule.
  assert.match(rule, /edgewatch_threshold\{name="daily_report_hour_utc"\}/);
  assert.doesNotMatch(rule.replace(/^\s*#.*$/gm, ''), /hour\(\) *== *\d|== *\d+ *\n/);
});
