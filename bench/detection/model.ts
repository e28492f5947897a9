// Per-trade PnL models of the detection benchmark, the scenarios of issue 7, and the
// information-theoretic limit each scenario allows (Kullback–Leibler divergence, Lorden).
//
// A trade's PnL is scale * (edge + ε), ε standardized (mean 0, variance 1). Two families:
// - "skew": ε is Azzalini's skew t, ν = 5: fat tails (excess kurtosis of the t: 6),
//   asymmetric payoffs (α < 0: losses larger than wins; α > 0: the reverse) and a smooth
//   density, so a shift of the expectancy has an honest KL (a density with a kink or a jump
//   would make a shift look far more detectable than any real PnL stream allows).
// - "binary": equal payoffs ±1 with a little size noise, win probability p: the issue's
//   "0.55 → 0.45 with equal payoffs" example.

import { lgamma, studentTCdf } from '../../src/analytics/ttest.js';

/** Deterministic PRNG (sfc32) seeded from a string, so every run is reproducible. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | undefined;

  constructor(seed: string) {
    // xmur3 string hash -> four 32-bit words
    let h = 1779033703 ^ seed.length;
    for (let i = 0; i < seed.length; i++) {
      h = Math.imul(h ^ seed.charCodeAt(i), 3432918353);
      h = (h << 13) | (h >>> 19);
    }
    const next = (): number => {
      h = Math.imul(h ^ (h >>> 16), 2246822507);
      h = Math.imul(h ^ (h >>> 13), 3266489909);
      return (h ^= h >>> 16) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.uniform();
  }

  /** Uniform in (0, 1): never exactly 0, so log() is safe. */
  uniform(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    let t = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    t = (t + this.d) | 0;
    this.c = (this.c + t) | 0;
    return ((t >>> 0) + 0.5) / 4294967296;
  }

  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const th = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }

  /** Student t with ν degrees of freedom: Z / sqrt(χ²_ν / ν). */
  studentT(nu: number): number {
    let chi = 0;
    for (let i = 0; i < nu; i++) chi += this.normal() ** 2;
    return this.normal() / Math.sqrt(chi / nu);
  }

  exponential(meanValue: number): number {
    return -Math.log(this.uniform()) * meanValue;
  }
}

// ------------------------------------------------------------------ distributions

function tDensity(x: number, nu: number): number {
  const logc = lgamma((nu + 1) / 2) - lgamma(nu / 2) - 0.5 * Math.log(nu * Math.PI);
  return Math.exp(logc - ((nu + 1) / 2) * Math.log(1 + (x * x) / nu));
}

/** A standardized noise distribution: density, sampler, and the raw moments used to standardize. */
export interface Noise {
  name: string;
  /** density of the standardized ε */
  density: (x: number) => number;
  sample(rng: Rng): number;
}

/**
 * Azzalini's skew t: density 2 t_ν(e) T_{ν+1}(α e √((ν+1)/(ν+e²))), smooth, skewed (α < 0:
 * a longer left tail, i.e. larger losses), fat-tailed; standardized to mean 0, variance 1.
 * Sampled as (δ|Z₀| + √(1-δ²) Z₁) / √(χ²_ν/ν), δ = α/√(1+α²). The density is tabulated once
 * (the t CDF is slow) and interpolated.
 */
export function skewT(nu: number, alpha: number): Noise {
  const raw = (e: number): number =>
    2 * tDensity(e, nu) * studentTCdf(alpha * e * Math.sqrt((nu + 1) / (nu + e * e)), nu + 1);
  const lo = -150,
    hi = 150,
    n = 150_000,
    h = (hi - lo) / n;
  const table = new Float64Array(n + 1);
  for (let i = 0; i <= n; i++) table[i] = raw(lo + i * h);
  const rawTab = (e: number): number => {
    const u = (e - lo) / h;
    if (!(u >= 0 && u < n)) return 0;
    const i = Math.floor(u);
    return table[i] + (u - i) * (table[i + 1] - table[i]);
  };
  const { mean, sd } = moments(rawTab, lo, hi, n);
  const delta = alpha / Math.sqrt(1 + alpha * alpha);
  const side = Math.sqrt(1 - delta * delta);
  return {
    name: `skew t(ν=${nu}, α=${alpha})`,
    density: (x) => sd * rawTab(mean + sd * x),
    sample(rng) {
      let chi = 0;
      for (let i = 0; i < nu; i++) chi += rng.normal() ** 2;
      const e = (delta * Math.abs(rng.normal()) + side * rng.normal()) / Math.sqrt(chi / nu);
      return (e - mean) / sd;
    },
  };
}

