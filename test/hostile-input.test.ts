// A corpus of hostile requests against every endpoint of the sidecar: each answers a 4xx
// with a JSON error, stores nothing (the whole ledger's digest is unchanged) and leaves the
// sidecar ready. The unmutated bodies are accepted on a fresh sidecar, so each refusal is
// caused by the mutation, not by a broken base.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import test from 'node:test';
import { baseWebhook, webhookCases, WEBHOOK } from './support/freqtrade-hostile.js';
import { ledgerDigest } from './support/ledger-digest.js';
import { sidecar, type TestSidecar } from './support/sidecar.js';
import { parseExposition, value } from './support/tmp.js';

const NOW = Date.now();
const CLOSED = NOW - 60_000;

/** A value written into the body as raw JSON text (NaN, 1e999, ...), not as a JSON string. */
class Raw {
  constructor(readonly text: string) {}
}
const raw = (text: string) => new Raw(text);

/** JSON text of `body` with Raw values spliced in verbatim. */
function encode(body: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(body, (_k, v) => (v instanceof Raw ? `\u0000raw${raws.push(v.text) - 1}\u0000` : v));
  return text.replace(/"\\u0000raw(\d+)\\u0000"/g, (_m, i: string) => raws[Number(i)]);
}

interface Case {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: string;
  headers?: Record<string, string>;
  /** Exact status when it matters; otherwise any 4xx. */
  status?: number;
}

// ---- hostile values by kind ----
const NAME_BAD: unknown[] = [
  '',
  ' ',
  'a b',
  'a"b',
  "a'b",
  'a\nb',
  'a\rb',
  'a\\b',
  'a{b}',
  'a=b',
  'a,b',
  'a/b',
  'a#b',
  'é',
  '日本',
  '🚀',
  'x'.repeat(65),
  "'; DROP TABLE trades; --",
  "s' OR '1'='1",
  'a\u0000b',
  '\u202eevil',
  '$(reboot)',
  '{{ .Alerts }}',
  'a}b="x"',
  1,
  0,
  -1,
  true,
  [],
  {},
  ['s'],
  { name: 's' },
  raw('NaN'),
  raw('1e999'),
];
const ID_BAD: unknown[] = [
  '',
  1,
  0,
  true,
  {},
  [],
  ['t'],
  'x'.repeat(129),
  'a\u0000b',
  'a\nb',
  'a\u007fb',
  'a\tb',
  raw('Infinity'),
];
const SIDE_BAD: unknown[] = ['buy', 'sell', 'LONG', 'Long', '', ' long', 'long\n', 1, true, [], {}];
const NUM_BAD: unknown[] = [
  '1.5',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e999',
  '0x10',
  '',
  true,
  false,
  [],
  {},
  [1],
  { value: 1 },
  raw('NaN'),
  raw('Infinity'),
  raw('-Infinity'),
  raw('1e999'),
  raw('-1e999'),
  raw('0x10'),
  raw('+1'),
  raw('.5'),
  raw('01'),
  1e13,
  -1e13,
  1e308,
  -Number.MAX_VALUE,
];
const AMOUNT_BAD: unknown[] = [...NUM_BAD.filter((v) => v !== -1e13 && v !== 1e13), -1, -0.0001, 1e16, -1e13];
const TIME_BAD: unknown[] = [
  'yesterday',
  '',
  'now',
  '2024-02-30T00:00:00Z',
  '2024-13-01T00:00:00Z',
  '2024-01-01',
  '2024-01-01T00:00:00',
  '2024-01-01T25:00:00Z',
  '2024-01-01T00:00:00+25:00',
  '1999-12-31T23:59:59Z',
  '1970-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '+275760-09-13T00:00:00.000Z',
  new Date(NOW + 86_400_000).toISOString(),
  NOW + 10 * 60_000,
  Date.UTC(2000, 0, 1) - 1,
  Math.floor(NOW / 1000),
  0,
  -1,
  1.5,
  CLOSED + 0.5,
  1e20,
  8.64e15 + 1,
  -8.64e15,
  1e308,
  Number.MAX_SAFE_INTEGER + 2,
  raw('1e999'),
  raw('-1e999'),
  raw('NaN'),
  'NaN',
  'Infinity',
  true,
  {},
  [],
  [CLOSED],
];
const VERSION_BAD: unknown[] = [
  'v0',
  '1',
  1,
  'v1.0',
  'v01',
  'V1',
  'v-1',
  'v1 ',
  'v9999999999',
  'v99',
  '',
  true,
  {},
  [],
];
const TEXT_BAD: unknown[] = [1, true, {}, [], ['x'], 'x'.repeat(1001), raw('NaN')];
const PARAM_KEY_BAD = ['', ' ', 'a b', 'a"b', 'a\nb', 'x'.repeat(65), 'é', '🚀', "'; DROP TABLE param_versions; --"];

