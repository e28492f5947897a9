// Experiment definitions: a "control" and at least one other variant, each a parameter set
// or an existing parameter version of the strategy named by its label ("v1").
import { ValidationError, type ErrorDetail } from '../errors.js';
import { NAME_RE, NAME_RULE, checkName, isPlainObject, parseVersionLabel } from './names.js';
import { checkNote, validateParams, type ParamSet } from './params.js';

/** A variant as given: a new parameter set, or a reference to an existing version. */
export type VariantSpec = { params: ParamSet } | { version: number; label: string };

/** The two shapes a variant may take, for error messages: the mistaken shapes are refused with this. */
const VARIANT_SHAPES =
  'a variant is its parameter set itself, e.g. "candidate": {"lookback": 30}, or an existing version of the strategy, e.g. "control": "v1" (or {"param_version": "v1"})';

/**
 * Reads one variant. A user's first guess at "use the version I already have" is the label,
 * as a string or as {"param_version": "v1"}: both refer to that version. {"params": {...}}
 * alone is the other common guess; stored as given it would create a version whose only
 * parameter is "params", so it is refused with the right shapes.
 */
function variantSpec(value: unknown, path: string, details: ErrorDetail[]): VariantSpec | undefined {
  const ref =
    typeof value === 'string'
      ? value
      : isPlainObject(value) && Object.hasOwn(value, 'param_version')
        ? value.param_version
        : undefined;
  if (ref !== undefined) {
    if (isPlainObject(value) && Object.keys(value).length !== 1) {
      details.push({
        path: `${path}.param_version`,
        message: `"param_version" names an existing version and must be the only key: ${VARIANT_SHAPES}`,
      });
      return undefined;
    }
    const n = typeof ref === 'string' ? parseVersionLabel(ref) : undefined;
    if (n === undefined) {
      details.push({ path, message: `must be a version label like "v1" or a parameter set object: ${VARIANT_SHAPES}` });
      return undefined;
    }
    return { version: n, label: ref as string };
  }
  if (isPlainObject(value) && Object.keys(value).length === 1 && isPlainObject(value.params)) {
    details.push({ path: `${path}.params`, message: `{"params": {...}} is not a variant shape: ${VARIANT_SHAPES}` });
    return undefined;
  }
  try {
    return { params: validateParams(value, path) };
  } catch (err) {
    details.push(...(err as ValidationError).details);
    return undefined;
  }
}

/**
 * The parameter set of every variant: a reference is looked up with `getVersion` (the
 * ledger's); an unknown version is a ValidationError naming the variant.
 */
export function resolveVariants(
  strategy: string,
  variants: Record<string, VariantSpec>,
  getVersion: (version: number) => ParamSet | undefined,
): Record<string, ParamSet> {
  const out: Record<string, ParamSet> = {};
  const details: ErrorDetail[] = [];
  for (const [v, spec] of Object.entries(variants)) {
    if ('params' in spec) {
      out[v] = spec.params;
      continue;
    }
    const params = getVersion(spec.version);
    if (params === undefined)
      details.push({ path: `variants.${v}`, message: `strategy "${strategy}" has no version ${spec.label}` });
    else out[v] = params;
  }
  if (details.length) throw new ValidationError('invalid experiment', details);
  return out;
}

/** Each variant is exported as its own series (per stat): a bound keeps an experiment from exploding cardinality. */
export const MAX_VARIANTS = 16;

/** The largest planned sample: far beyond any experiment, small enough to stay an exact integer in SQLite and JSON. */
export const MAX_PLANNED_TRADES = 1e9;

/**
 * Checks an experiment definition: names, a "control" variant, parameter sets or version
 * labels, weights, and the optional planned number of trades per arm (an integer ≥ 2: the
 * fixed-sample Welch test needs two trades per arm), for the fixed-sample test read once.
 */
export function validateExperiment(
  name: unknown,
  variants: unknown,
  allocation: unknown,
  plannedTrades?: unknown,
): { variants: Record<string, VariantSpec>; allocation: Record<string, number>; plannedTrades: number | null } {
  const details: ErrorDetail[] = [];
  checkName(name, 'name', details);
  if (
    plannedTrades !== undefined &&
    plannedTrades !== null &&
    !(
      Number.isInteger(plannedTrades) &&
      (plannedTrades as number) >= 2 &&
      (plannedTrades as number) <= MAX_PLANNED_TRADES
    )
  )
    details.push({
      path: 'planned_trades_per_arm',
      message: `must be an integer from 2 to ${MAX_PLANNED_TRADES} (trades per arm at which the fixed-sample test is read), or absent`,
    });
  const out: Record<string, VariantSpec> = {};
  if (!isPlainObject(variants) || Object.keys(variants).length < 2) {
    details.push({ path: 'variants', message: 'must be an object with at least two variants, one named "control"' });
  } else if (Object.keys(variants).length > MAX_VARIANTS) {
    details.push({
      path: 'variants',
      message: `at most ${MAX_VARIANTS} variants (got ${Object.keys(variants).length})`,
    });
  } else {
    if (!Object.hasOwn(variants, 'control'))
      details.push({ path: 'variants', message: 'must include a "control" variant' });
    for (const [v, params] of Object.entries(variants)) {
      if (!NAME_RE.test(v)) details.push({ path: `variants.${v}`, message: `variant name ${NAME_RULE}` });
      // Assigning "__proto__" would set a prototype instead of a key, and the variant would vanish.
      if (v === '__proto__') {
        details.push({ path: `variants.${v}`, message: 'this variant name is reserved' });
        continue;
      }
      const spec = variantSpec(params, `variants.${v}`, details);
      if (spec !== undefined) out[v] = spec;
    }
  }
  const weights: Record<string, number> = {};
  if (allocation !== undefined) {
    if (!isPlainObject(allocation))
      details.push({ path: 'allocation', message: 'must be an object {variant: weight}' });
    else
      for (const [v, w] of Object.entries(allocation)) {
        if (!Object.hasOwn(out, v)) details.push({ path: `allocation.${v}`, message: 'not a variant' });
        else if (typeof w !== 'number' || !Number.isFinite(w) || w < 0)
          details.push({ path: `allocation.${v}`, message: 'must be a finite weight ≥ 0' });
        else weights[v] = w;
      }
  }
  if (details.length) throw new ValidationError('invalid experiment', details);
  // hasOwn, not ??=: a variant named like an Object.prototype member ("constructor") must get its weight too.
  for (const v of Object.keys(out)) if (!Object.hasOwn(weights, v)) weights[v] = allocation === undefined ? 1 : 0;
  if (Object.values(weights).every((w) => w === 0))
    throw new ValidationError('invalid experiment', [
      { path: 'allocation', message: 'at least one weight must be > 0' },
    ]);
  return { variants: out, allocation: weights, plannedTrades: (plannedTrades as number | null | undefined) ?? null };
}

/** What a stop may carry, from the SDK or the HTTP API: an outcome note and the winning variant. */
export function validateStop(outcome: unknown, winner: unknown): { outcome: string | null; winner: string | null } {
  const details: ErrorDetail[] = [];
  checkNote(outcome, 'outcome', details);
  if (winner !== undefined && winner !== null) checkName(winner, 'winner', details);
  if (details.length) throw new ValidationError('invalid stop', details);
  return { outcome: typeof outcome === 'string' ? outcome : null, winner: typeof winner === 'string' ? winner : null };
}
