// The sidecar's pages over HTTP, on real sidecars and ledgers: figures worked out by hand,
// state words from the thresholds the alert rules read, escaping of everything a bot wrote,
// error pages for bad input, the read gate of the GET API, and the hour steps of the chart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CLI } from '../scripts/lib/processes.js';
import { HOUR } from '../src/sidecar/engine.js';
import { cumulativePnl, hourBounds, hourCut, rollingWinRatio } from '../src/sidecar/pages/series.js';
import { freePort } from './support/ports.js';
import { sidecar, wireTrade } from './support/sidecar.js';
import { tempDir } from './support/tmp.js';

const NOW = Date.parse('2024-03-10T12:30:00Z');
const MIN = 60_000;

/** The HTML of one strategy card of the overview. */
function cardOf(page: string, strategy: string): string {
  const m = new RegExp(`<section class="card"[^>]*data-strategy="${strategy}">([\\s\\S]*?)</section>`).exec(page);
  assert.ok(m, `no card for ${strategy}`);
  return m[1];
}

/** The exact value of a figure cell: <td data-metric=.. data-window=..><data value="x">shown</data>. */
function figure(card: string, metric: string, window: string): { value: number; shown: string } {
  const m = new RegExp(
    `<td data-metric="${metric}" data-window="${window}"><data value="([^"]+)">([^<]+)</data></td>`,
  ).exec(card);
  assert.ok(m, `no ${metric} ${window} in ${card}`);
  return { value: Number(m[1]), shown: m[2] };
}

/** The page with whitespace runs collapsed and none between tags (the source is formatted by prettier). */
function squash(page: string): string {
  return page.replace(/\s+/g, ' ').replace(/> </g, '><');
}

