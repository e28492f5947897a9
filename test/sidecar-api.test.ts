// The HTTP contract over a real port: every error path answers its status with a JSON error,
// stores nothing, and leaves the sidecar ready.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { sidecar, wireTrade, type TestSidecar } from './support/sidecar.js';
import { value } from './support/tmp.js';

const NOW = Date.UTC(2026, 10, 27, 12);

async function stored(s: TestSidecar): Promise<number> {
  return s.ledger.raw.prepare('SELECT count(*) FROM trades').pluck().get() as number;
}

async function expectError(
  res: Response,
  status: number,
  pattern?: RegExp,
): Promise<{ error: string; details: Array<{ index?: number; path: string; message: string }> }> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = JSON.parse(text);
  assert.equal(typeof body.error, 'string');
  assert.ok(Array.isArray(body.details));
  if (pattern) assert.match(JSON.stringify(body), pattern);
  return body;
}

const good = () => wireTrade('s', NOW - 60_000, 1.5, { fees: 0.1 });

const INVALID_BODIES: Array<[string, string | object, RegExp]> = [
  ['malformed JSON', '{"id": "a", ', /malformed JSON/],
  ['a JSON array', '[1,2]', /JSON object/],
  ['pnl as a string', { ...good(), pnl: '1.5' }, /pnl/],
  [
    'non-finite pnl smuggled as 1e999',
    `{"id":"x","strategy":"s","symbol":"B","side":"long","closed_at":${NOW},"pnl":1e999}`,
    /finite/,
  ],
  ['NaN as a string', { ...good(), pnl: 'NaN' }, /pnl/],
  ['negative fees', { ...good(), fees: -0.1 }, /fees/],
  ['strategy with a space', { ...good(), strategy: 'my strategy' }, /strategy/],
  ['symbol with a newline', { ...good(), symbol: 'BTC\nUSD' }, /symbol/],
  ['strategy with a quote', { ...good(), strategy: 's"}' }, /strategy/],
  ['name too long', { ...good(), strategy: 'x'.repeat(65) }, /strategy/],
  ['unknown side', { ...good(), side: 'buy' }, /side/],
  ['unparseable time', { ...good(), closed_at: 'yesterday' }, /closed_at/],
  ['time with seconds instead of ms', { ...good(), closed_at: 1_795_000_000 }, /closed_at/],
  ['closed_at 10 minutes ahead', { ...good(), closed_at: NOW + 600_000 }, /future/],
  ['opened_at after closed_at', { ...good(), opened_at: NOW, closed_at: NOW - 1000 }, /opened_at/],
  ['missing id', { ...good(), id: undefined }, /"path":"id"/],
  ['id as a number', { ...good(), id: 7 }, /"path":"id"/],
  ['unknown field', { ...good(), price: 3 }, /price/],
  ['unknown param_version', { ...good(), param_version: 'v9' }, /unknown version v9/],
  ['empty batch', { trades: [] }, /at least one/],
  ['batch over 5000', { trades: Array.from({ length: 5001 }, () => ({})) }, /at most 5000/],
];

test('invalid trade bodies answer 400 with details, store nothing, and the sidecar stays ready', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  for (const [name, body] of INVALID_BODIES) {
    const res = await s.post('/v1/trades', body);
    await expectError(res, 400, INVALID_BODIES.find((x) => x[0] === name)?.[2]);
  }
  assert.equal(await stored(s), 0);
  assert.equal((await s.get('/readyz')).status, 200);
  assert.equal(
    value(await s.scrape(), 'edgewatch_ingest_events_total', { kind: 'trades', result: 'rejected' }),
    INVALID_BODIES.length,
  );
});

test('one bad trade rejects the whole batch, with its index', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  const batch = [good(), good(), { ...good(), pnl: null }];
  const body = await expectError(await s.post('/v1/trades', { trades: batch }), 400);
  assert.deepEqual(
    body.details.map((d) => [d.index, d.path]),
    [[2, 'pnl']],
  );
  assert.equal(await stored(s), 0);
});

test('a retried batch is stored once; the same id with other content is a 409 that stores nothing', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  const batch = [good(), good(), good()];
  const first = await s.post('/v1/trades', { trades: batch });
  assert.equal(first.status, 201);
  assert.deepEqual(await first.json(), { accepted: 3, duplicates: 0 });
  const retry = await s.post('/v1/trades', { trades: batch });
  assert.equal(retry.status, 200);
  assert.deepEqual(await retry.json(), { accepted: 0, duplicates: 3 });
  const fresh = good();
  const conflict = await s.post('/v1/trades', { trades: [fresh, { ...batch[1], pnl: 99 }] });
  const body = await expectError(conflict, 409, /already recorded with other pnl/);
  assert.equal(body.details[0].index, 1);
  assert.equal(await stored(s), 3, 'the fresh trade of the conflicting batch is not stored');
  const m = await s.scrape();
  assert.equal(value(m, 'edgewatch_ingest_events_total', { kind: 'trades', result: 'duplicate' }), 3);
  assert.equal(value(m, 'edgewatch_ingest_events_total', { kind: 'trades', result: 'conflict' }), 1);
});

