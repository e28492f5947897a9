// The HTTP API's contract is docs/openapi.json (with docs/api.md): the routes the sidecar
// registers and the document's paths agree both ways, every status the document lists for
// an operation is one the real sidecar answers on a loopback port (with the documented media
// type, headers and body schema), and the bot's own /metrics server answers as documented.
//
// Adding a route: register it, add its path to docs/openapi.json (parameters with examples,
// a request body with examples, every status it answers), describe it in docs/api.md, and add
// to PROBES below a request for each status that the generic probes (by security scheme:
// writeToken, readBearer, metricsBearer) do not already provoke.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { Ledger } from '../src/ledger/ledger.js';
import { silentLogger } from '../src/log.js';
import { openEdgewatch } from '../src/sdk/index.js';
import { createApp } from '../src/sidecar/app.js';
import { WindowEngine } from '../src/sidecar/engine.js';
import { SidecarMetrics } from '../src/sidecar/exposition.js';
import { cusumRunKeys } from '../src/sidecar/snapshot.js';
import { parseThresholds } from '../src/sidecar/thresholds.js';
import { validate } from './support/json-schema.js';
import {
  OPENAPI_FILE,
  checkAnswer,
  deref,
  exampleBody,
  exampleUrl,
  expressRoutes,
  loadOpenApi,
  operations,
  parametersOf,
  toTemplate,
  type Node,
  type Operation,
} from './support/openapi.js';
import { sidecar, type TestSidecar } from './support/sidecar.js';
import { tempDir } from './support/tmp.js';

const doc = loadOpenApi();
const OPS = operations(doc.paths);
const op = (key: string): Operation => {
  const found = OPS.find((o) => o.key === key);
  if (!found) throw new Error(`${OPENAPI_FILE} has no operation ${key}, which test/contracts-api.test.ts probes`);
  return found;
};

/** The examples' clock: they are written for 2026-11-27T12:00:00Z. */
const NOW = Date.parse('2026-11-27T12:00:00Z');
const WRITE = 'write-token-0123456789';
const READ = 'read-token-0123456789';
const METRICS = 'metrics-token-0123456789';

/** The app as createApp builds it, over a real ledger, for reading its router. */
function registeredApp(t: TestContext) {
  const ledger = Ledger.open(join(tempDir(t), 'routes.db'));
  t.after(() => ledger.close());
  const thresholds = parseThresholds(undefined, 'test');
  // If a route is registered only under an option, pass that option here.
  return createApp({
    ledger,
    engine: new WindowEngine(ledger, { runKey: cusumRunKeys(ledger, thresholds), statePath: null }),
    metrics: new SidecarMetrics(),
    log: silentLogger(),
    thresholds,
    keepVersions: 5,
    writesOpen: true,
    runbook: '# Runbook\n',
  });
}

test('every route the sidecar registers is in docs/openapi.json, and every documented path is registered', (t) => {
  const registered = new Set(expressRoutes(registeredApp(t)).map((r) => `${r.method} ${toTemplate(r.path)}`));
  const documented = new Set(OPS.map((o) => o.key));
  const undocumented = [...registered].filter((k) => !documented.has(k));
  const unregistered = [...documented].filter((k) => !registered.has(k));
  assert.deepEqual(
    { undocumented, unregistered },
    { undocumented: [], unregistered: [] },
    `undocumented: routes the sidecar registers that ${OPENAPI_FILE} lacks (add each under "paths", with a section in docs/api.md); ` +
      `unregistered: operations ${OPENAPI_FILE} lists that createApp does not register (remove them, or register the route)`,
  );
});