function assertNoStack(body: string): void {
  assert.doesNotMatch(body, /\bat [\w.<>]+ \(|node_modules|\/src\/|\.js:\d+/, body);
}

test('the overview shows each strategy with figures worked out by hand and the state word its thresholds give', async (t) => {
  let clock = NOW - 10 * MIN;
  // alpha, beta, gamma: the same trades; only their max_drawdown line differs. delta: a stale heartbeat.
  const s = await sidecar(t, {
    now: () => clock,
    thresholdsJson: {
      defaults: { max_drawdown: 100, heartbeat_max_age_seconds: 300 },
      strategies: { beta: { max_drawdown: 3 }, gamma: { max_drawdown: 7 } },
    },
  });
  const pnls = [10, -4, 6, -2];
  const trades = ['alpha', 'beta', 'gamma'].flatMap((strategy) =>
    pnls.map((pnl, i) => wireTrade(strategy, NOW - 3 * HOUR + i * MIN, pnl)),
  );
  assert.equal((await s.post('/v1/trades', { trades })).status, 201);
  // delta beats once, 400 s before the page is read; its limit is 300 s.
  clock = NOW - 400_000;
  assert.equal((await s.post('/v1/heartbeat', { strategy: 'delta' })).status, 200);
  clock = NOW;
  const res = await s.get('/');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
  assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  const page = squash(await res.text());
  assert.doesNotMatch(page, /<script/i);
  // By hand: 4 trades, net 10 - 4 + 6 - 2 = 10, 2 wins of 4, 2.5 per trade; cumulative 10, 6, 12, 10: drawdown 4.
  for (const strategy of ['alpha', 'beta', 'gamma']) {
    const card = cardOf(page, strategy);
    for (const window of ['24h', '7d']) {
      assert.deepEqual(figure(card, 'trades', window), { value: 4, shown: '4' });
      assert.deepEqual(figure(card, 'net_pnl', window), { value: 10, shown: '10.00' });
      assert.deepEqual(figure(card, 'win_ratio', window), { value: 0.5, shown: '50.0%' });
      assert.deepEqual(figure(card, 'pnl_per_trade', window), { value: 2.5, shown: '2.500' });
    }
  }
  const word = (strategy: string) => /data-state="(\w+)"/.exec(cardOf(page, strategy))?.[1];
  assert.equal(word('alpha'), 'healthy'); // 4 ≤ 100 / 2
  assert.equal(word('beta'), 'degraded'); // 4 > 3
  assert.match(cardOf(page, 'beta'), /<li>24h drawdown 4\.00, above 3<\/li>/);
  assert.equal(word('gamma'), 'watch'); // 3.5 < 4 ≤ 7
  assert.match(cardOf(page, 'gamma'), /<li>24h drawdown 4\.00, above half of 7<\/li>/);
  assert.equal(word('delta'), 'stalled'); // 400 s > 300 s
  assert.match(cardOf(page, 'delta'), /<li>last heartbeat 400 s ago, over 300 s<\/li>/);
  // The figures are those /metrics exports at the same moment.
  const samples = await s.scrape();
  const net = samples.find(
    (x) => x.name === 'edgewatch_window_net_pnl' && x.labels.strategy === 'alpha' && x.labels.window === '24h',
  );
  assert.equal(net?.value, 10);
});

test('the pages escape everything a bot wrote: parameter values, deploy notes, sources, git shas, experiment outcomes', async (t) => {
  const s = await sidecar(t);
  const hostile = {
    // Parameter names are [A-Za-z0-9_.:-] (src/model/names.ts): the markup is in the values.
    key: '<script>alert(1)</script>',
    nested: { html: '<b>bold</b>' },
    x: '"><img src=x onerror=alert(2)>',
    n: 1,
  };
  const deploy = (params: unknown, note: string) =>
    s.post('/v1/params', {
      strategy: 'evil',
      params,
      source: '<i>ci</i>',
      git_sha: '<svg onload=alert(3)>',
      note,
    });
  assert.equal((await deploy(hostile, '</pre><script>alert(4)</script>')).status, 201);
  // Every value changes, so that the diff of v2 against v1 shows each, before and after.
  const changed = { key: `${hostile.key}2`, x: `${hostile.x}2`, nested: { html: '<b>bold</b>2' }, n: 2 };
  assert.equal((await deploy(changed, "it's <u>better</u> & faster")).status, 201);
  const exp = await s.post('/v1/experiments', {
    strategy: 'evil',
    name: 'a.b:c-d_e',
    variants: { control: { param_version: 'v2' }, candidate: { ...hostile, n: 3 } },
  });
  assert.equal(exp.status, 201, await exp.text());
  const trades = Array.from({ length: 6 }, (_, i) =>
    wireTrade('evil', Date.now() + i, i % 2 ? -1 : 2, {
      experiment: 'a.b:c-d_e',
      variant: i % 2 ? 'control' : 'candidate',
    }),
  );
  const recorded = await s.post('/v1/trades', { trades });
  assert.equal(recorded.status, 201, await recorded.text());
  const stop = await s.post('/v1/experiments/a.b:c-d_e/stop', {
    outcome: '<script>alert(5)</script>',
    winner: 'candidate',
  });
  assert.equal(stop.status, 200, await stop.text());

  for (const path of ['/', '/strategies/evil', '/report/evil', '/report/evil?window=7d']) {
    const res = await s.get(path);
    assert.equal(res.status, 200, path);
    const body = squash(await res.text());
    for (const markup of ['<script', '<img', '<svg onload', '<b>', '<i>', '<u>', '</pre>'])
      assert.ok(!body.includes(markup), `${path} holds raw ${markup}`);
    if (path === '/strategies/evil') {
      // Shown as text: the parameter values as JSON, the deploy's source, sha, note, the outcome.
      for (const text of [
        '{&quot;html&quot;:&quot;&lt;b&gt;bold&lt;/b&gt;&quot;}',
        '{&quot;html&quot;:&quot;&lt;b&gt;bold&lt;/b&gt;2&quot;}',
        '&quot;&lt;script&gt;alert(1)&lt;/script&gt;2&quot;',
        '&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;',
        '&quot;\\&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&quot;',
        '&lt;i&gt;ci&lt;/i&gt;',
        '&lt;svg onload=alert(3)&gt;',
        '&lt;/pre&gt;&lt;script&gt;alert(4)&lt;/script&gt;',
        'it&#39;s &lt;u&gt;better&lt;/u&gt; &amp; faster',
        '&lt;script&gt;alert(5)&lt;/script&gt;',
        'a.b:c-d_e',
      ])
        assert.ok(body.includes(text), `${path} does not show ${text}`);
    }
  }
});

test('bad input on the page routes: a 404 page for an unknown strategy, a 400 page for a hostile name, no stack trace; the API keeps its JSON errors', async (t) => {
  const s = await sidecar(t);
  assert.equal((await s.post('/v1/trades', { trades: [wireTrade('alpha', Date.now() - MIN, 1)] })).status, 201);
  const cases: Array<[string, number, RegExp]> = [
    ['/strategies/nosuch', 404, /no strategy &quot;nosuch&quot; in the ledger/],
    ['/report/nosuch', 404, /no strategy &quot;nosuch&quot; in the ledger/],
    ['/strategies/%3Cscript%3Ealert(1)%3C%2Fscript%3E', 400, /invalid strategy name/],
    ['/report/..%2F..%2Fetc%2Fpasswd', 400, /invalid strategy name/],
    [`/strategies/${'a'.repeat(65)}`, 400, /must match/],
    ['/strategies/%E0%A4%A', 400, /could not be read/],
    ['/report/alpha?window=%3Cb%3E2d%3C%2Fb%3E', 400, /window: must be 1h, 24h or 7d/],
    ['/report/alpha?window=24h&window=7d', 400, /window: must be 1h, 24h or 7d/],
    ['/strategies/alpha/extra', 404, /no page at \/strategies\/alpha\/extra/],
    ['/strategies', 404, /no page at \/strategies/],
    ['/report/%3Cb%3E/x', 404, /no page at \/report\/%3Cb%3E\/x/],
  ];
  for (const [path, status, text] of cases) {
    const res = await s.get(path);
    const body = squash(await res.text());
    assert.equal(res.status, status, `${path}: ${body}`);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/, path);
    assert.match(body, status === 404 ? /<h1>Not found<\/h1>/ : /<h1>Bad request<\/h1>/, path);
    assert.match(body, text, path);
    assert.ok(!/<script|<b>/.test(body), `${path}: raw markup in ${body}`);
    assertNoStack(body);
  }
  // The API's own errors are unchanged: JSON.
  const api = await s.get('/v1/report?strategy=%3Cb%3E');
  assert.equal(api.status, 400);
  assert.equal(((await api.json()) as { error: string }).error, 'invalid query');
  const none = await s.get('/v1/nothing');
  assert.equal(none.status, 404);
  assert.match(none.headers.get('content-type') ?? '', /json/);
});