const deepArray = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

// ---- valid bases: each would be accepted and would change the ledger ----
const baseTrade = () => ({
  id: 'h1',
  strategy: 'fresh',
  symbol: 'BTC-USD',
  side: 'long',
  closed_at: CLOSED,
  opened_at: CLOSED - 1000,
  pnl: 1.5,
  fees: 0.1,
  notional: 100,
});
const baseParams = () => ({
  strategy: 'fresh',
  params: { lookback: 20, mode: 'fast' },
  source: 'ci',
  git_sha: 'abc',
  note: 'n',
});
const baseExperiment = () => ({
  strategy: 's',
  name: 'e2',
  variants: { control: { x: 1 }, candidate: { x: 2 } },
  allocation: { control: 1, candidate: 1 },
});
const baseStop = () => ({ strategy: 'x', outcome: 'done', winner: 'candidate' });
const baseHeartbeat = () => ({ strategy: 's' });
const BASES: Array<[string, () => Record<string, unknown>]> = [
  ['/v1/trades', baseTrade],
  ['/v1/params', baseParams],
  ['/v1/experiments', baseExperiment],
  ['/v1/experiments/e/stop', baseStop],
  ['/v1/heartbeat', baseHeartbeat],
];

function post(name: string, path: string, body: unknown, status?: number, headers?: Record<string, string>): Case {
  return { name, method: 'POST', path, body: typeof body === 'string' ? body : encode(body), status, headers };
}

function mutate(name: string, path: string, base: Record<string, unknown>, field: string, values: unknown[]): Case[] {
  return values.map((v, i) =>
    post(`${name}: ${field} = ${encode(v).slice(0, 40)} (#${i})`, path, { ...base, [field]: v }),
  );
}

function without(base: Record<string, unknown>, field: string): Record<string, unknown> {
  const { [field]: _, ...rest } = base;
  return rest;
}