test('docs/openapi.json holds together: references resolve, examples fit their schemas, parameters have examples', () => {
  assert.match(doc.openapi, /^3\.1\./);
  const refs: string[] = [];
  const collect = (n: unknown) => {
    if (Array.isArray(n)) n.forEach(collect);
    else if (n && typeof n === 'object')
      for (const [k, v] of Object.entries(n)) {
        if (k === '$ref' && typeof v === 'string') refs.push(v);
        else collect(v);
      }
  };
  collect(doc);
  for (const r of refs) assert.doesNotThrow(() => deref(doc, { $ref: r }), `${r} does not resolve`);
  const schemes = Object.keys(doc.components.securitySchemes);
  for (const o of OPS) {
    assert.ok(o.op.operationId && o.op.summary && o.op.responses, `${o.key}: needs operationId, summary, responses`);
    for (const req of o.op.security ?? [])
      for (const s of Object.keys(req)) assert.ok(schemes.includes(s), `${o.key}: unknown security scheme ${s}`);
    assert.doesNotThrow(() => exampleUrl(doc, o));
    for (const p of parametersOf(doc, o.path, o))
      if (p.example !== undefined)
        assert.deepEqual(validate(doc, p.schema, p.example), [], `${o.key}: example of parameter ${p.name}`);
    for (const [type, media] of Object.entries<Node>(deref(doc, o.op.requestBody)?.content ?? {}))
      for (const [name, ex] of Object.entries<Node>(media.examples ?? {}))
        assert.deepEqual(validate(doc, media.schema, ex.value), [], `${o.key} request example ${name} (${type})`);
    for (const [status, r] of Object.entries<Node>(o.op.responses))
      for (const [type, media] of Object.entries<Node>(deref(doc, r).content ?? {}))
        for (const [name, ex] of Object.entries<Node>(media.examples ?? {}))
          assert.deepEqual(validate(doc, media.schema, ex.value), [], `${o.key} ${status} example ${name} (${type})`);
  }
});

type Server = 'open' | 'token' | 'capped' | 'closed';

interface Probe {
  /** The operation as in the document: "POST /v1/params". */
  op: string;
  status: number;
  why: string;
  on?: Server;
  /** Path and query; default: the documented examples. */
  url?: string;
  /** A JSON body; default: the first documented example of a write, none for a read. */
  body?: unknown;
  raw?: { type: string; text: string };
  headers?: Record<string, string>;
}

const example = (key: string, name?: string): Node => {
  const o = op(key);
  if (!name) return exampleBody(doc, o);
  return deref(doc, o.op.requestBody).content['application/json'].examples[name].value;
};
const trade = () => example('POST /v1/trades', 'one');
const basic = (token: string) => `Basic ${Buffer.from(`any:${token}`).toString('base64')}`;

