// `npm run stack`: the whole pipeline without Docker. Starts the demo bot, the sidecar,
// Prometheus and Alertmanager (Debian's binaries) on loopback, with configuration rendered
// from the committed files into the data folder (./data/stack), prints the URLs, prints
// every notification Alertmanager delivers, and stops everything on Ctrl-C.
//
//   npm run stack                    normal demo
//   npm run stack -- --degrade       momentum starts losing at once (or: kill -USR2 <pid>)
//   npm run stack -- --fast          a demo that moves faster: scrape and rule evaluation every
//                                    5s, every alert's `for:` at most 1m, Alertmanager's
//                                    group_wait at most 10s (in the rendered copies only)
//   npm run stack -- --fresh         start over: delete the data folder first
//
// Receivers: Discord, the Watchdog URL and mail come from the EDGEWATCH_* variables of
// alertmanager/alertmanager.template.yml when they are set; the ones that are not set go to
// a local sink started here, which prints what it receives.
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderPrometheusConfig, PROMETHEUS_RULES_DIR } from '../prometheus/render.js';
import { localAlertmanagerEnv, renderLocalAlertmanager, writeRules } from './lib/configs.js';
import {
  CLI,
  alertmanagerArgs,
  findStackBinaries,
  portIsFree,
  prometheusArgs,
  startProc,
  waitReady,
  type Proc,
} from './lib/processes.js';
import { formatNotification, startSmtpSink, startWebhookSink, type Notification, type Sink } from './lib/sinks.js';

const HELP = `npm run stack -- [options]

Runs the demo bot, the sidecar, Prometheus and Alertmanager on 127.0.0.1. Ctrl-C stops all.

  --degrade                start the demo degraded (momentum loses; kill -USR2 <pid> toggles)
  --fast                   scrape and evaluate every 5s, cap every alert's for: at 1m and
                           Alertmanager's group_wait at 10s (rendered copies; the committed
                           files are untouched)
  --fresh                  delete the data folder first (new ledger, back-filled again)
  --data-dir <dir>         ledger, rendered configs, Prometheus/Alertmanager data, logs (./data/stack)
  --prometheus-port <n>    default 9090
  --alertmanager-port <n>  default 9093
  --bot-port <n>           demo bot metrics, default EDGEWATCH_BOT_PORT or 9464
  --sidecar-port <n>       sidecar, default EDGEWATCH_PORT or 9465
`;

/** One line (or the install hint's few), exit 1: something outside the command line. */
function fail(message: string, code = 1): never {
  process.stderr.write(`edgewatch stack: ${message}\n`);
  process.exit(code);
}

/** What was typed is wrong: exit 2, as the CLI does (docs/cli.md). */
function usage(message: string): never {
  fail(`${message}: see npm run stack -- --help`, 2);
}

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535)
    usage(`${name} must be a port number 1-65535 (got "${value}")`);
  return Number(value);
}

