// The Python client (clients/python) is tested by its own unittest suite, against real sidecar
// processes started from this build (dist/src/cli/main.js). npm test runs it here; without
// python3 (3.9+) it is skipped with the install command, and under CI=true that is a failure.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const INSTALL_HINT = 'apt-get install -y python3 python3-pip';

function findPython(): { skip?: string } {
  const r = spawnSync('python3', ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
  let message: string | undefined;
  if (r.error !== undefined || r.status !== 0) message = `python3 not found: install it with \`${INSTALL_HINT}\``;
  else {
    const [major, minor] = r.stdout.trim().split('.').map(Number);
    if (major < 3 || (major === 3 && minor < 9))
      message = `python3 is ${r.stdout.trim()}, the client needs 3.9 or newer: install it with \`${INSTALL_HINT}\``;
  }
  if (message === undefined) return {};
  if (process.env.CI === 'true') throw new Error(`${message} (required under CI=true)`);
  return { skip: message };
}

const python = findPython();

test(
  'the Python client keeps every trade through outages, crashes, refusals and a hung sidecar',
  {
    skip: python.skip,
    timeout: 600_000,
  },
  async (t) => {
    const child = spawn('python3', ['-m', 'unittest', 'discover', '-s', 'clients/python/tests', '-v'], {
      cwd: ROOT,
      env: { ...process.env, EDGEWATCH_NODE: process.execPath, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, `python3 -m unittest failed:\n${out}`);
    const ran = /^Ran (\d+) tests? in/m.exec(out);
    assert.ok(ran && Number(ran[1]) >= 20, `expected the whole suite to run:\n${out}`);
    assert.doesNotMatch(out, /FAILED|ERROR:/);
    // The figures the suite measured (call times, drain time, kills), for the test log.
    for (const line of out.split('\n'))
      if (/^\s{2}\S/.test(line) && !line.includes('Warning')) t.diagnostic(line.trim());
  },
);
