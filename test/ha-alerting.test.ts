// Highly available alerting with the programs operators already run: two Alertmanagers
// (Debian's prometheus-alertmanager 0.25) clustered on loopback by real gossip, both behind one
// Prometheus, with the shipped Alertmanager configuration and the shipped rules plus an
// always-firing warning. While the alerts fire, the Alertmanager that notifies is killed with
// SIGKILL. The notification that was still waiting for its group_wait arrives anyway, from the
// other one, exactly once; and the Watchdog that the killed one had already sent is not sent
// again by the survivor (the notification log is shared by gossip). docs/operations.md has the
// production recipe.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import test from 'node:test';
import { renderAlertmanagerConfig } from '../alertmanager/render.js';
import { PROMETHEUS_RULES_DIR, renderPrometheusConfig } from '../prometheus/render.js';
import { requireBinary } from './support/binaries.js';
import { freePort } from './support/ports.js';
import { tempDir } from './support/tmp.js';

const alertmanager = requireBinary('prometheus-alertmanager');
const prometheus = requireBinary('prometheus');

interface Notification {
  path: string;
  at: number;
  body: { externalURL?: string; alerts?: Array<{ labels: Record<string, string> }> } & Record<string, unknown>;
  text: string;
}

function startSink(t: test.TestContext): Promise<{ port: number; received: Notification[] }> {
  const received: Notification[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      let body = {};
      try {
        body = JSON.parse(text);
      } catch {
        // keep the text
      }
      received.push({ path: req.url ?? '', at: Date.now(), body, text });
      res.writeHead(204).end();
    });
  });
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port, received })),
  );
}

function start(t: test.TestContext, bin: string, args: string[], logs: string[]): ChildProcess {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const i = logs.push('') - 1;
  child.stdout?.on('data', (d) => (logs[i] += d));
  child.stderr?.on('data', (d) => (logs[i] += d));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  context: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${String(last)})` : ''}\n${context()}`,
  );
}

const PROBE_RULES = `groups:
  - name: ha-probe
    rules:
      - alert: EdgewatchHaProbe
        expr: vector(1)
        labels:
          severity: warning
          bot: ha
          strategy: probe
        annotations:
          summary: 'ha-probe: always firing, for the HA test'
          description: 'ha-probe'
`;

