// Freqtrade's webhook, sent as Freqtrade sends it (Python: str.format of each configured
// value, then requests with data= / json= / text/plain), into a real sidecar; the webhook
// configuration is the one docs/integrations.md tells users to paste.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { DbSource } from '../src/integrations/freqtrade/sources.js';
import { FreqtradeDb } from '../src/integrations/freqtrade/db.js';
import { FreqtradeSync } from '../src/integrations/freqtrade/sync.js';
import { silentLogger } from '../src/log.js';
import { createFreqtradeDb, ftDate, writeTrades } from './support/freqtrade-db.js';
import {
  documentedWebhook,
  exitMsg,
  rawTemplate,
  sendAsFreqtrade,
  type ExitMsg,
  type Format,
} from './support/freqtrade-webhook.js';
import { ledgerDigest } from './support/ledger-digest.js';
import { sidecar, type TestSidecar } from './support/sidecar.js';
import { tempDir, value } from './support/tmp.js';

const TOKEN = 'f'.repeat(8) + '0123456789abcdef';
const STRATEGY = 'SampleStrategy';
// Whole milliseconds, so the expected epoch ms is exact; Freqtrade adds the microseconds.
const CLOSE_MS = Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000 + 123;
const OPEN_MS = CLOSE_MS - 3600_000 + 456;

/** A Python datetime in ISO form: the millisecond time plus microseconds 789. */
const pyIso = (ms: number) => `${new Date(ms).toISOString().slice(0, 23)}789+00:00`;

/** The documented webhook URL, pointed at this sidecar with this password. */
function hookUrl(s: TestSidecar, password: string | null, query = ''): string {
  const doc = new URL(documentedWebhook().url);
  const u = new URL(`${s.url}${doc.pathname}${query}`);
  if (password !== null) {
    u.username = 'freqtrade';
    u.password = password;
  }
  return u.toString();
}

function msg(over: Partial<ExitMsg> & { tradeId: number }): Record<string, unknown> {
  return exitMsg({
    pair: 'BTC/USDT',
    openDate: pyIso(OPEN_MS),
    closeDate: pyIso(CLOSE_MS),
    profitAmount: 2.5,
    cumulativeProfit: 2.5,
    stakeAmount: 100,
    ...over,
  });
}

function send(s: TestSidecar, format: Format, m: Record<string, unknown>, password: string | null = TOKEN, query = '') {
  const fields = documentedWebhook().exit_fill;
  return sendAsFreqtrade(hookUrl(s, password, query), format, format === 'raw' ? rawTemplate(fields) : fields, m);
}

const ingest = async (s: TestSidecar, result: string) =>
  value(await s.scrape(), 'edgewatch_ingest_events_total', { kind: 'freqtrade_webhook', result }) ?? 0;

test('the documented webhook block is json format, exit_fill only, with the fields edgewatch needs', () => {
  const hook = documentedWebhook();
  assert.equal(hook.format, 'json');
  for (const k of ['type', 'trade_id', 'pair', 'direction', 'open_date', 'close_date', 'cumulative_profit'])
    assert.equal(hook.exit_fill[k], `{${k}}`);
  assert.equal(hook.exit_fill.is_final_exit, '{is_final_exit}');
  assert.equal(hook.exit_fill.strategy, STRATEGY);
});

