// Per-trade outcome models of the experiments benchmark: what one trade of an arm earns, in
// standard deviations (σ) of the control arm's outcome. The skewed and fat-tailed noises are
// the detection benchmark's (bench/detection/model.ts): Azzalini's skew t (ν = 5, α = ±1.5)
// and a Student t with ν = 3 (infinite kurtosis); plus a Gaussian, where the mSPRT's plug-in
// assumption holds exactly, and equal ±1 payoffs.
import { Rng, STUDENT_T3, profile, type Noise } from '../detection/model.js';

export type OutcomeName = 'gaussian' | 'skew-loss' | 'skew-win' | 'binary' | 't3';

export const OUTCOMES: OutcomeName[] = ['gaussian', 'skew-loss', 'skew-win', 'binary', 't3'];

const GAUSSIAN: Noise = {
  name: 'Gaussian',
  density: (x) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI),
  sample: (rng) => rng.normal(),
};

/** The standardized noise (mean 0, variance 1) of an outcome model. */
export function noiseOf(name: OutcomeName): Noise {
  switch (name) {
    case 'gaussian':
      return GAUSSIAN;
    case 't3':
      return STUDENT_T3;
    default:
      return profile(name).noise;
  }
}

/** A drawer of one trade's outcome in σ: `edge` + standardized noise. */
export function drawer(name: OutcomeName, rng: Rng): (edge: number) => number {
  const noise = noiseOf(name);
  return (edge) => edge + noise.sample(rng);
}

export { Rng };
