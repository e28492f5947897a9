// Security properties of the sidecar and the SDK's exposition: the token check does not leak
// through timing, tokenless writes stay on this host, size limits hold at their exact edges,
// no secret reaches the logs, any accepted name is a safe label value (checked by promtool),
// and cardinality caps refuse with a clear error and a counted metric.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import test from 'node:test';
import { Ledger } from '../src/ledger/index.js';
import { openEdgewatch } from '../src/index.js';
import { tokenMatches } from '../src/sidecar/auth.js';
import { MAX_BODY } from '../src/sidecar/app.js';
import { requireBinary } from './support/binaries.js';
import { ledgerDigest } from './support/ledger-digest.js';
import { sidecar, wireTrade } from './support/sidecar.js';
import { CLI_MAIN, spawnSidecar } from './support/sidecar-process.js';
import { find, parseExposition, tempDir, value } from './support/tmp.js';

const NOW = Date.now();
const promtool = requireBinary('promtool');

// ---------------------------------------------------------------- token comparison

/**
 * The fastest of many timings per case, the cases interleaved round by round. Other processes on
 * a shared machine only ever add time, so the minimum is the cost of the check itself; a median
 * or mean would measure the neighbours.
 */
function timeCases(
  check: (header: string) => boolean,
  headers: Record<string, string>,
  rounds = 40,
): Record<string, number> {
  const best: Record<string, number> = Object.fromEntries(Object.keys(headers).map((k) => [k, Infinity]));
  for (let r = 0; r < rounds; r++)
    for (const [k, h] of Object.entries(headers)) {
      const t0 = process.hrtime.bigint();
      check(h);
      best[k] = Math.min(best[k], Number(process.hrtime.bigint() - t0));
    }
  return best;
}

test('the bearer token check takes the same time wherever a guess differs, and at any guessed length', (t) => {
  // A 1 MiB token makes a content-dependent comparison visible: a plain === takes ~100 ns when the
  // first character differs and ~60 µs when the last one does. Hashing both sides takes ~1.5 ms either way.
  const token = randomBytes(512 * 1024).toString('hex');
  const flip = (s: string, i: number) => `${s.slice(0, i)}${s[i] === 'a' ? 'b' : 'a'}${s.slice(i + 1)}`;
  const headers = {
    firstDiffers: `Bearer ${flip(token, 0)}`,
    lastDiffers: `Bearer ${flip(token, token.length - 1)}`,
    right: `Bearer ${token}`,
    oneShorter: `Bearer ${token.slice(0, -1)}`,
  };
  assert.deepEqual(
    Object.values(headers).map((h) => tokenMatches(h, token)),
    [false, false, true, false],
  );
  // The harness can see a leak: a naive comparison shows a large spread on the same inputs.
  const expected = `Bearer ${token}`;
  const naive = timeCases((h) => h === expected, headers);
  assert.ok(
    naive.lastDiffers > 20 * naive.firstDiffers,
    `the harness detects a naive comparison: ${JSON.stringify(naive)}`,
  );
  const times = timeCases((h) => tokenMatches(h, token), headers);
  const spread = Math.max(...Object.values(times)) / Math.min(...Object.values(times));
  t.diagnostic(
    `spread ×${spread.toFixed(3)} (naive ×${(naive.lastDiffers / naive.firstDiffers).toFixed(0)}): ${JSON.stringify(times)}`,
  );
  assert.ok(spread < 1.5, `tokenMatches times differ by ×${spread.toFixed(2)}: ${JSON.stringify(times)}`);
});