test('a body that is not JSON is a 415 and a body over 1 MiB a 413', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  const res = await fetch(`${s.url}/v1/trades`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: 'id=1',
  });
  await expectError(res, 415, /Content-Type: application\/json/);
  const huge = JSON.stringify({ trades: [{ ...good(), id: 'x'.repeat(1024 * 1024) }] });
  await expectError(await s.post('/v1/trades', huge), 413);
  assert.equal(await stored(s), 0);
  assert.equal((await s.get('/readyz')).status, 200);
});

test('with a token, writes without the right bearer token are 401, reads need it too, and /metrics stays open', async (t) => {
  const token = 'a-long-enough-secret-token';
  const s = await sidecar(t, { now: () => NOW, token });
  await expectError(await s.post('/v1/trades', good()), 401, /bearer token/);
  await expectError(await s.post('/v1/trades', good(), { authorization: 'Bearer wrong-token-of-some-length' }), 401);
  await expectError(await s.post('/v1/trades', good(), { authorization: token }), 401);
  assert.equal(await stored(s), 0);
  const ok = await s.post('/v1/trades', good(), { authorization: `Bearer ${token}` });
  assert.equal(ok.status, 201);
  assert.equal((await s.get('/metrics')).status, 200);
  await expectError(await s.get('/v1/params?strategy=s'), 401, /missing or wrong token/);
  assert.equal(
    (await fetch(`${s.url}/v1/params?strategy=s`, { headers: { authorization: `Bearer ${token}` } })).status,
    200,
  );
});

test('without a token a sidecar listening beyond loopback refuses writes', async (t) => {
  const s = await sidecar(t, { now: () => NOW, host: '0.0.0.0' });
  const res = await fetch(`http://127.0.0.1:${s.port}/v1/trades`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(good()),
  });
  await expectError(res, 401, /EDGEWATCH_TOKEN/);
  assert.equal(await stored(s), 0);
});

test('params: deploy, history, version detail and diff', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  const d1 = await s.post('/v1/params', {
    strategy: 's',
    params: { b: 2, a: 1 },
    source: 'ci',
    git_sha: 'abc',
    note: 'first',
  });
  assert.equal(d1.status, 201);
  assert.deepEqual(await d1.json(), {
    param_version: 'v1',
    hash: createHash('sha256').update('{"a":1,"b":2}').digest('hex'),
    created: true,
    previous_version: null,
    deployed_at: new Date(NOW).toISOString(),
    active_version: 'v1',
    reattributed_trades: 0,
    diff: [
      { key: 'a', change: 'added', to: 1 },
      { key: 'b', change: 'added', to: 2 },
    ],
  });
  const d2 = await (await s.post('/v1/params', { strategy: 's', params: { a: 1, b: 3 } })).json();
  assert.deepEqual(
    [d2.param_version, d2.previous_version, d2.diff],
    ['v2', 'v1', [{ key: 'b', change: 'changed', from: 2, to: 3 }]],
  );
  const again = await s.post('/v1/params', { strategy: 's', params: { b: 2, a: 1 } });
  assert.equal(again.status, 200);
  assert.equal((await again.json()).param_version, 'v1');
  const history = await (await s.get('/v1/params?strategy=s')).json();
  assert.equal(history.active_version, 'v1');
  assert.deepEqual(
    history.deploys.map((d: { param_version: string }) => d.param_version),
    ['v1', 'v2', 'v1'],
  );
  const v2 = await (await s.get('/v1/params/s/v2')).json();
  assert.deepEqual(v2.params, { a: 1, b: 3 });
  const diff = await (await s.get('/v1/params/s/diff?from=v1&to=v2')).json();
  assert.deepEqual(diff.diff, [{ key: 'b', change: 'changed', from: 2, to: 3 }]);
  await expectError(await s.get('/v1/params/s/v9'), 404);
  await expectError(await s.get('/v1/params/s/diff?from=1&to=v2'), 400, /from/);
  await expectError(await s.post('/v1/params', { strategy: 's', params: { 'bad key': 1 } }), 400, /bad key/);
  await expectError(await s.post('/v1/params', { strategy: 's', params: { x: 1 }, extra: 1 }), 400, /extra/);
});

