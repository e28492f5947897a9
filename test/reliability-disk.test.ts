// Disk faults, made by the kernel rather than simulated in SQLite, against the sidecar process:
// - a full disk: the ledger on a small tmpfs, filled up by another file (real ENOSPC);
// - a ledger that turns read-only while the sidecar runs: `chattr +i` on the ledger and its
//   WAL (real EPERM on every write; root ignores file modes, and a mount cannot be remounted
//   read-only while SQLite holds the file open for writing, so this is the real runtime case);
// - a read-only file system at start: a tmpfs remounted read-only before the sidecar starts.
// Each needs root (mount, CAP_LINUX_IMMUTABLE) and a file system with attributes for chattr;
// without them the test is skipped with the reason. test/sidecar-api.test.ts keeps a
// disk-full case (PRAGMA max_page_count) that runs everywhere.
// Properties: writes answer 503 with a clear error and nothing is half-written, /readyz is
// false, /metrics and the read API keep serving what they have, writes resume when the fault
// clears (no restart), and the ledger passes integrity_check with exact counts.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { Ledger } from '../src/ledger/index.js';
import { wireTrade } from './support/sidecar.js';
import { CLI_MAIN, spawnSidecar, type SidecarProcess } from './support/sidecar-process.js';
import { parseExposition, value } from './support/tmp.js';

const NOW = Date.now();

function tryRun(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0
    ? undefined
    : `${cmd} ${args.join(' ')}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`;
}

