// End to end through the real programs: a ledger written with the SDK (a week of history, then
// one strategy degrading after a deploy, the other stable) -> the bot's own metrics endpoint
// (ew.serve) and a real sidecar process -> a real Prometheus evaluating the shipped rules ->
// a real Alertmanager with the shipped routing, inhibition and templates -> local Discord,
// Watchdog and mail sinks. Then the bot goes down. And every Grafana panel query runs against
// the Prometheus that scraped all this.
//
// Changed for speed only, in rendered copies: scrape and evaluation every 1s, every alert's
// `for:` capped at 2s, Alertmanager's group_wait capped at 1s, firing alerts resent every 2s
// (Prometheus's --rules.alert.resend-delay, default 1m), heartbeat_max_age_seconds 10
// (so the stalled loop of the stopped bot shows within the test). Expressions, labels,
// annotations, routes, grouping, inhibition and templates are the committed ones; the
// receivers are too, with their URLs and mail server pointed at the local sinks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openEdgewatch, type StrategyHandle } from '../src/index.js';
import { renderPrometheusConfig } from '../prometheus/render.js';
import { allPanelQueries, EXAMPLE_VARS, substitute } from '../grafana/queries.js';
import { localAlertmanagerEnv, renderLocalAlertmanager, writeRules } from '../scripts/lib/configs.js';
import { CLI, startProc, waitReady, type Proc } from '../scripts/lib/processes.js';
import { startSmtpSink, startWebhookSink, type Notification, type Sink } from '../scripts/lib/sinks.js';
import { requireBinary } from './support/binaries.js';
import { freePort } from './support/ports.js';
import {
  startAlertmanager,
  startPrometheus,
  until,
  type RunningAlertmanager,
  type RunningPrometheus,
} from './support/stack.js';

const prometheusBin = requireBinary('prometheus');
const alertmanagerBin = requireBinary('prometheus-alertmanager');
const skip = prometheusBin.skip ?? alertmanagerBin.skip;

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
// Deterministic PnL cycles (10 trades each). Normal momentum: mean +2.6, 6 wins in 10; after
// the bad deploy: mean -6, 2 wins in 10 (the demo's numbers). meanrev: the same cycle before
// and after, so its drift stays near 0.
const MOMENTUM_NORMAL = [10, -5, 8, -4, 6, 3, -6, 9, -2, 7];
const MOMENTUM_DEGRADED = [-10, 2, -8, -12, -4, 3, -9, -6, -7, -9];
const MEANREV = [5, -3, 4, -2, 1, -4, 6, -1, 3, -3];
// Generous: these bound a failure, a passing run takes seconds per step.
const DEADLINE = 45_000;
const METRICS_TOKEN = 'e2e-metrics-token-0123456789abcdef';

/** Records trades every `stepMs` in [fromMs, toMs) with the PnL cycle. */
function trade(
  s: StrategyHandle,
  fromMs: number,
  toMs: number,
  stepMs: number,
  cycle: number[],
  prefix: string,
): number {
  let i = 0;
  for (let at = fromMs; at < toMs; at += stepMs, i++) {
    s.trades.record({
      id: `${prefix}-${i}`,
      symbol: 'BTC-USD',
      side: i % 2 ? 'short' : 'long',
      pnl: cycle[i % cycle.length],
      fees: 0.5,
      notional: 1000,
      closedAt: at,
    });
  }
  return i;
}

