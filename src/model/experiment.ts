// Experiment definitions: a "control" and at least one other variant, each a parameter set.
import { ValidationError, type ErrorDetail } from '../errors.js';
import { NAME_RE, NAME_RULE, checkName, isPlainObject } from './names.js';
import { validateParams, type ParamSet } from './params.js';

/** Each variant is exported as its own series (per stat): a bound keeps an experiment from exploding cardinality. */
export const MAX_VARIANTS = 16;

/** Checks an experiment definition: names, a "control" variant, parameter sets, weights. */
export function validateExperiment(name: unknown, variants: unknown, allocation: unknown): { variants: Record<string, ParamSet>; allocation: Record<string, number> } {
  const details: ErrorDetail[] = [];
  checkName(name, 'name', details);
  const out: Record<string, ParamSet> = {};
  if (!isPlainObject(variants) || Object.keys(variants).length < 2) {
    details.push({ path: 'variants', message: 'must be an object with at least two variants, one named "control"' });
  } else if (Object.keys(variants).length > MAX_VARIANTS) {
    details.push({ path: 'variants', message: `at most ${MAX_VARIANTS} variants (got ${Object.keys(variants).length})` });
  } else {
    if (!Object.hasOwn(variants, 'control')) details.push({ path: 'variants', message: 'must include a "control" variant' });
    for (const [v, params] of Object.entries(variants)) {
      if (!NAME_RE.test(v)) details.push({ path: `variants.${v}`, message: `variant name ${NAME_RULE}` });
      // Assigning "__proto__" would set a prototype instead of a key, and the variant would vanish.
      if (v === '__proto__') {
        details.push({ path: `variants.${v}`, message: 'this variant name is reserved' });
        continue;
      }
      try {
        out[v] = validateParams(params, `variants.${v}`);
      } catch (err) {
        details.push(...(err as ValidationError).details);
      }
    }
  }
  const weights: Record<string, number> = {};
  if (allocation !== undefined) {
    if (!isPlainObject(allocation)) details.push({ path: 'allocation', message: 'must be an object {variant: weight}' });
    else
      for (const [v, w] of Object.entries(allocation)) {
        if (!Object.hasOwn(out, v)) details.push({ path: `allocation.${v}`, message: 'not a variant' });
        else if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) details.push({ path: `allocation.${v}`, message: 'must be a finite weight ≥ 0' });
        else weights[v] = w;
      }
  }
  if (details.length) throw new ValidationError('invalid experiment', details);
  // hasOwn, not ??=: a variant named like an Object.prototype member ("constructor") must get its weight too.
  for (const v of Object.keys(out)) if (!Object.hasOwn(weights, v)) weights[v] = allocation === undefined ? 1 : 0;
  if (Object.values(weights).every((w) => w === 0)) throw new ValidationError('invalid experiment', [{ path: 'allocation', message: 'at least one weight must be > 0' }]);
  return { variants: out, allocation: weights };
}