function parseFlags() {
  try {
    return parseArgs({
      options: {
        degrade: { type: 'boolean', default: false },
        fast: { type: 'boolean', default: false },
        fresh: { type: 'boolean', default: false },
        'data-dir': { type: 'string', default: './data/stack' },
        'prometheus-port': { type: 'string' },
        'alertmanager-port': { type: 'string' },
        'bot-port': { type: 'string' },
        'sidecar-port': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
  } catch (err) {
    // parseArgs throws a TypeError with a stack for an unknown flag: one line instead.
    usage((err as Error).message.split('\n')[0].replace(/\. To specify a positional argument.*$/, ''));
  }
}
const { values: flags } = parseFlags();
if (flags.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const ports = {
  prometheus: port(flags['prometheus-port'], 9090, '--prometheus-port'),
  alertmanager: port(flags['alertmanager-port'], 9093, '--alertmanager-port'),
  bot: port(flags['bot-port'] ?? process.env.EDGEWATCH_BOT_PORT, 9464, '--bot-port'),
  sidecar: port(flags['sidecar-port'] ?? process.env.EDGEWATCH_PORT, 9465, '--sidecar-port'),
};
const HOST = '127.0.0.1';
const url = (p: number) => `http://${HOST}:${p}`;
const MAX_FOR = '1m';
const MAX_GROUP_WAIT = '10s';
const FAST_INTERVAL = '5s';
/** What the stack writes into its data folder (the ledger and the sidecar's state next to it). */
const OWN_FILES = /^(edgewatch\.db.*|logs|rules|prometheus|alertmanager|prometheus\.yml|alertmanager\.yml)$/;

async function main(): Promise<void> {
  // Everything that can be checked before starting anything.
  const bins = findStackBinaries();
  if (bins.problem) fail(bins.problem);
  for (const [name, p] of Object.entries(ports)) {
    if (!(await portIsFree(p, HOST))) {
      const service =
        name === 'prometheus' ? 'prometheus' : name === 'alertmanager' ? 'prometheus-alertmanager' : undefined;
      const env = name === 'bot' ? ' (or EDGEWATCH_BOT_PORT)' : name === 'sidecar' ? ' (or EDGEWATCH_PORT)' : '';
      const holder = service
        ? `Debian's ${service} service (sudo systemctl stop ${service})`
        : 'the program that holds it';
      fail(`port ${p} (${name}) is in use: pass --${name}-port <port>${env}, or stop ${holder}`);
    }
  }

  const dataDir = path.resolve(flags['data-dir']);
  if (flags.fresh && existsSync(dataDir)) {
    // Delete only a folder this script made: a mistyped --data-dir must not cost a home folder.
    const foreign = readdirSync(dataDir).filter((f) => !OWN_FILES.test(f));
    if (foreign.length)
      fail(
        `--fresh: ${dataDir} holds files the stack did not make (${foreign.slice(0, 5).join(', ')}); delete it yourself or pick another --data-dir`,
      );
    rmSync(dataDir, { recursive: true, force: true });
  }
  const logDir = path.join(dataDir, 'logs');
  try {
    mkdirSync(logDir, { recursive: true });
  } catch (err) {
    fail(
      `cannot create ${logDir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): pass another --data-dir`,
    );
  }
  const ledger = path.join(dataDir, 'edgewatch.db');
  const reused = existsSync(ledger);

  // The Watchdog repeats every 5 minutes by design: show the first ping only.
  let watchdogs = 0;
  const print = (n: Notification) => {
    if (n.channel === 'watchdog' && watchdogs++) return;
    const note =
      n.channel === 'watchdog' ? "\n    (the dead man's switch ping; it repeats every 5m, not printed again)" : '';
    process.stdout.write(`\n[notification] ${formatNotification(n)}${note}\n`);
  };
  const sinks: Sink[] = [];
  const webhook = await startWebhookSink(print);
  const smtp = await startSmtpSink(print);
  sinks.push(webhook, smtp);

  // Prometheus: the committed prometheus.yml with loopback targets; the committed rules, or
  // a copy with shorter `for:` under --fast.
  const ruleDir = flags.fast ? writeRules(path.join(dataDir, 'rules'), { maxFor: MAX_FOR }) : PROMETHEUS_RULES_DIR;
  const prometheusConfig = path.join(dataDir, 'prometheus.yml');
  writeFileSync(
    prometheusConfig,
    renderPrometheusConfig({
      bot: `${HOST}:${ports.bot}`,
      sidecar: `${HOST}:${ports.sidecar}`,
      alertmanager: `${HOST}:${ports.alertmanager}`,
      prometheus: `${HOST}:${ports.prometheus}`,
      ruleDir,
      ...(flags.fast ? { scrapeInterval: FAST_INTERVAL, evaluationInterval: FAST_INTERVAL } : {}),
      // No Grafana runs here: notifications link the runbook the sidecar serves, no dashboard.
      grafanaUrl: '',
    }),
  );
  // Alertmanager: the committed template, receivers from the environment or the local sinks.
  const am = localAlertmanagerEnv(process.env, {
    webhookBase: `http://${HOST}:${webhook.port}`,
    smtp: `${HOST}:${smtp.port}`,
  });
  const alertmanagerConfig = path.join(dataDir, 'alertmanager.yml');
  let amText: string;
  try {
    amText = renderLocalAlertmanager(am.env, flags.fast ? { maxGroupWait: MAX_GROUP_WAIT } : {});
  } catch (err) {
    fail((err as Error).message);
  }
  // It may hold a real Discord webhook URL (a secret): readable by this user only.
  writeFileSync(alertmanagerConfig, amText, { mode: 0o600 });
  chmodSync(alertmanagerConfig, 0o600);

  const procs: Proc[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping ...\n');
    for (const p of [...procs].reverse()) await p.stop();
    await Promise.all(sinks.map((s) => s.close()));
    process.stdout.write('stopped.\n');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  const start = (name: string, bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): Proc => {
    const proc = startProc(name, bin, args, { env, logFile: path.join(logDir, `${name}.log`) });
    procs.push(proc);
    void proc.exited.then(({ code, signal }) => {
      // Ctrl-C in a terminal signals every process of the group at once: let our own
      // SIGINT handler run before calling this exit unexpected.
      setTimeout(() => {
        if (stopping) return;
        process.stderr.write(
          `\nedgewatch stack: ${name} exited (${signal ?? `code ${code}`}); its last output:\n${proc.tail()}\n`,
        );
        void stopAll(1);
      }, 300);
    });
    return proc;
  };
  // A part that does not start stops the ones before it, with one line: the part, and the
  // last line it wrote (for our own programs, their `edgewatch: <what>: <fix>` line); the
  // rest of its output is in its log file.
  const step = async (what: string, name: string, fn: () => Promise<void>) => {
    process.stdout.write(`${what} ... `);
    try {
      await fn();
      process.stdout.write('ready\n');
    } catch (err) {
      process.stdout.write('failed\n');
      const proc = procs.find((p) => p.name === name);
      const last = proc
        ?.tail(5)
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .pop();
      const cause = last ?? (err as Error).message.split('\n')[0];
      process.stderr.write(
        `edgewatch stack: ${name} did not start: ${cause} (its output: ${path.join(logDir, `${name}.log`)})\n`,
      );
      await stopAll(1);
    }
  };

  const nodeEnv = { ...process.env, EDGEWATCH_DB: ledger, EDGEWATCH_LOG_FORMAT: 'json' };
  let demo!: Proc;
  process.stdout.write(`edgewatch stack: data in ${dataDir}\n`);
  // The demo back-fills only a new ledger: after a long pause the windows hold a gap.
  if (reused)
    process.stdout.write(`reusing the ledger ${ledger} (--fresh starts over with a newly back-filled week)\n`);
  // The demo first: on a new ledger it back-fills 8 days of trading before it serves metrics.
  // It always starts normal and --degrade switches it after the back-fill (SIGUSR2): the
  // demo's own --degrade also degrades the back-filled week, which leaves no drift to see.
  await step('demo bot (back-fills 8 days on a new ledger)', 'demo', async () => {
    demo = start('demo', process.execPath, [CLI, 'demo'], {
      ...nodeEnv,
      EDGEWATCH_BOT_PORT: String(ports.bot),
      EDGEWATCH_BOT_HOST: HOST,
    });
    await waitReady(demo, `${url(ports.bot)}/healthz`, 180_000);
    if (flags.degrade) demo.child.kill('SIGUSR2');
  });
  await step('sidecar', 'sidecar', async () => {
    const sidecar = start('sidecar', process.execPath, [CLI, 'sidecar'], {
      ...nodeEnv,
      EDGEWATCH_PORT: String(ports.sidecar),
      EDGEWATCH_HOST: HOST,
    });
    await waitReady(sidecar, `${url(ports.sidecar)}/readyz`);
  });
  await step('alertmanager', 'alertmanager', async () => {
    const p = start(
      'alertmanager',
      bins.alertmanager!,
      alertmanagerArgs({
        config: alertmanagerConfig,
        dataDir: path.join(dataDir, 'alertmanager'),
        port: ports.alertmanager,
      }),
    );
    await waitReady(p, `${url(ports.alertmanager)}/-/ready`);
  });
  await step('prometheus', 'prometheus', async () => {
    const p = start(
      'prometheus',
      bins.prometheus!,
      prometheusArgs({ config: prometheusConfig, dataDir: path.join(dataDir, 'prometheus'), port: ports.prometheus }),
    );
    await waitReady(p, `${url(ports.prometheus)}/-/ready`, 60_000);
  });

  // kill -USR2 of this process toggles the demo's degrade, like kill -USR2 of the demo.
  let degraded = flags.degrade ?? false;
  process.on('SIGUSR2', () => {
    demo.child.kill('SIGUSR2');
    degraded = !degraded;
    process.stdout.write(
      `\n[stack] the demo is ${degraded ? 'degraded now' : 'back to normal'} (SIGUSR2; again to ${degraded ? 'undo' : 'degrade'})\n`,
    );
  });

  const local = am.local.length
    ? `local sink, printed here (not configured: ${am.local.join(', ')})`
    : 'as configured in the environment';
  process.stdout.write(
    `\nedgewatch stack is running (logs: ${logDir})\n` +
      `  Prometheus    ${url(ports.prometheus)}   alerts: ${url(ports.prometheus)}/alerts\n` +
      `  Alertmanager  ${url(ports.alertmanager)}   API: ${url(ports.alertmanager)}/api/v2/alerts\n` +
      `  bot metrics   ${url(ports.bot)}/metrics   (demo pid ${demo.child.pid}${flags.degrade ? ', degraded' : ''})\n` +
      `  sidecar       ${url(ports.sidecar)}/metrics   report: ${url(ports.sidecar)}/v1/report?strategy=momentum&format=markdown\n` +
      `  receivers     ${local}\n` +
      `  processes     ${procs.map((p) => `${p.name} ${p.child.pid}`).join(', ')}\n` +
      `\n` +
      // Already degraded (--degrade), the same signal would undo it: say which it does.
      (flags.degrade
        ? `The demo is degraded (--degrade). Undo: kill -USR2 ${process.pid} (this script passes it on; again to degrade).\n`
        : `Degrade the demo: kill -USR2 ${process.pid} (this script passes it on; again to undo).\n`) +
      `Inspect: npx edgewatch report --strategy momentum --db ${ledger}\n` +
      `Drift alerts need a few minutes of degraded trading to move the 24h window, then hold for\n` +
      `their for: (${flags.fast ? `at most ${MAX_FOR} with --fast` : '15m as shipped; --fast caps it at 1m'}). Alert changes and notifications appear below.\n` +
      `Ctrl-C stops everything.\n`,
  );
  watchAlerts();
}

/** Prints each alert's state changes in Prometheus and its arrival in Alertmanager (not the Watchdog). */
function watchAlerts(): void {
  const states = new Map<string, string>();
  const inAlertmanager = new Map<string, string>();
  const describe = (labels: Record<string, string>) =>
    [
      labels.alertname,
      ...['strategy', 'param_version', 'metric', 'bot'].filter((k) => labels[k]).map((k) => `${k}=${labels[k]}`),
    ].join(' ');
  const poll = async () => {
    try {
      const rules = (await (await fetch(`${url(ports.prometheus)}/api/v1/rules?type=alert`)).json()) as {
        data: {
          groups: Array<{
            rules: Array<{
              name: string;
              duration: number;
              alerts: Array<{ labels: Record<string, string>; state: string }>;
            }>;
          }>;
        };
      };
      const seen = new Set<string>();
      for (const rule of rules.data.groups.flatMap((g) => g.rules)) {
        if (rule.name === 'Watchdog') continue;
        for (const a of rule.alerts) {
          const key = describe(a.labels);
          seen.add(key);
          if (states.get(key) === a.state) continue;
          states.set(key, a.state);
          const wait = a.state === 'pending' ? ` (fires if it holds for ${rule.duration}s)` : '';
          process.stdout.write(`[prometheus] ${a.state}: ${key}${wait}\n`);
        }
      }
      for (const key of [...states.keys()].filter((k) => !seen.has(k))) {
        process.stdout.write(`[prometheus] inactive: ${key}\n`);
        states.delete(key);
      }
      const alerts = (await (await fetch(`${url(ports.alertmanager)}/api/v2/alerts`)).json()) as Array<{
        labels: Record<string, string>;
        status: { state: string };
      }>;
      const present = new Set<string>();
      for (const a of alerts) {
        if (a.labels.alertname === 'Watchdog') continue;
        const key = describe(a.labels);
        present.add(key);
        if (inAlertmanager.get(key) === a.status.state) continue;
        inAlertmanager.set(key, a.status.state);
        process.stdout.write(`[alertmanager] ${a.status.state}: ${key}\n`);
      }
      for (const key of [...inAlertmanager.keys()].filter((k) => !present.has(k))) inAlertmanager.delete(key);
    } catch {
      // a restart or a slow answer: the next poll tells
    }
  };
  setInterval(() => void poll(), 5000).unref();
  void poll();
}

main().catch((err) => fail((err as Error).stack ?? String(err)));