function corpus(): Case[] {
  const cases: Case[] = [];
  // Every write endpoint: broken JSON, wrong top-level types, nesting, size, unknown fields.
  for (const [path, base] of BASES) {
    const text = encode(base());
    const malformed = [
      '',
      '{',
      '}',
      '{"strategy":',
      '{"strategy": "s",}',
      "{'strategy': 's'}",
      '{"strategy": s}',
      'NaN',
      'Infinity',
      '-Infinity',
      'undefined',
      '\u0000',
      '{"a":1}garbage',
      '{"a":1}{"a":2}',
      '{"a":"\\x41"}',
      '{"a":"\\ud800"',
      '\uFEFF',
      '/* comment */ {}',
      '{"a":01}',
      '[1,]',
    ];
    // An empty body (or a lone BOM) is a stop without options, so not malformed there.
    for (const m of malformed)
      if (!(path.endsWith('/stop') && (m === '' || m === '\uFEFF')))
        cases.push(post(`${path}: malformed ${JSON.stringify(m).slice(0, 30)}`, path, m, 400));
    for (const cut of [1, Math.floor(text.length / 4), Math.floor(text.length / 2), text.length - 1])
      cases.push(post(`${path}: truncated at ${cut}`, path, text.slice(0, cut), 400));
    for (const top of ['null', '1', '"s"', 'true', '[]', `[${text}]`, ...(path.endsWith('/stop') ? [] : ['{}'])])
      cases.push(post(`${path}: top-level ${top.slice(0, 20)}`, path, top, 400));
    cases.push(post(`${path}: 100k nested arrays`, path, deepArray(100_000), 400));
    cases.push(post(`${path}: 50k nested objects`, path, deepObject(50_000), 400));
    cases.push(
      post(
        `${path}: nesting inside a field`,
        path,
        text.replace(/^\{/, `{"strategy": ${deepArray(10_000)}, "x": `),
        400,
      ),
    );
    cases.push(post(`${path}: body over 1 MiB`, path, { ...base(), pad: 'x'.repeat(1024 * 1024) }, 413));
    cases.push(post(`${path}: unknown field`, path, { ...base(), extra: 1 }, 400));
    cases.push(post(`${path}: __proto__ field`, path, text.replace(/^\{/, '{"__proto__": {"polluted": true}, '), 400));
    cases.push(
      post(`${path}: constructor field`, path, { ...base(), constructor: { prototype: { polluted: true } } }, 400),
    );
    cases.push(
      post(
        `${path}: duplicate key, last one bad`,
        path,
        text.replace(/^\{/, '{"strategy": "ok", ').replace(/\}$/, ', "strategy": "a b"}'),
        400,
      ),
    );
    cases.push(post(`${path}: text/plain`, path, text, 415, { 'content-type': 'text/plain' }));
    cases.push(
      post(`${path}: form-encoded`, path, 'strategy=s', 415, { 'content-type': 'application/x-www-form-urlencoded' }),
    );
    cases.push(
      post(`${path}: utf-8 bytes labelled utf-16`, path, text, undefined, {
        'content-type': 'application/json; charset=utf-16',
      }),
    );
    cases.push(
      post(`${path}: latin-1 charset`, path, text, 415, { 'content-type': 'application/json; charset=latin1' }),
    );
    cases.push(post(`${path}: gzip that is not gzip`, path, text, 400, { 'content-encoding': 'gzip' }));
    cases.push(post(`${path}: unknown encoding`, path, text, 415, { 'content-encoding': 'br2' }));
    for (const method of ['PUT', 'DELETE'] as const)
      cases.push({
        name: `${path}: ${method}`,
        method,
        path,
        body: text,
        status: 404,
        headers: { 'content-type': 'application/json' },
      });
  }

  // POST /v1/trades, field by field.
  const T = '/v1/trades';
  for (const f of ['id', 'strategy', 'symbol', 'side', 'closed_at', 'pnl'])
    cases.push(post(`trade without ${f}`, T, without(baseTrade(), f), 400));
  cases.push(...mutate('trade', T, baseTrade(), 'id', [...ID_BAD, null]));
  cases.push(...mutate('trade', T, baseTrade(), 'strategy', [...NAME_BAD, null]));
  cases.push(...mutate('trade', T, baseTrade(), 'symbol', [...NAME_BAD, null]));
  cases.push(...mutate('trade', T, baseTrade(), 'side', [...SIDE_BAD, null]));
  cases.push(...mutate('trade', T, baseTrade(), 'closed_at', [...TIME_BAD, null]));
  cases.push(...mutate('trade', T, baseTrade(), 'opened_at', [...TIME_BAD, CLOSED + 1]));
  cases.push(...mutate('trade', T, baseTrade(), 'pnl', [...NUM_BAD, null]));
  cases.push(...mutate('trade', T, baseTrade(), 'fees', AMOUNT_BAD));
  cases.push(...mutate('trade', T, baseTrade(), 'notional', AMOUNT_BAD));
  cases.push(...mutate('trade', T, baseTrade(), 'param_version', VERSION_BAD));
  cases.push(
    ...mutate('trade', T, { ...baseTrade(), strategy: 'x', variant: 'control' }, 'experiment', [...NAME_BAD, 'nope']),
  );
  cases.push(
    ...mutate('trade', T, { ...baseTrade(), strategy: 'x', experiment: 'e' }, 'variant', [
      ...NAME_BAD,
      'nobody',
      '__proto__',
    ]),
  );
  cases.push(post('trade: experiment without variant', T, { ...baseTrade(), strategy: 'x', experiment: 'e' }, 400));
  cases.push(post('trade: variant without experiment', T, { ...baseTrade(), strategy: 'x', variant: 'control' }, 400));
  // Batches: all-or-nothing.
  for (const v of ['x', {}, null, 1, [null], [[]], [1], ['t']])
    cases.push(post(`batch: trades = ${JSON.stringify(v)}`, T, { trades: v }, 400));
  cases.push(post('batch: an extra field next to trades', T, { trades: [baseTrade()], extra: 1 }, 400));
  cases.push(
    post('batch: one good and one bad', T, { trades: [baseTrade(), { ...baseTrade(), id: 'h2', pnl: 'NaN' }] }, 400),
  );
  cases.push(
    post(
      'batch: 5001 good trades',
      T,
      { trades: Array.from({ length: 5001 }, (_, i) => ({ ...baseTrade(), id: `b${i}` })) },
      400,
    ),
  );
  // Duplicate and conflicting ids: 409, and the fresh trades of the batch are not stored.
  const t0 = { id: 't0', strategy: 's', symbol: 'BTC-USD', side: 'long', closed_at: CLOSED, pnl: 2 };
  cases.push(post('conflict: stored id with another pnl', T, { ...t0, pnl: 3 }, 409));
  cases.push(post('conflict: stored id with another closed_at', T, { ...t0, closed_at: CLOSED - 1 }, 409));
  cases.push(post('conflict: stored id with another side', T, { ...t0, side: 'short' }, 409));
  cases.push(
    post(
      'conflict: a fresh trade and a stored id with other content',
      T,
      {
        trades: [
          { ...t0, id: 'fresh1' },
          { ...t0, fees: 1 },
        ],
      },
      409,
    ),
  );
  cases.push(
    post(
      'conflict: the same new id twice with other content',
      T,
      {
        trades: [
          { ...t0, id: 'n1' },
          { ...t0, id: 'n1', pnl: 5 },
        ],
      },
      409,
    ),
  );

  // POST /v1/params
  const P = '/v1/params';
  for (const f of ['strategy', 'params']) cases.push(post(`params without ${f}`, P, without(baseParams(), f), 400));
  cases.push(...mutate('params', P, baseParams(), 'strategy', [...NAME_BAD, null]));
  cases.push(...mutate('params', P, baseParams(), 'params', [null, [], 'x', 1, true, [['a', 1]]]));
  for (const k of PARAM_KEY_BAD)
    cases.push(post(`params: key ${JSON.stringify(k).slice(0, 20)}`, P, { ...baseParams(), params: { [k]: 1 } }, 400));
  for (const v of [raw('NaN'), raw('1e999'), raw('-1e999')])
    cases.push(post(`params: value ${v.text}`, P, { ...baseParams(), params: { x: v } }, 400));
  cases.push(post('params: nested 9 levels', P, { ...baseParams(), params: { x: JSON.parse(deepArray(9)) } }, 400));
  cases.push(
    post(
      'params: 257 keys',
      P,
      { ...baseParams(), params: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, i])) },
      400,
    ),
  );
  for (const f of ['source', 'git_sha', 'note']) cases.push(...mutate('params', P, baseParams(), f, TEXT_BAD));

  // POST /v1/experiments
  const E = '/v1/experiments';
  for (const f of ['strategy', 'name', 'variants'])
    cases.push(post(`experiment without ${f}`, E, without(baseExperiment(), f), 400));
  cases.push(...mutate('experiment', E, baseExperiment(), 'strategy', [...NAME_BAD, null]));
  cases.push(...mutate('experiment', E, baseExperiment(), 'name', [...NAME_BAD, null]));
  const variantsBad: unknown[] = [
    null,
    [],
    'x',
    1,
    {},
    { control: { x: 1 } },
    { a: { x: 1 }, b: { x: 2 } },
    { control: { x: 1 }, 'a b': { x: 2 } },
    { control: { x: 1 }, b: [] },
    { control: { x: 1 }, b: { 'a b': 1 } },
    { control: 'x', b: { x: 1 } },
    Object.fromEntries([['control', { x: 0 }], ...Array.from({ length: 16 }, (_, i) => [`v${i}`, { x: i + 1 }])]),
  ];
  cases.push(...mutate('experiment', E, baseExperiment(), 'variants', variantsBad));
  cases.push(
    post(
      'experiment: a variant named __proto__',
      E,
      encode(baseExperiment()).replace('"candidate":', '"__proto__":'),
      400,
    ),
  );
  cases.push(
    ...mutate('experiment', E, baseExperiment(), 'allocation', [
      null,
      [],
      1,
      'x',
      { control: -1 },
      { control: 'NaN' },
      { control: raw('1e999') },
      { nobody: 1 },
      { toString: 1 },
      { constructor: 1 },
      { control: 0, candidate: 0 },
      { control: true },
    ]),
  );
  cases.push(post('experiment: a second one while e runs on x', E, { ...baseExperiment(), strategy: 'x' }, 409));
  cases.push(post('experiment: reusing the running name', E, { ...baseExperiment(), strategy: 'x', name: 'e' }, 409));

  // POST /v1/experiments/:name/stop
  for (const n of [
    'a%20b',
    'a%22b',
    'a%0Ab',
    '%27%3B%20DROP%20TABLE%20experiments%3B--',
    'x'.repeat(65),
    '%F0%9F%9A%80',
    '%00',
    '..%2F..%2Fetc%2Fpasswd',
    '%E9',
  ])
    cases.push(post(`stop: name ${n.slice(0, 30)}`, `/v1/experiments/${n}/stop`, baseStop(), 400));
  cases.push(post('stop: an unknown experiment', '/v1/experiments/nope/stop', baseStop(), 404));
  cases.push(post('stop: an unknown experiment without a strategy', '/v1/experiments/nope/stop', {}, 404));
  cases.push(...mutate('stop', '/v1/experiments/e/stop', baseStop(), 'strategy', NAME_BAD));
  cases.push(...mutate('stop', '/v1/experiments/e/stop', baseStop(), 'outcome', TEXT_BAD));
  cases.push(...mutate('stop', '/v1/experiments/e/stop', baseStop(), 'winner', [...NAME_BAD, 'nobody']));
  cases.push(
    post('stop: a strategy without that experiment', '/v1/experiments/e/stop', { ...baseStop(), strategy: 's' }, 404),
  );

  // POST /v1/heartbeat
  cases.push(post('heartbeat without strategy', '/v1/heartbeat', {}, 400));
  cases.push(...mutate('heartbeat', '/v1/heartbeat', baseHeartbeat(), 'strategy', [...NAME_BAD, null]));

  // Reads: bad names, versions, windows and formats are 4xx too.
  const enc = (v: unknown) => encodeURIComponent(String(v));
  const get = (name: string, path: string, status?: number): Case => ({ name, method: 'GET', path, status });
  for (const n of NAME_BAD.filter((v) => typeof v === 'string')) {
    cases.push(get(`GET params ?strategy=${String(n).slice(0, 20)}`, `/v1/params?strategy=${enc(n)}`, 400));
    cases.push(get(`GET experiments ?strategy=${String(n).slice(0, 20)}`, `/v1/experiments?strategy=${enc(n)}`, 400));
    cases.push(get(`GET report ?strategy=${String(n).slice(0, 20)}`, `/v1/report?strategy=${enc(n)}`, 400));
    if (n !== '') cases.push(get(`GET version of ${String(n).slice(0, 20)}`, `/v1/params/${enc(n)}/v1`, 400));
  }
  cases.push(get('GET params without strategy', '/v1/params', 400));
  cases.push(get('GET params with two strategies', '/v1/params?strategy=s&strategy=x', 400));
  cases.push(get('GET report without strategy', '/v1/report', 400));
  cases.push(get('GET report of an unknown strategy', '/v1/report?strategy=nope', 404));
  for (const w of ['2h', '', 'constructor', 'toString', '__proto__', '1H', '24h%20', '7d%00'])
    cases.push(get(`GET report window=${w}`, `/v1/report?strategy=s&window=${w}`, 400));
  for (const f of ['xml', '', 'constructor', 'MARKDOWN'])
    cases.push(get(`GET report format=${f}`, `/v1/report?strategy=s&format=${f}`, 400));
  for (const v of VERSION_BAD.filter((x) => typeof x === 'string' && x !== ''))
    cases.push(get(`GET version ${String(v)}`, `/v1/params/s/${enc(v)}`));
  for (const [from, to] of [
    ['v1', ''],
    ['', 'v1'],
    ['v1', 'v99'],
    ['1', 'v1'],
    ['v1', 'constructor'],
    ['v1', '%0A'],
  ])
    cases.push(get(`GET diff ${from}..${to}`, `/v1/params/s/diff?from=${from}&to=${to}`));
  cases.push(get('GET an unknown route', '/v1/../../etc/passwd', 404));
  cases.push(get('GET a route with an encoded newline', '/v1/params/s%0Ax/v1', 400));
  // POST /v1/integrations/freqtrade: Freqtrade's webhook (test/support/freqtrade-hostile.ts).
  cases.push(...webhookCases(CLOSED));
  return cases;
}