test('experiments: start, trades by variant, one at a time, stop with a winner', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  const start = await s.post('/v1/experiments', {
    strategy: 's',
    name: 'e1',
    variants: { control: { x: 1 }, candidate: { x: 2 } },
  });
  assert.equal(start.status, 201);
  assert.deepEqual((await start.json()).variants, { control: 'v1', candidate: 'v2' });
  await expectError(
    await s.post('/v1/experiments', { strategy: 's', name: 'e2', variants: { control: { x: 1 }, b: { x: 3 } } }),
    409,
    /still running/,
  );
  await expectError(
    await s.post('/v1/experiments', { strategy: 's', name: 'e3', variants: { a: { x: 1 }, b: { x: 3 } } }),
    400,
    /control/,
  );
  const tr = await s.post('/v1/trades', wireTrade('s', NOW, 2, { experiment: 'e1', variant: 'candidate' }));
  assert.equal(tr.status, 201);
  await expectError(
    await s.post('/v1/trades', wireTrade('s', NOW, 2, { experiment: 'e1', variant: 'other' })),
    400,
    /unknown variant/,
  );
  await expectError(
    await s.post('/v1/trades', wireTrade('s', NOW - 1000, 2, { experiment: 'e1', variant: 'candidate' })),
    400,
    /started at .* after this trade closed/,
  );
  await expectError(await s.post('/v1/experiments/e1/stop', { winner: 'nobody' }), 400, /winner/);
  const stop = await s.post('/v1/experiments/e1/stop', { outcome: 'done', winner: 'candidate' });
  assert.equal(stop.status, 200);
  assert.equal((await stop.json()).winner, 'candidate');
  await expectError(await s.post('/v1/experiments/e1/stop', {}), 404);
  const list = await (await s.get('/v1/experiments?strategy=s')).json();
  assert.equal(list.experiments[0].stats.candidate.trades, 1);
});

test('heartbeat is recorded and exported', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  assert.equal((await s.post('/v1/heartbeat', { strategy: 'hb' })).status, 200);
  await expectError(await s.post('/v1/heartbeat', { strategy: '' }), 400);
  assert.equal(value(await s.scrape(), 'edgewatch_last_heartbeat_timestamp_seconds', { strategy: 'hb' }), NOW / 1000);
});

test('the report reads as JSON and Markdown with plain recommendations', async (t) => {
  const s = await sidecar(t, { now: () => NOW, thresholdsJson: { defaults: { regression_min_trades: 3 } } });
  // A history imported with its deploys back-dated (deployed_at).
  await s.post('/v1/params', {
    strategy: 'r',
    params: { x: 1 },
    deployed_at: new Date(NOW - 4 * 86_400_000).toISOString(),
  });
  await s.post('/v1/trades', { trades: [5, 6, 7, 6].map((p, i) => wireTrade('r', NOW - 3 * 86_400_000 + i, p)) });
  await s.post('/v1/params', {
    strategy: 'r',
    params: { x: 2 },
    deployed_at: new Date(NOW - 2 * 3_600_000).toISOString(),
  });
  await s.post('/v1/trades', { trades: [-1, -2, -1, -3].map((p, i) => wireTrade('r', NOW - 3_600_000 + i, p)) });
  const json = await (await s.get('/v1/report?strategy=r&window=24h')).json();
  assert.equal(json.active_version, 'v2');
  assert.equal(json.stats.trades, 4);
  // v1 [5,6,7,6] mean 6, v2 [-1,-2,-1,-3] mean -1.75: (-1.75 - 6) / 6 = -129%
  assert.match(
    json.recommendations.join(' '),
    /v2 underperforms v1 by 129% PnL per trade, z = -\d+\.\d over 4 trades: consider rolling back/,
  );
  const md = await (await s.get('/v1/report?strategy=r&format=markdown')).text();
  assert.match(md, /^# edgewatch report: r/);
  assert.match(md, /\| v1 \| 4 \|/);
  await expectError(await s.get('/v1/report?strategy=nope'), 404);
  await expectError(await s.get('/v1/report?strategy=r&window=2h'), 400, /window/);
});

test('healthz and readyz answer, and unknown routes are a JSON 404', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  assert.deepEqual(await (await s.get('/healthz')).json(), { status: 'ok' });
  assert.deepEqual(await (await s.get('/readyz')).json(), { ready: true });
  await expectError(await s.get('/v2/nothing'), 404);
});