/** Requests in order (each may rely on the ones before it), and the status each must get. */
const PROBES: Probe[] = [
  { op: 'POST /v1/params', status: 201, why: 'a new parameter set' },
  { op: 'POST /v1/params', status: 200, why: 'the same set again re-activates its version' },
  { op: 'POST /v1/params', status: 400, why: 'params not an object', body: { strategy: 'momentum', params: [1] } },
  { op: 'POST /v1/trades', status: 201, why: 'a new trade' },
  { op: 'POST /v1/trades', status: 200, why: 'the same trade again (a retry)' },
  { op: 'POST /v1/trades', status: 409, why: 'the same id with another pnl', body: { ...trade(), pnl: 13 } },
  { op: 'POST /v1/trades', status: 400, why: 'an unknown side', body: { ...trade(), side: 'buy' } },
  { op: 'POST /v1/trades', status: 201, why: 'a batch', body: example('POST /v1/trades', 'batch') },
  { op: 'POST /v1/heartbeat', status: 200, why: 'a beat' },
  { op: 'POST /v1/heartbeat', status: 400, why: 'no strategy', body: {} },
  { op: 'POST /v1/experiments', status: 201, why: 'an experiment' },
  {
    op: 'POST /v1/experiments',
    status: 409,
    why: 'a second one while it runs',
    body: { ...example('POST /v1/experiments'), name: 'other' },
  },
  {
    op: 'POST /v1/experiments',
    status: 400,
    why: 'no control',
    body: { strategy: 'momentum', name: 'x', variants: { a: {} } },
  },
  {
    op: 'POST /v1/trades',
    status: 201,
    why: "trades of the experiment's arms",
    body: {
      trades: [1, -2, 3, 2, -1, 4].map((pnl, i) => ({
        id: `arm-${i}`,
        strategy: 'momentum',
        symbol: 'BTC-USD',
        side: 'long',
        closed_at: NOW + i * 1000,
        pnl,
        notional: 1000,
        experiment: 'lookback-30',
        variant: i % 2 ? 'candidate' : 'control',
      })),
    },
  },
  { op: 'GET /v1/params', status: 200, why: 'a strategy with versions' },
  { op: 'GET /v1/params', status: 400, why: 'no strategy', url: '/v1/params' },
  { op: 'GET /v1/params/{strategy}/{version}', status: 200, why: 'v1' },
  { op: 'GET /v1/params/{strategy}/{version}', status: 404, why: 'v9', url: '/v1/params/momentum/v9' },
  { op: 'GET /v1/params/{strategy}/{version}', status: 400, why: 'not a label', url: '/v1/params/momentum/latest' },
  { op: 'GET /v1/params/{strategy}/diff', status: 200, why: 'v1 to v2 (the candidate)' },
  { op: 'GET /v1/params/{strategy}/diff', status: 404, why: 'v9', url: '/v1/params/momentum/diff?from=v1&to=v9' },
  { op: 'GET /v1/params/{strategy}/diff', status: 400, why: 'no to', url: '/v1/params/momentum/diff?from=v1' },
  { op: 'GET /v1/experiments', status: 200, why: 'every experiment' },
  { op: 'GET /v1/experiments', status: 400, why: 'a bad strategy name', url: '/v1/experiments?strategy=a%20b' },
  { op: 'GET /v1/report', status: 200, why: 'JSON' },
  { op: 'GET /v1/report', status: 200, why: 'Markdown', url: '/v1/report?strategy=momentum&format=markdown&window=7d' },
  { op: 'GET /v1/report', status: 400, why: 'window 2h', url: '/v1/report?strategy=momentum&window=2h' },
  { op: 'GET /v1/report', status: 404, why: 'an unknown strategy', url: '/v1/report?strategy=nosuch' },
  { op: 'POST /v1/experiments/{name}/stop', status: 200, why: 'stop with a winner' },
  { op: 'POST /v1/experiments/{name}/stop', status: 409, why: 'already stopped' },
  {
    op: 'POST /v1/experiments/{name}/stop',
    status: 404,
    why: 'no such experiment',
    url: '/v1/experiments/nosuch/stop',
    body: {},
  },
  { op: 'POST /v1/experiments/{name}/stop', status: 400, why: 'a bad winner name', body: { winner: 'a b' } },
  { op: 'GET /healthz', status: 200, why: 'up' },
  { op: 'GET /readyz', status: 200, why: 'a writable ledger' },
  { op: 'GET /metrics', status: 200, why: 'a scrape' },
  { op: 'GET /runbook', status: 200, why: 'the installed runbook' },
  // With tokens: the right credential opens each gate (the generic probes show the 401s).
  {
    on: 'token',
    op: 'GET /v1/params',
    status: 200,
    why: 'the read token',
    headers: { authorization: `Bearer ${READ}` },
  },
  { on: 'token', op: 'GET /v1/params', status: 200, why: 'HTTP Basic', headers: { authorization: basic(READ) } },
  {
    on: 'token',
    op: 'GET /metrics',
    status: 200,
    why: 'the metrics token',
    headers: { authorization: `Bearer ${METRICS}` },
  },
  {
    on: 'token',
    op: 'POST /v1/heartbeat',
    status: 200,
    why: 'the write token',
    headers: { authorization: `Bearer ${WRITE}` },
  },
  // Caps of 1 strategy and 1 version per strategy; no runbook installed.
  {
    on: 'capped',
    op: 'POST /v1/params',
    status: 201,
    why: 'the one strategy',
    body: { strategy: 'momentum', params: { a: 1 } },
  },
  {
    on: 'capped',
    op: 'POST /v1/params',
    status: 422,
    why: 'a second version',
    body: { strategy: 'momentum', params: { a: 2 } },
  },
  {
    on: 'capped',
    op: 'POST /v1/trades',
    status: 422,
    why: 'a second strategy',
    body: { ...trade(), strategy: 'other' },
  },
  { on: 'capped', op: 'POST /v1/heartbeat', status: 422, why: 'a second strategy', body: { strategy: 'other' } },
  {
    on: 'capped',
    op: 'POST /v1/experiments',
    status: 422,
    why: 'a second strategy',
    body: { strategy: 'other', name: 'e', variants: { control: { a: 1 }, candidate: { a: 2 } } },
  },
  { on: 'capped', op: 'GET /runbook', status: 404, why: 'not installed' },
  // A ledger that cannot be read or written (closed under the running sidecar).
  { on: 'closed', op: 'GET /readyz', status: 503, why: 'not writable' },
  { on: 'closed', op: 'GET /metrics', status: 200, why: 'a scrape serves what it has' },
  { on: 'closed', op: 'GET /v1/params', status: 503, why: 'a storage fault' },
  { on: 'closed', op: 'GET /v1/experiments', status: 503, why: 'a storage fault' },
  { on: 'closed', op: 'GET /v1/report', status: 503, why: 'a storage fault' },
  { on: 'closed', op: 'GET /v1/params/{strategy}/{version}', status: 500, why: 'a storage fault (known gap)' },
  { on: 'closed', op: 'GET /v1/params/{strategy}/diff', status: 500, why: 'a storage fault (known gap)' },
];