async function send(s: TestSidecar, c: Case): Promise<Response> {
  return fetch(`${s.url}${c.path}`, {
    method: c.method,
    headers: c.method === 'POST' ? { 'content-type': 'application/json', ...c.headers } : c.headers,
    body: c.body,
  });
}

/** A seeded ledger: strategy s (v1, trade t0, heartbeat), strategy x running experiment e. */
async function seeded(t: test.TestContext): Promise<TestSidecar> {
  const s = await sidecar(t);
  const ok = async (res: Promise<Response>) => assert.ok((await res).status < 300);
  await ok(s.post('/v1/params', { strategy: 's', params: { x: 1 } }));
  await ok(
    s.post('/v1/trades', { id: 't0', strategy: 's', symbol: 'BTC-USD', side: 'long', closed_at: CLOSED, pnl: 2 }),
  );
  await ok(s.post('/v1/heartbeat', { strategy: 's' }));
  await ok(
    s.post('/v1/experiments', { strategy: 'x', name: 'e', variants: { control: { x: 1 }, candidate: { x: 2 } } }),
  );
  return s;
}

test('the unmutated bodies of the corpus are accepted (so each refusal comes from its mutation)', async (t) => {
  const s = await seeded(t);
  for (const [path, base] of BASES) {
    const res = await s.post(path, base());
    assert.ok(res.status === 200 || res.status === 201, `${path}: ${res.status} ${await res.text()}`);
  }
});