test('the pages need a read credential once a token is set, exactly like GET /v1/report', async (t) => {
  const token = 'w'.repeat(24);
  const readToken = 'r'.repeat(24);
  const metricsToken = 'm'.repeat(24);
  const s = await sidecar(t, { token, readToken, metricsToken });
  const write = await fetch(`${s.url}/v1/trades`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ trades: [wireTrade('alpha', Date.now() - MIN, 1)] }),
  });
  assert.equal(write.status, 201);
  const get = (path: string, authorization?: string) =>
    fetch(`${s.url}${path}`, { headers: authorization ? { authorization } : {} });
  const basic = (secret: string) => `Basic ${Buffer.from(`anyone:${secret}`).toString('base64')}`;
  for (const path of ['/', '/strategies/alpha', '/report/alpha', '/v1/report?strategy=alpha']) {
    const none = await get(path);
    assert.equal(none.status, 401, path);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic realm="edgewatch"/, path);
    assert.equal((await get(path, `Bearer ${metricsToken}`)).status, 401, `${path} with the metrics token`);
    assert.equal((await get(path, basic('wrong-but-long-enough-token'))).status, 401, path);
    assert.equal((await get(path, basic(readToken))).status, 200, `${path} with the read token (Basic)`);
    assert.equal((await get(path, `Bearer ${token}`)).status, 200, `${path} with the write token`);
  }
  // Nothing of a page leaks without the credential, not even a strategy's existence.
  assert.equal((await get('/strategies/nosuch')).status, 401);
});

