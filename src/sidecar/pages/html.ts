// HTML building for the sidecar's pages: a tagged template that escapes every interpolated
// value unless it is already HTML built here, and the page frame (style, header, footer).
// Why a tagged template rather than string concatenation: everything a bot wrote (parameter
// values, deploy notes, experiment outcomes) reaches these pages, and escaping by default
// means a forgotten call leaves text that shows markup instead of running it.

const RAW = Symbol('html');

/** HTML built by `html` or `raw`: interpolated as it is. */
export interface Html {
  readonly [RAW]: string;
}

/** Marks a string as HTML. Only for markup made here (never for text a bot or a request sent). */
export function raw(markup: string): Html {
  return { [RAW]: markup };
}

export function isHtml(v: unknown): v is Html {
  return typeof v === 'object' && v !== null && RAW in v;
}

/** Escapes text for element content and quoted attribute values. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** undefined, null and false render as nothing; arrays are joined; anything else not Html is escaped. */
function part(v: unknown): string {
  if (v === undefined || v === null || v === false) return '';
  if (Array.isArray(v)) return v.map(part).join('');
  if (isHtml(v)) return v[RAW];
  if (typeof v === 'string') return esc(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return esc(JSON.stringify(v) ?? '');
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += part(values[i]) + strings[i + 1];
  return raw(out);
}

export function toString(h: Html): string {
  return h[RAW];
}

/**
 * A URL path segment for a name: names are [A-Za-z0-9_.:-] (src/model/names.ts), but the
 * segment is encoded anyway, so that a name never changes the path it is put in.
 */
export function seg(name: string): string {
  return encodeURIComponent(name);
}

// The style of every page: system fonts only (nothing fetched), colours with at least 4.5:1
// contrast on their background, a visible focus ring for keyboard users, tables that scroll
// sideways inside their own region on a phone.
const STYLE = `
:root{color-scheme:light;--fg:#1b1f24;--muted:#4f5862;--line:#d0d7de;--bg:#fff;--panel:#f6f8fa;--link:#0b57d0}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--link)}
a:focus-visible,[tabindex]:focus-visible{outline:3px solid #8a4b00;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:8px}
.skip:focus{left:8px}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 16px}
header{display:flex;flex-wrap:wrap;gap:4px 16px;align-items:baseline;border-bottom:1px solid var(--line);padding-top:12px;padding-bottom:8px}
header .brand{font-weight:700;font-size:18px;text-decoration:none;color:var(--fg)}
header nav a{margin-right:12px}
h1{font-size:24px;margin:16px 0 4px}
h2{font-size:19px;margin:24px 0 8px}
h3{font-size:16px;margin:16px 0 6px}
.muted{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:16px;margin:16px 0}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 14px;background:var(--bg)}
.card h2{margin:0 0 4px;display:flex;justify-content:space-between;gap:8px;align-items:center}
.state{display:inline-block;border-radius:12px;padding:1px 10px;font-size:14px;font-weight:700;border:1px solid}
.state-healthy{background:#e6f4ea;color:#14532d;border-color:#14532d}
.state-watch{background:#fff4d6;color:#6b4100;border-color:#6b4100}
.state-degraded{background:#fde7e7;color:#8b1111;border-color:#8b1111}
.state-stalled{background:#ece8f7;color:#3f2a7a;border-color:#3f2a7a}
.reasons{margin:6px 0;padding-left:18px}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:6px 0;font-variant-numeric:tabular-nums}
th,td{padding:4px 10px 4px 0;text-align:right;border-bottom:1px solid var(--line);white-space:nowrap}
th:first-child,td:first-child{text-align:left}
td.text,th.text{text-align:left;white-space:normal}
caption{text-align:left;font-weight:600;padding:4px 0}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0}
.recs{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:8px 14px 8px 30px}
.recs li{margin:4px 0}
figure{margin:12px 0}
figure svg{width:100%;min-width:480px;height:auto;max-width:900px;display:block}
figcaption{color:var(--muted);font-size:14px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
pre{white-space:pre-wrap;word-break:break-word;background:var(--panel);padding:6px 8px;border-radius:6px;margin:4px 0}
footer{color:var(--muted);font-size:13px;border-top:1px solid var(--line);margin-top:32px;padding-top:8px;padding-bottom:24px}
`;

export interface PageFrame {
  title: string;
  main: Html;
  generatedMs: number;
  /** Extra links in the header (the current strategy's pages). */
  nav?: Array<{ href: string; label: string }>;
}

export function layout(p: PageFrame): string {
  const doc = html`<!DOCTYPE html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>${p.title} · edgewatch</title>
        <link rel="icon" href="data:," />
        <style>
          ${raw(STYLE)}
        </style>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>
          <a class="brand" href="/">edgewatch</a>
          <nav aria-label="Pages">
            <a href="/">All strategies</a>${(p.nav ?? []).map((n) => html`<a href="${n.href}">${n.label}</a>`)}
          </nav>
        </header>
        <main id="main">${p.main}</main>
        <footer>
          Generated ${isoMinute(p.generatedMs)} by the edgewatch sidecar from what
          <a href="/metrics">/metrics</a> exports. Times in UTC. Reload for fresh figures.
        </footer>
      </body>
    </html> `;
  return toString(doc);
}

// ---- formatting (ASCII '-' for negatives, as the report does: the figures can be copied and parsed)

/** A number with `digits` decimals; '–' when absent. */
export function num(x: number | undefined | null, digits = 2): string {
  if (x === undefined || x === null || Number.isNaN(x)) return '–';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const s = x.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

/** A ratio as a percentage with one decimal. */
export function pct(x: number | undefined | null): string {
  return x === undefined || x === null || Number.isNaN(x) ? '–' : `${(x * 100).toFixed(1)}%`;
}

/**
 * A figure as shown, with the exact value in a <data> element: a person reads the rounded
 * one, a script (and the browser test) can read the value /metrics exports.
 */
export function fig(x: number | undefined | null, shown: string): Html {
  if (x === undefined || x === null || !Number.isFinite(x)) return html`${shown}`;
  return html`<data value="${String(x)}">${shown}</data>`;
}

export function isoMinute(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** "3 min ago", "2 h ago", "4 d ago"; "in the future" for a clock ahead of ours. */
export function age(ms: number | undefined, nowMs: number): string {
  if (ms === undefined) return 'never';
  const s = Math.round((nowMs - ms) / 1000);
  if (s < 0) return 'in the future (clock skew)';
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
