// Reading a request: bodies, query and path parameters, each refused with a ValidationError that
// names the field.
import type { Request } from 'express';
import { NotFoundError, ValidationError, type ErrorDetail } from '../../errors.js';
import type { Ledger } from '../../ledger/index.js';
import { checkName, isPlainObject, parseVersionLabel } from '../../model/names.js';

/** The body as an object with only `known` fields. */
export function objectBody(body: unknown, known: string[]): Record<string, unknown> {
  if (!isPlainObject(body)) throw new ValidationError('invalid body', [{ path: '', message: 'must be a JSON object' }]);
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (unknown.length)
    throw new ValidationError(
      'invalid body',
      unknown.map((k) => ({ path: k, message: `unknown field (known: ${known.join(', ')})` })),
    );
  return body;
}

/** A required query parameter that is a name (strategy, experiment). */
export function queryName(req: Request, key: string): string {
  const v = req.query[key];
  const details: ErrorDetail[] = [];
  if (v === undefined) throw new ValidationError('invalid query', [{ path: key, message: 'required' }]);
  checkName(v, key, details);
  if (details.length) throw new ValidationError('invalid query', details);
  return v as string;
}

/** A query parameter given at most once, as text (a repeated one is an array: refused). */
export function queryText(req: Request, key: string, fallback: string): string {
  const v = req.query[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string')
    throw new ValidationError('invalid query', [{ path: key, message: 'must be given once, as text' }]);
  return v;
}

/** A path segment that is a name. */
export function pathName(v: unknown, key: string): string {
  const details: ErrorDetail[] = [];
  checkName(v, key, details);
  if (details.length) throw new ValidationError('invalid path', details);
  return v as string;
}

/** The stored version a label ("v3") names, or a 404. */
export function versionNamed(ledger: Ledger, strategy: string, label: string, key: string) {
  const n = parseVersionLabel(label);
  if (n === undefined)
    throw new ValidationError('invalid version', [{ path: key, message: 'must look like "v1", "v2", ...' }]);
  const v = ledger.getVersion(strategy, n);
  if (!v) throw new NotFoundError(`strategy "${strategy}" has no version ${label}`);
  return v;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
