// Names become Prometheus label values and SQL keys: one rule for all of them.
import type { ErrorDetail } from '../errors.js';

export const NAME_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
export const NAME_RULE = 'must match ^[A-Za-z0-9_.:-]{1,64}$';

/** Pushes a detail and returns false when `value` is not a valid name. */
export function checkName(value: unknown, path: string, details: ErrorDetail[], index?: number): value is string {
  if (typeof value !== 'string') {
    details.push({ index, path, message: `must be a string (${NAME_RULE})` });
    return false;
  }
  if (!NAME_RE.test(value)) {
    details.push({ index, path, message: NAME_RULE });
    return false;
  }
  return true;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Version labels are `v1`, `v2`, ...; stored as integers. */
export function versionLabel(n: number | null | undefined): string {
  return n == null ? 'none' : `v${n}`;
}

export function parseVersionLabel(s: string): number | undefined {
  const m = /^v([1-9][0-9]{0,8})$/.exec(s);
  return m ? Number(m[1]) : undefined;
}
