// Every PromQL expression the dashboards send, so tests can run them against a real
// Prometheus: the grafana test checks that each one parses, the end-to-end test that
// the core panels return data once Prometheus has scraped the demo.
import { buildDashboards, CORE_PANELS } from './dashboards.js';

export interface PanelQuery {
  /** dashboard uid */
  dashboard: string;
  /** panel title, `annotation: <name>` or `variable: <name>` */
  panel: string;
  expr: string;
  /** the panel must show data once Prometheus has scraped the demo */
  core: boolean;
}

interface AnyPanel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: AnyPanel[];
}

export function allPanelQueries(): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const { dashboard: d } of buildDashboards()) {
    const uid = d.uid ?? d.title ?? '';
    const core = CORE_PANELS.get(uid) ?? new Set<string>();
    const visit = (p: AnyPanel) => {
      for (const t of p.targets ?? []) {
        if (t.expr) out.push({ dashboard: uid, panel: p.title ?? '', expr: t.expr, core: core.has(p.title ?? '') });
      }
      (p.panels ?? []).forEach(visit);
    };
    ((d.panels ?? []) as AnyPanel[]).forEach(visit);
    for (const a of d.annotations?.list ?? []) {
      const expr = (a as { expr?: string }).expr;
      if (expr) out.push({ dashboard: uid, panel: `annotation: ${a.name}`, expr, core: false });
    }
    for (const v of d.templating?.list ?? []) {
      // label_values(selector, label) is Grafana's, not PromQL: check the selector as a query.
      const m = typeof v.query === 'string' ? /^label_values\((.*),\s*(\w+)\)$/.exec(v.query) : null;
      if (m)
        out.push({ dashboard: uid, panel: `variable: ${v.name}`, expr: `group by (${m[2]}) (${m[1]})`, core: false });
    }
  }
  return out;
}

/**
 * Values for Grafana's built-in variables, as Grafana's Prometheus datasource renders them
 * for a 24h range, plus example values for the dashboards' own variables.
 */
export const EXAMPLE_VARS: Record<string, string> = {
  strategy: 'momentum',
  experiment: 'lookback-25',
  __range: '86400s',
  __range_s: '86400',
  __range_ms: '86400000',
  __interval: '1m',
  __interval_ms: '60000',
  __rate_interval: '2m',
};

/**
 * Replaces `$name`, `${name}` and `${name:format}` with `vars[name]`. Throws on a variable
 * that has no value, so a typo in a dashboard cannot pass unnoticed.
 */
export function substitute(expr: string, vars: Record<string, string> = EXAMPLE_VARS): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (_all, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    const value = vars[name];
    if (value === undefined) throw new Error(`no value for $${name} in: ${expr}`);
    return value;
  });
}