test("the strategy chart's hour steps and rolling win ratio are the engine's whole hours, summed as worked out by hand", async (t) => {
  let clock = NOW;
  const s = await sidecar(t, { now: () => clock });
  const at = (iso: string) => Date.parse(iso);
  const trades = [
    wireTrade('c', at('2024-03-03T10:00:00Z'), 100), // before the 7d window (NOW − 7d = 03-03 12:30)
    wireTrade('c', at('2024-03-03T12:45:00Z'), 7), // in the window's first partial hour
    wireTrade('c', at('2024-03-07T12:00:00Z'), 10), // on an hour boundary: belongs to [12:00, 13:00)
    wireTrade('c', at('2024-03-07T12:59:59Z'), -4),
    wireTrade('c', at('2024-03-07T13:00:00Z'), 6),
    wireTrade('c', at('2024-03-10T12:10:00Z'), -2), // in the last partial hour
  ];
  assert.equal((await s.post('/v1/trades', { trades })).status, 201);
  s.engine.refresh(clock);
  const fromMs = NOW - 7 * 24 * HOUR;
  const { firstHour, lastHour } = hourBounds(fromMs, NOW);
  assert.equal(new Date(firstHour).toISOString(), '2024-03-03T13:00:00.000Z');
  assert.equal(new Date(lastHour).toISOString(), '2024-03-10T12:00:00.000Z');
  const cut = hourCut((a, b) => s.engine.range('c', a, b), fromMs, NOW);
  assert.equal(cut.firstHour, firstHour);
  const hours = cut.hours;
  assert.equal(hours.length, 7 * 24 - 1);
  const hourOf = (iso: string) => hours[(at(iso) - firstHour) / HOUR];
  assert.deepEqual([hourOf('2024-03-07T12:00:00Z').n, hourOf('2024-03-07T12:00:00Z').sum], [2, 6]);
  assert.deepEqual([hourOf('2024-03-07T13:00:00Z').n, hourOf('2024-03-07T13:00:00Z').sum], [1, 6]);
  assert.equal(
    hours.reduce((n, h) => n + h.n, 0),
    3,
  );
  assert.deepEqual([cut.head.n, cut.head.sum, cut.tail.n, cut.tail.sum], [1, 7, 1, -2]);
  const points = cumulativePnl(cut);
  // 0 at the window start, 7 after the first partial hour, +6 after 03-07 12:00-13:00, +6 after the next, -2 at the end.
  const valueAt = (iso: string) => points.find((p) => p.t === at(iso))?.v;
  assert.equal(points[0].v, 0);
  assert.equal(valueAt('2024-03-03T13:00:00Z'), 7);
  assert.equal(valueAt('2024-03-07T12:00:00Z'), 7);
  assert.equal(valueAt('2024-03-07T13:00:00Z'), 13);
  assert.equal(valueAt('2024-03-07T14:00:00Z'), 19);
  assert.equal(points[points.length - 1].t, NOW);
  assert.equal(points[points.length - 1].v, 17); // 7 + 10 - 4 + 6 - 2: the 7d window's net PnL
  const page = squash(await (await s.get('/strategies/c')).text());
  assert.match(page, /over the last 7 days[\s\S]*?<data value="17">17\.00<\/data> over 5 trades/);
  // Rolling 24h win ratio: the 24 hours before 03-08 12:00 hold 10, -4, 6 (2 wins of 3); before
  // 03-08 13:00 only the 6 (1 of 1); before 03-08 14:00 nothing: no point.
  const wins = rollingWinRatio(cut, undefined);
  const winAt = (iso: string) => wins.find((p) => p.t === at(iso))?.v;
  assert.equal(winAt('2024-03-08T11:00:00Z'), 2 / 3);
  assert.equal(winAt('2024-03-08T12:00:00Z'), 2 / 3);
  assert.equal(winAt('2024-03-08T13:00:00Z'), 1);
  assert.equal(winAt('2024-03-08T14:00:00Z'), undefined);

  // A late trade into an hour already read: the cached block is dropped, the next read has it.
  clock = NOW + MIN;
  assert.equal((await s.post('/v1/trades', { trades: [wireTrade('c', at('2024-03-07T12:30:00Z'), 5)] })).status, 201);
  s.engine.refresh(clock);
  const again = hourCut((a, b) => s.engine.range('c', a, b), fromMs, NOW).hours;
  const late = again[(at('2024-03-07T12:00:00Z') - firstHour) / HOUR];
  assert.deepEqual([late.n, late.sum, late.maxDrawdown], [3, 11, 4]);
});

