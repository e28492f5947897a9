// Poisson tail probabilities, for "is this strategy trading as often as its backtest did?":
// through the regularized incomplete gamma function (P(X ≤ k) = Q(k + 1, λ)), so a count of
// 70,000 trades costs a few dozen terms rather than 70,000. Series for x < a + 1, Lentz's
// continued fraction otherwise (Numerical Recipes §6.2), both to relative 1e-15.
import { lgamma } from './ttest.js';

const EPS = 1e-15;
const TINY = 1e-300;
const MAX_ITER = 10_000;

/** The regularized lower incomplete gamma function P(a, x) = γ(a, x) / Γ(a), a > 0, x ≥ 0. */
export function gammaP(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) throw new RangeError(`gammaP needs a > 0 and x ≥ 0 (got ${a}, ${x})`);
  if (x === 0) return 0;
  return x < a + 1 ? series(a, x) : 1 - fraction(a, x);
}

/** The regularized upper incomplete gamma function Q(a, x) = 1 − P(a, x). */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) throw new RangeError(`gammaQ needs a > 0 and x ≥ 0 (got ${a}, ${x})`);
  if (x === 0) return 1;
  return x < a + 1 ? 1 - series(a, x) : fraction(a, x);
}

function series(a: number, x: number): number {
  let ap = a;
  let term = 1 / a;
  let sum = term;
  for (let i = 0; i < MAX_ITER; i++) {
    ap += 1;
    term *= x / ap;
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPS) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - lgamma(a));
}

function fraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - lgamma(a)) * h;
}

/** P(X ≤ k) for X ~ Poisson(λ), k ≥ 0 an integer. */
export function poissonCdf(k: number, lambda: number): number {
  if (!(lambda >= 0)) throw new RangeError(`λ must be ≥ 0, got ${lambda}`);
  if (k < 0) return 0;
  if (lambda === 0) return 1;
  return gammaQ(Math.floor(k) + 1, lambda);
}

/** P(X ≥ k) for X ~ Poisson(λ). */
export function poissonSf(k: number, lambda: number): number {
  if (!(lambda >= 0)) throw new RangeError(`λ must be ≥ 0, got ${lambda}`);
  if (k <= 0) return 1;
  if (lambda === 0) return 0;
  return gammaP(Math.ceil(k), lambda);
}
