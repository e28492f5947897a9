// From the alert expressions' results (per step) to what issue 7 asks: false alarms per
// strategy-week on stationary streams, and per decay the probability of detection and the
// median delay in trades and hours.
import { firings } from './alerts.js';
import { SCENARIOS, type ScenarioName } from './model.js';
import { DAY, HOUR, WEEK } from './plan.js';
import type { RunResult } from './simulate.js';

/** One evaluated alert of one group: its result series at the loosest threshold swept. */
export interface AlertData {
  forMs: number;
  keepMs: number;
  /** 'below': the alert fires on value < -threshold (z scores); 'above': value > threshold; 'ratio': value < threshold */
  dir: 'below' | 'above' | 'ratio';
  shipped: number;
  /** per label set: strategy and [step index, value] where the expression (loosest threshold) returned it */
  series: Array<{ strategy: string; key: string; points: Array<[number, number]> }>;
}

export interface GroupData {
  rate: number;
  stepMs: number;
  fromMs: number;
  toMs: number;
  changeMs: number;
  horizonMs: number;
  runs: Array<RunResult & { emitFromMs: number; emitToMs: number }>;
  alerts: Record<string, AlertData>;
  /** the shipped-threshold query checked against the filtered loosest one: label-set steps that differ */
  checks: Record<string, { compared: number; mismatched: number }>;
}

export interface Member {
  alert: string;
  threshold?: number;
  forMs?: number;
  keepMs?: number;
}

export type Episode = [number, number]; // [fired ms, resolved ms (or +Infinity)]

function passes(dir: AlertData['dir'], value: number, threshold: number): boolean {
  return dir === 'below' ? value < -threshold : dir === 'above' ? value > threshold : value < threshold;
}

/** Firing intervals per strategy of one alert at a threshold. */
export function alertEpisodes(g: GroupData, m: Member): Map<string, Episode[]> {
  const a = g.alerts[m.alert];
  if (!a) throw new Error(`alert ${m.alert} was not evaluated`);
  const threshold = m.threshold ?? a.shipped;
  const steps = Math.round((g.toMs - g.fromMs) / g.stepMs) + 1;
  const out = new Map<string, Episode[]>();
  for (const s of a.series) {
    const present = s.points.filter(([, v]) => passes(a.dir, v, threshold)).map(([i]) => i);
    for (const f of firings(present, steps, g.stepMs, m.forMs ?? a.forMs, m.keepMs ?? a.keepMs)) {
      const list = out.get(s.strategy) ?? [];
      list.push([
        g.fromMs + f.fired * g.stepMs,
        f.resolved === undefined ? Infinity : g.fromMs + f.resolved * g.stepMs,
      ]);
      out.set(s.strategy, list);
    }
  }
  return out;
}

/** Union of the members' firing intervals per strategy: one episode while any of them fires. */
export function episodes(g: GroupData, members: Member[]): Map<string, Episode[]> {
  const all = new Map<string, Episode[]>();
  for (const m of members)
    for (const [strategy, list] of alertEpisodes(g, m)) all.set(strategy, [...(all.get(strategy) ?? []), ...list]);
  for (const [strategy, list] of all) {
    list.sort((x, y) => x[0] - y[0]);
    const merged: Episode[] = [];
    for (const e of list) {
      const last = merged[merged.length - 1];
      if (last && e[0] <= last[1]) last[1] = Math.max(last[1], e[1]);
      else merged.push([e[0], e[1]]);
    }
    all.set(strategy, merged);
  }
  return all;
}

export interface Stationary {
  kind: 'stationary';
  runs: number;
  weeks: number;
  alarms: number;
  perWeek: number;
  /** 95% upper bound of the rate (Poisson) */
  perWeekUpper: number;
}

export interface Decay {
  kind: 'decay';
  /** runs in the delay statistics (those not already alarmed at the change) */
  runs: number;
  /** runs with a first alarm after the change within the horizon */
  detected: number;
  within24h: number;
  /** median delay, +Infinity when fewer than half the runs were detected in the horizon */
  medianHours: number;
  medianTrades: number;
  delaysHours: number[];
  /** runs left out: a false alarm was firing at the change */
  alarmedAtChange: number;
}

export interface Quiet {
  kind: 'quiet';
  runs: number;
  /** runs with an alarm in the 7 days after the change */
  alarmed7d: number;
  /** alarms per strategy-week after the change */
  perWeek: number;
}

export type Summary = Stationary | Decay | Quiet;

/** Upper 95% bound of a Poisson mean given k events (exact, by bisection on the CDF). */
export function poissonUpper(k: number, level = 0.95): number {
  const cdf = (mu: number): number => {
    let term = Math.exp(-mu);
    let s = term;
    for (let i = 1; i <= k; i++) {
      term *= mu / i;
      s += term;
    }
    return s;
  };
  let lo = 0;
  let hi = k + 10 + 10 * Math.sqrt(k + 1);
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) > 1 - level) lo = mid;
    else hi = mid;
  }
  return hi;
}

function median(sorted: number[]): number {
  if (!sorted.length) return Infinity;
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

export function summarize(g: GroupData, eps: Map<string, Episode[]>, scenario: ScenarioName): Summary {
  const runs = g.runs.filter((r) => r.scenario === scenario);
  const sc = SCENARIOS[scenario];
  if (sc.stationary) {
    let alarms = 0;
    let weeks = 0;
    for (const r of runs) {
      weeks += (r.emitToMs - r.emitFromMs) / WEEK;
      alarms += (eps.get(r.strategy) ?? []).filter(([f]) => f >= r.emitFromMs && f <= r.emitToMs).length;
    }
    return {
      kind: 'stationary',
      runs: runs.length,
      weeks,
      alarms,
      perWeek: weeks ? alarms / weeks : 0,
      perWeekUpper: weeks ? poissonUpper(alarms) / weeks : Infinity,
    };
  }
  if (!sc.decay) {
    let alarmed7d = 0;
    let alarms = 0;
    let weeks = 0;
    for (const r of runs) {
      const list = (eps.get(r.strategy) ?? []).filter(([f]) => f > r.changeMs && f <= r.emitToMs);
      alarms += list.length;
      weeks += (r.emitToMs - r.changeMs) / WEEK;
      if (list.some(([f]) => f <= r.changeMs + 7 * DAY)) alarmed7d++;
    }
    return { kind: 'quiet', runs: runs.length, alarmed7d, perWeek: weeks ? alarms / weeks : 0 };
  }
  const hours: number[] = [];
  const trades: number[] = [];
  let within24h = 0;
  let alarmedAtChange = 0;
  for (const r of runs) {
    const list = eps.get(r.strategy) ?? [];
    // A false alarm still firing at the change would hide the detection (no new onset):
    // such runs are left out of the delay statistics (the usual conditional delay).
    if (list.some(([f, e]) => f <= r.changeMs && e > r.changeMs)) {
      alarmedAtChange++;
      continue;
    }
    const first = list.find(([f]) => f > r.changeMs && f <= r.emitToMs);
    if (!first) {
      hours.push(Infinity);
      trades.push(Infinity);
      continue;
    }
    const h = (first[0] - r.changeMs) / HOUR;
    hours.push(h);
    if (h <= 24) within24h++;
    trades.push(r.afterChange.filter((t) => t <= first[0]).length);
  }
  hours.sort((a, b) => a - b);
  trades.sort((a, b) => a - b);
  return {
    kind: 'decay',
    runs: hours.length,
    detected: hours.filter(Number.isFinite).length,
    within24h,
    medianHours: median(hours),
    medianTrades: median(trades),
    delaysHours: hours,
    alarmedAtChange,
  };
}
