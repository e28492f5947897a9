// `/strategies/:name`: cumulative PnL over 7d with deploys and experiment starts marked, the
// rolling win ratio, the versions with their uncertainty and parameter changes, experiments
// with each arm's estimate and interval. Pure: the router gathers the inputs.
import type { Agg } from '../../analytics/index.js';
import type { DeployInfo, ExperimentInfo } from '../../ledger/ledger.js';
import { versionLabel } from '../../model/names.js';
import { canonicalJson, type ParamChange, type ParamSet } from '../../model/params.js';
import { lowerBound95 } from '../report.js';
import type { StrategySnapshot } from '../snapshot.js';
import { lineChart, type Marker } from './charts.js';
import { age, fig, html, isoMinute, layout, num, pct, seg, type Html } from './html.js';
import { cumulativePnl, rollingWinRatio, type HourCut } from './series.js';
import { strategyState } from './state.js';

export interface StrategyPageInput {
  snap: StrategySnapshot;
  nowMs: number;
  cut: HourCut;
  deploys: DeployInfo[];
  experiments: ExperimentInfo[];
  /** Per version in the table: its changes against the version before it (v1: against nothing). */
  changes: Map<number, { previous: number | null; diff: ParamChange[] }>;
}

export function strategyPage(p: StrategyPageInput): string {
  const { snap: s, nowMs, cut } = p;
  const state = strategyState(s, nowMs);
  const pnl = cumulativePnl(cut);
  const wins = rollingWinRatio(cut, s.windows['24h'].stats.win_ratio);
  const markers: Marker[] = [
    ...p.deploys.map((d) => ({ t: d.deployedMs, label: versionLabel(d.version), kind: 'deploy' as const })),
    ...p.experiments.map((e) => ({ t: e.startedMs, label: `exp ${e.name}`, kind: 'experiment' as const })),
  ].sort((a, b) => a.t - b.t);
  const shown = markers.filter((m) => m.t > cut.fromMs && m.t <= nowMs);
  const last7 = s.windows['7d'].stats.net_pnl;
  const main = html`<h1>
      ${s.strategy} <span class="state state-${state.word}" data-state="${state.word}">${state.word}</span>
    </h1>
    ${
      state.reasons.length
        ? html`<ul class="reasons">
            ${state.reasons.map((r) => html`<li>${r}</li>`)}
          </ul>`
        : ''
    }
    <p class="muted">
      ${
        s.active
          ? html`Active ${versionLabel(s.active.version)} since ${isoMinute(s.active.deployedMs)}.`
          : 'No version deployed.'
      }
      Last trade ${age(s.lastTradeMs, nowMs)}, last heartbeat ${age(s.lastHeartbeatMs, nowMs)}.
      <a href="/report/${seg(s.strategy)}">Daily report of ${s.strategy}</a>
    </p>

    <h2 id="pnl">Cumulative net PnL, last 7 days</h2>
    <figure>
      <div class="scroll" role="region" aria-label="Chart of cumulative net PnL" tabindex="0">
        ${lineChart({
          id: 'chart-pnl',
          title: `${s.strategy}: cumulative net PnL over the last 7 days`,
          description: `Hourly steps from 0 at the window start to ${num(last7)} now; dashed lines mark ${shown.length} deploys and experiment starts.`,
          points: pnl,
          fromMs: cut.fromMs,
          toMs: nowMs,
          markers: shown,
          format: (v, step) => num(v, Math.max(0, Math.ceil(-Math.log10(step)))),
          include: [0],
        })}
      </div>
      <figcaption>
        Net PnL (quote currency) summed from ${isoMinute(cut.fromMs)}: ${fig(last7, num(last7))} over
        ${s.windows['7d'].agg.n} trades. Blue dashes: deploys; brown dashes: experiment starts.
      </figcaption>
    </figure>
    ${eventList(p)}

    <h2 id="win-ratio">Win ratio, rolling 24 hours</h2>
    <figure>
      <div class="scroll" role="region" aria-label="Chart of the rolling win ratio" tabindex="0">
        ${lineChart({
          id: 'chart-win',
          title: `${s.strategy}: win ratio of the trailing 24 hours`,
          description: `Wins over trades of the 24 hours before each hour; now ${pct(s.windows['24h'].stats.win_ratio)}.`,
          points: wins,
          fromMs: cut.fromMs,
          toMs: nowMs,
          markers: shown,
          format: (v) => `${Math.round(v * 100)}%`,
          include: [0, 1],
        })}
      </div>
      <figcaption>
        Now ${fig(s.windows['24h'].stats.win_ratio, pct(s.windows['24h'].stats.win_ratio))} over
        ${s.windows['24h'].agg.n} trades of the last 24h.
      </figcaption>
    </figure>

    <h2 id="versions">Parameter versions</h2>
    <p class="muted">
      Whole-life figures of each version. ± is the 95% half-width of PnL per trade (1.96·sd/√n), as the report ranks
      them; under 2 trades there is none.
    </p>
    ${versionTable(s)} ${changesSection(s, p)}

    <h2 id="experiments">Experiments</h2>
    ${s.experiments.length ? s.experiments.map((e) => experiment(s, e, p.experiments)) : html`<p>No experiment yet.</p>`}`;
  return layout({
    title: s.strategy,
    main,
    generatedMs: nowMs,
    nav: [{ href: `/report/${seg(s.strategy)}`, label: `Report of ${s.strategy}` }],
  });
}