/** A fresh small tmpfs, or the reason there is none. Unmounted and removed after the test. */
function tmpfs(t: test.TestContext, size: string): { dir?: string; skip?: string } {
  const dir = mkdtempSync(join(tmpdir(), 'edgewatch-tmpfs-'));
  const failed = tryRun('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  if (failed) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `needs root to mount a tmpfs (${failed})` };
  }
  t.after(() => {
    tryRun('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir };
}

/** Probes whether chattr +i works here (root, a file system with attributes such as ext4). */
function immutableSupport(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'edgewatch-chattr-'));
  const f = join(dir, 'probe');
  try {
    closeSync(openSync(f, 'w'));
    const failed = tryRun('chattr', ['+i', f]);
    if (failed) return `needs chattr +i on ${tmpdir()} (root and a file system with attributes): ${failed}`;
    tryRun('chattr', ['-i', f]);
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const post = (sc: SidecarProcess, path: string, body: unknown) =>
  fetch(`${sc.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

let n = 0;
const batch = (size: number) => ({
  trades: Array.from({ length: size }, (_, i) =>
    wireTrade('s', NOW - 60_000 + i, (i % 7) - 3, { id: `d${n++}`, symbol: 'S'.repeat(64) }),
  ),
});

/** While the fault lasts: 503 with the fault named, readiness false, /metrics and reads served with what is known. */
async function assertFaulted(
  sc: SidecarProcess,
  body: unknown,
  fault: string,
  text: RegExp,
  known: number,
): Promise<void> {
  const res = await post(sc, '/v1/trades', body);
  const answer = (await res.json()) as { error: string; fault: string; details: unknown[] };
  assert.equal(res.status, 503, JSON.stringify(answer));
  assert.equal(answer.fault, fault);
  assert.match(answer.error, text);
  assert.match(answer.error, /nothing was written/);
  assert.equal(res.headers.get('retry-after'), '5');
  const ready = await fetch(`${sc.url}/readyz`);
  assert.equal(ready.status, 503);
  assert.equal(((await ready.json()) as { ready: boolean }).ready, false);
  const m = await fetch(`${sc.url}/metrics`);
  assert.equal(m.status, 200);
  const samples = parseExposition(await m.text());
  assert.equal(
    value(samples, 'edgewatch_window_trades', { strategy: 's', window: '1h' }),
    known,
    '/metrics serves what it has',
  );
  assert.equal(value(samples, 'edgewatch_ready'), 0);
  assert.ok((value(samples, 'edgewatch_ingest_events_total', { kind: 'trades', result: 'error' }) ?? 0) >= 1);
  assert.equal((await fetch(`${sc.url}/v1/report?strategy=s`)).status, 200, 'the read API answers');
}

async function assertResumed(
  sc: SidecarProcess,
  body: { trades: unknown[] },
  db: string,
  total: number,
): Promise<void> {
  const res = await post(sc, '/v1/trades', body);
  assert.equal(res.status, 201, await res.text());
  assert.equal((await fetch(`${sc.url}/readyz`)).status, 200);
  const m = parseExposition(await (await fetch(`${sc.url}/metrics`)).text());
  assert.equal(value(m, 'edgewatch_window_trades', { strategy: 's', window: '1h' }), total);
  await sc.kill('SIGTERM');
  const l = Ledger.open(db, { readonly: true });
  try {
    assert.equal(l.integrityCheck(), 'ok');
    assert.equal(
      l.raw.prepare('SELECT count(*) FROM trades').pluck().get(),
      total,
      'the refused batch was not half-written',
    );
  } finally {
    l.close();
  }
}

const full = process.getuid?.() === 0 ? {} : { skip: 'needs root to mount a tmpfs' };
test(
  'a full disk (a small tmpfs filled by another file): 503 disk_full, not ready, /metrics served; writes resume when space is freed',
  full,
  async (t) => {
    const fs = tmpfs(t, '3m');
    if (fs.skip) return t.skip(fs.skip);
    const dir = fs.dir as string;
    const db = join(dir, 'ledger.db');
    const sc = await spawnSidecar({ db, waitPath: '/readyz' });
    t.after(() => sc.kill());
    assert.equal((await post(sc, '/v1/trades', batch(50))).status, 201);
    // Fill the file system to the last byte with another file: the kernel answers ENOSPC.
    const filler = join(dir, 'filler');
    const fd = openSync(filler, 'w');
    const chunk = Buffer.alloc(64 * 1024, 1);
    try {
      for (;;) writeSync(fd, chunk);
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    for (let size = 32 * 1024; size >= 1; size >>= 1) {
      try {
        for (;;) writeSync(fd, chunk, 0, size);
      } catch {
        // next smaller size
      }
    }
    closeSync(fd);
    assert.ok(statSync(filler).size > 1024 * 1024);
    const big = batch(2000);
    await assertFaulted(sc, big, 'disk_full', /the disk is full .*— free space on the ledger volume/, 50);
    unlinkSync(filler);
    await assertResumed(sc, big, db, 2050);
  },
);

const immutable = immutableSupport();
test(
  'a ledger that turns read-only while the sidecar runs (chattr +i): 503, not ready, /metrics served; writes resume when it is writable again',
  { skip: immutable },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'edgewatch-ro-'));
    const db = join(dir, 'ledger.db');
    const files = [db, `${db}-wal`];
    // Clear the attribute whatever happens, or the folder cannot be removed.
    t.after(() => {
      tryRun('chattr', ['-i', ...files]);
      rmSync(dir, { recursive: true, force: true });
    });
    const sc = await spawnSidecar({ db, waitPath: '/readyz' });
    t.after(() => sc.kill());
    assert.equal((await post(sc, '/v1/trades', batch(50))).status, 201);
    execFileSync('chattr', ['+i', ...files]);
    const next = batch(100);
    await assertFaulted(
      sc,
      next,
      'io',
      /an I\/O error occurred .*read-only remount, an immutable file or a failing disk/,
      50,
    );
    const hb = await post(sc, '/v1/heartbeat', { strategy: 's' });
    assert.equal(hb.status, 503, 'every kind of write is refused');
    const p = await post(sc, '/v1/params', { strategy: 's', params: { x: 1 } });
    assert.equal(p.status, 503);
    execFileSync('chattr', ['-i', ...files]);
    await assertResumed(sc, next, db, 150);
  },
);

test(
  'a ledger on a file system that is read-only at start: the sidecar stops at once and names the ledger',
  full,
  async (t) => {
    const fs = tmpfs(t, '8m');
    if (fs.skip) return t.skip(fs.skip);
    const db = join(fs.dir as string, 'ledger.db');
    const sc = await spawnSidecar({ db, waitPath: '/readyz' });
    assert.equal((await post(sc, '/v1/trades', batch(5))).status, 201);
    await sc.kill('SIGTERM'); // a clean stop checkpoints the WAL and closes every file
    const failed = tryRun('mount', ['-o', 'remount,ro', fs.dir as string]);
    if (failed) return t.skip(failed);
    const r = spawnSync(process.execPath, [CLI_MAIN, 'sidecar'], {
      env: { ...process.env, EDGEWATCH_DB: db, EDGEWATCH_PORT: '0', EDGEWATCH_LOG_FORMAT: 'json' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.notEqual(r.status, 0, 'it does not start');
    assert.equal(r.signal, null, 'it stops by itself, it does not hang');
    assert.match(
      `${r.stdout}${r.stderr}`,
      new RegExp(`cannot open ledger ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
  },
);