/** ±1 payoffs with Normal(0, noise²) size noise and win probability p, standardized at p. */
export function binary(p: number, noise: number, standardizeAt = p): Noise {
  const mean = 2 * standardizeAt - 1;
  const sd = Math.sqrt(1 + noise * noise - mean * mean);
  const phi = (x: number): number => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
  const raw = (e: number): number => (p * phi((e - 1) / noise) + (1 - p) * phi((e + 1) / noise)) / noise;
  return {
    name: `binary(p=${p})`,
    density: (x) => sd * raw(mean + sd * x),
    sample(rng) {
      const e = (rng.uniform() < p ? 1 : -1) + noise * rng.normal();
      return (e - mean) / sd;
    },
  };
}

function moments(f: (x: number) => number, lo: number, hi: number, n: number): { mean: number; sd: number } {
  const h = (hi - lo) / n;
  let m0 = 0,
    m1 = 0,
    m2 = 0;
  for (let i = 0; i <= n; i++) {
    const x = lo + i * h;
    const w = (i === 0 || i === n ? 0.5 : 1) * f(x) * h;
    m0 += w;
    m1 += w * x;
    m2 += w * x * x;
  }
  const mean = m1 / m0;
  return { mean, sd: Math.sqrt(m2 / m0 - mean * mean) };
}

/** KL(Q‖P) = ∫ q ln(q/p), both densities on the standardized axis, by the trapezoid rule. */
export function kl(q: (x: number) => number, p: (x: number) => number, lo = -200, hi = 200, n = 400_000): number {
  const h = (hi - lo) / n;
  let s = 0;
  for (let i = 0; i <= n; i++) {
    const x = lo + i * h;
    const qx = q(x);
    const px = p(x);
    if (qx > 1e-300 && px > 1e-300) s += (i === 0 || i === n ? 0.5 : 1) * qx * Math.log(qx / px) * h;
  }
  return s;
}

// ------------------------------------------------------------------ profiles

export type ProfileName = 'skew-loss' | 'skew-win' | 'binary';

export interface Profile {
  name: ProfileName;
  /** What a user would recognise. */
  description: string;
  /** edge in σ per trade before any change */
  edge: number;
  noise: Noise;
}

const NU = 5;
const cache = new Map<string, Profile>();

export function profile(name: ProfileName): Profile {
  let p = cache.get(name);
  if (p) return p;
  if (name === 'skew-loss')
    p = {
      name,
      description: 'many small wins, fewer larger losses (mean-reverting)',
      edge: 0.1,
      noise: skewT(NU, -1.5),
    };
  else if (name === 'skew-win')
    p = {
      name,
      description: 'fewer larger wins, many small losses (trend-following)',
      edge: 0.1,
      noise: skewT(NU, 1.5),
    };
  // edge = mean / sd of the ±1 payoff, so edge + ε is exactly the payoff in σ units.
  else
    p = {
      name,
      description: 'equal payoffs ±1, win probability 0.55',
      edge: 0.1 / Math.sqrt(1 + 0.04 - 0.01),
      noise: binary(0.55, 0.2),
    };
  cache.set(name, p);
  return p;
}

/** P(PnL > 0) for a profile with its edge shifted by `shift` σ and its noise scaled by `vol`. */
export function winProbability(pr: Profile, shift = 0, vol = 1): number {
  // P(edge + shift + vol ε > 0) = P(ε > -(edge + shift)/vol)
  const lo = -(pr.edge + shift) / vol;
  const n = 200_000;
  const h = (200 - lo) / n;
  let s = 0;
  for (let i = 0; i <= n; i++) s += (i === 0 || i === n ? 0.5 : 1) * pr.noise.density(lo + i * h) * h;
  return s;
}

// ------------------------------------------------------------------ scenarios