test("the unmutated Freqtrade webhook body is accepted in each of Freqtrade's encodings", async (t) => {
  const s = await seeded(t);
  const body = baseWebhook(CLOSED);
  const json = await s.post(WEBHOOK, body);
  assert.equal(json.status, 201, await json.text());
  const form = await s.post(WEBHOOK, new URLSearchParams({ ...body, trade_id: '43' }).toString(), {
    'content-type': 'application/x-www-form-urlencoded',
  });
  assert.equal(form.status, 201, await form.text());
  const raw = await s.post(WEBHOOK, JSON.stringify({ ...body, trade_id: '44' }), { 'content-type': 'text/plain' });
  assert.equal(raw.status, 201, await raw.text());
});

test('every hostile Freqtrade webhook request is counted in edgewatch_ingest_events_total', async (t) => {
  const s = await seeded(t);
  const cases = webhookCases(CLOSED).filter((c) => c.method === 'POST');
  for (const c of cases) await (await send(s, c)).arrayBuffer();
  const samples = parseExposition(await (await s.get('/metrics')).text());
  const counted = ['rejected', 'unauthorized'].reduce(
    (n, result) => n + (value(samples, 'edgewatch_ingest_events_total', { kind: 'freqtrade_webhook', result }) ?? 0),
    0,
  );
  assert.equal(counted, cases.length);
  assert.equal(
    value(samples, 'edgewatch_ingest_events_total', { kind: 'freqtrade_webhook', result: 'accepted' }),
    undefined,
  );
});

