// The HTTP API's contract is docs/openapi.json (with docs/api.md): the routes the sidecar
// registers and the document's paths agree both ways, every status the document lists for
// an operation is one the real sidecar answers on a loopback port (with the documented media
// type, headers and body schema), and the bot's own /metrics server answers as documented.
//
// Adding a route: register it, add its path to docs/openapi.json (parameters with examples,
// a request body with examples, every status it answers), describe it in docs/api.md, and add
// to PROBES in test/support/api-probes.ts a request for each status that the generic probes (by security scheme:
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
import {
  METRICS,
  NOW,
  OPS,
  PROBES,
  READ,
  WRITE,
  doc,
  genericProbes,
  op,
  type Probe,
  type Server,
} from './support/api-probes.js';
import { validate } from './support/json-schema.js';
import {
  OPENAPI_FILE,
  checkAnswer,
  deref,
  exampleBody,
  exampleUrl,
  expressRoutes,
  parametersOf,
  toTemplate,
  type Node,
} from './support/openapi.js';
import { sidecar, type TestSidecar } from './support/sidecar.js';
import { tempDir } from './support/tmp.js';

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
      `unprobed: statuses ${OPENAPI_FILE} lists that no probe provokes (add to PROBES in test/support/api-probes.ts a request that gets each)`,
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
