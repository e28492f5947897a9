// Trade and event times: one parser (model/trade.ts checkTime) serves the SDK, the HTTP API and
// the SDK's deploy/experiment `at`. A leap second is clamped to the last millisecond of its
// minute instead of failing the batch; other out-of-range fields are refused with the reason.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { ValidationError, openEdgewatch, type Edgewatch } from '../src/index.js';
import { checkTime, parseTime, validateTradeBody } from '../src/model/trade.js';
import { sidecar } from './support/sidecar.js';
import { tempDir } from './support/tmp.js';

function open(t: test.TestContext): Edgewatch {
  const ew = openEdgewatch({ ledger: join(tempDir(t), 'l.db'), strategies: ['alpha'], logger: false });
  t.after(() => ew.close());
  return ew;
}

const TRADE = { symbol: 'BTC-USD', side: 'long' as const, pnl: 1 };
/** 2016-12-31T23:59:59.999Z, where the leap second 2016-12-31T23:59:60Z is clamped to. */
const LEAP_UTC = Date.UTC(2016, 11, 31, 23, 59, 59, 999);

test('a leap-second closed_at is accepted and stored as the last millisecond of its minute', (t) => {
  const ew = open(t);
  const a = ew.strategy('alpha');
  assert.deepEqual(a.trades.record({ ...TRADE, id: 'z', closedAt: '2016-12-31T23:59:60Z' }).ok, true);
  assert.deepEqual(
    a.trades.record({ ...TRADE, id: 'frac', closedAt: '2016-12-31T23:59:60.5Z', openedAt: '2016-12-31T23:59:60.25Z' })
      .ok,
    true,
  );
  // 23:59:60 at +02:00 is the leap second of the local minute 23:59, i.e. 21:59 UTC.
  assert.deepEqual(a.trades.record({ ...TRADE, id: 'offset', closedAt: '2016-12-31T23:59:60+02:00' }).ok, true);
  assert.equal(ew.ledger.getTrade('alpha', 'z')?.closedMs, LEAP_UTC);
  assert.equal(ew.ledger.getTrade('alpha', 'frac')?.closedMs, LEAP_UTC);
  assert.equal(ew.ledger.getTrade('alpha', 'frac')?.openedMs, LEAP_UTC);
  assert.equal(ew.ledger.getTrade('alpha', 'offset')?.closedMs, Date.UTC(2016, 11, 31, 21, 59, 59, 999));
});

test('an HTTP batch holding a leap-second trade is stored whole', async (t) => {
  const s = await sidecar(t);
  const trade = (id: string, closed_at: string) => ({
    id,
    strategy: 's',
    symbol: 'BTC-USD',
    side: 'long',
    closed_at,
    pnl: 1,
  });
  const res = await s.post('/v1/trades', {
    trades: [
      trade('before', '2016-12-31T23:59:59Z'),
      trade('leap', '2016-12-31T23:59:60Z'),
      trade('after', '2017-01-01T00:00:00Z'),
    ],
  });
  assert.equal(res.status, 201, await res.clone().text());
  assert.deepEqual(await res.json(), { accepted: 3, duplicates: 0 });
  assert.deepEqual(
    ['before', 'leap', 'after'].map((id) => s.ledger.getTrade('s', id)?.closedMs),
    [LEAP_UTC - 999, LEAP_UTC, LEAP_UTC + 1],
  );
});

test('deploy and experiment times go through the same parser, leap second included', (t) => {
  const ew = open(t);
  const a = ew.strategy('alpha');
  const d = a.params.deploy({ x: 1 }, { at: '2016-12-31T23:59:60Z' });
  assert.ok(d.ok);
  assert.equal(d.deployedAt.getTime(), LEAP_UTC);
  assert.equal(ew.ledger.activeDeploy('alpha')?.deployedMs, LEAP_UTC);
  assert.ok(
    a.experiments.start({
      name: 'e',
      variants: { control: { x: 1 }, candidate: { x: 2 } },
      at: '2016-12-31T23:59:60+00:00',
    }).ok,
  );
  assert.equal(ew.ledger.getExperiment('alpha', 'e')?.startedMs, LEAP_UTC);
  const bad = a.experiments.stop('e', { at: '2017-01-01T24:00:00Z' });
  assert.ok(!bad.ok && bad.error instanceof ValidationError);
  assert.match(bad.error.details[0].message, /hour 24/);
  assert.equal(a.experiments.running()?.name, 'e', 'a refused stop leaves the experiment running');
});

const REFUSED: Array<[string, string, RegExp]> = [
  ['second 61', '2016-12-31T23:59:61Z', /second 61 is out of range 00-60/],
  [
    'hour 24 (ISO 8601 end of day, not RFC 3339)',
    '2016-12-31T24:00:00Z',
    /hour 24 is out of range 00-23; write 24:00 as 00:00 of the next day/,
  ],
  ['minute 60', '2016-12-31T23:60:00Z', /minute 60/],
  ['a day the month does not have', '2023-02-29T00:00:00Z', /2023-02-29 does not exist/],
  ['an offset beyond 23:59', '2016-12-31T23:59:60+24:00', /offset \+24:00/],
];

for (const [name, closedAt, reason] of REFUSED) {
  test(`a closed_at with ${name} is refused with its reason, and nothing is written`, (t) => {
    const ew = open(t);
    const r = ew.strategy('alpha').trades.record({ ...TRADE, id: 'x', closedAt });
    assert.ok(!r.ok && r.error instanceof ValidationError);
    const detail = r.error.details.find((x) => x.path === 'closedAt');
    assert.match(detail?.message ?? '', reason);
    assert.equal(ew.ledger.raw.prepare('SELECT count(*) FROM trades').pluck().get(), 0);
    // The HTTP body parser is the same function: the batch fails on the same field and reason.
    assert.throws(
      () =>
        validateTradeBody(
          { trades: [{ id: 'x', strategy: 's', symbol: 'BTC-USD', side: 'long', pnl: 1, closed_at: closedAt }] },
          Date.now(),
        ),
      (e: Error) =>
        e instanceof ValidationError && e.details.some((x) => x.path === 'closed_at' && reason.test(x.message)),
    );
  });
}

test('ordinary times parse as Date.parse reads them: offsets applied, milliseconds truncated', () => {
  // The parser computes the time from its fields (to clamp leap seconds); it must agree with
  // the engine's own reading of every time that has no leap second.
  for (const s of [
    '2024-02-29T12:34:56Z',
    '2024-02-29t12:34:56.5z',
    '2024-02-29 12:34:56.123456789+05:30',
    '2024-03-01T00:00:00.9999-08:00',
    '2000-01-01T00:00:00.0005+14:00',
  ])
    assert.equal(parseTime(s, false), Date.parse(s.replace(' ', 'T')), s);
  assert.equal(parseTime(new Date(LEAP_UTC), true), LEAP_UTC);
  assert.equal(parseTime(new Date(LEAP_UTC), false), undefined, 'a Date is an SDK form only');
  assert.match(checkTime(1.5, false).error ?? '', /integer/);
});
