// `/report/:name`: the report of GET /v1/report (the same Report object, src/sidecar/report.ts)
// as a page to read in the morning: recommendations first, then the figures behind them.
import type { WindowStats } from '../../analytics/index.js';
import { WINDOWS } from '../engine.js';
import type { Report } from '../report.js';
import { fig, html, isoMinute, layout, num, pct, seg, type Html } from './html.js';

const ROWS: Array<[keyof WindowStats, string, (x: number | undefined) => string]> = [
  ['trades', 'trades', (x) => (x === undefined ? '0' : String(x))],
  ['win_ratio', 'win ratio', pct],
  ['net_pnl', 'net PnL', (x) => num(x)],
  ['pnl_per_trade', 'PnL per trade', (x) => num(x, 4)],
  ['profit_factor', 'profit factor', (x) => num(x)],
  ['sharpe_ratio', 'Sharpe (per trade)', (x) => num(x, 3)],
  ['max_drawdown', 'max drawdown', (x) => num(x)],
  ['fees', 'fees', (x) => num(x)],
];

export function reportPage(r: Report): string {
  const name = seg(r.strategy);
  const api = `/v1/report?strategy=${name}&window=${r.window}`;
  const generated = Date.parse(r.generated_at);
  const main = html`<h1>Report: ${r.strategy}</h1>
    <p class="muted">
      Generated ${isoMinute(generated)}. Active version: ${r.active_version ?? 'none'}. Window:
      ${(Object.keys(WINDOWS) as Array<keyof typeof WINDOWS>).map(
        (w, i) =>
          html`${i ? ' · ' : ''}${w === r.window ? html`<strong aria-current="page">${w}</strong>` : html`<a href="/report/${name}?window=${w}">${w}</a>`}`,
      )}.
      Also as <a href="${api}&amp;format=markdown">Markdown</a> or <a href="${api}">JSON</a>.
    </p>

    <h2 id="recommendations">Recommendations</h2>
    <ul class="recs">
      ${r.recommendations.map((x) => html`<li>${x}</li>`)}
    </ul>

    <h2 id="figures">Last ${r.window}, and the active version against its own earlier days</h2>
    <p class="muted">
      The strategy column holds every trade of the last ${r.window}; the next two only the active version's since its
      latest deploy: its last 24h, and its trades of the 7d window less the last 24h (the baseline).
    </p>
    <div class="scroll" role="region" aria-label="Figures" tabindex="0">
      <table id="figures-table">
        <thead>
          <tr>
            <th scope="col">statistic</th>
            <th scope="col">strategy, ${r.window}</th>
            <th scope="col">active version, 24h</th>
            <th scope="col">baseline</th>
          </tr>
        </thead>
        <tbody>
          ${ROWS.map(
            ([k, label, f]) =>
              html`<tr data-stat="${k}">
                <th scope="row">${label}</th>
                <td>${fig(r.stats[k], f(r.stats[k]))}</td>
                <td>${fig(r.recent[k], f(r.recent[k]))}</td>
                <td>${fig(r.baseline[k], f(r.baseline[k]))}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
    <p>
      Drift (absent under ${r.drift.min_trades} trades in either sample): PnL per trade z =
      ${fig(r.drift.pnl_per_trade, num(r.drift.pnl_per_trade))}, win ratio z =
      ${fig(r.drift.win_ratio, num(r.drift.win_ratio))}.
    </p>
    ${
      r.cusum
        ? html`<p>
            CUSUM of the active version since its latest deploy (${r.cusum.trades} trades,
            ${r.cusum.outcome === 'return' ? 'return on notional' : 'PnL'} per trade, alert above ${r.cusum.threshold}
            nats):
            ${Object.entries(r.cusum.by_shift).map(
              ([shift, llr], i) => html`${i ? ', ' : ''}fall of ${shift}σ ${fig(llr, num(llr))} nats`,
            )}.
          </p>`
        : html`<p>CUSUM: not yet (too few trades since the latest deploy).</p>`
    }

    <h2 id="versions">Parameter versions, best first</h2>
    <p class="muted">
      Ranked by the lower 95% bound of PnL per trade (mean − 1.96·sd/√n); versions with too few trades to rank come
      last.
    </p>
    <div class="scroll" role="region" aria-label="Parameter versions" tabindex="0">
      <table>
        <thead>
          <tr>
            <th scope="col">version</th>
            <th scope="col">trades</th>
            <th scope="col">win ratio</th>
            <th scope="col">PnL per trade</th>
            <th scope="col">lower 95%</th>
            <th scope="col">net PnL</th>
            <th scope="col">max drawdown</th>
            <th scope="col">straddling</th>
          </tr>
        </thead>
        <tbody>
          ${r.versions.map(
            (v) =>
              html`<tr>
                <th scope="row">${v.param_version}${v.active ? ' (active)' : ''}</th>
                <td>${v.trades}</td>
                <td>${pct(v.win_ratio)}</td>
                <td>${num(v.pnl_per_trade, 4)}</td>
                <td>${v.ranked ? num(v.pnl_per_trade_lower_95, 4) : 'too few to rank'}</td>
                <td>${num(v.net_pnl)}</td>
                <td>${num(v.max_drawdown)}</td>
                <td>${v.straddling_trades}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${
      r.experiments.length
        ? html`<h2 id="experiments">Experiments</h2>
            ${r.experiments.map(experiment)}`
        : ''
    }
    <p><a href="/strategies/${name}">Charts and versions of ${r.strategy}</a></p>`;
  return layout({
    title: `Report of ${r.strategy}`,
    main,
    generatedMs: generated,
    nav: [{ href: `/strategies/${name}`, label: r.strategy }],
  });
}

function experiment(e: Report['experiments'][number]): Html {
  const p = e.tests.length ? Math.min(...e.tests.map((t) => t.p_value)) : undefined;
  const verdict =
    p === undefined
      ? 'no test yet (too few trades per variant)'
      : `${e.significant ? 'significant' : 'not significant'}: p = ${p.toPrecision(2)}, line ${e.p_threshold}`;
  return html`<h3>
      ${e.name}
      <span class="muted"
        >(${e.running ? 'running' : `stopped${e.winner ? `, winner ${e.winner}` : ''}`}; ${verdict})</span
      >
    </h3>
    <div class="scroll" role="region" aria-label="Variants of ${e.name}" tabindex="0">
      <table>
        <thead>
          <tr>
            <th scope="col">variant</th>
            <th scope="col">version</th>
            <th scope="col">trades</th>
            <th scope="col">win ratio</th>
            <th scope="col">PnL per trade</th>
          </tr>
        </thead>
        <tbody>
          ${e.variants.map(
            (v) =>
              html`<tr>
                <th scope="row">${v.variant}</th>
                <td>${v.param_version}</td>
                <td>${v.trades}</td>
                <td>${pct(v.win_ratio)}</td>
                <td>${num(v.pnl_per_trade, 4)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
}