test(
  'end to end: degradation reaches the webhook with strategy and version, the stable strategy stays quiet, a down bot is one alert with its symptoms inhibited, every dashboard query runs',
  { skip, timeout: 300_000 },
  async (t) => {
    // The daily report fires during the hour its threshold names: momentum's is this hour,
    // meanrev's twelve hours away (so meanrev stays quiet). Too close to the hour's end, wait
    // for the next one rather than race it.
    const toNextHour = HOUR - (Date.now() % HOUR);
    if (toNextHour < 2 * MIN) await new Promise((r) => setTimeout(r, toNextHour + 1000));
    const reportHour = new Date().getUTCHours();
    const started = Date.now();
    const dir = mkdtempSync(path.join(tmpdir(), 'edgewatch-e2e-'));
    const procs: Proc[] = [];
    const sinks: Sink[] = [];
    const timers: NodeJS.Timeout[] = [];
    let prometheus: RunningPrometheus | undefined;
    let alertmanager: RunningAlertmanager | undefined;
    const notifications: Notification[] = [];
    const ew = openEdgewatch({
      ledger: path.join(dir, 'ledger.db'),
      strategies: ['momentum', 'meanrev'],
      logger: false,
      strict: true,
      synchronous: 'NORMAL',
      heartbeatLedgerIntervalMs: 1000,
    });
    // One cleanup, in order: processes before the folder they write to.
    t.after(async () => {
      timers.forEach(clearInterval);
      await Promise.all(procs.map((p) => p.stop()));
      await Promise.all(sinks.map((s) => s.close()));
      await ew.close();
      rmSync(dir, { recursive: true, force: true });
    });

    // What every failing wait shows.
    const context = async () => {
      const parts = [
        `notifications received (${notifications.length}):\n${JSON.stringify(
          notifications.map((n) => ({ channel: n.channel, body: n.body })),
          null,
          1,
        )}`,
      ];
      try {
        if (prometheus) parts.push(`Prometheus alerts: ${JSON.stringify(await prometheus.alerts())}`);
        if (alertmanager)
          parts.push(
            `Alertmanager alerts: ${JSON.stringify((await alertmanager.alerts()).map((a) => ({ labels: a.labels, status: a.status })))}`,
          );
      } catch (err) {
        parts.push(`(API error: ${String(err)})`);
      }
      for (const p of procs) parts.push(`--- ${p.name} (last lines)\n${p.tail(15)}`);
      return parts.join('\n');
    };

    // ---- the ledger: a week of history, then momentum's v2 degrades in the last 24h
    const now = Date.now();
    const momentum = ew.strategy('momentum');
    const meanrev = ew.strategy('meanrev');
    momentum.params.deploy(
      { lookback: 20, entry_threshold: 0.004 },
      { source: 'e2e', gitSha: 'a1b2c3d', at: now - 8 * DAY },
    );
    meanrev.params.deploy({ window: 30, z_entry: 1.6 }, { source: 'e2e', gitSha: 'a1b2c3d', at: now - 8 * DAY });
    // Drift compares a version with its own earlier days: v2, deployed 3 days ago, trades as
    // v1 did for two days, then its edge decays within the last 24h (no deploy at the fall).
    trade(momentum, now - 7 * DAY + 10 * MIN, now - 3 * DAY, 15 * MIN, MOMENTUM_NORMAL, 'm-old');
    trade(meanrev, now - 7 * DAY + 10 * MIN, now - DAY, 15 * MIN, MEANREV, 'r-old');
    const deployed = momentum.params.deploy(
      { lookback: 15, entry_threshold: 0.002 },
      { source: 'e2e', gitSha: 'bad0000', note: 'faster lookback', at: now - 3 * DAY },
    );
    assert.ok(deployed.ok && deployed.version === 'v2');
    trade(momentum, now - 3 * DAY + 10 * MIN, now - DAY, 15 * MIN, MOMENTUM_NORMAL, 'm-v2');
    const recent = trade(momentum, now - 23 * HOUR, now - MIN, 20 * MIN, MOMENTUM_DEGRADED, 'm-new');
    trade(meanrev, now - 23 * HOUR, now - MIN, 20 * MIN, MEANREV, 'r-new');
    // The bot's loop: heartbeats (ledger and gauge) and equity, until the bot "goes down".
    const beat = () => {
      for (const s of [momentum, meanrev]) s.heartbeat();
      momentum.setEquity(10_000 - 6 * recent);
      meanrev.setEquity(10_060);
    };
    beat();
    const loop = setInterval(beat, 500);
    timers.push(loop);
    const bot = await ew.serve({ port: 0, host: '127.0.0.1' });

    // ---- sinks, sidecar, Alertmanager, Prometheus
    const onReceive = (n: Notification) => notifications.push(n);
    const webhook = await startWebhookSink(onReceive);
    const smtp = await startSmtpSink(onReceive);
    sinks.push(webhook, smtp);
    const [sidecarPort, amPort, promPort] = [await freePort(), await freePort(), await freePort()];
    const metricsTokenFile = path.join(dir, 'metrics_token');
    writeFileSync(metricsTokenFile, `${METRICS_TOKEN}\n`, { mode: 0o600 });
    const sidecar = startProc('sidecar', process.execPath, [CLI, 'sidecar'], {
      env: {
        ...process.env,
        EDGEWATCH_DB: path.join(dir, 'ledger.db'),
        EDGEWATCH_PORT: String(sidecarPort),
        EDGEWATCH_HOST: '127.0.0.1',
        EDGEWATCH_THRESHOLDS: JSON.stringify({
          defaults: { heartbeat_max_age_seconds: 10 },
          strategies: {
            momentum: { daily_report_hour_utc: reportHour },
            meanrev: { daily_report_hour_utc: (reportHour + 12) % 24 },
          },
        }),
        EDGEWATCH_LOG_LEVEL: 'warn',
        EDGEWATCH_LOG_FORMAT: 'json',
        // /metrics behind its token: Prometheus below must send it from its credentials_file.
        EDGEWATCH_METRICS_TOKEN_FILE: metricsTokenFile,
      },
    });
    procs.push(sidecar);
    const amEnv = localAlertmanagerEnv(
      {},
      { webhookBase: `http://127.0.0.1:${webhook.port}`, smtp: `127.0.0.1:${smtp.port}` },
    );
    const amConfig = renderLocalAlertmanager(amEnv.env, { maxGroupWait: '1s' });
    const promConfig = renderPrometheusConfig({
      bot: `127.0.0.1:${bot.port}`,
      sidecar: `127.0.0.1:${sidecarPort}`,
      alertmanager: `127.0.0.1:${amPort}`,
      prometheus: `127.0.0.1:${promPort}`,
      ruleDir: writeRules(path.join(dir, 'rules'), { maxFor: '2s' }),
      scrapeInterval: '1s',
      evaluationInterval: '1s',
      // As the native stack runs: no Grafana, and the runbook link (by default) on the sidecar.
      grafanaUrl: '',
      metricsTokenFile,
    });
    // Alertmanager before Prometheus: an alert Prometheus fails to send is only resent a minute later.
    await Promise.all([
      waitReady(sidecar, `http://127.0.0.1:${sidecarPort}/readyz`),
      startAlertmanager(alertmanagerBin.path!, path.join(dir, 'alertmanager'), amConfig, amPort).then((a) => {
        alertmanager = a;
        procs.push(a.proc);
      }),
    ]);
    // Firing alerts are resent every 2s instead of every minute: the Watchdog, firing from the
    // first evaluation, may be sent before Prometheus has set up its Alertmanager target.
    prometheus = await startPrometheus(prometheusBin.path!, path.join(dir, 'prometheus'), promConfig, promPort, [
      '--rules.alert.resend-delay=2s',
    ]);
    procs.push(prometheus.proc);
    const prom = prometheus;
    const am = alertmanager!;
    const ready = Date.now();
    t.diagnostic(`ledger written and processes ready after ${((ready - started) / 1000).toFixed(1)} s`);

    const discord = (title: RegExp) =>
      notifications.find((n) => n.channel === 'discord' && title.test(n.body?.embeds?.[0]?.title ?? ''));

    await t.test(
      "the degrading strategy's drift reaches the Discord webhook, naming strategy and parameter version",
      async () => {
        const message = await until(
          'a drift notification for momentum',
          () => discord(/^\[FIRING:1\] Trading(PnlPerTrade|WinRatio)Drift · momentum$/),
          context,
          DEADLINE,
        );
        t.diagnostic(
          `first drift notification ${((message.receivedAt - ready) / 1000).toFixed(1)} s after Prometheus was ready`,
        );
        const embed = message.body.embeds[0];
        // The operator's view: the message text names strategy, version, bot and severity, with links.
        assert.match(
          embed.description,
          /\nstrategy momentum · version v2 · bot demo · .*metric (pnl_per_trade|win_ratio) · warning · since /,
          embed.description,
        );
        assert.match(
          embed.description,
          /of momentum drifted down \(z = -\d+\.\d\d\)\nStrategy momentum \(bot demo, version v2\) .* in the baseline \(7d minus 24h\)/,
          embed.description,
        );
        // Links that work where this stack runs: the runbook section on the sidecar, no dashboard without Grafana.
        const runbook =
          /\[Runbook\]\((http:\/\/127\.0\.0\.1:\d+\/runbook)#(trading(?:pnlpertrade|winratio)drift)\)/.exec(
            embed.description,
          );
        assert.ok(runbook, embed.description);
        assert.equal(runbook[1], `http://127.0.0.1:${sidecarPort}/runbook`);
        const page = await fetch(runbook[1]);
        assert.equal(page.status, 200);
        assert.match(await page.text(), new RegExp(`<h2 id="${runbook[2]}">`));
        assert.doesNotMatch(embed.description, /Dashboard/, embed.description);
        assert.match(
          embed.description,
          /\n\*\*What to do:\*\* (Compare with the market|Check whether fees or slippage rose)/,
          embed.description,
        );
        // The drift came from a sidecar whose /metrics refuses anyone without the token: Prometheus sent it.
        assert.equal((await fetch(`http://127.0.0.1:${sidecarPort}/metrics`)).status, 401);
        // The labels as Alertmanager holds them, routed to the warning receiver.
        const alertname = /Trading\w+Drift/.exec(embed.title)![0];
        const held = (await am.alerts()).find(
          (a) => a.labels.alertname === alertname && a.labels.strategy === 'momentum',
        );
        assert.ok(held, await context());
        assert.equal(held.labels.param_version, 'v2');
        assert.equal(held.labels.severity, 'warning');
        assert.equal(held.labels.bot, 'demo');
        assert.deepEqual(
          held.receivers.map((r) => r.name),
          ['discord'],
        );
        assert.equal(held.status.state, 'active');
        // Warnings go to Discord only, not to the critical mail.
        assert.ok(
          !notifications.some((n) => n.channel === 'email' && String(n.body).includes(alertname)),
          'a warning was mailed',
        );
      },
    );

    await t.test(
      "the daily report of momentum, due this hour, reaches Discord and the digest mail with the day's figures and a link to its report page",
      async () => {
        const message = await until(
          "momentum's daily report on Discord",
          () => discord(/^Daily report · momentum \(bot demo\)$/),
          context,
          DEADLINE,
        );
        const text = message.body.embeds[0].description as string;
        // The figures are the sidecar's, as Prometheus read them through its query templates.
        const trades24h = await prom.query('edgewatch_window_trades{strategy="momentum",window="24h"}');
        const n = Number(trades24h.data?.result[0]?.value?.[1]);
        assert.ok(n > 0, JSON.stringify(trades24h));
        assert.match(
          text,
          new RegExp(
            `^\\*\\*FIRING\\*\\* Daily report of momentum: ${n} trades, net PnL -?\\d+\\.\\d\\d in the last 24h\\n`,
          ),
          text,
        );
        assert.match(
          text,
          /Strategy momentum \(bot demo, version v2\), last 24h against the baseline .*: win ratio \d+(\.\d+)?% against \d+(\.\d+)?%, PnL per trade -?[\d.]+ against -?[\d.]+; \d+ trades in 7d\. In alert now: /,
          text,
        );
        const link = /\[Report\]\((http:\/\/127\.0\.0\.1:\d+\/report\/momentum)\)/.exec(text);
        assert.ok(link, text);
        assert.equal(link[1], `http://127.0.0.1:${sidecarPort}/report/momentum`);
        // The link opens the report page, recommendations first.
        const page = await fetch(link[1]);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /<h1>Report: momentum<\/h1>[\s\S]*?<h2 id="recommendations">/);
        const mail = await until(
          'the daily digest mail',
          () =>
            notifications.find(
              (n) => n.channel === 'email' && /^Subject: edgewatch daily report: momentum\r?$/m.test(String(n.body)),
            ),
          context,
          DEADLINE,
        );
        assert.ok(String(mail.body).includes(`Report:    ${link[1]}`), String(mail.body));
        // meanrev's hour is another one: no report for it.
        assert.ok(!notifications.some((x) => JSON.stringify(x.body).includes('Daily report of meanrev')));
      },
    );

    await t.test(
      'the stable strategy raises no alert: its drift is exported and near zero, Prometheus holds no alert for it, nothing was sent',
      async () => {
        // By now the same rules have evaluated meanrev as often as momentum.
        const z = await prom.query('edgewatch_drift_zscore{strategy="meanrev"}');
        assert.equal(z.data?.result.length, 2, JSON.stringify(z));
        for (const r of z.data.result)
          assert.ok(Math.abs(Number(r.value![1])) < 1, `meanrev drift ${JSON.stringify(r)}`);
        const alerts = await prom.query('ALERTS{strategy="meanrev"}');
        assert.deepEqual(alerts.data?.result, [], JSON.stringify(alerts));
        assert.ok(!(await am.alerts()).some((a) => a.labels.strategy === 'meanrev'));
        assert.ok(!notifications.some((n) => JSON.stringify(n.body).includes('meanrev')), await context());
        // The Watchdog reached its own webhook (the pipeline works at all).
        assert.ok(
          notifications.some((n) => n.channel === 'watchdog' && n.body.commonLabels?.alertname === 'Watchdog'),
          await context(),
        );
      },
    );

    await t.test(
      'every Grafana panel, annotation and variable query runs on the Prometheus that scraped the bot and sidecar; core panels return data',
      async () => {
        const failures: string[] = [];
        const emptyCore: string[] = [];
        const emptyOther: string[] = [];
        const queries = allPanelQueries();
        assert.ok(queries.length > 100 && queries.some((q) => q.core), `${queries.length} queries`);
        // EXAMPLE_VARS name the strategy this ledger degrades (momentum) and a 24h dashboard range.
        assert.equal(EXAMPLE_VARS.strategy, 'momentum');
        for (const q of queries) {
          const expr = substitute(q.expr, EXAMPLE_VARS);
          const answer = await prom.query(expr);
          const where = `${q.dashboard} / ${q.panel}: ${expr}`;
          if (answer.status !== 'success') failures.push(`${where}\n  -> ${answer.errorType}: ${answer.error}`);
          else if (!answer.data?.result.length)
            (q.core ? emptyCore : emptyOther).push(q.core ? where : `${q.dashboard} / ${q.panel}`);
        }
        assert.deepEqual(failures, [], `${failures.length} of ${queries.length} queries failed`);
        assert.deepEqual(emptyCore, [], 'core panels without data');
        // Not a failure, but worth seeing: non-core panels that need events this ledger lacks
        // (experiments, a deploy inside the range, orders, rejected ingestion).
        t.diagnostic(
          `${queries.length} queries ran; ${emptyOther.length} non-core returned no data, from: ${[...new Set(emptyOther)].join('; ')}`,
        );
      },
    );

    await t.test(
      'with the bot down, TradingBotDown reaches Discord and mail, and the stalled loops it causes are inhibited',
      async () => {
        clearInterval(loop);
        await bot.close();
        const down = Date.now();
        const message = await until(
          'the TradingBotDown notification',
          () => discord(/^\[FIRING:1\] TradingBotDown · bot demo$/),
          context,
          DEADLINE,
        );
        t.diagnostic(
          `TradingBotDown notified ${((message.receivedAt - down) / 1000).toFixed(1)} s after the bot stopped`,
        );
        assert.match(message.body.embeds[0].description, /bot demo · instance 127\.0\.0\.1:\d+ · critical · since /);
        await until(
          'the TradingBotDown mail',
          () =>
            notifications.find(
              (n) => n.channel === 'email' && /^Subject: \[FIRING:1\] TradingBotDown/m.test(String(n.body)),
            ),
          context,
          DEADLINE,
        );
        // No heartbeat since the stop: both loops stall; Alertmanager holds them, inhibited.
        const stalled = await until(
          'both stalled loops in Alertmanager, inhibited',
          async () => {
            const list = (await am.alerts()).filter((a) => a.labels.alertname === 'TradingLoopStalled');
            return list.length === 2 && list.every((a) => a.status.state === 'suppressed') ? list : undefined;
          },
          context,
          DEADLINE,
        );
        for (const a of stalled) {
          assert.equal(a.labels.bot, 'demo');
          assert.equal(a.status.inhibitedBy.length, 1, JSON.stringify(a.status));
        }
        assert.deepEqual(stalled.map((a) => a.labels.strategy).sort(), ['meanrev', 'momentum']);
        // They are firing in Prometheus (not merely pending), so only inhibition keeps them quiet:
        // give them longer than group_wait and check that nothing about them was sent.
        const firing = await prom.query('ALERTS{alertname="TradingLoopStalled", alertstate="firing"}');
        assert.equal(firing.data?.result.length, 2, JSON.stringify(firing));
        await new Promise((r) => setTimeout(r, 3000));
        assert.ok(!notifications.some((n) => JSON.stringify(n.body).includes('TradingLoopStalled')), await context());
        // The drift is not a symptom of the bot being down (the sidecar still sees the ledger): still active.
        const drift = (await am.alerts()).filter((a) => /Drift$/.test(a.labels.alertname));
        assert.ok(
          drift.length >= 1 && drift.every((a) => a.status.state === 'active'),
          JSON.stringify(drift.map((a) => [a.labels, a.status])),
        );
      },
    );

    t.diagnostic(`end-to-end run took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  },
);
