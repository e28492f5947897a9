// `/`: every strategy at a glance, one card each, from the snapshot /metrics exports.
import { versionLabel } from '../../model/names.js';
import type { StrategySnapshot } from '../snapshot.js';
import { age, fig, html, isoMinute, layout, num, pct, seg, type Html } from './html.js';
import { strategyState } from './state.js';

export function indexPage(snaps: StrategySnapshot[], nowMs: number): string {
  const main = html`<h1>All strategies</h1>
    <p class="muted">
      ${snaps.length} ${snaps.length === 1 ? 'strategy' : 'strategies'} in the ledger. State words compare the figures
      with the thresholds the alert rules read (<a href="/runbook">runbook</a>).
    </p>
    ${
      snaps.length
        ? html`<div class="cards">${snaps.map((s) => card(s, nowMs))}</div>`
        : html`<p>
            No strategy has recorded anything yet. A bot that records trades, deploys or heartbeats through the SDK or
            <code>POST /v1/trades</code> appears here.
          </p>`
    }`;
  return layout({ title: 'All strategies', main, generatedMs: nowMs });
}

function card(s: StrategySnapshot, nowMs: number): Html {
  const state = strategyState(s, nowMs);
  const w24 = s.windows['24h'].stats;
  const w7 = s.windows['7d'].stats;
  const href = `/strategies/${seg(s.strategy)}`;
  const id = `s-${seg(s.strategy)}`;
  const cusum = s.cusum && [...s.cusum.values].sort((a, b) => b.llr - a.llr)[0];
  return html`<section class="card" aria-labelledby="${id}" data-strategy="${s.strategy}">
    <h2 id="${id}">
      <a href="${href}">${s.strategy}</a>
      <span class="state state-${state.word}" data-state="${state.word}">${state.word}</span>
    </h2>
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
          ? html`Active <strong>${versionLabel(s.active.version)}</strong> since ${isoMinute(s.active.deployedMs)}
              (${age(s.active.deployedMs, nowMs)})`
          : 'No parameter version deployed'
      }
    </p>
    <div class="scroll" role="region" aria-label="${s.strategy}: figures" tabindex="0">
      <table>
        <thead>
          <tr>
            <th scope="col">figure</th>
            <th scope="col">24h</th>
            <th scope="col">7d</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <th scope="row">trades</th>
            <td data-metric="trades" data-window="24h">${fig(w24.trades, String(w24.trades))}</td>
            <td data-metric="trades" data-window="7d">${fig(w7.trades, String(w7.trades))}</td>
          </tr>
          <tr>
            <th scope="row">net PnL</th>
            <td data-metric="net_pnl" data-window="24h">${fig(w24.net_pnl, num(w24.net_pnl))}</td>
            <td data-metric="net_pnl" data-window="7d">${fig(w7.net_pnl, num(w7.net_pnl))}</td>
          </tr>
          <tr>
            <th scope="row">win ratio</th>
            <td data-metric="win_ratio" data-window="24h">${fig(w24.win_ratio, pct(w24.win_ratio))}</td>
            <td data-metric="win_ratio" data-window="7d">${fig(w7.win_ratio, pct(w7.win_ratio))}</td>
          </tr>
          <tr>
            <th scope="row">PnL per trade</th>
            <td data-metric="pnl_per_trade" data-window="24h">${fig(w24.pnl_per_trade, num(w24.pnl_per_trade, 3))}</td>
            <td data-metric="pnl_per_trade" data-window="7d">${fig(w7.pnl_per_trade, num(w7.pnl_per_trade, 3))}</td>
          </tr>
        </tbody>
      </table>
    </div>
    <dl class="facts">
      <dt>drift z</dt>
      <dd>
        ${
          s.drift.pnl_per_trade === undefined && s.drift.win_ratio === undefined
            ? `– (under ${s.thresholds.drift_min_trades} trades in the run's 24h or baseline)`
            : html`PnL/trade ${fig(s.drift.pnl_per_trade, num(s.drift.pnl_per_trade))}, win ratio
              ${fig(s.drift.win_ratio, num(s.drift.win_ratio))} (line -${s.thresholds.drift_zscore})`
        }
      </dd>
      <dt>CUSUM</dt>
      <dd>
        ${
          cusum
            ? html`${fig(cusum.llr, num(cusum.llr, 1))} of ${s.thresholds.cusum_threshold} nats (fall of
              ${cusum.shift}σ, ${s.cusum?.trades} trades)`
            : `– (under ${s.thresholds.cusum_min_trades} trades since the deploy)`
        }
      </dd>
      <dt>last trade</dt>
      <dd>${age(s.lastTradeMs, nowMs)}</dd>
      <dt>last heartbeat</dt>
      <dd>${age(s.lastHeartbeatMs, nowMs)}</dd>
    </dl>
    <p>
      <a href="${href}">Charts and versions<span class="muted"> of ${s.strategy}</span></a> ·
      <a href="/report/${seg(s.strategy)}">Report<span class="muted"> of ${s.strategy}</span></a>
    </p>
  </section>`;
}
