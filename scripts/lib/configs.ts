// Configuration for a Prometheus and an Alertmanager on loopback, rendered from the committed
// files (prometheus/prometheus.yml and rules, alertmanager/alertmanager.template.yml) with
// only what must change on this machine: targets, receiver URLs and, on request, shorter
// waits. Used by `npm run stack` and the end-to-end test.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROMETHEUS_RULES_DIR } from '../../prometheus/render.js';
import { alertmanagerPlaceholders, renderAlertmanagerConfig } from '../../alertmanager/render.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** A Prometheus duration ('15m', '1h30m', '500ms') in milliseconds. */
export function durationMs(text: string): number {
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text) throw new Error(`not a Prometheus duration: ${text}`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNIT_MS[unit], 0);
}

/** Replaces every `<key>: <duration>` longer than `max` with `max`; counts the changes. */
export function capDurations(text: string, key: string, max: string): { text: string; changed: number } {
  const limit = durationMs(max);
  let changed = 0;
  const out = text.replace(
    new RegExp(`^([ \\t]*${key}: )(\\w+)[ \\t]*$`, 'gm'),
    (line, prefix: string, value: string) => {
      if (durationMs(value) <= limit) return line;
      changed++;
      return `${prefix}${max}`;
    },
  );
  return { text: out, changed };
}

/**
 * Copies the committed rule files (recording.yml, alerts.yml) into `dir`, with every alert's
 * `for:` cut to `maxFor` when given (expressions, labels and annotations stay as shipped).
 * Returns `dir`, to pass as renderPrometheusConfig's ruleDir.
 */
export function writeRules(dir: string, options: { maxFor?: string; maxKeepFiringFor?: string } = {}): string {
  mkdirSync(dir, { recursive: true });
  for (const file of readdirSync(PROMETHEUS_RULES_DIR).filter((f) => f.endsWith('.yml'))) {
    let text = readFileSync(path.join(PROMETHEUS_RULES_DIR, file), 'utf8');
    if (options.maxFor) text = capDurations(text, 'for', options.maxFor).text;
    if (options.maxKeepFiringFor) text = capDurations(text, 'keep_firing_for', options.maxKeepFiringFor).text;
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

export interface LocalReceivers {
  /** Base URL of a webhook sink: Discord posts to <base>/discord, the Watchdog to <base>/watchdog. */
  webhookBase: string;
  /** host:port of an SMTP sink (no TLS). */
  smtp: string;
}

/**
 * The Alertmanager variables from `env`, with local stand-ins for the receivers that are not
 * configured: Discord and the Watchdog go to the webhook sink, mail to the SMTP sink (all
 * SMTP variables together, so a half-configured mail server is reported, not patched).
 * `local` names the variables that were filled in.
 */
export function localAlertmanagerEnv(
  env: NodeJS.ProcessEnv,
  sinks: LocalReceivers,
): { env: Record<string, string | undefined>; local: string[] } {
  const out: Record<string, string | undefined> = { ...env };
  const local: string[] = [];
  const fill = (name: string, value: string) => {
    if (out[name]) return;
    out[name] = value;
    local.push(name);
  };
  fill('EDGEWATCH_DISCORD_WEBHOOK_URL', `${sinks.webhookBase}/discord`);
  fill('EDGEWATCH_WATCHDOG_URL', `${sinks.webhookBase}/watchdog`);
  const smtpVars = alertmanagerPlaceholders()
    .map((p) => p.name)
    .filter((n) => n.startsWith('EDGEWATCH_SMTP_') || n === 'EDGEWATCH_EMAIL_TO');
  if (smtpVars.every((n) => !env[n])) {
    fill('EDGEWATCH_SMTP_SMARTHOST', sinks.smtp);
    fill('EDGEWATCH_SMTP_FROM', 'edgewatch@localhost');
    fill('EDGEWATCH_EMAIL_TO', 'oncall@localhost');
    fill('EDGEWATCH_SMTP_REQUIRE_TLS', 'false');
  }
  return { env: out, local };
}

/** The Alertmanager configuration as shipped, receivers from `env`, `group_wait` cut to `maxGroupWait`. */
export function renderLocalAlertmanager(
  env: Record<string, string | undefined>,
  options: { maxGroupWait?: string } = {},
): string {
  const text = renderAlertmanagerConfig(env);
  return options.maxGroupWait ? capDurations(text, 'group_wait', options.maxGroupWait).text : text;
}
