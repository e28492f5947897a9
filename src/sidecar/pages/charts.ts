// Inline SVG line charts for the pages: no script, no font, scales with its box. Pure: points
// in, markup out. Every text (titles, marker labels) goes through the escaping template.
import { html, type Html } from './html.js';
import type { Point } from './series.js';

export interface Marker {
  t: number;
  /** Short text drawn at the line ("v3", "exp lookback-25"). */
  label: string;
  kind: 'deploy' | 'experiment';
}

export interface LineChart {
  id: string;
  title: string;
  /** A sentence for screen readers: what the chart shows and its last value. */
  description: string;
  points: Point[];
  fromMs: number;
  toMs: number;
  markers?: Marker[];
  /** Formats a y tick; `step` is the distance between ticks. */
  format: (v: number, step: number) => string;
  /** Forces these values into the y range (0 for PnL, 0..1 for a ratio). */
  include?: number[];
}

const W = 640;
const H = 240;
const PAD = { left: 64, right: 12, top: 14, bottom: 28 };
const DAY = 86_400_000;

export function lineChart(c: LineChart): Html {
  const ys = [...c.points.map((p) => p.v), ...(c.include ?? [])];
  let lo = Math.min(...ys);
  let hi = Math.max(...ys);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) lo = hi = 0;
  if (hi - lo < 1e-9) {
    hi += 1;
    lo -= 1;
  }
  const ticks = niceTicks(lo, hi, 5);
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
  lo = Math.min(lo, ticks[0]);
  hi = Math.max(hi, ticks[ticks.length - 1]);
  const x = (t: number) => PAD.left + ((t - c.fromMs) / (c.toMs - c.fromMs)) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - (v - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  const f = (n: number) => n.toFixed(1);
  const path = c.points.map((p, i) => `${i ? 'L' : 'M'}${f(x(p.t))} ${f(y(p.v))}`).join('');
  const days: number[] = [];
  for (let t = Math.ceil(c.fromMs / DAY) * DAY; t <= c.toMs; t += DAY) days.push(t);
  const markers = (c.markers ?? []).filter((m) => m.t >= c.fromMs && m.t <= c.toMs);
  return html`<svg
    id="${c.id}"
    viewBox="0 0 ${W} ${H}"
    role="img"
    aria-labelledby="${c.id}-title ${c.id}-desc"
    xmlns="http://www.w3.org/2000/svg"
  >
    <title id="${c.id}-title">${c.title}</title>
    <desc id="${c.id}-desc">${c.description}</desc>
    <g font-size="12" fill="#4f5862">
      ${ticks.map(
        (v) =>
          html`<line
              x1="${PAD.left}"
              x2="${W - PAD.right}"
              y1="${f(y(v))}"
              y2="${f(y(v))}"
              stroke="${v === 0 ? '#8c959f' : '#e1e4e8'}"
            /><text x="${PAD.left - 6}" y="${f(y(v) + 4)}" text-anchor="end">${c.format(v, step)}</text>`,
      )}
      ${days.map(
        (t) =>
          html`<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="#eef0f2" /><text
              x="${f(x(t))}"
              y="${H - 10}"
              text-anchor="middle"
              >${new Date(t).toISOString().slice(5, 10)}</text
            >`,
      )}
    </g>
    ${markers.map((m, i) => {
      const colour = m.kind === 'deploy' ? '#0b57d0' : '#8a4b00';
      // Labels alternate between two heights so that two markers close together stay readable.
      const ly = PAD.top + 11 + (i % 2) * 13;
      return html`<g class="marker marker-${m.kind}"
        ><line
          x1="${f(x(m.t))}"
          x2="${f(x(m.t))}"
          y1="${PAD.top}"
          y2="${H - PAD.bottom}"
          stroke="${colour}"
          stroke-dasharray="4 3"
        /><text x="${f(x(m.t) + 3)}" y="${ly}" font-size="12" fill="${colour}">${m.label}</text></g
      >`;
    })}
    ${c.points.length ? html`<path d="${path}" fill="none" stroke="#1b1f24" stroke-width="1.8" />` : html`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#4f5862">no trades in this range</text>`}
  </svg>`;
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / Math.max(1, count - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.round(v / step) * step);
  if (out[out.length - 1] < hi) out.push(out[out.length - 1] + step);
  return out;
}
