// Renders prometheus/prometheus.yml with other targets than the docker-compose host names:
// loopback ports for the tests and the native stack (`npm run stack`). The committed file
// stays the one source: this swaps its quoted targets and makes the rule paths absolute
// (the rendered copy lives in a temp dir), and refuses to render if the committed file no
// longer has the expected shape, rather than silently keeping a compose host name.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// This file runs compiled from dist/prometheus/, the configuration lives in prometheus/.
export const PROMETHEUS_DIR = fileURLToPath(new URL('../../prometheus/', import.meta.url));
export const PROMETHEUS_CONFIG_PATH = `${PROMETHEUS_DIR}prometheus.yml`;
export const PROMETHEUS_RULES_DIR = `${PROMETHEUS_DIR}rules`;

export interface PrometheusTargets {
  /** host:port of the bot's metrics (compose: bot:9464). */
  bot: string;
  /** host:port of the sidecar (compose: sidecar:9465). */
  sidecar: string;
  /** host:port of Alertmanager, for alerts and its self-scrape (compose: alertmanager:9093). */
  alertmanager: string;
  /** Directory holding recording.yml, alerts.yml and daily.yml; default: this repository's prometheus/rules. */
  ruleDir?: string;
  /** host:port of this Prometheus for its self-scrape; default localhost:9090. */
  prometheus?: string;
  /** The `bot` label of the bot/sidecar pair; default as committed ('demo'). */
  botName?: string;
  /** Global scrape_interval / evaluation_interval, e.g. '1s' in tests; default as committed (15s). */
  scrapeInterval?: string;
  evaluationInterval?: string;
  /**
   * External labels the alert links are built from. grafanaUrl: default as committed; ''
   * drops the label (no Grafana runs: notifications carry no dashboard link). runbookUrl:
   * default the sidecar's own /runbook at the `sidecar` target, reachable wherever the copy runs.
   */
  grafanaUrl?: string;
  runbookUrl?: string;
  /** Base URL of the sidecar's pages (the daily report's link); default http://<sidecar target>; '' drops it. */
  pagesUrl?: string;
  /**
   * The file whose content Prometheus sends as the sidecar's bearer token
   * (EDGEWATCH_METRICS_TOKEN); default the committed empty prometheus/metrics_token (no token).
   */
  metricsTokenFile?: string;
}

/** The committed prometheus.yml with the given targets (see PrometheusTargets). */
export function renderPrometheusConfig(targets: PrometheusTargets): string {
  let text = readFileSync(PROMETHEUS_CONFIG_PATH, 'utf8');
  const ruleDir = (targets.ruleDir ?? PROMETHEUS_RULES_DIR).replace(/\/+$/, '');
  // Values land inside single-quoted YAML strings (or bare durations).
  for (const [key, value] of Object.entries(targets)) {
    if (typeof value === 'string' && /['\n\r]/.test(value)) {
      throw new Error(`prometheus render: ${key} must not contain a quote or newline: ${JSON.stringify(value)}`);
    }
  }
  const swap = (from: string, to: string | undefined, times = 1): void => {
    if (to === undefined) return;
    const count = text.split(from).length - 1;
    if (count !== times) {
      throw new Error(`prometheus render: expected ${times} × ${from} in ${PROMETHEUS_CONFIG_PATH}, found ${count}`);
    }
    text = text.split(from).join(to);
  };
  swap("'bot:9464'", `'${targets.bot}'`);
  swap("'sidecar:9465'", `'${targets.sidecar}'`);
  swap("'alertmanager:9093'", `'${targets.alertmanager}'`, 2);
  swap("'localhost:9090'", targets.prometheus && `'${targets.prometheus}'`);
  swap("bot: 'demo'", targets.botName && `bot: '${targets.botName}'`, 2);
  swap("'rules/recording.yml'", `'${ruleDir}/recording.yml'`);
  swap("'rules/alerts.yml'", `'${ruleDir}/alerts.yml'`);
  swap("'rules/daily.yml'", `'${ruleDir}/daily.yml'`);
  swap('scrape_interval: 15s', targets.scrapeInterval && `scrape_interval: ${targets.scrapeInterval}`);
  swap('evaluation_interval: 15s', targets.evaluationInterval && `evaluation_interval: ${targets.evaluationInterval}`);
  swap(
    "    edgewatch_grafana: 'http://localhost:3000'\n",
    targets.grafanaUrl === '' ? '' : targets.grafanaUrl && `    edgewatch_grafana: '${targets.grafanaUrl}'\n`,
  );
  swap(
    "edgewatch_runbook: 'http://localhost:9465/runbook'",
    `edgewatch_runbook: '${targets.runbookUrl ?? `http://${targets.sidecar}/runbook`}'`,
  );
  swap(
    "    edgewatch_pages: 'http://localhost:9465'\n",
    targets.pagesUrl === ''
      ? ''
      : `    edgewatch_pages: '${(targets.pagesUrl ?? `http://${targets.sidecar}`).replace(/\/+$/, '')}'\n`,
  );
  // The rendered copy lives elsewhere: the relative token path becomes absolute.
  swap(
    "credentials_file: 'metrics_token'",
    `credentials_file: '${targets.metricsTokenFile ?? `${PROMETHEUS_DIR}metrics_token`}'`,
  );
  return text;
}