/** The probes every operation gets from its security schemes (the middleware they name). */
function genericProbes(): Probe[] {
  const out: Probe[] = [];
  for (const o of OPS) {
    const schemes = new Set((o.op.security ?? []).flatMap((s: object) => Object.keys(s)));
    if (schemes.has('writeToken'))
      out.push(
        { on: 'token', op: o.key, status: 401, why: 'no token where EDGEWATCH_TOKEN is set' },
        {
          op: o.key,
          status: 403,
          why: 'tokenless, from a page of another origin',
          headers: { origin: 'http://attacker.example' },
        },
        { op: o.key, status: 415, why: 'a text/plain body', raw: { type: 'text/plain', text: 'x' } },
        {
          op: o.key,
          status: 413,
          why: 'a body over 1 MiB',
          raw: { type: 'application/json', text: JSON.stringify({ pad: 'x'.repeat(1 << 20) }) },
        },
        { on: 'closed', op: o.key, status: 503, why: 'a storage fault on a write' },
      );
    if (schemes.has('readBearer'))
      out.push({ on: 'token', op: o.key, status: 401, why: 'no read token where one is set' });
    if (schemes.has('metricsBearer'))
      out.push({ on: 'token', op: o.key, status: 401, why: 'no metrics token where one is set' });
  }
  return out;
}

async function send(s: TestSidecar, p: Probe): Promise<{ status: number; headers: Headers; text: string }> {
  const o = op(p.op);
  const headers: Record<string, string> = { ...p.headers };
  let body: string | undefined;
  if (p.raw) {
    headers['content-type'] = p.raw.type;
    body = p.raw.text;
  } else {
    const value = p.body === undefined ? exampleBody(doc, o) : p.body;
    if (value !== undefined && value !== null) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(value);
    }
  }
  const res = await fetch(`${s.url}${p.url ?? exampleUrl(doc, o)}`, { method: o.method.toUpperCase(), headers, body });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function servers(t: TestContext): Promise<Record<Server, TestSidecar>> {
  const now = () => NOW;
  // Small minimum samples, so that the report and the listings carry every field they can.
  const thresholdsJson = {
    defaults: { drift_min_trades: 2, regression_min_trades: 2, cusum_min_trades: 2, experiment_min_trades: 2 },
  };
  const open = await sidecar(t, { now, thresholdsJson });
  const token = await sidecar(t, { now, token: WRITE, readToken: READ, metricsToken: METRICS });
  const capped = await sidecar(t, {
    now,
    maxStrategies: 1,
    maxVersionsPerStrategy: 1,
    runbookPath: '/nonexistent/runbook.md',
  });
  const closed = await sidecar(t, { now });
  closed.ledger.close();
  return { open, token, capped, closed };
}

