// docs/openapi.json as the contract tests read it: its operations, the routes an express app
// registers, concrete requests built from the document's examples, and the check of a real
// answer against the documented status, media type, headers and body schema.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Express } from 'express';
import { resolveRef, validate, type Schema } from './json-schema.js';

export const OPENAPI_FILE = 'docs/openapi.json';
const OPENAPI_PATH = fileURLToPath(new URL('../../../docs/openapi.json', import.meta.url));

/* eslint-disable @typescript-eslint/no-explicit-any -- the document is JSON read at run time */
export type Doc = any;
export type Node = any;

export function loadOpenApi(): Doc {
  return JSON.parse(readFileSync(OPENAPI_PATH, 'utf8'));
}

export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface Operation {
  /** "POST /v1/experiments/{name}/stop" */
  key: string;
  method: string;
  path: string;
  op: Node;
}

export function operations(paths: Record<string, Node>): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(paths))
    for (const method of METHODS)
      if (item[method]) out.push({ key: `${method.toUpperCase()} ${path}`, method, path, op: item[method] });
  return out;
}

/** Follows a {$ref} (one level or a chain) to the object it names. */
export function deref(doc: Doc, node: Node): Node {
  let n = node;
  while (n && typeof n.$ref === 'string') n = resolveRef(doc, n.$ref);
  return n;
}

/**
 * Every route of an express 5 app, as "METHOD /path" with the mount prefixes of nested
 * routers joined. Throws, with what to do instead, on what cannot be read as a path.
 */
export function expressRoutes(app: Express): Array<{ method: string; path: string }> {
  const out: Array<{ method: string; path: string }> = [];
  const walk = (stack: Node[], prefix: string) => {
    for (const layer of stack) {
      const raw = layer.rawPath;
      if (layer.route) {
        for (const p of Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path]) {
          if (typeof p !== 'string')
            throw new Error(`a route is registered with a non-string path (${String(p)}): use a string path`);
          for (const [m, on] of Object.entries(layer.route.methods as Record<string, boolean>)) {
            if (!on) continue;
            if (m === '_all')
              throw new Error(`${prefix}${p} is registered with .all(): register each method it answers`);
            out.push({ method: m.toUpperCase(), path: joinPath(prefix, p) });
          }
        }
      } else if (Array.isArray(layer.handle?.stack)) {
        if (typeof raw !== 'string')
          throw new Error(`a router is mounted at a non-string path (${String(raw)}): mount it at a string path`);
        walk(layer.handle.stack, joinPath(prefix, raw === '/' ? '' : raw));
      } else if (layer.name === 'mounted_app') {
        throw new Error(
          `an express app is mounted at ${prefix}${String(raw)}: mount an express.Router() instead, so that test/contracts-api.test.ts can read its routes`,
        );
      }
    }
  };
  walk((app as unknown as { router: { stack: Node[] } }).router.stack, '');
  return out;
}

function joinPath(prefix: string, p: string): string {
  const joined = `${prefix.replace(/\/$/, '')}${p.startsWith('/') ? '' : '/'}${p}`;
  return joined === '' ? '/' : joined;
}

/** express "/v1/params/:strategy/:version" -> OpenAPI "/v1/params/{strategy}/{version}". */
export function toTemplate(expressPath: string): string {
  const template = expressPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
  if (/[*?(){}]/.test(template.replace(/\{[A-Za-z_][A-Za-z0-9_]*\}/g, '')))
    throw new Error(
      `route ${expressPath} uses path syntax OpenAPI cannot state (wildcards, optional groups): use plain :name parameters`,
    );
  return template;
}

/** The parameters of an operation, with the path item's, references resolved. */
export function parametersOf(doc: Doc, path: string, o: Operation): Node[] {
  return [...(doc.paths[path].parameters ?? []), ...(o.op.parameters ?? [])].map((p: Node) => deref(doc, p));
}

/** The operation's path with every path parameter, and the required query parameters, set to their examples. */
export function exampleUrl(doc: Doc, o: Operation): string {
  const params = parametersOf(doc, o.path, o);
  const path = o.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const p = params.find((x) => x.in === 'path' && x.name === name);
    if (p?.example === undefined)
      throw new Error(`${OPENAPI_FILE}: ${o.key} needs a path parameter "${name}" with an "example"`);
    return encodeURIComponent(String(p.example));
  });
  const query = params
    .filter((p) => p.in === 'query' && p.required)
    .map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(String(p.example))}`);
  return query.length ? `${path}?${query.join('&')}` : path;
}

/** The first example of the operation's JSON request body, or undefined without a body. */
export function exampleBody(doc: Doc, o: Operation): unknown {
  const media = deref(doc, o.op.requestBody)?.content?.['application/json'];
  if (!media) return undefined;
  const first = Object.values(media.examples ?? {})[0] as Node;
  if (first === undefined)
    throw new Error(`${OPENAPI_FILE}: ${o.key} needs "examples" on its application/json request body`);
  return deref(doc, first).value;
}

/**
 * What is wrong with a real answer against the document: the status must be documented for
 * the operation, the media type listed, documented headers present, a JSON body valid.
 */
export function checkAnswer(doc: Doc, o: Operation, status: number, headers: Headers, text: string): string[] {
  const where = `${OPENAPI_FILE} paths["${o.path}"].${o.method}.responses`;
  const response = deref(doc, o.op.responses?.[String(status)]);
  if (!response) return [`${o.key} answered ${status}, which ${where} does not list: add "${status}" there`];
  const problems: string[] = [];
  for (const name of Object.keys(response.headers ?? {}))
    if (headers.get(name) === null) problems.push(`header ${name} is documented in ${where}["${status}"] but missing`);
  const type = (headers.get('content-type') ?? '').split(';')[0].trim();
  const media = response.content?.[type];
  if (!media) {
    problems.push(
      `${o.key} ${status} answered ${type || 'no content type'}; ${where}["${status}"].content lists ${Object.keys(response.content ?? {}).join(', ') || 'nothing'}`,
    );
    return problems;
  }
  if (type === 'application/json') {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return [...problems, `${o.key} ${status}: the body is not JSON: ${text.slice(0, 200)}`];
    }
    for (const e of validate(doc, media.schema as Schema, body))
      problems.push(`${o.key} ${status} body breaks the schema of ${where}["${status}"]: ${e}`);
  } else if (text.length === 0) problems.push(`${o.key} ${status}: empty ${type} body`);
  return problems;
}
