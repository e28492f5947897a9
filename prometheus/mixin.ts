// Environment-specific values of the rules and dashboards in one place, as the monitoring
// mixins do: the label selectors of the bot's and the sidecar's scrape jobs. The committed
// rules (prometheus/rules) and dashboards (grafana/dashboards) are written with the defaults
// of prometheus/mixin.json, which also names the jobs of prometheus/prometheus.yml; a test
// checks that every job selector in them is one of these. To run them under other jobs
// (a Prometheus that scrapes the bot as job="bots", say), render copies with yours:
//   npm run mixin -- --bot-selector 'job="bots"' --sidecar-selector 'job="sidecars"' --out DIR
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Mixin {
  /** Label matchers of the bot's scrape job, as written inside {...}: job="trading-bot". */
  botSelector: string;
  /** The same for the sidecar's scrape job. */
  sidecarSelector: string;
}

// This file runs compiled from dist/prometheus/; the configuration lives in prometheus/.
export const MIXIN_PATH = fileURLToPath(new URL('../../prometheus/mixin.json', import.meta.url));

/** The committed defaults. */
export function defaultMixin(): Mixin {
  return readMixin(JSON.parse(readFileSync(MIXIN_PATH, 'utf8')));
}

const MATCHERS =
  /^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"(?:[^"\\]|\\.)*"(\s*,\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"(?:[^"\\]|\\.)*")*\s*$/;

/** Checks a mixin's values: label matchers as PromQL writes them between braces. */
export function readMixin(raw: unknown): Mixin {
  const o = raw as Partial<Record<keyof Mixin, unknown>>;
  for (const k of ['botSelector', 'sidecarSelector'] as const)
    if (typeof o?.[k] !== 'string' || !MATCHERS.test(o[k]))
      throw new Error(`mixin: ${k} must be label matchers such as job="trading-bot" (got ${JSON.stringify(o?.[k])})`);
  return { botSelector: o.botSelector as string, sidecarSelector: o.sidecarSelector as string };
}

/** Every job matcher written in a rule file or dashboard (`job="..."`, `job=~"..."`). */
export function jobSelectors(text: string): string[] {
  return [...text.matchAll(/job\s*(=|=~)\s*\\?"[^"\\]*\\?"/g)].map((m) => m[0].replace(/\\"/g, '"'));
}

/**
 * A rule file or dashboard written with `from`'s selectors, re-written with `to`'s. Only whole
 * `{...}` matchers equal to a default selector are replaced; anything else is left as it is, and
 * the caller checks with jobSelectors that none of `from`'s remain.
 */
export function renderWith(text: string, from: Mixin, to: Mixin): string {
  const swap = (s: string, a: string, b: string) => {
    const quoted = (x: string) => x.replace(/"/g, '\\"');
    // In YAML and PromQL the matcher is written as is; in dashboard JSON with escaped quotes.
    return s
      .split(`{${a}}`)
      .join(`{${b}}`)
      .split(`{${quoted(a)}}`)
      .join(`{${quoted(b)}}`);
  };
  return swap(swap(text, from.botSelector, to.botSelector), from.sidecarSelector, to.sidecarSelector);
}