test('only "Bearer <token>" authorizes a write; the token in a query string, Basic auth or a prefix does not', async (t) => {
  const token = 'a-long-enough-secret-token-0123456789';
  const s = await sidecar(t, { token });
  const attempts: Array<[string, Record<string, string>]> = [
    ['no header', {}],
    ['Basic auth', { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` }],
    ['a prefix of the token', { authorization: `Bearer ${token.slice(0, -1)}` }],
    ['the token and more', { authorization: `Bearer ${token}x` }],
    ['the token without the scheme', { authorization: token }],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['another header', { 'x-edgewatch-token': token }],
  ];
  for (const [name, headers] of attempts)
    assert.equal((await s.post('/v1/heartbeat', { strategy: 's' }, headers)).status, 401, name);
  assert.equal((await s.post(`/v1/heartbeat?token=${token}`, { strategy: 's' })).status, 401, 'query string');
  assert.equal(s.ledger.strategies().length, 0);
  assert.equal(
    value(await s.scrape(), 'edgewatch_ingest_events_total', { kind: 'heartbeat', result: 'unauthorized' }),
    attempts.length + 1,
  );
  assert.equal((await s.post('/v1/heartbeat', { strategy: 's' }, { authorization: `Bearer ${token}` })).status, 200);
});

// ---------------------------------------------------------------- tokenless writes stay on this host

test('without a token, writes from a web page (foreign Origin) or through DNS rebinding (foreign Host) are refused', async (t) => {
  const s = await sidecar(t);
  const send = (headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ strategy: 's' });
      const req = request(
        `${s.url}/v1/heartbeat`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  assert.equal(await send({ host: 'evil.example:9465' }), 403, 'a rebinding page names its own domain in Host');
  assert.equal(await send({ host: '127.0.0.1.evil.example' }), 403);
  assert.equal(await send({ origin: 'http://evil.example' }), 403, 'a cross-site page sends its Origin');
  assert.equal(await send({ origin: 'null' }), 403, 'a sandboxed page or file:// sends Origin: null');
  assert.equal(s.ledger.strategies().length, 0);
  assert.equal(
    value(await s.scrape(), 'edgewatch_ingest_events_total', { kind: 'heartbeat', result: 'unauthorized' }),
    4,
  );
  for (const host of [`127.0.0.1:${s.port}`, `localhost:${s.port}`, `127.0.0.2:${s.port}`])
    assert.equal(await send({ host }), 200, host);
  assert.equal(await send({ origin: 'http://localhost:3000' }), 200, 'a local tool');
});

test('with a token, the Host and Origin do not matter (a reverse proxy may set them), the token does', async (t) => {
  const token = 'a-long-enough-secret-token-0123456789';
  const s = await sidecar(t, { token });
  const res = await fetch(`${s.url}/v1/heartbeat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'https://ops.example', authorization: `Bearer ${token}` },
    body: '{"strategy":"s"}',
  });
  assert.equal(res.status, 200);
});

test('without a token a sidecar on every interface (::) refuses writes and serves reads', async (t) => {
  const s = await sidecar(t, { host: '::' });
  const res = await fetch(`http://127.0.0.1:${s.port}/v1/heartbeat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"strategy":"s"}',
  });
  assert.equal(res.status, 401);
  assert.equal((await fetch(`http://127.0.0.1:${s.port}/metrics`)).status, 200);
  assert.equal(s.ledger.strategies().length, 0);
});

// ---------------------------------------------------------------- reads and /metrics behind tokens

const WRITE_TOKEN = 'a-long-enough-write-token-0123456789';
const READ_TOKEN = 'a-long-enough-read-token-0123456789';
const METRICS_TOKEN = 'a-long-enough-metrics-token-012345';
const READ_ROUTES = [
  '/v1/params?strategy=s',
  '/v1/params/s/diff?from=v1&to=v1',
  '/v1/params/s/v1',
  '/v1/experiments',
  '/v1/report?strategy=s',
  '/v1/report?strategy=s&format=markdown',
  '/runbook',
];
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const basic = (token: string) => ({ authorization: `Basic ${Buffer.from(`anyone:${token}`).toString('base64')}` });

test('with EDGEWATCH_TOKEN set beyond loopback, every read route and /runbook answer 401 without a token and 200 with the write or read token', async (t) => {
  const s = await sidecar(t, { host: '0.0.0.0', token: WRITE_TOKEN, readToken: READ_TOKEN });
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${s.port}${path}`, { headers });
  assert.equal(
    (await s.post('/v1/params', { strategy: 's', params: { secret_edge: 0.42 } }, bearer(WRITE_TOKEN))).status,
    201,
  );
  assert.equal((await s.post('/v1/trades', wireTrade('s', Date.now() - 1000, 5), bearer(WRITE_TOKEN))).status, 201);
  for (const path of READ_ROUTES) {
    const refused = await get(path);
    const text = await refused.text();
    assert.equal(refused.status, 401, `${path} without a token`);
    assert.ok(
      !text.includes('secret_edge') && !text.includes('0.42'),
      `${path}: a refusal shows nothing of the ledger`,
    );
    assert.match(
      refused.headers.get('www-authenticate') ?? '',
      /Basic realm="edgewatch"/,
      'a browser asks for the token',
    );
    assert.equal((await get(path, bearer(`${READ_TOKEN}x`))).status, 401, `${path} with a wrong token`);
    assert.equal((await get(path, bearer(WRITE_TOKEN))).status, 200, `${path} with the write token`);
    assert.equal((await get(path, bearer(READ_TOKEN))).status, 200, `${path} with the read token`);
    assert.equal(
      (await get(path, basic(READ_TOKEN))).status,
      200,
      `${path} with the read token as a Basic password (a browser)`,
    );
  }
  // The read token reads, it does not write; probes and /metrics (no metrics token set) stay open.
  assert.equal((await s.post('/v1/heartbeat', { strategy: 's' }, bearer(READ_TOKEN))).status, 401);
  for (const path of ['/healthz', '/readyz', '/metrics']) assert.equal((await get(path)).status, 200, path);
});

test('with EDGEWATCH_METRICS_TOKEN set, /metrics answers 401 without it and 200 with it, and the metrics token opens no read', async (t) => {
  const s = await sidecar(t, { host: '0.0.0.0', token: WRITE_TOKEN, metricsToken: METRICS_TOKEN });
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${s.port}${path}`, { headers });
  assert.equal((await get('/metrics')).status, 401);
  assert.equal((await get('/metrics', bearer(`${METRICS_TOKEN}x`))).status, 401);
  const ok = await get('/metrics', bearer(METRICS_TOKEN));
  assert.equal(ok.status, 200);
  assert.equal(value(parseExposition(await ok.text()), 'edgewatch_ready'), 1);
  assert.equal((await get('/metrics', bearer(WRITE_TOKEN))).status, 200, 'the write token reads /metrics too');
  assert.equal((await get('/v1/experiments', bearer(METRICS_TOKEN))).status, 401);
  assert.equal((await get('/healthz')).status, 200);
});