export type ScenarioName =
  | 'stationary'
  | 'drop-0.5sd'
  | 'drop-1sd'
  | 'winprob-0.55-0.45'
  | 'gradual-3d'
  | 'volatility-x2'
  | 'deploy-regress'
  | 'deploy-neutral'
  | 'regimes'
  | 'garch'
  | 'ar1'
  | 'ar1-t3'
  | 'expect-match'
  | 'expect-0.5sd'
  | 'expect-1sd';

export interface Scenario {
  name: ScenarioName;
  title: string;
  /** Profiles the runs cycle through. */
  profiles: ProfileName[];
  /** true: a decay to detect; false: alarms after the change are false alarms. */
  decay: boolean;
  /**
   * A healthy stream with no change at all: its runs start fresh and are watched for
   * `--weeks`, and every alarm is a false alarm (counted per strategy-week, like
   * `stationary`).
   */
  stationary?: boolean;
  /** A parameter deploy at the change time (the new version carries the change). */
  deploy: boolean;
  /**
   * The PnL of one trade closed `sinceChangeMs` after the change (≤ 0: before it, or at
   * it), in σ units (edge + shift + vol·ε) before scaling.
   */
  draw(pr: Profile, sinceChangeMs: number, rng: Rng): number;
  /**
   * A stream whose trades depend on the earlier ones (regimes, volatility clusters, serial
   * correlation): a fresh drawer per run, called in trade order; replaces `draw`.
   */
  process?(pr: Profile, rng: Rng): (sinceChangeMs: number) => number;
  /** Per-trade KL(after ‖ before) at `sinceChangeMs` (0 before the change). */
  klAt?(sinceChangeMs: number): number;
  /**
   * Issue 16: the version deployed at the change (a stationary run: its first version) has an
   * expectation, from a backtest whose edge is `promise` σ above the live trades' (0: the
   * backtest is what live trading delivers). Run only by bench/detection/expectation.ts.
   */
  expectation?: { promise: number };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * KL(shifted ‖ original) of the skew profiles as a function of the shift d (σ units), for
 * d in [-1, 0], tabulated once at steps of 0.01 (the runs alternate between the two skew
 * profiles; their KLs differ a little, so the table holds their mean).
 */
let shiftKlTable: Float64Array | undefined;
export function shiftKl(d: number): number {
  if (d === 0) return 0;
  if (!shiftKlTable) {
    const a = profile('skew-loss');
    const b = profile('skew-win');
    shiftKlTable = new Float64Array(101);
    for (let i = 1; i <= 100; i++) {
      const s = -i / 100;
      const f = (p: Profile): number =>
        kl(
          (x) => p.noise.density(x - s),
          (x) => p.noise.density(x),
          -60,
          60,
          60_000,
        );
      shiftKlTable[i] = (f(a) + f(b)) / 2;
    }
  }
  const u = Math.min(100, Math.abs(d) * 100);
  const i = Math.min(99, Math.floor(u));
  return shiftKlTable[i] + (u - i) * (shiftKlTable[i + 1] - shiftKlTable[i]);
}

function shiftScenario(name: ScenarioName, title: string, shiftAt: (ms: number) => number, deploy = false): Scenario {
  return {
    name,
    title,
    profiles: ['skew-loss', 'skew-win'],
    decay: true,
    deploy,
    draw: (p, ms, rng) => p.edge + shiftAt(ms) + p.noise.sample(rng),
    klAt: (ms) => shiftKl(shiftAt(ms)),
  };
}

// ------------------------------------------------------------------ dependent streams
//
// Healthy strategies whose trades are not independent: the long-run mean of every stream
// below is the profile's edge, unchanged, so any alarm is a false one. Real PnL looks like
// this (the demo's momentum strategy has a lag-1 autocorrelation of 0.05-0.15 and a long-run
// variance 2-4x its per-trade variance); the stationary scenario above does not.

/** Mean offset of the two regimes, in σ of the noise, and the chance a spell ends after a trade. */
export const REGIME_OFFSET = 0.25;
export const REGIME_SWITCH = 1 / 50;

/**
 * Two Markov regimes, good (+a) and bad (-a), symmetric: spells are geometric, 50 trades on
 * average (a tenth last more than 115). Long-run variance of the mean component a²(1+φ)/(1-φ)
 * with φ = 1 - 2p = 0.96: 3.1σ², so the long-run variance of PnL is 3.8x its variance.
 */
function regimes(pr: Profile, rng: Rng): (ms: number) => number {
  let good = rng.uniform() < 0.5;
  return () => {
    if (rng.uniform() < REGIME_SWITCH) good = !good;
    return pr.edge + (good ? REGIME_OFFSET : -REGIME_OFFSET) + pr.noise.sample(rng);
  };
}

/**
 * GARCH(1,1) volatility, σ²_t = ω + α ε²_{t-1} + β σ²_{t-1}, α 0.1, β 0.85, ω 0.05: unit
 * variance in the long run, half-life of a volatility shock about 14 trades. The level of
 * PnL is uncorrelated; its size clusters. Starts from the long-run variance.
 */
function garch(pr: Profile, rng: Rng): (ms: number) => number {
  const a = 0.1,
    b = 0.85,
    w = 1 - a - b;
  let v = 1;
  let e = 0;
  return () => {
    v = w + a * e * e + b * v;
    e = Math.sqrt(v) * pr.noise.sample(rng);
    return pr.edge + e;
  };
}

/** A standardized Student t, ν = 3 (infinite kurtosis): the fat-tail stress. */
export const STUDENT_T3: Noise = {
  name: 'Student t(ν=3)',
  density: (x) => Math.sqrt(3) * tDensity(Math.sqrt(3) * x, 3),
  sample: (rng) => rng.studentT(3) / Math.sqrt(3),
};

/**
 * AR(1) noise ε_t = ρ ε_{t-1} + √(1-ρ²) η_t (unit variance, long-run variance
 * (1+ρ)/(1-ρ) = 1.86 at ρ 0.3), η from the profile or from `innovations`.
 */
function ar1(rho: number, innovations?: Noise): (pr: Profile, rng: Rng) => (ms: number) => number {
  return (pr, rng) => {
    const noise = innovations ?? pr.noise;
    let e = noise.sample(rng);
    const c = Math.sqrt(1 - rho * rho);
    return () => {
      e = rho * e + c * noise.sample(rng);
      return pr.edge + e;
    };
  };
}

function dependent(name: ScenarioName, title: string, process: NonNullable<Scenario['process']>): Scenario {
  return {
    name,
    title,
    profiles: ['skew-loss', 'skew-win'],
    decay: false,
    deploy: false,
    stationary: true,
    draw: () => {
      throw new Error(`${name} is a dependent stream: draw its trades from process()`);
    },
    process,
  };
}

/**
 * A version whose live trades fall `promise` σ short of its backtest from its first trade:
 * live PnL is the profile's before and after the deploy, so rules that compare a version with
 * itself or with the previous one see nothing; against the backtest the change is a shift of
 * the mean by -promise σ, with the drop scenarios' KL.
 */
function expectationScenario(name: ScenarioName, title: string, promise: number): Scenario {
  return {
    name,
    title,
    profiles: ['skew-loss', 'skew-win'],
    decay: promise > 0,
    stationary: promise === 0,
    deploy: promise > 0,
    draw: (p, _ms, rng) => p.edge + p.noise.sample(rng),
    ...(promise > 0 ? { klAt: (ms: number) => (ms > 0 ? shiftKl(-promise) : 0) } : {}),
    expectation: { promise },
  };
}

export const SCENARIOS: Record<ScenarioName, Scenario> = {
  stationary: {
    name: 'stationary',
    title: 'stationary (no change)',
    profiles: ['skew-loss', 'skew-win', 'binary'],
    decay: false,
    stationary: true,
    deploy: false,
    draw: (p, _ms, rng) => p.edge + p.noise.sample(rng),
  },
  'drop-0.5sd': shiftScenario('drop-0.5sd', 'abrupt expectancy drop of 0.5σ', (ms) => (ms > 0 ? -0.5 : 0)),
  'drop-1sd': shiftScenario('drop-1sd', 'abrupt expectancy drop of 1σ', (ms) => (ms > 0 ? -1 : 0)),
  'gradual-3d': shiftScenario('gradual-3d', 'expectancy falling linearly by 1σ over 3 days', (ms) =>
    ms <= 0 ? 0 : -Math.min(1, ms / (3 * DAY)),
  ),
  'deploy-regress': shiftScenario(
    'deploy-regress',
    'parameter deploy that costs 0.5σ of expectancy',
    (ms) => (ms > 0 ? -0.5 : 0),
    true,
  ),
  'winprob-0.55-0.45': (() => {
    const before = binary(0.55, 0.2);
    const after = binary(0.45, 0.2, 0.55); // standardized on the same axis as before
    const k = kl(after.density, before.density, -20, 20, 400_000);
    return {
      name: 'winprob-0.55-0.45' as const,
      title: 'win probability 0.55 → 0.45, equal payoffs',
      profiles: ['binary' as const],
      decay: true,
      deploy: false,
      draw: (p: Profile, ms: number, rng: Rng) => (ms > 0 ? p.edge + after.sample(rng) : p.edge + p.noise.sample(rng)),
      klAt: (ms: number) => (ms > 0 ? k : 0),
    };
  })(),
  'deploy-neutral': {
    name: 'deploy-neutral',
    title: 'parameter deploy that changes nothing (must not alert)',
    profiles: ['skew-loss', 'skew-win', 'binary'],
    decay: false,
    deploy: true,
    draw: (p, _ms, rng) => p.edge + p.noise.sample(rng),
  },
  'volatility-x2': {
    name: 'volatility-x2',
    title: 'volatility doubles, same expectancy (must not alert)',
    profiles: ['skew-loss', 'skew-win'],
    decay: false,
    deploy: false,
    draw: (p, ms, rng) => p.edge + (ms > 0 ? 2 : 1) * p.noise.sample(rng),
  },
  regimes: dependent(
    'regimes',
    'regime switching of the mean: ±0.25σ, Markov, 50 trades a spell on average (long-run edge unchanged)',
    regimes,
  ),
  garch: dependent('garch', 'volatility clusters: GARCH(1,1), α 0.1, β 0.85 (edge unchanged)', garch),
  ar1: dependent('ar1', 'serially correlated outcomes: AR(1), ρ 0.3 (edge unchanged)', ar1(0.3)),
  'ar1-t3': dependent(
    'ar1-t3',
    'AR(1), ρ 0.3, with Student t (ν = 3) innovations (edge unchanged)',
    ar1(0.3, STUDENT_T3),
  ),
  'expect-match': expectationScenario(
    'expect-match',
    'a version with an expectation that live trading meets (its backtest drawn from the same distribution)',
    0,
  ),
  'expect-0.5sd': expectationScenario(
    'expect-0.5sd',
    'a version whose live trades are 0.5σ below its backtest from the start',
    0.5,
  ),
  'expect-1sd': expectationScenario(
    'expect-1sd',
    'a version whose live trades are 1σ below its backtest from the start',
    1,
  ),
};

// binary(0.45, …, standardizeAt 0.55) draws (e - mean_0.55)/sd_0.55 with e from the p = 0.45
// mixture: the edge term p.edge then keeps the same meaning (σ units of the old stream).

/**
 * Lorden's limit: the number of post-change trades n at which the expected cumulative
 * information Σ KL_i reaches ln(ARL0), ARL0 in trades. Trades arrive at `ratePerDay`
 * (Poisson); for an abrupt change this is ln(ARL0)/KL. Returns trades and hours, or
 * undefined when the information never gets there within `maxDays`.
 */
export function lordenLimit(
  sc: Scenario,
  arl0Trades: number,
  ratePerDay: number,
  maxDays = 10_000,
): { trades: number; hours: number } | undefined {
  if (!sc.klAt) return undefined;
  const target = Math.log(arl0Trades);
  const dt = Math.min(HOUR, DAY / ratePerDay / 4);
  let info = 0;
  for (let t = 0; t < maxDays * DAY; t += dt) {
    const inc = ((ratePerDay * dt) / DAY) * sc.klAt(t + dt / 2);
    if (info + inc >= target) {
      const f = (target - info) / inc;
      const ms = t + f * dt;
      return { trades: (ms / DAY) * ratePerDay, hours: ms / HOUR };
    }
    info += inc;
  }
  return undefined;
}