test('a write during a disk-full fault answers 503, readyz turns false, /metrics keeps serving, and writes resume', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  await s.post('/v1/trades', good());
  const db = s.ledger.raw;
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true })}`);
  const big = { trades: Array.from({ length: 300 }, () => ({ ...good(), symbol: 'S'.repeat(64) })) };
  const res = await s.post('/v1/trades', big);
  const body = await expectError(res, 503, /disk is full/);
  assert.equal((body as unknown as { fault: string }).fault, 'disk_full');
  assert.equal(await stored(s), 1);
  assert.equal((await s.get('/readyz')).status, 503);
  const m = await s.scrape();
  assert.equal(value(m, 'edgewatch_window_trades', { strategy: 's', window: '1h' }), 1);
  db.pragma('max_page_count = 1073741823');
  assert.equal((await s.post('/v1/trades', big)).status, 201);
  assert.equal((await s.get('/readyz')).status, 200);
});

test('a JSON request without a body is a 400 and one without a content type a 415, not a crash', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  const send = (headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${s.url}/v1/trades`, { method: 'POST', headers }, (res) => resolve(res.statusCode ?? 0));
      req.on('error', reject);
      req.end();
    });
  assert.equal(await send({ 'content-type': 'application/json', 'content-length': '0' }), 400);
  assert.equal(await send({}), 415);
  assert.equal(await stored(s), 0);
});

test('edgewatch_ready is 1 from the first scrape of a healthy sidecar, and 0 on the first scrape after a storage fault', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  // No /readyz call before: a scrape alone computes readiness.
  assert.equal(value(await s.scrape(), 'edgewatch_ready'), 1);
  await s.post('/v1/trades', good());
  const db = s.ledger.raw;
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true })}`);
  const big = { trades: Array.from({ length: 300 }, () => ({ ...good(), symbol: 'S'.repeat(64) })) };
  assert.equal((await s.post('/v1/trades', big)).status, 503);
  // Right after the fault, within the second a scrape may reuse a check: the fault invalidates it.
  assert.equal(value(await s.scrape(), 'edgewatch_ready'), 0);
  db.pragma('max_page_count = 1073741823');
  assert.equal((await s.post('/v1/trades', big)).status, 201);
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal(value(await s.scrape(), 'edgewatch_ready'), 1);
});

test("the Markdown report says a stopped experiment's winner was not significant, and writes negative numbers with an ASCII minus", async (t) => {
  let clock = NOW - 3_600_000;
  const s = await sidecar(t, { now: () => clock });
  assert.equal(
    (
      await s.post('/v1/experiments', {
        strategy: 's',
        name: 'e1',
        variants: { control: { x: 1 }, candidate: { x: 2 } },
      })
    ).status,
    201,
  );
  // Same spread, means 0.1 apart: p is far above 0.01, and PnL per trade is negative.
  const trades = [];
  for (let i = 0; i < 40; i++) {
    trades.push(wireTrade('s', clock + 1 + i, i % 2 ? 3 : -3.4, { experiment: 'e1', variant: 'control' }));
    trades.push(wireTrade('s', clock + 1 + i, i % 2 ? 3 : -3.2, { experiment: 'e1', variant: 'candidate' }));
  }
  assert.equal((await s.post('/v1/trades', { trades })).status, 201);
  clock += 60_000;
  assert.equal((await s.post('/v1/experiments/e1/stop', { winner: 'control' })).status, 200);
  const md = await (await s.get('/v1/report?strategy=s&format=markdown')).text();
  assert.match(md, /### e1 \(stopped, winner control, not significant: p = [01]\.\d{3}, needs < 0\.01\)/);
  assert.doesNotMatch(md, /\u2212/, 'no Unicode minus anywhere in the report');
  assert.match(md, /\| control \| v1 \| 40 \| 0\.5000 \| -0\.2000 \|/);
  const json = await (await s.get('/v1/report?strategy=s')).json();
  assert.equal(json.experiments[0].significant, false);
});

test('an experiment variant given as an existing version label refers to that version; unknown labels and the {"params": ...} shape are 400s', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  assert.equal((await s.post('/v1/params', { strategy: 's', params: { lookback: 20 } })).status, 201);
  // {"params": {...}} alone would have created a version whose one parameter is "params".
  const wrong = await expectError(
    await s.post('/v1/experiments', {
      strategy: 's',
      name: 'e1',
      variants: { control: { params: { lookback: 20 } }, candidate: { params: { lookback: 30 } } },
    }),
    400,
  );
  assert.equal(wrong.details[0].path, 'variants.control.params');
  assert.match(wrong.details[0].message, /"candidate": \{"lookback": 30\}.*"control": "v1"/);
  await expectError(
    await s.post('/v1/experiments', {
      strategy: 's',
      name: 'e1',
      variants: { control: 'v7', candidate: { lookback: 30 } },
    }),
    400,
    /strategy \\"s\\" has no version v7/,
  );
  await expectError(
    await s.post('/v1/experiments', {
      strategy: 's',
      name: 'e1',
      variants: { control: 'latest', candidate: { lookback: 30 } },
    }),
    400,
    /version label like/,
  );
  await expectError(
    await s.post('/v1/experiments', {
      strategy: 's',
      name: 'e1',
      variants: { control: { param_version: 'v1', lookback: 1 }, candidate: { lookback: 30 } },
    }),
    400,
    /must be the only key/,
  );
  assert.equal(s.ledger.versions('s').length, 1, 'no refused experiment created a version');

  const started = await s.post('/v1/experiments', {
    strategy: 's',
    name: 'e1',
    variants: { control: 'v1', candidate: { lookback: 30 } },
  });
  assert.equal(started.status, 201);
  assert.deepEqual((await started.json()).variants, { control: 'v1', candidate: 'v2' });
  assert.equal((await s.post('/v1/experiments/e1/stop', {})).status, 200);
  // The object form names the same versions; no new version appears.
  const again = await s.post('/v1/experiments', {
    strategy: 's',
    name: 'e2',
    variants: { control: { param_version: 'v1' }, candidate: { param_version: 'v2' } },
  });
  assert.equal(again.status, 201);
  assert.deepEqual((await again.json()).variants, { control: 'v1', candidate: 'v2' });
  const params = await (await s.get('/v1/params?strategy=s')).json();
  assert.deepEqual(
    params.versions.map((v: { params: unknown }) => v.params),
    [{ lookback: 20 }, { lookback: 30 }],
  );
});

test('GET /runbook serves docs/runbook.md as HTML with the anchor of every alert the rules link to', async (t) => {
  const s = await sidecar(t, { now: () => NOW });
  const res = await s.get('/runbook');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(
    res.headers.get('content-security-policy') ?? '',
    /default-src 'none'/,
    'a read-only page: no script runs',
  );
  const html = await res.text();
  const rules = readFileSync(fileURLToPath(new URL('../../prometheus/rules/alerts.yml', import.meta.url)), 'utf8');
  const anchors = [...rules.matchAll(/edgewatch_runbook \}\}#([a-z0-9-]+)/g)].map((m) => m[1]);
  assert.ok(anchors.length >= 14, `the rules link ${anchors.length} anchors`);
  for (const a of anchors) assert.match(html, new RegExp(`<h2 id="${a}">`), `anchor #${a}`);
  assert.match(html, /<a href="#tradingordererrorshigh">TradingOrderErrorsHigh<\/a>/, 'in-page links work');
  assert.match(html, /<code>#&lt;alertname in lower case&gt;<\/code>/, 'the Markdown is escaped, not injected');
  assert.doesNotMatch(html, /<script/i);
  // Read-only: the route answers GET only.
  assert.equal((await fetch(`${s.url}/runbook`, { method: 'POST' })).status, 404);
});

