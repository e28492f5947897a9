// A small JSON Schema (2020-12 subset, as OpenAPI 3.1 uses it) validator for the contract
// tests: docs/openapi.json's schemas are checked against the bodies the sidecar really sends.
// Why not a library: the subset below is all the document uses, and a keyword outside it is
// reported rather than silently ignored, so the document cannot claim what no test checks.

export type Schema = boolean | { [keyword: string]: unknown };

/** Keywords that only annotate: they constrain nothing. */
const ANNOTATIONS = new Set(['description', 'summary', 'title', 'default', 'example', 'examples', 'deprecated']);

const CHECKED = new Set([
  '$ref',
  'type',
  'enum',
  'const',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'minItems',
  'maxItems',
  'items',
  'minProperties',
  'maxProperties',
  'required',
  'properties',
  'additionalProperties',
  'propertyNames',
  'oneOf',
  'anyOf',
  'allOf',
]);

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Resolves a local reference such as "#/components/schemas/Trade" in `root`. */
export function resolveRef(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`only local references are supported, got ${ref}`);
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key))
      throw new Error(`reference ${ref} does not resolve`);
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: unknown, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
}

/** Every way `value` breaks `schema` (empty: valid), each prefixed with its JSON path. */
export function validate(root: unknown, schema: Schema, value: unknown, path = '$'): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path}: no value is allowed here`];
  for (const k of Object.keys(schema))
    if (!CHECKED.has(k) && !ANNOTATIONS.has(k))
      throw new Error(
        `schema keyword "${k}" at ${path} is not supported by test/support/json-schema.ts: use the supported ones or add it there`,
      );
  const errors: string[] = [];
  const s = schema;
  if (typeof s.$ref === 'string') errors.push(...validate(root, resolveRef(root, s.$ref) as Schema, value, path));
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => typeMatches(value, t)))
      return [...errors, `${path}: expected ${types.join(' or ')}, got ${typeOf(value)} ${short(value)}`];
  }
  if (s.enum !== undefined && !(s.enum as unknown[]).some((e) => JSON.stringify(e) === JSON.stringify(value)))
    errors.push(`${path}: ${short(value)} is not one of ${JSON.stringify(s.enum)}`);
  if (s.const !== undefined && JSON.stringify(s.const) !== JSON.stringify(value))
    errors.push(`${path}: expected ${JSON.stringify(s.const)}, got ${short(value)}`);
  if (typeof value === 'string') {
    if (s.format === 'date-time' && !RFC3339.test(value))
      errors.push(`${path}: ${short(value)} is not an RFC 3339 time`);
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(value))
      errors.push(`${path}: ${short(value)} does not match ${s.pattern}`);
    const length = [...value].length;
    if (typeof s.minLength === 'number' && length < s.minLength) errors.push(`${path}: shorter than ${s.minLength}`);
    if (typeof s.maxLength === 'number' && length > s.maxLength) errors.push(`${path}: longer than ${s.maxLength}`);
  }
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) errors.push(`${path}: ${value} < ${s.minimum}`);
    if (typeof s.maximum === 'number' && value > s.maximum) errors.push(`${path}: ${value} > ${s.maximum}`);
    if (typeof s.exclusiveMinimum === 'number' && value <= s.exclusiveMinimum)
      errors.push(`${path}: ${value} ≤ ${s.exclusiveMinimum}`);
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems)
      errors.push(`${path}: fewer than ${s.minItems} items`);
    if (typeof s.maxItems === 'number' && value.length > s.maxItems)
      errors.push(`${path}: more than ${s.maxItems} items`);
    if (s.items !== undefined)
      value.forEach((v, i) => errors.push(...validate(root, s.items as Schema, v, `${path}[${i}]`)));
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (typeof s.minProperties === 'number' && keys.length < s.minProperties)
      errors.push(`${path}: fewer than ${s.minProperties} properties`);
    if (typeof s.maxProperties === 'number' && keys.length > s.maxProperties)
      errors.push(`${path}: more than ${s.maxProperties} properties`);
    for (const r of (s.required as string[] | undefined) ?? [])
      if (!Object.hasOwn(obj, r)) errors.push(`${path}: required property "${r}" is missing`);
    const props = (s.properties as Record<string, Schema> | undefined) ?? {};
    for (const k of keys) {
      if (s.propertyNames !== undefined)
        errors.push(...validate(root, s.propertyNames as Schema, k, `${path} (property name ${JSON.stringify(k)})`));
      if (Object.hasOwn(props, k)) errors.push(...validate(root, props[k], obj[k], `${path}.${k}`));
      else if (s.additionalProperties === false)
        errors.push(`${path}: property "${k}" is not documented (additionalProperties: false)`);
      else if (s.additionalProperties !== undefined)
        errors.push(...validate(root, s.additionalProperties as Schema, obj[k], `${path}.${k}`));
    }
  }
  for (const sub of (s.allOf as Schema[] | undefined) ?? []) errors.push(...validate(root, sub, value, path));
  if (s.anyOf !== undefined) {
    const results = (s.anyOf as Schema[]).map((sub) => validate(root, sub, value, path));
    if (!results.some((r) => r.length === 0))
      errors.push(`${path}: matches none of anyOf (${results.map((r) => r[0]).join(' | ')})`);
  }
  if (s.oneOf !== undefined) {
    const results = (s.oneOf as Schema[]).map((sub) => validate(root, sub, value, path));
    const matching = results.filter((r) => r.length === 0).length;
    if (matching !== 1)
      errors.push(
        matching === 0
          ? `${path}: matches none of oneOf (${results.map((r) => r[0]).join(' | ')})`
          : `${path}: matches ${matching} schemas of oneOf, not exactly one`,
      );
  }
  return errors;
}

function short(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
