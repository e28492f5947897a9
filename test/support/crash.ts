// kill -9 rounds for the crash tests (test/reliability-crash.test.ts, short) and the soak run
// (test/soak/run.ts, long). Each round starts a writer process, kills it with SIGKILL at a
// random moment in the middle of its writes, then reopens the ledger and checks that it is
// intact and holds every acknowledged write. At the end a client retries everything it ever
// attempted: acknowledged writes come back as duplicates, and each trade is stored once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openEdgewatch } from '../../src/index.js';
import { Ledger } from '../../src/ledger/index.js';
import { crashTrade, rng, wireCrashTrade } from './crash-trades.js';
import { spawnSidecar } from './sidecar-process.js';

const BOT = fileURLToPath(new URL('./crash-bot.js', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A timeout for Promise.race that does not keep the process alive once the race is decided. */
const deadline = (ms: number) => new Promise<string>((r) => setTimeout(() => r('timeout'), ms).unref());

export interface CrashOptions {
  dir: string;
  rounds: number;
  seed: number;
  /** Longest random wait after the first acknowledgement before the kill (default 300 ms). */
  maxDelayMs?: number;
  log?: (line: string) => void;
}

export interface CrashFigures {
  kills: number;
  /** Writes acknowledged before a kill (trades; deploys counted apart). */
  ackedTrades: number;
  ackedDeploys: number;
  /** Kills that landed while at least one request was in flight (sidecar) / always (SDK loop). */
  killsMidWrite: number;
  /** Trades stored at the end, after the retry. */
  stored: number;
  retryDuplicates: number;
  retryAccepted: number;
  seconds: number;
}

function storedIds(l: Ledger): Set<string> {
  return new Set(l.raw.prepare('SELECT id FROM trades').pluck().all() as string[]);
}

/** After a kill: the ledger opens, passes integrity_check, and holds every acknowledged trade and deploy. */
function checkAfterKill(
  path: string,
  ackedIds: Iterable<string>,
  deploys: Array<{ version: number; ms: number }>,
  round: number,
): void {
  const l = Ledger.open(path);
  try {
    assert.equal(l.integrityCheck(), 'ok', `round ${round}: integrity_check`);
    const ids = storedIds(l);
    const lost = [...ackedIds].filter((id) => !ids.has(id));
    assert.deepEqual(lost.slice(0, 10), [], `round ${round}: ${lost.length} acknowledged trades lost`);
    const rows = new Set(
      (l.raw.prepare('SELECT version, deployed_ms FROM param_deploys').raw().all() as Array<[number, number]>).map(
        ([v, ms]) => `${v}@${ms}`,
      ),
    );
    const lostDeploys = deploys.filter((d) => !rows.has(`${d.version}@${d.ms}`));
    assert.deepEqual(lostDeploys, [], `round ${round}: acknowledged deploys lost`);
  } finally {
    l.close();
  }
}

/** kill -9 of a bot that records through the SDK, `rounds` times; then an SDK retry of everything. */
export async function sdkCrashRounds(o: CrashOptions): Promise<CrashFigures> {
  const started = Date.now();
  const path = join(o.dir, 'sdk-crash.db');
  const rand = rng(o.seed);
  const baseMs = Date.now() - 3_600_000;
  const lastAcked = new Map<string, number>();
  const acked = new Set<string>();
  const deploys: Array<{ version: number; ms: number }> = [];
  for (let round = 0; round < o.rounds; round++) {
    const prefix = `r${round}`;
    const child = spawn(process.execPath, [BOT, path, prefix, String(baseMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let err = '';
    const fails: string[] = [];
    let firstAck: () => void = () => undefined;
    const gotAck = new Promise<void>((r) => (firstAck = r));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        const [kind, a, b] = line.split(' ');
        if (kind === 'ack') {
          acked.add(a);
          lastAcked.set(prefix, Number(a.slice(prefix.length + 1)));
          firstAck();
        } else if (kind === 'deploy') deploys.push({ version: Number(a.slice(1)), ms: Number(b) });
        else if (kind === 'fail') fails.push(line);
      }
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    if ((await Promise.race([gotAck.then(() => 'ack'), exited.then(() => 'exit'), deadline(15_000)])) !== 'ack') {
      child.kill('SIGKILL');
      throw new Error(`round ${round}: the bot acknowledged nothing: ${err}`);
    }
    await sleep(rand() * (o.maxDelayMs ?? 300));
    child.kill('SIGKILL');
    await exited;
    assert.deepEqual(fails, [], `round ${round}: calls failed before the kill`);
    checkAfterKill(path, acked, deploys, round);
    o.log?.(`sdk round ${round}: ${acked.size} acknowledged so far`);
  }
  // The retry: every trade up to the last acknowledged one of each round, plus the one that
  // was in flight at the kill (stored or not).
  const ew = openEdgewatch({ ledger: path, strategies: ['alpha'], logger: false });
  let retryDuplicates = 0;
  let retryAccepted = 0;
  let expected = 0;
  try {
    const a = ew.strategy('alpha');
    for (const [prefix, last] of lastAcked) {
      for (let i = 0; i <= last + 1; i++) {
        const r = a.trades.record(crashTrade(prefix, i, baseMs));
        assert.ok(r.ok, `retry of ${prefix}-${i}: ${r.ok ? '' : r.error.message}`);
        if (i <= last) assert.equal(r.duplicate, true, `${prefix}-${i} was acknowledged, so its retry is a duplicate`);
        if (r.duplicate) retryDuplicates++;
        else retryAccepted++;
        expected++;
      }
    }
    const stored = ew.ledger.raw.prepare('SELECT count(*) FROM trades').pluck().get() as number;
    assert.equal(stored, expected, 'after the retry each trade is stored exactly once');
    assert.equal(ew.ledger.integrityCheck(), 'ok');
    return {
      kills: o.rounds,
      ackedTrades: acked.size,
      ackedDeploys: deploys.length,
      killsMidWrite: o.rounds,
      stored,
      retryDuplicates,
      retryAccepted,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await ew.close();
  }
}

interface Batch {
  prefix: string;
  from: number;
  to: number;
  acked: boolean;
}

const BATCH = 25;

/** kill -9 of the sidecar process while clients write over HTTP, `rounds` times; then an HTTP retry of everything. */
export async function sidecarCrashRounds(o: CrashOptions & { writers?: number }): Promise<CrashFigures> {
  const started = Date.now();
  const path = join(o.dir, 'sidecar-crash.db');
  const rand = rng(o.seed);
  const baseMs = Date.now() - 3_600_000;
  const batches: Batch[] = [];
  const deploys: Array<{ version: number; ms: number }> = [];
  const ackedIds = new Set<string>();
  let killsMidWrite = 0;
  const body = (b: Batch) =>
    JSON.stringify({
      trades: Array.from({ length: b.to - b.from }, (_, k) => wireCrashTrade('alpha', b.prefix, b.from + k, baseMs)),
    });
  for (let round = 0; round < o.rounds; round++) {
    const sc = await spawnSidecar({ db: path });
    const prefix = `h${round}`;
    let next = 0;
    let stopped = false;
    let inFlight = 0;
    let firstAck: () => void = () => undefined;
    const gotAck = new Promise<void>((r) => (firstAck = r));
    const writer = async (w: number) => {
      for (let n = 0; !stopped; n++) {
        inFlight++;
        try {
          if (w === 0 && n % 5 === 4) {
            const res = await fetch(`${sc.url}/v1/params`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ strategy: 'alpha', params: { x: n % 3 }, note: `${prefix}/${n}` }),
            });
            const r = (await res.json()) as { param_version: string; deployed_at: string };
            if (res.ok) deploys.push({ version: Number(r.param_version.slice(1)), ms: Date.parse(r.deployed_at) });
            continue;
          }
          const b: Batch = { prefix, from: next, to: next + BATCH, acked: false };
          next += BATCH;
          batches.push(b);
          const res = await fetch(`${sc.url}/v1/trades`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: body(b),
          });
          const r = (await res.json()) as { accepted: number; duplicates: number };
          assert.ok(res.status === 201, `round ${round}: a first attempt answered ${res.status} ${JSON.stringify(r)}`);
          assert.equal(r.accepted, BATCH);
          b.acked = true;
          for (let i = b.from; i < b.to; i++) ackedIds.add(`${prefix}-${i}`);
          firstAck();
        } catch (err) {
          if (!stopped) throw err; // only the kill may break a request
        } finally {
          inFlight--;
        }
      }
    };
    const writers = Array.from({ length: o.writers ?? 3 }, (_, w) => writer(w));
    const failed = Promise.all(writers).then(() => 'writers stopped');
    if ((await Promise.race([gotAck.then(() => 'ack'), failed, deadline(15_000)])) !== 'ack') {
      await sc.kill();
      throw new Error(`round ${round}: nothing was acknowledged: ${sc.output()}`);
    }
    await sleep(rand() * (o.maxDelayMs ?? 300));
    if (inFlight > 0) killsMidWrite++;
    const killed = sc.kill('SIGKILL');
    stopped = true;
    await killed;
    await Promise.all(writers);
    checkAfterKill(path, ackedIds, deploys, round);
    o.log?.(`sidecar round ${round}: ${ackedIds.size} acknowledged so far`);
  }
  // The retry: every batch ever attempted, against a fresh sidecar process.
  const sc = await spawnSidecar({ db: path });
  let retryDuplicates = 0;
  let retryAccepted = 0;
  try {
    for (const b of batches) {
      const res = await fetch(`${sc.url}/v1/trades`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body(b),
      });
      const r = (await res.json()) as { accepted: number; duplicates: number };
      assert.ok(
        res.status === 200 || res.status === 201,
        `retry ${b.prefix}/${b.from}: ${res.status} ${JSON.stringify(r)}`,
      );
      assert.equal(r.accepted + r.duplicates, b.to - b.from);
      if (b.acked)
        assert.deepEqual(
          r,
          { accepted: 0, duplicates: b.to - b.from },
          `batch ${b.prefix}/${b.from} was acknowledged, so its retry is all duplicates`,
        );
      retryDuplicates += r.duplicates;
      retryAccepted += r.accepted;
    }
    const metrics = await (await fetch(`${sc.url}/metrics`)).text();
    const total = batches.reduce((s, b) => s + b.to - b.from, 0);
    assert.match(
      metrics,
      new RegExp(`^edgewatch_ledger_trades ${total}$`, 'm'),
      'the restarted sidecar sees every trade',
    );
    await sc.kill('SIGTERM');
    const l = Ledger.open(path);
    try {
      assert.equal(l.integrityCheck(), 'ok');
      const stored = l.raw.prepare('SELECT count(*) FROM trades').pluck().get() as number;
      assert.equal(stored, total, 'after the retry each trade is stored exactly once');
      return {
        kills: o.rounds,
        ackedTrades: ackedIds.size,
        ackedDeploys: deploys.length,
        killsMidWrite,
        stored,
        retryDuplicates,
        retryAccepted,
        seconds: (Date.now() - started) / 1000,
      };
    } finally {
      l.close();
    }
  } finally {
    await sc.kill();
  }
}