test('every hostile request to every endpoint answers a 4xx JSON error, stores nothing, and the sidecar stays ready', async (t) => {
  const s = await seeded(t);
  const before = ledgerDigest(s.ledger.raw);
  const cases = corpus();
  const failures: string[] = [];
  for (const [i, c] of cases.entries()) {
    const res = await send(s, c);
    const text = await res.text();
    let body: { error?: unknown; details?: unknown } = {};
    try {
      body = JSON.parse(text);
    } catch {
      failures.push(`${c.name}: not JSON: ${text.slice(0, 100)}`);
      continue;
    }
    if (res.status < 400 || res.status > 499 || (c.status !== undefined && res.status !== c.status))
      failures.push(`${c.name}: status ${res.status} (expected ${c.status ?? '4xx'}): ${text.slice(0, 200)}`);
    else if (
      !/application\/json/.test(res.headers.get('content-type') ?? '') ||
      typeof body.error !== 'string' ||
      !Array.isArray(body.details)
    )
      failures.push(`${c.name}: not an {error, details} body: ${text.slice(0, 200)}`);
    // Readiness after every 10th request (readyz writes a no-op transaction, an fsync).
    if (i % 10 === 9 && (await s.get('/readyz')).status !== 200) failures.push(`${c.name}: /readyz not ready after it`);
  }
  assert.deepEqual(failures, []);
  assert.equal(ledgerDigest(s.ledger.raw), before, 'the ledger changed');
  assert.equal((await s.get('/readyz')).status, 200);
  assert.equal((await s.get('/metrics')).status, 200);
  t.diagnostic(`corpus: ${cases.length} hostile requests`);
  assert.ok(cases.length > 500, `the corpus holds ${cases.length} requests`);
});