test('a final exit_fill sent as json, form and raw is stored once each, from the strings Freqtrade rendered', async (t) => {
  const s = await sidecar(t, { token: TOKEN });
  const long = await send(s, 'json', msg({ tradeId: 11, cumulativeProfit: 2.83791, stakeAmount: 100, leverage: 1 }));
  const short = await send(
    s,
    'form',
    msg({ tradeId: 12, pair: 'ETH/USDT:USDT', short: true, cumulativeProfit: -1.5e-5, stakeAmount: 50, leverage: 3 }),
  );
  const noLeverage = await send(s, 'raw', msg({ tradeId: 13, cumulativeProfit: 0.1, stakeAmount: 80, leverage: null }));
  for (const r of [long, short, noLeverage]) assert.equal(r.status, 201, r.body);
  // What Freqtrade put on the wire: strings, Python's spellings.
  assert.equal(short.payload.cumulative_profit, '-1.5e-05');
  assert.equal(short.payload.direction, 'Short');
  assert.equal(short.payload.is_final_exit, 'True');
  assert.equal(short.payload.leverage, '3.0');
  assert.equal(noLeverage.payload.leverage, undefined); // raw: one "data" string
  assert.match(noLeverage.payload.data, /"leverage": "None"/);
  assert.equal(long.payload.open_date, `${new Date(OPEN_MS).toISOString().slice(0, 10)} ${pyIso(OPEN_MS).slice(11)}`);

  const sec = Math.floor(OPEN_MS / 1000);
  const row = (id: number) => s.ledger.getTrade(STRATEGY, `ft-${id}-${sec}`);
  const expected = { openedMs: OPEN_MS, closedMs: CLOSE_MS, fees: 0, strategy: STRATEGY };
  assert.deepEqual(pick(row(11)), { ...expected, symbol: 'BTC-USDT', side: 'long', pnl: 2.83791, notional: 100 });
  assert.deepEqual(pick(row(12)), {
    ...expected,
    symbol: 'ETH-USDT:USDT',
    side: 'short',
    pnl: -0.000015,
    notional: 150,
  });
  assert.deepEqual(pick(row(13)), { ...expected, symbol: 'BTC-USDT', side: 'long', pnl: 0.1, notional: 80 });
  assert.equal(await ingest(s, 'accepted'), 3);
});

function pick(r: Record<string, unknown> | undefined) {
  assert.ok(r, 'trade stored');
  const { strategy, symbol, side, pnl, fees, notional, openedMs, closedMs } = r;
  return { strategy, symbol, side, pnl, fees, notional, openedMs, closedMs };
}

test('a retried exit_fill answers 200 duplicate and stores nothing more', async (t) => {
  const s = await sidecar(t, { token: TOKEN });
  assert.equal((await send(s, 'json', msg({ tradeId: 7 }))).status, 201);
  const before = ledgerDigest(s.ledger.raw);
  const again = await send(s, 'form', msg({ tradeId: 7 }));
  assert.equal(again.status, 200);
  assert.deepEqual(JSON.parse(again.body), {
    stored: false,
    duplicate: true,
    id: `ft-7-${Math.floor(OPEN_MS / 1000)}`,
    strategy: STRATEGY,
  });
  assert.equal(ledgerDigest(s.ledger.raw), before);
  assert.equal(await ingest(s, 'duplicate'), 1);
});

test('a partial exit is acknowledged and not stored; the final exit stores the whole trade', async (t) => {
  const s = await sidecar(t, { token: TOKEN });
  const before = ledgerDigest(s.ledger.raw);
  const partial = await send(
    s,
    'json',
    msg({ tradeId: 5, isFinalExit: false, subTrade: true, profitAmount: 1, cumulativeProfit: 1 }),
  );
  assert.equal(partial.status, 200, partial.body);
  assert.equal(partial.payload.is_final_exit, 'False');
  assert.match(JSON.parse(partial.body).ignored, /partial exit/);
  assert.equal(ledgerDigest(s.ledger.raw), before);
  // The final leg: profit_amount is the last leg's, cumulative_profit the whole trade's.
  const final = await send(s, 'json', msg({ tradeId: 5, profitAmount: 1.25, cumulativeProfit: 2.25 }));
  assert.equal(final.status, 201, final.body);
  assert.equal(s.ledger.getTrade(STRATEGY, `ft-5-${Math.floor(OPEN_MS / 1000)}`)?.pnl, 2.25);
  assert.equal(await ingest(s, 'ignored'), 1);
  assert.equal(await ingest(s, 'accepted'), 1);
});