test('the sidecar command reads EDGEWATCH_READ_TOKEN and EDGEWATCH_METRICS_TOKEN_FILE, and refuses a short one naming the variable', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'metrics_token');
  writeFileSync(file, `${METRICS_TOKEN}\n`, { mode: 0o600 });
  const sc = await spawnSidecar({
    db: join(dir, 'l.db'),
    env: { EDGEWATCH_TOKEN: WRITE_TOKEN, EDGEWATCH_READ_TOKEN: READ_TOKEN, EDGEWATCH_METRICS_TOKEN_FILE: file },
  });
  t.after(() => sc.kill());
  assert.equal((await fetch(`${sc.url}/v1/experiments`)).status, 401);
  assert.equal((await fetch(`${sc.url}/v1/experiments`, { headers: bearer(READ_TOKEN) })).status, 200);
  assert.equal((await fetch(`${sc.url}/metrics`)).status, 401);
  assert.equal((await fetch(`${sc.url}/metrics`, { headers: bearer(METRICS_TOKEN) })).status, 200);
  await sc.kill('SIGTERM');
  const short = 'sh0rt-s3cret';
  const r = spawnSync(process.execPath, [CLI_MAIN, 'sidecar'], {
    env: { ...process.env, EDGEWATCH_DB: join(dir, 'l.db'), EDGEWATCH_PORT: '0', EDGEWATCH_READ_TOKEN: short },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /EDGEWATCH_READ_TOKEN must be at least 16 characters/);
  assert.ok(!`${r.stdout}${r.stderr}`.includes(short));
});

// ---------------------------------------------------------------- size limits at their edges

test('a body of exactly 1 MiB is read and one byte more is a 413; 5,000 trades are one batch and 5,001 are not', async (t) => {
  assert.equal(MAX_BODY, '1mb');
  const s = await sidecar(t);
  const trades = Array.from({ length: 5000 }, (_, i) =>
    wireTrade('s', NOW - 60_000 - i, (i % 5) - 2, { id: `edge-${i}` }),
  );
  const json = JSON.stringify({ trades });
  assert.ok(json.length < 1024 * 1024, `5,000 trades fit in 1 MiB (${json.length} bytes)`);
  const exact = json.padEnd(1024 * 1024, ' '); // JSON allows trailing whitespace
  const res = await s.post('/v1/trades', exact);
  const text = await res.text();
  assert.equal(res.status, 201, text);
  assert.deepEqual(JSON.parse(text), { accepted: 5000, duplicates: 0 });
  const before = ledgerDigest(s.ledger.raw);
  assert.equal((await s.post('/v1/trades', `${exact} `)).status, 413);
  const over = JSON.stringify({ trades: [...trades, wireTrade('s', NOW - 1000, 1, { id: 'edge-5000' })] });
  const r5001 = await s.post('/v1/trades', over);
  assert.equal(r5001.status, 400);
  assert.match(await r5001.text(), /at most 5000 trades per batch \(got 5001\)/);
  assert.equal(ledgerDigest(s.ledger.raw), before);
});