test('the report page shows the recommendations of GET /v1/report first, then its figures', async (t) => {
  const s = await sidecar(t, { thresholdsJson: { defaults: { max_drawdown: 3 } } });
  const now = Date.now();
  assert.equal(
    (
      await s.post('/v1/trades', {
        trades: [10, -4, 6, -2].map((pnl, i) => wireTrade('alpha', now - 30 * MIN + i * MIN, pnl)),
      })
    ).status,
    201,
  );
  const json = (await (await s.get('/v1/report?strategy=alpha')).json()) as {
    recommendations: string[];
    stats: { net_pnl: number; trades: number };
  };
  const page = squash(await (await s.get('/report/alpha')).text());
  const h2 = [...page.matchAll(/<h2 id="(\w+)">/g)].map((m) => m[1]);
  assert.equal(h2[0], 'recommendations');
  const items = [.../<ul class="recs">([\s\S]*?)<\/ul>/.exec(page)![1].matchAll(/<li>([\s\S]*?)<\/li>/g)].map((m) =>
    m[1].replace(/&#39;/g, "'").replace(/&amp;/g, '&'),
  );
  assert.deepEqual(items, json.recommendations);
  assert.ok(
    items.some((r) => r.startsWith('Drawdown over the last 24h is 4.00, above the 3 threshold')),
    items.join('\n'),
  );
  assert.match(page, /<tr data-stat="net_pnl"><th scope="row">net PnL<\/th><td><data value="10">10\.00<\/data><\/td>/);
  assert.equal(json.stats.net_pnl, 10);
});

test(
  'npm start prints the page URL first, and the page it names shows both demo strategies',
  { timeout: 120_000 },
  async (t) => {
    const dir = tempDir(t);
    const [botPort, port] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, [CLI, 'start', '--db', join(dir, 'edgewatch.db')], {
      env: {
        ...process.env,
        EDGEWATCH_BOT_PORT: String(botPort),
        EDGEWATCH_PORT: String(port),
        EDGEWATCH_LOG_FORMAT: 'json',
        EDGEWATCH_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const deadline = Date.now() + 90_000;
    while (!out.includes('Ctrl-C stops both') && Date.now() < deadline && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 200));
    const banner = out.slice(out.indexOf('\nedgewatch is running')).trim().split('\n');
    const url = `http://127.0.0.1:${port}/`;
    assert.equal(banner[0], `edgewatch is running: open ${url} in a browser`, out);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    const body = await page.text();
    for (const strategy of ['momentum', 'meanrev']) assert.ok(body.includes(`data-strategy="${strategy}"`), strategy);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out);
  },
);
