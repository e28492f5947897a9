// Command-line options of `npm run bench:experiments` (docs/experiments.md, "Reproduce").
import { OUTCOMES, type OutcomeName } from './outcomes.js';
import { DEFAULTS, type ExpOptions } from './plan.js';
import { readFlags, splitList } from '../args.js';

export function parseArgs(argv: string[], defaults: ExpOptions = DEFAULTS): ExpOptions {
  const opts: ExpOptions = { ...defaults };
  for (const { name: flag, value, num } of readFlags(argv)) {
    const nums = (): number[] => {
      const v = splitList(value()).map(Number);
      if (!v.length || v.some((x) => !Number.isFinite(x) || x <= 0)) throw new Error(`${flag} needs positive numbers`);
      return v;
    };
    const outcomes = (): OutcomeName[] => {
      const v = splitList(value());
      for (const o of v)
        if (!OUTCOMES.includes(o as OutcomeName))
          throw new Error(`unknown outcome ${o}; known: ${OUTCOMES.join(', ')}`);
      return v as OutcomeName[];
    };
    switch (flag) {
      case '--arms':
        opts.arms = nums().map(Math.round);
        if (opts.arms.some((a) => a < 2 || a > 8)) throw new Error('--arms: from 2 to 8 (control included)');
        break;
      case '--rates':
        opts.rates = nums();
        break;
      case '--days':
        opts.days = num();
        break;
      case '--outcomes':
        opts.outcomes = outcomes();
        break;
      case '--runs':
        opts.aaRuns = Math.round(num());
        break;
      case '--effects':
        opts.effects = nums();
        break;
      case '--effect-outcomes':
        opts.effectOutcomes = outcomes();
        break;
      case '--effect-runs':
        opts.effectRuns = Math.round(num());
        break;
      case '--e2e-runs':
        opts.e2eRuns = Math.round(num());
        break;
      case '--e2e-effect-runs':
        opts.e2eEffectRuns = Math.round(num());
        break;
      case '--workers':
        opts.workers = Math.round(num());
        break;
      case '--seed':
        opts.seed = value();
        break;
      case '--out':
        opts.out = value();
        break;
      case '--plot':
        opts.plot = value();
        break;
      case '--quick':
        Object.assign(opts, { aaRuns: 40, effectRuns: 30, e2eRuns: 2, e2eEffectRuns: 1 });
        break;
      default:
        throw new Error(`unknown option ${flag} (see docs/experiments.md, "Reproduce")`);
    }
  }
  return opts;
}
