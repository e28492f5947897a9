// Crash safety: kill -9 of the bot (SDK) and of the sidecar process in the middle of writes,
// 20 times each at random moments. After every restart the ledger passes integrity_check and
// holds every acknowledged trade and deploy; a full client retry at the end stores each trade
// exactly once (acknowledged ones come back as duplicates). Longer runs: npm run test:soak.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { openEdgewatch } from '../src/index.js';
import { sdkCrashRounds, sidecarCrashRounds } from './support/crash.js';
import { tempDir } from './support/tmp.js';

const ROUNDS = 20;
const seed = Number(process.env.EDGEWATCH_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

test(`kill -9 of the SDK bot ${ROUNDS} times mid-write loses no acknowledged trade or deploy, and a retry stores each trade once`, async (t) => {
  t.diagnostic(`seed ${seed} (repeat with EDGEWATCH_CRASH_SEED=${seed})`);
  const f = await sdkCrashRounds({ dir: tempDir(t), rounds: ROUNDS, seed });
  t.diagnostic(JSON.stringify(f));
  assert.equal(f.kills, ROUNDS);
  assert.ok(f.ackedTrades >= ROUNDS, `each round acknowledged trades before its kill (${f.ackedTrades})`);
  assert.ok(f.retryDuplicates >= f.ackedTrades);
});

test(`kill -9 of the sidecar process ${ROUNDS} times mid-write loses no 2xx-answered trade or deploy, and a retry stores each trade once`, async (t) => {
  t.diagnostic(`seed ${seed} (repeat with EDGEWATCH_CRASH_SEED=${seed})`);
  const f = await sidecarCrashRounds({ dir: tempDir(t), rounds: ROUNDS, seed });
  t.diagnostic(JSON.stringify(f));
  assert.equal(f.kills, ROUNDS);
  assert.ok(f.killsMidWrite >= ROUNDS / 2, `most kills landed with requests in flight (${f.killsMidWrite}/${ROUNDS})`);
  assert.ok(f.retryDuplicates >= f.ackedTrades);
});

// A bot that restarts often deploys its (new) parameters first and then replays its last fills.
// The SDK stamps the *active* version on a trade and the ledger compares it on a duplicate, so
// the replay is a 409-style conflict although the trade is stored. Needs the SDK to mark the
// version as defaulted (like closedDefaulted) and the ledger's differingFields to skip it then.
test('an SDK retry after a redeploy of other parameters is a duplicate, not a conflict', async (t) => {
  const ew = openEdgewatch({ ledger: join(tempDir(t), 'l.db'), strategies: ['a'], logger: false });
  t.after(() => ew.close());
  const a = ew.strategy('a');
  a.params.deploy({ x: 1 }, { at: Date.now() - 60_000 });
  const trade = { id: 't1', symbol: 'BTC-USD', side: 'long' as const, pnl: 1, closedAt: Date.now() - 1000 };
  assert.ok(a.trades.record(trade).ok);
  a.params.deploy({ x: 2 });
  const retry = a.trades.record(trade);
  assert.ok(retry.ok, retry.ok ? '' : retry.error.message);
  assert.equal(retry.duplicate, true);
  assert.equal(retry.paramVersion, 'v1', 'the stored version is reported');
});