/** The deploys (with what the bot said of them) and experiment starts inside the charts' range. */
function eventList(p: StrategyPageInput): Html {
  const inRange = (t: number) => t > p.cut.fromMs && t <= p.nowMs;
  const events = [
    ...p.deploys.filter((d) => inRange(d.deployedMs)).map((d) => ({ t: d.deployedMs, text: deployText(d) })),
    ...p.experiments
      .filter((e) => inRange(e.startedMs))
      .map((e) => ({ t: e.startedMs, text: html`start of experiment ${e.name}` })),
  ].sort((a, b) => a.t - b.t);
  if (!events.length) return html``;
  return html`<details>
    <summary>Deploys and experiment starts in the charts (${events.length})</summary>
    <ul>
      ${events.map((e) => html`<li>${isoMinute(e.t)}: ${e.text}</li>`)}
    </ul>
  </details>`;
}

function deployText(d: DeployInfo): Html {
  return html`deploy of
  ${versionLabel(d.version)}${d.source ? html` from <code>${d.source}</code>` : ''}${d.gitSha ? html` at <code>${d.gitSha}</code>` : ''}${d.note ? html`: ${d.note}` : ''}`;
}

/** Mean ± the 95% half-width, from the report's lower bound. */
function estimate(agg: Agg): { mean?: number; half?: number } {
  if (agg.n === 0) return {};
  const lower = lowerBound95(agg);
  return { mean: agg.sum / agg.n, half: lower === undefined ? undefined : agg.sum / agg.n - lower };
}

function versionTable(s: StrategySnapshot): Html {
  if (!s.versions.length) return html`<p>No trade carries a parameter version yet.</p>`;
  return html`<div class="scroll" role="region" aria-label="Parameter versions of ${s.strategy}" tabindex="0">
    <table id="versions-table">
      <thead>
        <tr>
          <th scope="col">version</th>
          <th scope="col">active</th>
          <th scope="col">trades</th>
          <th scope="col">PnL per trade</th>
          <th scope="col">± 95%</th>
          <th scope="col">win ratio</th>
          <th scope="col">net PnL</th>
          <th scope="col" class="text">changes</th>
        </tr>
      </thead>
      <tbody>
        ${[...s.versions].reverse().map((v) => {
          const e = estimate(v.agg);
          const label = versionLabel(v.version);
          const active = v.version === s.active?.version;
          return html`<tr data-version="${label}">
            <th scope="row">${label}</th>
            <td>${active ? html`<strong>active</strong>` : ''}</td>
            <td>${v.agg.n}</td>
            <td data-metric="pnl_per_trade">${fig(e.mean, num(e.mean, 3))}</td>
            <td>${fig(e.half, e.half === undefined ? '–' : `± ${num(e.half, 3)}`)}</td>
            <td>${fig(v.stats.win_ratio, pct(v.stats.win_ratio))}</td>
            <td>${fig(v.stats.net_pnl, num(v.stats.net_pnl))}</td>
            <td class="text">
              <a href="#diff-${label}"
                >${v.version > 1 ? `diff against ${versionLabel(v.version - 1)}` : 'parameters'}<span class="muted">
                  of ${label}</span
                ></a
              >
            </td>
          </tr>`;
        })}
      </tbody>
    </table>
  </div>`;
}

