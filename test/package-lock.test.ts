// A fresh clone stays clean after `npm install`: npm rewrites package-lock.json when a range
// in package.json differs from the one recorded in the lock (it did, for the Grafana SDK).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { ROOT } from '../scripts/lib/processes.js';

const read = (f: string) => JSON.parse(readFileSync(path.join(ROOT, f), 'utf8'));

test('package.json and package-lock.json agree on every dependency range, so npm install leaves the lock unchanged', () => {
  const pkg = read('package.json');
  const root = read('package-lock.json').packages[''];
  for (const field of ['dependencies', 'devDependencies'] as const)
    assert.deepEqual(root[field] ?? {}, pkg[field] ?? {}, field);
  assert.equal(root.version, pkg.version);
  assert.deepEqual(root.bin, pkg.bin);
  assert.deepEqual(root.engines, pkg.engines);
});