test('message types edgewatch does not record are answered 200, so Freqtrade does not retry them', async (t) => {
  const s = await sidecar(t, { token: TOKEN });
  const before = ledgerDigest(s.ledger.raw);
  const url = hookUrl(s, TOKEN);
  const exit = await sendAsFreqtrade(url, 'form', documentedWebhook().exit_fill, msg({ tradeId: 9, type: 'exit' }));
  const entry = await sendAsFreqtrade(
    url,
    'json',
    { type: '{type}', pair: '{pair}' },
    msg({ tradeId: 9, type: 'entry_fill' }),
  );
  const status = await sendAsFreqtrade(
    url,
    'json',
    { type: '{type}', status: 'Status: {status}' },
    { type: { $type: 'status' }, status: 'running' },
  );
  for (const r of [exit, entry, status]) {
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body).stored, false);
  }
  assert.equal(ledgerDigest(s.ledger.raw), before);
  assert.equal(await ingest(s, 'ignored'), 3);
});

test('Basic with the token as password and Bearer are accepted; a wrong or missing token is a 401', async (t) => {
  const s = await sidecar(t, { token: TOKEN });
  const wrong = await send(s, 'json', msg({ tradeId: 1 }), 'not-the-token-at-all');
  const none = await send(s, 'json', msg({ tradeId: 1 }), null);
  assert.equal(wrong.status, 401);
  assert.equal(none.status, 401);
  assert.match(JSON.parse(wrong.body).error, /http:\/\/freqtrade:<EDGEWATCH_TOKEN>@/);
  assert.equal(await ingest(s, 'unauthorized'), 2);
  assert.equal(s.ledger.maxSeq(), 0);
  const rendered = {
    type: 'exit_fill',
    strategy: STRATEGY,
    trade_id: '1',
    pair: 'BTC/USDT',
    direction: 'Long',
    open_date: '2024-10-24 09:29:03+00:00',
    close_date: '2024-10-24 10:29:03.500000+00:00',
    cumulative_profit: '2.83791',
    is_final_exit: 'True',
  };
  const bearer = await s.post('/v1/integrations/freqtrade', rendered, { authorization: `Bearer ${TOKEN}` });
  assert.equal(bearer.status, 201, await bearer.text());
  const stored = s.ledger.getTrade(STRATEGY, `ft-1-${Date.UTC(2024, 9, 24, 9, 29, 3) / 1000}`);
  assert.equal(stored?.closedMs, Date.UTC(2024, 9, 24, 10, 29, 3, 500));
});

test('a tokenless sidecar on loopback takes the webhook from this host without credentials', async (t) => {
  const s = await sidecar(t);
  assert.equal((await send(s, 'form', msg({ tradeId: 3 }), null)).status, 201);
});

test('the strategy comes from the message, else ?strategy=, else EDGEWATCH_FREQTRADE_STRATEGY; none is a 400', async (t) => {
  const url = (s: TestSidecar, q: string) => hookUrl(s, TOKEN, q);
  const { strategy: _, ...noStrategy } = documentedWebhook().exit_fill;
  const s = await sidecar(t, { token: TOKEN });
  const fromQuery = await sendAsFreqtrade(url(s, '?strategy=FromQuery'), 'json', noStrategy, msg({ tradeId: 1 }));
  assert.equal(fromQuery.status, 201, fromQuery.body);
  assert.equal(JSON.parse(fromQuery.body).strategy, 'FromQuery');
  const clash = await send(s, 'json', msg({ tradeId: 2 }), TOKEN, '?strategy=Other');
  assert.equal(clash.status, 400);
  assert.match(clash.body, /differs from \?strategy=/);
  const none = await sendAsFreqtrade(url(s, ''), 'form', noStrategy, msg({ tradeId: 3 }));
  assert.equal(none.status, 400);
  assert.match(none.body, /EDGEWATCH_FREQTRADE_STRATEGY/);
  assert.deepEqual(s.ledger.strategies(), ['FromQuery']);

  process.env.EDGEWATCH_FREQTRADE_STRATEGY = 'FromEnv';
  let s2: TestSidecar;
  try {
    s2 = await sidecar(t, { token: TOKEN });
  } finally {
    delete process.env.EDGEWATCH_FREQTRADE_STRATEGY;
  }
  const fromEnv = await sendAsFreqtrade(url(s2, ''), 'form', noStrategy, msg({ tradeId: 3 }));
  assert.equal(fromEnv.status, 201, fromEnv.body);
  assert.equal(JSON.parse(fromEnv.body).strategy, 'FromEnv');
});

