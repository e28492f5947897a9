// Parameter sets: validation, canonical JSON (keys sorted), content hash and diff.
import { createHash } from 'node:crypto';
import { ValidationError, type ErrorDetail } from '../errors.js';
import { NAME_RE, NAME_RULE, isPlainObject } from './names.js';
import { MAX_FUTURE_MS, MIN_TIME_MS, parseTime } from './trade.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type ParamSet = Record<string, Json>;

const MAX_DEPTH = 8;
const MAX_KEYS = 256;

/** Checks a parameter set; keys at the top level become `param` label values, so they follow the name rule. */
export function validateParams(value: unknown, path = 'params'): ParamSet {
  const details: ErrorDetail[] = [];
  if (!isJsonObject(value)) {
    throw new ValidationError('invalid parameters', [{ path, message: 'must be a JSON object' }]);
  }
  const keys = Object.keys(value);
  if (keys.length > MAX_KEYS) details.push({ path, message: `at most ${MAX_KEYS} parameters` });
  for (const k of keys) {
    if (!NAME_RE.test(k)) details.push({ path: `${path}.${k}`, message: `parameter name ${NAME_RULE}` });
    checkJson(value[k], `${path}.${k}`, 1, details);
  }
  if (details.length) throw new ValidationError('invalid parameters', details);
  return value as ParamSet;
}

function checkJson(v: unknown, path: string, depth: number, details: ErrorDetail[]): void {
  if (depth > MAX_DEPTH) {
    details.push({ path, message: `nested deeper than ${MAX_DEPTH} levels` });
    return;
  }
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) details.push({ path, message: 'must be a finite number' });
    return;
  }
  if (Array.isArray(v)) {
    // A plain loop, not forEach: a hole of a sparse array is an undefined value, not skipped
    // (canonicalJson would write "[,1]", which no JSON parser reads back).
    for (let i = 0; i < v.length; i++) checkJson(v[i], `${path}[${i}]`, depth + 1, details);
    return;
  }
  if (isJsonObject(v)) {
    for (const k of Object.keys(v)) checkJson(v[k], `${path}.${k}`, depth + 1, details);
    return;
  }
  details.push({
    path,
    message: `unsupported value of type ${typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v} (JSON values only)`,
  });
}

/**
 * A plain object (prototype Object.prototype or null): a Date, Map, Set or class instance from
 * an SDK caller has no own enumerable keys worth keeping and would be stored as {}.
 */
function isJsonObject(v: unknown): v is Record<string, unknown> {
  if (!isPlainObject(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** JSON with object keys sorted at every level: the identity of a parameter set. */
export function canonicalJson(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function hashParams(params: ParamSet): string {
  return createHash('sha256').update(canonicalJson(params)).digest('hex');
}

export interface ParamChange {
  key: string;
  change: 'added' | 'removed' | 'changed';
  from?: Json;
  to?: Json;
}

/** Top-level keys added, removed and changed from `from` to `to`, sorted by key. */
export function diffParams(from: ParamSet | undefined, to: ParamSet): ParamChange[] {
  const before = from ?? {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(to)])].sort();
  const out: ParamChange[] = [];
  for (const key of keys) {
    const inA = Object.prototype.hasOwnProperty.call(before, key);
    const inB = Object.prototype.hasOwnProperty.call(to, key);
    if (inA && !inB) out.push({ key, change: 'removed', from: before[key] });
    else if (!inA && inB) out.push({ key, change: 'added', to: to[key] });
    else if (canonicalJson(before[key]) !== canonicalJson(to[key]))
      out.push({ key, change: 'changed', from: before[key], to: to[key] });
  }
  return out;
}

/**
 * The time of a deploy (or an experiment's start or stop): now when absent, else an RFC 3339
 * time or epoch milliseconds (a Date too from the SDK), not in the future beyond the clock skew
 * allowed for trades. A past time back-dates the deploy, as when a history is imported.
 */
export function deployTime(value: unknown, nowMs: number, path: string, allowDate: boolean): number {
  if (value === undefined || value === null) return nowMs;
  const ms = parseTime(value, allowDate);
  const fail = (message: string) => new ValidationError('invalid time', [{ path, message }]);
  if (ms === undefined)
    throw fail(
      allowDate
        ? 'must be a Date, an RFC 3339 time or epoch milliseconds'
        : 'must be an RFC 3339 time or integer epoch milliseconds',
    );
  if (ms < MIN_TIME_MS) throw fail('is before 2000-01-01 (seconds given as milliseconds?)');
  if (ms > nowMs + MAX_FUTURE_MS)
    throw fail('is in the future: a deploy is recorded when it happens, or back-dated to import a history');
  return ms;
}

/** Longest source, git sha, note or experiment outcome a ledger keeps. */
export const NOTE_MAX = 1000;

/** A free-text field of a deploy or a stop: absent, null, or a string of at most NOTE_MAX characters. */
export function checkNote(value: unknown, path: string, details: ErrorDetail[]): void {
  if (value !== undefined && value !== null && (typeof value !== 'string' || value.length > NOTE_MAX))
    details.push({ path, message: `must be a string of at most ${NOTE_MAX} characters` });
}

/** Deploy metadata as the SDK (camelCase) or the HTTP API (snake_case) names it. */
export function validateDeployMeta(
  meta: { source?: unknown; gitSha?: unknown; note?: unknown },
  style: 'sdk' | 'wire',
): { source?: string; gitSha?: string; note?: string } {
  const details: ErrorDetail[] = [];
  checkNote(meta.source, 'source', details);
  checkNote(meta.gitSha, style === 'wire' ? 'git_sha' : 'gitSha', details);
  checkNote(meta.note, 'note', details);
  if (details.length) throw new ValidationError('invalid deploy', details);
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return { source: text(meta.source), gitSha: text(meta.gitSha), note: text(meta.note) };
}