test('the sidecar answers every status docs/openapi.json lists, with the documented body', async (t) => {
  const s = await servers(t);
  const answered = new Set<string>();
  const problems: string[] = [];
  for (const p of [...PROBES, ...genericProbes()]) {
    const o = op(p.op);
    const r = await send(s[p.on ?? 'open'], p);
    if (r.status !== p.status) {
      problems.push(
        `${p.op} (${p.why}, on the ${p.on ?? 'open'} sidecar): expected ${p.status}, got ${r.status} ${r.text.slice(0, 300)}`,
      );
      continue;
    }
    answered.add(`${p.op} ${p.status}`);
    problems.push(...checkAnswer(doc, o, r.status, r.headers, r.text).map((x) => `${x} (${p.why})`));
  }
  const unprobed = OPS.flatMap((o) =>
    Object.keys(o.op.responses)
      .filter((status) => status !== 'default' && !answered.has(`${o.key} ${status}`))
      .map((status) => `${o.key} ${status}`),
  );
  assert.deepEqual(
    { problems, unprobed },
    { problems: [], unprobed: [] },
    `problems: answers that differ from ${OPENAPI_FILE} (fix the document or the route); ` +
      `unprobed: statuses ${OPENAPI_FILE} lists that no probe provokes (add to PROBES in test/contracts-api.test.ts a request that gets each)`,
  );
});

test('an unknown route or method answers 404 with the error shape of the default response', async (t) => {
  const s = await sidecar(t);
  const schema = deref(doc, doc.components.responses.Other).content['application/json'].schema;
  for (const [method, path] of [
    ['GET', '/v1/nope'],
    ['GET', '/v1/trades'],
    ['DELETE', '/v1/params'],
  ]) {
    const res = await fetch(`${s.url}${path}`, { method });
    const body = await res.json();
    assert.equal(res.status, 404);
    assert.deepEqual(body, { error: `no route ${method} ${path}`, details: [] });
    assert.deepEqual(validate(doc, schema, body), []);
  }
});

test("the bot's metrics server (SDK) answers as x-edgewatch-bot-server in docs/openapi.json says", async (t) => {
  const bot = doc['x-edgewatch-bot-server'];
  const ew = openEdgewatch({ ledger: join(tempDir(t), 'bot.db'), strategies: ['alpha'], logger: false });
  const server = await ew.serve({ port: 0, host: '127.0.0.1' });
  t.after(() => ew.close());
  const base = server.url.replace(/\/metrics$/, '');
  const problems: string[] = [];
  const answered = new Set<string>();
  const check = async (path: string, status: number) => {
    const o = { key: `GET ${path}`, method: 'get', path, op: bot.paths[path].get };
    const res = await fetch(`${base}${path}`);
    const text = await res.text();
    if (res.status !== status) problems.push(`GET ${path}: expected ${status}, got ${res.status} ${text}`);
    else problems.push(...checkAnswer(doc, o, res.status, res.headers, text));
    answered.add(`GET ${path} ${res.status}`);
  };
  for (const path of Object.keys(bot.paths)) await check(path, 200);
  // A collector that throws: the scrape answers 500 and the bot keeps running.
  const { Gauge } = await import('prom-client');
  new Gauge({
    name: 'contract_test_failing',
    help: 'throws on collect',
    registers: [ew.registry],
    collect() {
      throw new Error('collector failed');
    },
  });
  await check('/metrics', 500);
  ew.registry.removeSingleMetric('contract_test_failing');
  await check('/metrics', 200);
  for (const [method, path] of [
    ['GET', '/nope'],
    ['POST', '/metrics'],
  ]) {
    const res = await fetch(`${base}${path}`, { method });
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.match(await res.text(), /not found: try \/metrics/);
  }
  assert.deepEqual(problems, []);
  const unprobed = Object.entries(bot.paths).flatMap(([path, item]: [string, Node]) =>
    Object.keys(item.get.responses)
      .filter((st) => !answered.has(`GET ${path} ${st}`))
      .map((st) => `GET ${path} ${st}`),
  );
  assert.deepEqual(unprobed, [], `statuses documented under x-edgewatch-bot-server that this test does not provoke`);
});