test('a retried duplicate answers 200 with duplicates and changes nothing', async (t) => {
  const s = await seeded(t);
  const before = ledgerDigest(s.ledger.raw);
  const t0 = { id: 't0', strategy: 's', symbol: 'BTC-USD', side: 'long', closed_at: CLOSED, pnl: 2 };
  const res = await s.post('/v1/trades', { trades: [t0, t0] });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { accepted: 0, duplicates: 2 });
  assert.equal(ledgerDigest(s.ledger.raw), before);
});

test('a request cut off mid-body, or headers that never end, store nothing and the sidecar stays ready', async (t) => {
  const s = await seeded(t);
  const before = ledgerDigest(s.ledger.raw);
  const body = encode(baseTrade());
  const rawRequest = (text: string) =>
    new Promise<string>((resolve) => {
      const socket = connect(s.port, '127.0.0.1', () => {
        socket.write(text);
        setTimeout(() => socket.end(), 100);
      });
      let answer = '';
      socket.on('data', (d) => (answer += d.toString()));
      socket.on('close', () => resolve(answer));
      socket.on('error', () => resolve(answer));
    });
  const head = (length: number) =>
    `POST /v1/trades HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
  await rawRequest(head(body.length + 50) + body); // promised more than sent, then closed
  await rawRequest(head(body.length) + body.slice(0, 20)); // half a body
  await rawRequest('POST /v1/trades HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'); // headers never end
  const smuggled = await rawRequest(
    `POST /v1/trades HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  );
  assert.match(
    smuggled.split('\r\n')[0] ?? '',
    /^HTTP\/1\.1 4\d\d/,
    'Content-Length with Transfer-Encoding is refused',
  );
  const chunkedHuge = await new Promise<number>((resolve, reject) => {
    // A chunked body without Content-Length grows past 1 MiB: refused when the limit is crossed.
    const req = fetch(`${s.url}/v1/trades`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          const chunk = new TextEncoder().encode(`{"pad":"${'x'.repeat(64 * 1024)}`);
          for (let i = 0; i < 40; i++) controller.enqueue(chunk);
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    req.then((r) => resolve(r.status), reject);
  }).catch(() => 413); // the sidecar may close the socket before the stream ends
  assert.equal(chunkedHuge, 413);
  assert.equal(ledgerDigest(s.ledger.raw), before);
  assert.equal((await s.get('/readyz')).status, 200);
});

