// The hostile-input corpus of POST /v1/integrations/freqtrade (used by
// test/hostile-input.test.ts): Freqtrade-rendered exit_fill bodies, each with one thing wrong,
// in the three encodings Freqtrade sends. Every case must be a 4xx that stores nothing.

export const WEBHOOK = '/v1/integrations/freqtrade';

export interface WebhookCase {
  name: string;
  method: 'POST' | 'PUT' | 'DELETE' | 'GET';
  path: string;
  body?: string;
  headers?: Record<string, string>;
  status?: number;
}

/** Python's str(datetime) of epoch milliseconds: "2024-10-24 09:29:03.123000+00:00". */
export function pyDate(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000+00:00`;
}

/** A final exit_fill as Freqtrade renders it, accepted by a fresh sidecar. */
export function baseWebhook(closedMs: number): Record<string, string> {
  return {
    type: 'exit_fill',
    strategy: 'ft',
    trade_id: '42',
    pair: 'BTC/USDT:USDT',
    direction: 'Short',
    leverage: '2.0',
    stake_amount: '50.0',
    open_date: pyDate(closedMs - 3600_000),
    close_date: pyDate(closedMs),
    cumulative_profit: '-1.5e-05',
    profit_amount: '-1.5e-05',
    is_final_exit: 'True',
    sub_trade: 'False',
    exit_reason: 'None',
  };
}

const JSON_TYPE = { 'content-type': 'application/json' };
const FORM_TYPE = { 'content-type': 'application/x-www-form-urlencoded' };
const RAW_TYPE = { 'content-type': 'text/plain' };

export function webhookCases(closedMs: number): WebhookCase[] {
  const base = baseWebhook(closedMs);
  const cases: WebhookCase[] = [];
  const post = (name: string, body: string, headers: Record<string, string>, status?: number, query = '') =>
    cases.push({ name: `freqtrade: ${name}`, method: 'POST', path: `${WEBHOOK}${query}`, body, headers, status });
  const json = (name: string, body: unknown, status = 400, query = '') =>
    post(`json ${name}`, JSON.stringify(body), JSON_TYPE, status, query);
  const form = (name: string, body: Record<string, string>, status = 400) =>
    post(`form ${name}`, new URLSearchParams(body).toString(), FORM_TYPE, status);
  const raw = (name: string, text: string, status = 400) => post(`raw ${name}`, text, RAW_TYPE, status);
  const without = (k: string) => Object.fromEntries(Object.entries(base).filter(([key]) => key !== k));
  const text = JSON.stringify(base);

  // Broken or wrong-shaped bodies.
  for (const m of ['', '{', '{"type":', 'NaN', '[1,]', "{'type': 'exit_fill'}", '{"a":1}garbage', '\u0000'])
    post(`malformed ${JSON.stringify(m)}`, m, JSON_TYPE, 400);
  for (const top of ['null', '1', '"s"', 'true', '[]', `[${text}]`, '{}'])
    post(`top-level ${top.slice(0, 20)}`, top, JSON_TYPE, 400);
  post('100k nested arrays', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, JSON_TYPE, 413);
  json('body over 64 kB', { ...base, exit_reason: 'x'.repeat(70_000) }, 413);
  json('unknown field', { ...base, profit: '1' });
  json('a typo of a field', { ...without('cumulative_profit'), cumulative_proft: '1' });
  post('__proto__ field', text.replace(/^\{/, '{"__proto__": {"polluted": "yes"}, '), JSON_TYPE, 400);
  json('a nested value', { ...base, pair: { base: 'BTC' } });
  json('an array value', { ...base, trade_id: ['42'] });
  for (const k of [
    'type',
    'trade_id',
    'pair',
    'direction',
    'open_date',
    'close_date',
    'cumulative_profit',
    'is_final_exit',
  ])
    json(`without ${k}`, without(k));

  // Field by field, as Freqtrade would render a wrong value.
  const bad: Record<string, unknown[]> = {
    type: ['exit_fil', 'EXIT_FILL', '', 'None', 1, null],
    trade_id: ['0', '-1', 'abc', '1.5', '1e3', 'None', '', ' ', '99999999999999999', 0, -3, true, null],
    pair: ['', 'None', 'x'.repeat(70), 1, null],
    direction: ['Sideways', '', 'None', 'buy', 'LONGER', 1, null],
    open_date: [
      'yesterday',
      '',
      'None',
      '2024-02-30 00:00:00+00:00',
      '2024-01-01',
      '1999-12-31 23:59:59+00:00',
      pyDate(closedMs + 60_000),
      1.5,
      null,
    ],
    close_date: [
      'now',
      '',
      'None',
      '2024-13-01 00:00:00+00:00',
      pyDate(Date.now() + 3600_000),
      '24:00',
      1729762143,
      null,
    ],
    cumulative_profit: [
      'nan',
      'inf',
      '-inf',
      'NaN',
      'Infinity',
      '',
      'None',
      '1e999',
      '0x10',
      'abc',
      '1,5',
      '1e13',
      true,
      null,
    ],
    is_final_exit: ['yes', '', 'None', '1', 'TRUE', 1, null],
    stake_amount: ['abc', '-1', 'nan', '1e16'],
    leverage: ['abc', '0', '-2', 'inf'],
    strategy: ['', 'a b', 'a/b', 'é', 'x'.repeat(65), "'; DROP TABLE trades; --", 1, null],
  };
  for (const [k, values] of Object.entries(bad))
    for (const [i, v] of values.entries())
      json(`${k} = ${JSON.stringify(v).slice(0, 30)} (#${i})`, { ...base, [k]: v });
  for (const q of ['a%20b', '%00', 'x'.repeat(65), 'ok&strategy=two'])
    json(`?strategy=${q.slice(0, 20)}`, without('strategy'), 400, `?strategy=${q}`);
  json('strategy in body and query differ', base, 400, '?strategy=other');

  // Form encoding, Freqtrade's default.
  post('form duplicate key', `${new URLSearchParams(base).toString()}&trade_id=43`, FORM_TYPE, 400);
  post('form bracket key', `${new URLSearchParams(base).toString()}&a[b]=1`, FORM_TYPE, 400);
  post('form 101 fields', Array.from({ length: 101 }, (_, i) => `f${i}=1`).join('&'), FORM_TYPE, 413);
  form('without type', without('type'));
  form('direction Sideways', { ...base, direction: 'Sideways' });
  form('cumulative_profit nan', { ...base, cumulative_profit: 'nan' });
  form('empty', {});

  // Raw: text/plain that must be a JSON object.
  raw('not JSON', 'Exit Order for BTC/USDT filled');
  raw('a JSON array', `[${text}]`);
  raw('a JSON string', '"exit_fill"');
  raw('without is_final_exit', JSON.stringify(without('is_final_exit')));

  // Content types and encodings.
  post('application/xml', text, { 'content-type': 'application/xml' }, 415);
  post('octet-stream', text, { 'content-type': 'application/octet-stream' }, 415);
  post('latin-1 JSON', text, { 'content-type': 'application/json; charset=latin1' }, 415);
  post('gzip that is not gzip', text, { ...JSON_TYPE, 'content-encoding': 'gzip' }, 400);
  post('unknown encoding', text, { ...JSON_TYPE, 'content-encoding': 'br2' }, 415);
  post('from a web page of another origin', text, { ...JSON_TYPE, origin: 'http://evil.example' }, 403);
  for (const method of ['PUT', 'DELETE', 'GET'] as const)
    cases.push({
      name: `freqtrade: ${method}`,
      method,
      path: WEBHOOK,
      body: method === 'GET' ? undefined : text,
      headers: JSON_TYPE,
      status: 404,
    });
  return cases;
}