test('deploy metadata and stop notes over 1000 characters are refused with the summary as error and nothing stored', async (t) => {
  const s = await sidecar(t);
  const long = 'x'.repeat(1001);
  const r = await s.post('/v1/params', { strategy: 'alpha', params: { a: 1 }, git_sha: long });
  assert.equal(r.status, 400);
  const body = (await r.json()) as { error: string; details: Array<{ path: string }> };
  assert.equal(body.error, 'invalid deploy');
  assert.deepEqual(
    body.details.map((d) => d.path),
    ['git_sha'],
  );
  assert.equal((await (await s.get('/v1/params?strategy=alpha')).json()).active_version, null);
  assert.equal(
    (await s.post('/v1/params', { strategy: 'alpha', params: { a: 1 }, note: 'x'.repeat(1000) })).status,
    201,
  );
  assert.equal(
    (await s.post('/v1/experiments', { strategy: 'alpha', name: 'e1', variants: { control: 'v1', b: { a: 2 } } }))
      .status,
    201,
  );
  const stop = await s.post('/v1/experiments/e1/stop', { strategy: 'alpha', outcome: long });
  assert.equal(stop.status, 400);
  assert.equal(((await stop.json()) as { error: string }).error, 'invalid stop');
  const list = (await (await s.get('/v1/experiments?strategy=alpha')).json()) as {
    experiments: Array<{ stopped_at: string | null }>;
  };
  assert.equal(list.experiments[0].stopped_at, null, 'still running');
});