// Hostile-but-valid: trade ids may hold any printable text up to 128 characters. They are
// stored verbatim through bound parameters and read back unchanged.
test('ids holding SQL, quotes, unicode and HTML are stored verbatim and read back', async (t) => {
  const s = await seeded(t);
  const ids = [
    "'; DROP TABLE trades; --",
    'a"b\'c`d',
    "Robert'); DELETE FROM strategies;--",
    '<script>alert(1)</script>',
    '日本語🚀',
    '\u202e\u200b',
    ' lead and trail ',
    '%s%n%x',
    '\\x00',
    '{{ . }}',
  ];
  const res = await s.post('/v1/trades', {
    trades: ids.map((id, i) => ({
      id,
      strategy: 's',
      symbol: 'BTC-USD',
      side: 'short',
      closed_at: CLOSED - i,
      pnl: i - 3,
    })),
  });
  assert.equal(res.status, 201, await res.text());
  for (const id of ids) assert.equal(s.ledger.getTrade('s', id)?.id, id);
  assert.equal(s.ledger.integrityCheck(), 'ok');
  assert.equal(s.ledger.strategies().length, 2);
  assert.equal((await s.get('/readyz')).status, 200);
});

// Names of Object.prototype members are valid names (^[A-Za-z0-9_.:-]{1,64}$): variants must be
// looked up as own properties, or "constructor" would pass as a variant of every experiment.

test('a trade naming variant "constructor" is a 400 that stores nothing, and readiness is untouched', async (t) => {
  const s = await seeded(t);
  const before = ledgerDigest(s.ledger.raw);
  const res = await s.post('/v1/trades', { ...baseTrade(), strategy: 'x', experiment: 'e', variant: 'constructor' });
  assert.equal(res.status, 400, await res.text());
  assert.equal(ledgerDigest(s.ledger.raw), before);
  assert.equal((await s.get('/readyz')).status, 200);
});

test('stopping with winner "constructor" is a 400 that leaves the experiment running', async (t) => {
  const s = await seeded(t);
  const before = ledgerDigest(s.ledger.raw);
  const res = await s.post('/v1/experiments/e/stop', { strategy: 'x', winner: 'constructor' });
  assert.equal(res.status, 400, await res.text());
  assert.equal(ledgerDigest(s.ledger.raw), before);
});