test('request headers over 16 KiB are refused by the HTTP server and the sidecar stays up', async (t) => {
  const s = await sidecar(t);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      `${s.url}/v1/heartbeat`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'x-pad': 'x'.repeat(20_000) } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end('{"strategy":"s"}');
  });
  assert.equal(status, 431);
  assert.equal((await s.get('/readyz')).status, 200);
});

// ---------------------------------------------------------------- no secret in logs

test('the token never appears in the sidecar log, whatever requests arrive, at debug level', async (t) => {
  const dir = tempDir(t);
  const token = `tok-${randomBytes(24).toString('hex')}`;
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  for (const env of [{ EDGEWATCH_TOKEN: token }, { EDGEWATCH_TOKEN_FILE: tokenFile }] as Array<
    Record<string, string>
  >) {
    const sc = await spawnSidecar({ db: join(dir, 'l.db'), env: { ...env, EDGEWATCH_LOG_LEVEL: 'trace' } });
    t.after(() => sc.kill());
    const post = (path: string, body: string, auth?: string) =>
      fetch(`${sc.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
        body,
      }).then((r) => r.status);
    const ok = `Bearer ${token}`;
    assert.equal(await post('/v1/heartbeat', '{"strategy":"s"}', ok), 200);
    assert.equal(await post('/v1/trades', JSON.stringify(wireTrade('s', NOW - 1000, 1)), ok), 201);
    assert.equal(await post('/v1/trades', '{"broken', ok), 400);
    assert.equal(await post('/v1/trades', JSON.stringify({ ...wireTrade('s', NOW, 1), pnl: 'NaN' }), ok), 400);
    assert.equal(await post('/v1/trades', `{"pad":"${'x'.repeat(1_100_000)}"}`, ok), 413);
    assert.equal(await post('/v1/heartbeat', '{"strategy":"s"}', `Bearer ${token.slice(0, -1)}`), 401);
    assert.equal(await post('/v1/heartbeat', '{"strategy":"s"}', token), 401);
    assert.equal(await post(`/v1/heartbeat?token=${token}`, '{"strategy":"s"}'), 401);
    assert.equal((await fetch(`${sc.url}/nothing/${token}`)).status, 404);
    await sc.kill('SIGTERM');
    const log = sc.output();
    assert.match(log, /sidecar ready/, 'the log was captured');
    assert.match(log, /request refused/, 'refusals were logged at debug level');
    for (const leak of [token, token.slice(4, 28), Buffer.from(token).toString('base64').slice(0, 24)])
      assert.ok(!log.includes(leak), `the log holds ${leak.slice(0, 8)}…:\n${log}`);
  }
  // A token that is too short stops the sidecar with a message that names the variable, not the value.
  const short = 'sh0rt-s3cret';
  const r = spawnSync(process.execPath, [CLI_MAIN, 'sidecar'], {
    env: { ...process.env, EDGEWATCH_DB: join(dir, 'l.db'), EDGEWATCH_TOKEN: short },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /EDGEWATCH_TOKEN/);
  assert.ok(!`${r.stdout}${r.stderr}`.includes(short));
});

// ---------------------------------------------------------------- label values and the exposition

// Valid names (^[A-Za-z0-9_.:-]{1,64}$) that look like syntax somewhere: dots and colons only,
// a leading digit or dash, Prometheus' own words, JavaScript's prototype members, 64 characters.
const ODD_NAMES = [
  '...',
  ':::',
  '---',
  '0',
  '-Inf',
  'NaN',
  'le',
  'quantile',
  '__name__',
  '__proto__',
  'constructor',
  'a.b:c-d_e',
  'x'.repeat(64),
  '9:30-NY.open',
  '_',
];

function promtoolComplaints(exposition: string): string[] {
  const r = spawnSync(promtool.path as string, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  // prom-client's own nodejs_active_* gauges carry a _total suffix (docs/metrics.md lets those three be).
  return `${r.stdout}${r.stderr}`
    .split('\n')
    .filter((l) => l.trim() && !/^nodejs_active_(handles|requests|resources)_total/.test(l));
}

test(
  'odd but valid names as strategies, symbols, experiments, variants and parameters keep the sidecar exposition valid for promtool',
  { skip: promtool.skip },
  async (t) => {
    const s = await sidecar(t);
    // "__proto__" is the one name refused as a variant (it would set a prototype, not a key).
    const variantOf = (name: string) => (name === '__proto__' ? 'b' : name);
    for (const [i, name] of ODD_NAMES.entries()) {
      const ok = async (r: Response) => assert.ok(r.status < 300, `${name}: ${r.status} ${await r.text()}`);
      await ok(await s.post('/v1/params', { strategy: name, params: { [name]: i, lookback: 20 } }));
      await ok(
        await s.post('/v1/experiments', {
          strategy: name,
          name,
          variants: { control: { [name]: 1 }, [variantOf(name)]: { [name]: 2 } },
        }),
      );
      await ok(
        await s.post('/v1/trades', {
          trades: [1, -2, 3].map((p, k) =>
            wireTrade(name, Date.now() + k, p, {
              symbol: name,
              experiment: name,
              variant: k ? variantOf(name) : 'control',
            }),
          ),
        }),
      );
      await ok(await s.post('/v1/heartbeat', { strategy: name }));
    }
    const text = await (await s.get('/metrics')).text();
    assert.deepEqual(promtoolComplaints(text), []);
    const samples = parseExposition(text);
    for (const name of ODD_NAMES) {
      assert.equal(value(samples, 'edgewatch_window_trades', { strategy: name, window: '1h' }), 3, name);
      assert.equal(
        value(samples, 'edgewatch_experiment_trades', { strategy: name, experiment: name, variant: variantOf(name) }),
        2,
        name,
      );
    }
  },
);

test('odd but valid names keep the SDK exposition valid for promtool too', { skip: promtool.skip }, async (t) => {
  const ew = openEdgewatch({ ledger: join(tempDir(t), 'l.db'), strategies: ODD_NAMES, logger: false, strict: true });
  t.after(() => ew.close());
  for (const [i, name] of ODD_NAMES.entries()) {
    const h = ew.strategy(name);
    h.params.deploy({ [name]: i, x: 1 });
    h.trades.record({ id: 'a', symbol: name, side: 'long', pnl: 1, notional: 10 });
  }
  const text = await ew.registry.metrics();
  assert.deepEqual(promtoolComplaints(text), []);
  const samples = parseExposition(text);
  for (const [i, name] of ODD_NAMES.entries())
    assert.equal(value(samples, 'trading_param_value', { strategy: name, param: name }), i, name);
});

// ---------------------------------------------------------------- cardinality caps

test('EDGEWATCH_MAX_STRATEGIES refuses the next new strategy on every write path with 422, stores nothing, and counts result="refused"', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'l.db');
  const sc = await spawnSidecar({ db, env: { EDGEWATCH_MAX_STRATEGIES: '3' } });
  t.after(() => sc.kill());
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${sc.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  assert.equal((await post('/v1/params', { strategy: 'a', params: { x: 1 } })).status, 201);
  assert.equal((await post('/v1/trades', wireTrade('b', NOW - 1000, 1))).status, 201);
  assert.equal((await post('/v1/heartbeat', { strategy: 'c' })).status, 200);
  const refusals: Array<[string, unknown]> = [
    ['/v1/trades', wireTrade('d', NOW - 1000, 1)],
    ['/v1/trades', { trades: [wireTrade('a', NOW - 1000, 1), wireTrade('d', NOW - 1000, 1)] }],
    ['/v1/params', { strategy: 'd', params: { x: 1 } }],
    ['/v1/experiments', { strategy: 'd', name: 'e', variants: { control: { x: 1 }, b: { x: 2 } } }],
    ['/v1/heartbeat', { strategy: 'd' }],
  ];
  for (const [path, body] of refusals) {
    const r = await post(path, body);
    assert.equal(r.status, 422, `${path}: ${JSON.stringify(r.body)}`);
    assert.match(
      r.body.error,
      /strategy "d" refused: the ledger already holds 3 strategies \(limit 3; raise maxStrategies \/ EDGEWATCH_MAX_STRATEGIES/,
    );
    assert.deepEqual(r.body.details, [{ path: 'strategies', message: 'limit reached' }]);
  }
  // Known strategies still write.
  assert.equal((await post('/v1/trades', wireTrade('a', NOW - 500, 2))).status, 201);
  const m = parseExposition(await (await fetch(`${sc.url}/metrics`)).text());
  assert.equal(value(m, 'edgewatch_ingest_events_total', { kind: 'trades', result: 'refused' }), 2);
  assert.equal(value(m, 'edgewatch_ingest_events_total', { kind: 'params', result: 'refused' }), 1);
  assert.equal(value(m, 'edgewatch_ingest_events_total', { kind: 'experiments', result: 'refused' }), 1);
  assert.equal(value(m, 'edgewatch_ingest_events_total', { kind: 'heartbeat', result: 'refused' }), 1);
  assert.deepEqual([...new Set(find(m, 'edgewatch_threshold').map((x) => x.labels.strategy))].sort(), ['a', 'b', 'c']);
  const l = Ledger.open(db, { readonly: true });
  t.after(() => l.close());
  assert.deepEqual(l.strategies(), ['a', 'b', 'c']);
  assert.equal(
    l.raw.prepare('SELECT count(*) FROM trades').pluck().get(),
    2,
    'the batch with a refused strategy stored nothing',
  );
});

test('EDGEWATCH_MAX_VERSIONS refuses a new parameter version (deploy or experiment) with 422 and a counted refusal; known versions re-deploy', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'l.db');
  const sc = await spawnSidecar({ db, env: { EDGEWATCH_MAX_VERSIONS: '3' } });
  t.after(() => sc.kill());
  const post = (body: unknown, path = '/v1/params') =>
    fetch(`${sc.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  for (let i = 1; i <= 3; i++) assert.equal((await post({ strategy: 's', params: { x: i } })).status, 201);
  const r = await post({ strategy: 's', params: { x: 4 } });
  assert.equal(r.status, 422);
  assert.match(
    (await r.json()).error,
    /already has 3 parameter versions \(limit 3; raise maxVersionsPerStrategy \/ EDGEWATCH_MAX_VERSIONS/,
  );
  const e = await post({ strategy: 's', name: 'e', variants: { control: { x: 1 }, b: { x: 5 } } }, '/v1/experiments');
  assert.equal(e.status, 422);
  assert.equal((await post({ strategy: 's', params: { x: 1 } })).status, 200, 're-activating v1 creates nothing');
  assert.equal((await post({ strategy: 'other', params: { x: 4 } })).status, 201, 'the cap is per strategy');
  const m = parseExposition(await (await fetch(`${sc.url}/metrics`)).text());
  assert.equal(value(m, 'edgewatch_ingest_events_total', { kind: 'params', result: 'refused' }), 1);
  assert.equal(value(m, 'edgewatch_ingest_events_total', { kind: 'experiments', result: 'refused' }), 1);
  const l = Ledger.open(db, { readonly: true });
  t.after(() => l.close());
  assert.equal(l.versions('s').length, 3);
});

test('symbols never become sidecar labels; the SDK folds symbols beyond its cap into "other" and counts the refusals', async (t) => {
  const s = await sidecar(t);
  await s.post('/v1/trades', {
    trades: Array.from({ length: 500 }, (_, i) => wireTrade('s', NOW - 1000, 1, { symbol: `SYM${i}` })),
  });
  const m = await s.scrape();
  assert.equal(m.filter((x) => 'symbol' in x.labels).length, 0);
  const ew = openEdgewatch({ ledger: join(tempDir(t), 'l.db'), strategies: ['s'], logger: false, maxSymbols: 3 });
  t.after(() => ew.close());
  for (let i = 0; i < 10; i++)
    ew.strategy('s').trades.record({ id: `t${i}`, symbol: `SYM${i}`, side: 'long', pnl: 1, notional: 100 });
  const bot = parseExposition(await ew.registry.metrics());
  assert.deepEqual(
    find(bot, 'trading_volume_total')
      .map((x) => x.labels.symbol)
      .sort(),
    ['SYM0', 'SYM1', 'SYM2', 'other'],
  );
  assert.equal(value(bot, 'trading_volume_total', { symbol: 'other' }), 700);
  assert.equal(value(bot, 'trading_label_refusals_total', { strategy: 's', label: 'symbol' }), 7);
});

test('an experiment holds at most 16 variants, so one experiment cannot flood the exposition', async (t) => {
  const s = await sidecar(t);
  const variants = Object.fromEntries([
    ['control', { x: 0 }],
    ...Array.from({ length: 16 }, (_, i) => [`v${i}`, { x: i + 1 }]),
  ]);
  const r = await s.post('/v1/experiments', { strategy: 's', name: 'e', variants });
  assert.equal(r.status, 400);
  assert.match(await r.text(), /at most 16 variants \(got 17\)/);
  delete variants.v15;
  assert.equal((await s.post('/v1/experiments', { strategy: 's', name: 'e', variants })).status, 201);
});