test(
  'two clustered Alertmanagers behind one Prometheus: kill the notifying one while alerts fire, and each notification still arrives exactly once',
  { skip: alertmanager.skip ?? prometheus.skip, timeout: 150_000 },
  async (t) => {
    const dir = tempDir(t);
    const sink = await startSink(t);
    const logs: string[] = [];
    const context = () =>
      `notifications: ${JSON.stringify(sink.received.map((n) => [n.path, n.body.externalURL ?? '', n.text.slice(0, 120)]))}\nlogs:\n${logs.map((l) => l.split('\n').slice(-15).join('\n')).join('\n----\n')}`;

    // The shipped configuration, rendered as in production; only the default group_wait (30s) is
    // shortened to 10s to keep the test short. The Watchdog route keeps its own group_wait: 0s.
    let amConfig = renderAlertmanagerConfig({
      EDGEWATCH_DISCORD_WEBHOOK_URL: `http://127.0.0.1:${sink.port}/discord`,
      EDGEWATCH_WATCHDOG_URL: `http://127.0.0.1:${sink.port}/watchdog`,
      EDGEWATCH_EMAIL_TO: 'oncall@example.invalid',
      EDGEWATCH_SMTP_SMARTHOST: '127.0.0.1:9',
      EDGEWATCH_SMTP_FROM: 'edgewatch@example.invalid',
      EDGEWATCH_SMTP_REQUIRE_TLS: 'false',
    });
    assert.equal(amConfig.match(/group_wait: 30s/g)?.length, 1);
    amConfig = amConfig.replace('group_wait: 30s', 'group_wait: 10s');
    const amFile = join(dir, 'alertmanager.yml');
    writeFileSync(amFile, amConfig);

    // Two Alertmanagers, each pointing at the other: real memberlist gossip over loopback.
    const [webA, webB, gossipA, gossipB, promPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const ams = [
      { name: 'A', web: webA, gossip: gossipA, peer: gossipB },
      { name: 'B', web: webB, gossip: gossipB, peer: gossipA },
    ].map((am) => ({
      ...am,
      url: `http://127.0.0.1:${am.web}`,
      child: start(
        t,
        alertmanager.path as string,
        [
          `--config.file=${amFile}`,
          `--storage.path=${join(dir, `am-${am.name}`)}`,
          `--web.listen-address=127.0.0.1:${am.web}`,
          `--web.external-url=http://127.0.0.1:${am.web}`,
          `--cluster.listen-address=127.0.0.1:${am.gossip}`,
          `--cluster.advertise-address=127.0.0.1:${am.gossip}`,
          `--cluster.peer=127.0.0.1:${am.peer}`,
        ],
        logs,
      ),
    }));
    for (const am of ams) {
      await until(
        `Alertmanager ${am.name} to see its peer`,
        async () => {
          const status = (await (await fetch(`${am.url}/api/v2/status`)).json()) as {
            cluster: { status: string; peers: unknown[] };
          };
          return status.cluster.status === 'ready' && status.cluster.peers.length === 2;
        },
        30_000,
        context,
      );
    }

    // One Prometheus with the shipped rules (Watchdog always fires) and the always-firing probe,
    // sending to both Alertmanagers (never through a load balancer: each must get every alert).
    writeFileSync(join(dir, 'ha.yml'), PROBE_RULES);
    let promConfig = renderPrometheusConfig({
      bot: '127.0.0.1:9',
      sidecar: '127.0.0.1:9',
      alertmanager: `127.0.0.1:${webA}`,
      prometheus: `127.0.0.1:${promPort}`,
      ruleDir: PROMETHEUS_RULES_DIR,
      scrapeInterval: '1s',
      evaluationInterval: '1s',
    });
    promConfig = promConfig.split(`['127.0.0.1:${webA}']`).join(`['127.0.0.1:${webA}', '127.0.0.1:${webB}']`);
    promConfig = promConfig.replace(
      `'${PROMETHEUS_RULES_DIR}/alerts.yml'`,
      `'${PROMETHEUS_RULES_DIR}/alerts.yml'\n  - '${join(dir, 'ha.yml')}'`,
    );
    assert.match(promConfig, /ha\.yml/);
    const promFile = join(dir, 'prometheus.yml');
    writeFileSync(promFile, promConfig);
    // A short resend delay (default 1m): the first evaluation may fire before the notifier has
    // discovered the Alertmanagers, and that batch is dropped.
    start(
      t,
      prometheus.path as string,
      [
        `--config.file=${promFile}`,
        `--storage.tsdb.path=${join(dir, 'prom')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--rules.alert.resend-delay=2s',
      ],
      logs,
    );

    const watchdogs = () => sink.received.filter((n) => n.path === '/watchdog');
    const probes = () => sink.received.filter((n) => n.path === '/discord' && n.text.includes('ha-probe'));

    // 1. The Watchdog reaches its webhook once, from the Alertmanager first in the cluster order.
    const first = await until('the Watchdog notification', () => watchdogs()[0], 45_000, context).catch(async (err) => {
      const diag = [
        await (await fetch(`http://127.0.0.1:${promPort}/api/v1/alertmanagers`)).text(),
        await (await fetch(`http://127.0.0.1:${promPort}/api/v1/alerts`)).text(),
        ...(await Promise.all(ams.map(async (am) => (await fetch(`${am.url}/api/v2/alerts`)).text()))),
        ...(await Promise.all(
          ams.map(async (am) =>
            (await (await fetch(`${am.url}/metrics`)).text())
              .split('\n')
              .filter((l) => /notifications|alerts_received/.test(l) && !l.startsWith('#'))
              .join('\n'),
          ),
        )),
      ];
      throw new Error(`${(err as Error).message}\n${diag.join('\n')}`);
    });
    const sender = ams.find((am) => am.url === first.body.externalURL);
    assert.ok(sender, `the Watchdog came from one of the two: ${first.body.externalURL}`);
    const survivor = ams.find((am) => am !== sender)!;
    // Both hold the probe alert, waiting for its group_wait; neither has sent it yet.
    for (const am of ams) {
      await until(
        `Alertmanager ${am.name} to hold the probe alert`,
        async () => {
          const alerts = (await (
            await fetch(`${am.url}/api/v2/alerts?filter=alertname%3D%22EdgewatchHaProbe%22`)
          ).json()) as unknown[];
          return alerts.length === 1;
        },
        10_000,
        context,
      );
    }
    assert.equal(probes().length, 0, 'the probe is still within its group_wait');
    // The survivor has the sender's notification log entry (gossip), so it will not repeat the Watchdog.
    await until(
      'the notification log to reach the other Alertmanager',
      async () => {
        const text = await (await fetch(`${survivor.url}/metrics`)).text();
        const m = /^alertmanager_cluster_messages_received_total\{msg_type="update"\} (\S+)$/m.exec(text);
        return m !== null && Number(m[1]) >= 1;
      },
      10_000,
      context,
    );

    // 2. Kill the notifying Alertmanager while both alerts fire.
    sender.child.kill('SIGKILL');
    const killedAt = Date.now();
    assert.equal(probes().length, 0, 'killed before it sent the probe');

    // 3. The probe still arrives, from the survivor, and only once.
    await until('the probe notification from the surviving Alertmanager', () => probes()[0], 60_000, context);
    // Wait past the moment the survivor checks the Watchdog against the log (peer_timeout 15s after
    // it got the alert) and a while after the probe, so that a duplicate would have arrived.
    const settle = Math.max(first.at + 20_000, probes()[0].at + 5_000) - Date.now();
    if (settle > 0) await new Promise((r) => setTimeout(r, settle));
    assert.equal(probes().length, 1, `the probe arrived exactly once\n${context()}`);
    assert.equal(watchdogs().length, 1, `the Watchdog arrived exactly once across the cluster\n${context()}`);
    assert.ok(probes()[0].at > killedAt);
    t.diagnostic(
      `killed ${sender.name}; probe delivered by ${survivor.name} ${((probes()[0].at - killedAt) / 1000).toFixed(1)} s after the kill`,
    );
  },
);