function value(v: unknown): string {
  return v === undefined ? '–' : canonicalJson(v as ParamSet[string]);
}

function changesSection(s: StrategySnapshot, p: StrategyPageInput): Html {
  if (!s.versions.length) return html``;
  return html`<h3 id="changes">Parameter changes</h3>
    ${[...s.versions].reverse().map((v) => {
      const label = versionLabel(v.version);
      const c = p.changes.get(v.version);
      const deploys = p.deploys.filter((d) => d.version === v.version);
      return html`<section aria-labelledby="diff-${label}">
        <h4 id="diff-${label}">${label}${c?.previous ? ` against ${versionLabel(c.previous)}` : ''}</h4>
        ${
          !c
            ? html`<p>Parameters not found in the ledger.</p>`
            : c.diff.length === 0
              ? html`<p>No parameter differs from ${versionLabel(c.previous)}.</p>`
              : html`<div class="scroll" role="region" aria-label="Changes of ${label}" tabindex="0">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">parameter</th>
                        <th scope="col" class="text">${c.previous ? versionLabel(c.previous) : 'before'}</th>
                        <th scope="col" class="text">${label}</th>
                      </tr>
                    </thead>
                    <tbody>
                      ${c.diff.map(
                        (d) =>
                          html`<tr>
                            <th scope="row"><code>${d.key}</code></th>
                            <td class="text"><code>${value(d.from)}</code></td>
                            <td class="text"><code>${value(d.to)}</code></td>
                          </tr>`,
                      )}
                    </tbody>
                  </table>
                </div>`
        }
        ${deploys.slice(-3).map((d) => html`<p class="muted">${isoMinute(d.deployedMs)}: ${deployText(d)}</p>`)}
      </section>`;
    })}`;
}

function experiment(s: StrategySnapshot, e: StrategySnapshot['experiments'][number], infos: ExperimentInfo[]): Html {
  const info = infos.find((x) => x.name === e.name);
  const running = e.stoppedMs === null;
  const p = e.tests.length ? Math.min(...e.tests.map((t) => t.result.pValue)) : undefined;
  return html`<section class="experiment" data-experiment="${e.name}">
    <h3>${e.name} <span class="muted">(${running ? 'running' : 'stopped'})</span></h3>
    <p class="muted">
      Started
      ${isoMinute(e.startedMs)}${e.stoppedMs !== null ? html`, stopped ${isoMinute(e.stoppedMs)}` : ''}${e.winner ? html`, winner ${e.winner}` : ''}${info?.outcome ? html`: ${info.outcome}` : ''}.
      ${
        p === undefined
          ? `No test yet: fewer than ${s.thresholds.experiment_min_trades} trades in a variant or in control.`
          : `Smallest p-value against control ${p.toPrecision(2)} (decided under ${s.thresholds.experiment_p_value}).`
      }
    </p>
    <div class="scroll" role="region" aria-label="Variants of ${e.name}" tabindex="0">
      <table>
        <thead>
          <tr>
            <th scope="col">variant</th>
            <th scope="col">version</th>
            <th scope="col">trades</th>
            <th scope="col">PnL per trade</th>
            <th scope="col">95% interval</th>
            <th scope="col">win ratio</th>
            <th scope="col">p vs control</th>
          </tr>
        </thead>
        <tbody>
          ${e.variants.map((v) => {
            const est = estimate(v.agg);
            const t = e.tests.find((x) => x.variant === v.variant);
            return html`<tr data-variant="${v.variant}">
              <th scope="row">${v.variant}</th>
              <td>${versionLabel(v.version)}</td>
              <td>${v.agg.n}</td>
              <td>${fig(est.mean, num(est.mean, 3))}</td>
              <td>
                ${
                  est.mean !== undefined && est.half !== undefined
                    ? `${num(est.mean - est.half, 3)} to ${num(est.mean + est.half, 3)}`
                    : '–'
                }
              </td>
              <td>${fig(v.stats.win_ratio, pct(v.stats.win_ratio))}</td>
              <td>${t ? fig(t.result.pValue, t.result.pValue.toPrecision(2)) : '–'}</td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>
  </section>`;
}