test('a message missing a field edgewatch needs is a 400 naming it, counted rejected, nothing stored', async (t) => {
  const s = await sidecar(t, { token: TOKEN });
  const { type: _t, ...noType } = documentedWebhook().exit_fill;
  const { cumulative_profit: _c, ...noCumulative } = documentedWebhook().exit_fill;
  const url = hookUrl(s, TOKEN);
  const a = await sendAsFreqtrade(url, 'json', noType, msg({ tradeId: 1 }));
  const b = await sendAsFreqtrade(url, 'form', noCumulative, msg({ tradeId: 1 }));
  const c = await sendAsFreqtrade(
    url,
    'json',
    { ...noCumulative, cumulative_profit: '{current_rate}' },
    msg({ tradeId: 1 }),
  );
  assert.equal(a.status, 400);
  assert.deepEqual(JSON.parse(a.body).details, [
    { path: 'type', message: 'required: add "type": "{type}" to the webhook\'s exit_fill object' },
  ]);
  assert.equal(b.status, 400);
  assert.match(b.body, /"path":"cumulative_profit","message":"required/);
  assert.equal(c.status, 400); // current_rate is None in a fill message
  assert.match(c.body, /"path":"cumulative_profit","message":"must be a number"/);
  assert.equal(s.ledger.maxSeq(), 0);
  assert.equal(await ingest(s, 'rejected'), 3);
});

test('push then pull, and pull then push, store each trade once under the same id', async (t) => {
  const s = await sidecar(t, { token: TOKEN });
  const dir = tempDir(t);
  const ftDb = join(dir, 'tradesv3.sqlite');
  createFreqtradeDb(ftDb);
  // Freqtrade's database holds both trades with fees; the open time has microseconds 789.
  const row = (id: number) => ({
    id,
    pair: 'BTC/USDT',
    strategy: STRATEGY,
    openDate: ftDate(OPEN_MS, 789),
    closeDate: ftDate(CLOSE_MS, 789),
    closeProfitAbs: 2.5,
    stakeAmount: 100,
    feeOpenCost: 0.1,
    feeOpenCurrency: 'USDT',
    feeCloseCost: 0.1,
    feeCloseCurrency: 'USDT',
  });
  writeTrades(ftDb, [row(31), row(32)]);
  assert.equal((await send(s, 'json', msg({ tradeId: 31 }))).status, 201); // push first
  const sync = new FreqtradeSync(s.ledger, new DbSource(new FreqtradeDb(ftDb)), { settleMs: 0, log: silentLogger() });
  const r = await sync.runOnce();
  assert.deepEqual([r.accepted, r.duplicates], [1, 1]); // 32 new, 31 already pushed
  const pushed = await send(s, 'json', msg({ tradeId: 32 })); // pull first
  assert.equal(pushed.status, 200);
  assert.equal(JSON.parse(pushed.body).duplicate, true);
  const sec = Math.floor(OPEN_MS / 1000);
  assert.equal(s.ledger.getTrade(STRATEGY, `ft-31-${sec}`)?.fees, 0); // the webhook's, first
  assert.equal(s.ledger.getTrade(STRATEGY, `ft-32-${sec}`)?.fees, 0.2); // the database's, first
  assert.equal(s.ledger.maxSeq(), 2);
});

test('every Python block of docs/integrations.md is valid Python', () => {
  const md = readFileSync(fileURLToPath(new URL('../../docs/integrations.md', import.meta.url)), 'utf8');
  const blocks = [...md.matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 4, `${blocks.length} Python blocks`);
  for (const [i, code] of blocks.entries()) {
    const r = spawnSync('python3', ['-c', 'import sys; compile(sys.stdin.read(), "block", "exec")'], {
      input: code,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `block ${i}: ${r.stderr}`);
  }
});
