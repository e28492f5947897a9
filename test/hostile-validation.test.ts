// Property-based tests (fast-check) of src/model: for arbitrary input, validation either
// returns a value that keeps every promise the rest of the system relies on (names that are
// safe label values, finite bounded numbers, real times), or throws its typed ValidationError
// with a JSON-serialisable list of details. Nothing else ever escapes.
import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { ValidationError } from '../src/errors.js';
import { MAX_VARIANTS, validateExperiment } from '../src/model/experiment.js';
import { NAME_RE, checkName, parseVersionLabel } from '../src/model/names.js';
import { canonicalJson, hashParams, validateParams } from '../src/model/params.js';
import {
  MAX_ABS_PNL,
  MAX_AMOUNT,
  MAX_BATCH,
  MAX_FUTURE_MS,
  MIN_TIME_MS,
  parseTime,
  validateTrade,
  validateTradeBody,
} from '../src/model/trade.js';

const NOW = Date.UTC(2026, 5, 1, 12);
const RUNS = { numRuns: 1500 };

/** What express hands the app: JSON text parsed (own "__proto__" keys included). */
const wire = (v: unknown) => JSON.parse(JSON.stringify(v) ?? 'null') as unknown;

/** Runs `fn`; a throw must be a ValidationError with well-formed details. Returns the result or undefined. */
function onlyValidationError<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof ValidationError))
      throw new Error(`threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    assert.ok(Array.isArray(err.details) && err.details.length > 0, 'a ValidationError lists its details');
    for (const d of err.details) {
      assert.equal(typeof d.path, 'string');
      assert.equal(typeof d.message, 'string');
      if (d.index !== undefined) assert.ok(Number.isInteger(d.index) && d.index >= 0);
    }
    JSON.stringify({ error: err.message, details: err.details }); // what the HTTP layer sends
    return undefined;
  }
}

// Values that are sometimes right and often hostile, per field.
const hostileString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.constantFrom(
    '',
    ' ',
    'a b',
    'a"b',
    'a\nb',
    "'; DROP TABLE trades; --",
    '__proto__',
    'constructor',
    'toString',
    'NaN',
    'Infinity',
    'x'.repeat(65),
    'x'.repeat(129),
  ),
);
const name = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/), hostileString);
const hostileNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(
    0,
    -0,
    1e12,
    1e12 + 1,
    -1e12 - 1,
    1e15,
    1e15 + 2,
    1e308,
    Number.MAX_SAFE_INTEGER + 2,
    8.64e15,
    8.64e15 + 1,
  ),
  fc.constantFrom('1.5', 'NaN', 'Infinity', '1e999'),
);
const time = fc.oneof(
  fc.integer({ min: MIN_TIME_MS - 10, max: NOW + MAX_FUTURE_MS + 10 }),
  fc.date({ noInvalidDate: false }).map((d) => (Number.isNaN(d.getTime()) ? 'Invalid' : d.toISOString())),
  fc
    .tuple(
      fc.integer({ min: 0, max: 12000 }),
      fc.integer({ min: 0, max: 14 }),
      fc.integer({ min: 0, max: 32 }),
      fc.integer({ min: 0, max: 25 }),
    )
    .map(
      ([y, m, d, h]) =>
        `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00Z`,
    ),
  hostileNumber,
  hostileString,
);
const anyJson = fc.jsonValue({ maxDepth: 4 });
const field = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: anyJson });

const nearTrade = fc.record(
  {
    id: field(fc.oneof(fc.string({ minLength: 1, maxLength: 130 }), hostileString)),
    strategy: field(name),
    symbol: field(name),
    side: field(fc.constantFrom('long', 'short', 'buy', 'LONG', '')),
    closed_at: field(time),
    opened_at: field(time),
    pnl: field(hostileNumber),
    fees: field(hostileNumber),
    notional: field(hostileNumber),
    param_version: field(fc.oneof(fc.constantFrom('v1', 'v2', 'v0', 'v01', '1', 'V1', 'v1234567890'), hostileString)),
    experiment: field(name),
    variant: field(name),
    close_at: anyJson,
    __proto__: anyJson,
    constructor: anyJson,
  },
  { requiredKeys: [] },
);

/** Everything an accepted trade promises to the ledger and the exposition. */
function assertTradeInvariants(t: ReturnType<typeof validateTrade>, now: number): void {
  assert.match(t.strategy, NAME_RE);
  assert.match(t.symbol, NAME_RE);
  assert.ok(
    typeof t.id === 'string' && t.id.length >= 1 && t.id.length <= 128 && !/[\u0000-\u001f\u007f]/.test(t.id),
    `id ${JSON.stringify(t.id)}`,
  );
  assert.ok(t.side === 'long' || t.side === 'short');
  assert.ok(
    Number.isInteger(t.closedMs) && t.closedMs >= MIN_TIME_MS && t.closedMs <= now + MAX_FUTURE_MS,
    `closedMs ${t.closedMs}`,
  );
  assert.ok(
    t.openedMs === null || (Number.isInteger(t.openedMs) && t.openedMs >= MIN_TIME_MS && t.openedMs <= t.closedMs),
    `openedMs ${t.openedMs}`,
  );
  assert.ok(Number.isFinite(t.pnl) && Math.abs(t.pnl) <= MAX_ABS_PNL && !Object.is(t.pnl, -0), `pnl ${t.pnl}`);
  assert.ok(Number.isFinite(t.fees) && t.fees >= 0 && t.fees <= MAX_AMOUNT, `fees ${t.fees}`);
  assert.ok(
    t.notional === null || (Number.isFinite(t.notional) && t.notional >= 0 && t.notional <= MAX_AMOUNT),
    `notional ${t.notional}`,
  );
  assert.ok(t.paramVersion === null || (Number.isInteger(t.paramVersion) && t.paramVersion >= 1));
  assert.ok(t.experiment === null || NAME_RE.test(t.experiment));
  assert.ok(t.variant === null || (NAME_RE.test(t.variant) && t.variant !== '__proto__'));
}

test('trade bodies: arbitrary JSON is either a list of sound trades or a ValidationError', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        anyJson,
        nearTrade,
        fc.record({ trades: fc.array(fc.oneof(nearTrade, anyJson), { maxLength: 6 }) }, { requiredKeys: [] }),
      ),
      (body) => {
        const trades = onlyValidationError(() => validateTradeBody(wire(body), NOW));
        if (trades === undefined) return;
        assert.ok(trades.length >= 1 && trades.length <= MAX_BATCH);
        for (const t of trades) {
          assertTradeInvariants(t, NOW);
          assert.equal(t.experiment === null, t.variant === null, 'experiment and variant go together on the wire');
        }
      },
    ),
    RUNS,
  );
});

test('trade bodies: near-valid trades are accepted exactly when every field is valid', () => {
  // Start from a valid trade and break one field: the result must be a ValidationError naming that field.
  const valid = { id: 'a', strategy: 's', symbol: 'BTC-USD', side: 'long', closed_at: NOW - 1000, pnl: 1 };
  fc.assert(
    fc.property(fc.constantFrom('id', 'strategy', 'symbol', 'side', 'closed_at', 'pnl'), anyJson, (key, value) => {
      const body = wire({ ...valid, [key]: value }) as Record<string, unknown>;
      const out = onlyValidationError(() => validateTradeBody(body, NOW));
      if (out) assertTradeInvariants(out[0], NOW);
      else {
        try {
          validateTradeBody(body, NOW);
        } catch (err) {
          assert.ok(
            (err as ValidationError).details.some((d) => d.path === key),
            `${key}: ${(err as Error).message}`,
          );
        }
      }
    }),
    RUNS,
  );
});

test('SDK trades: any JavaScript value (Dates, Maps, typed arrays, NaN, -0, null prototypes) is a sound trade or a ValidationError', () => {
  const js = fc.anything({
    withDate: true,
    withMap: true,
    withSet: true,
    withBigInt: true,
    withNullPrototype: true,
    withBoxedValues: true,
    withTypedArray: true,
    withSparseArray: true,
    maxDepth: 3,
  });
  const sdkTrade = fc.record(
    {
      id: field(fc.string({ minLength: 1 })),
      symbol: field(name),
      side: fc.constantFrom('long', 'short', js),
      pnl: fc.oneof(hostileNumber, js),
      fees: fc.oneof(hostileNumber, js),
      closedAt: fc.oneof(time, fc.date({ noInvalidDate: false }), js),
      openedAt: fc.oneof(time, js),
      strategy: fc.constantFrom('s', 'other', undefined),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fc.oneof(js, sdkTrade), (raw) => {
      const t = onlyValidationError(() => validateTrade(raw, { style: 'sdk', now: NOW, strategy: 's' }));
      if (t) {
        assert.equal(t.strategy, 's');
        assertTradeInvariants(t, NOW);
      }
    }),
    RUNS,
  );
});

test('parameter sets: anything is a JSON-safe set whose canonical form round-trips, or a ValidationError', () => {
  const js = fc.anything({
    withDate: true,
    withMap: true,
    withSet: true,
    withBigInt: true,
    withNullPrototype: true,
    withBoxedValues: true,
    withTypedArray: true,
    withSparseArray: true,
    maxDepth: 5,
  });
  const paramSet = fc.dictionary(name, fc.oneof(anyJson, js), { maxKeys: 8 });
  fc.assert(
    fc.property(fc.oneof(js, paramSet, anyJson.map(wire)), (value) => {
      const p = onlyValidationError(() => validateParams(value));
      if (p === undefined) return;
      for (const k of Object.keys(p)) assert.match(k, NAME_RE);
      const text = canonicalJson(p);
      const back = JSON.parse(text); // what the ledger stores must parse back ...
      assert.equal(canonicalJson(back), text, 'and mean the same set'); // ... to the same set
      assert.equal(hashParams(back), hashParams(p));
    }),
    RUNS,
  );
});

test('experiments: any definition is sound or a ValidationError; no variant vanishes', () => {
  const variants = fc.dictionary(
    fc.oneof(name, fc.constantFrom('control', '__proto__', 'constructor', 'toString')),
    fc.oneof(fc.dictionary(name, anyJson, { maxKeys: 3 }), anyJson),
    { maxKeys: MAX_VARIANTS + 2 },
  );
  const allocation = fc.oneof(
    fc.constant(undefined),
    anyJson,
    fc.dictionary(fc.oneof(name, fc.constantFrom('control', 'toString', 'constructor')), hostileNumber, { maxKeys: 4 }),
  );
  fc.assert(
    fc.property(fc.oneof(name, anyJson), fc.oneof(variants, anyJson), allocation, (n, v, a) => {
      const [wn, wv, wa] = [wire(n), wire(v), a === undefined ? undefined : wire(a)];
      const e = onlyValidationError(() => validateExperiment(wn, wv, wa));
      if (e === undefined) return;
      const names = Object.keys(e.variants);
      assert.deepEqual(names.sort(), Object.keys(wv as object).sort(), 'every variant given is kept');
      assert.ok(names.includes('control') && names.length >= 2 && names.length <= MAX_VARIANTS);
      assert.deepEqual(Object.keys(e.allocation).sort(), names.sort(), 'one weight per variant, no other keys');
      for (const w of Object.values(e.allocation)) assert.ok(Number.isFinite(w) && w >= 0);
      assert.ok(Object.values(e.allocation).some((w) => w > 0));
    }),
    RUNS,
  );
});

test('names: checkName never throws, and whatever it accepts is a safe Prometheus label value', () => {
  fc.assert(
    fc.property(fc.oneof(hostileString, fc.anything()), (v) => {
      const ok = checkName(v, 'x', []);
      assert.equal(ok, typeof v === 'string' && NAME_RE.test(v));
      if (ok) assert.doesNotMatch(v, /["\\\n\r\u0000-\u001f\u007f-\uffff]/);
    }),
    { numRuns: 3000 },
  );
});

test('times and version labels: parsers never throw and return integers or nothing', () => {
  fc.assert(
    fc.property(
      fc.oneof(time, fc.anything({ withDate: true, withBoxedValues: true })),
      fc.boolean(),
      (v, allowDate) => {
        const ms = parseTime(v, allowDate);
        assert.ok(ms === undefined || Number.isInteger(ms), `parseTime(${fc.stringify(v)}) = ${ms}`);
        const n = parseVersionLabel(typeof v === 'string' ? v : String(ms));
        assert.ok(n === undefined || (Number.isInteger(n) && n >= 1));
      },
    ),
    { numRuns: 3000 },
  );
});
