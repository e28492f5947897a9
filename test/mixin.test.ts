// The mixin config (prometheus/mixin.json): the rules and dashboards are written with its job
// selectors, the scrape config names the same jobs, and copies rendered for other jobs are
// valid rules with none of the defaults left.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { defaultMixin, jobSelectors, readMixin } from '../prometheus/mixin.js';
import { renderMixin } from '../scripts/mixin.js';
import { requireBinary } from './support/binaries.js';
import { tempDir } from './support/tmp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const files = (dir: string, ext: string) =>
  readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith(ext))
    .map((f) => join(ROOT, dir, f));

test('every job selector in the rules and dashboards is one of the mixin config', () => {
  const mixin = defaultMixin();
  const allowed = new Set([mixin.botSelector, mixin.sidecarSelector]);
  let seen = 0;
  for (const file of [...files('prometheus/rules', '.yml'), ...files('grafana/dashboards', '.json')])
    for (const s of jobSelectors(readFileSync(file, 'utf8'))) {
      seen++;
      assert.ok(allowed.has(s), `${file}: ${s} is not in prometheus/mixin.json: use its selectors`);
    }
  assert.ok(seen >= 6, `expected the rules and dashboards to select the jobs (found ${seen} selectors)`);
});

test('the scrape config names the jobs the mixin selects', () => {
  const config = readFileSync(join(ROOT, 'prometheus/prometheus.yml'), 'utf8');
  const jobs = [...config.matchAll(/job_name:\s*'([^']+)'/g)].map((m) => `job="${m[1]}"`);
  const mixin = defaultMixin();
  assert.ok(jobs.includes(mixin.botSelector), `${mixin.botSelector} not among ${jobs.join(', ')}`);
  assert.ok(jobs.includes(mixin.sidecarSelector), `${mixin.sidecarSelector} not among ${jobs.join(', ')}`);
});

test('rules and dashboards rendered for other jobs carry them everywhere and promtool accepts the rules', (t) => {
  const out = tempDir(t);
  const written = renderMixin(out, 'job="bots",team="a"', 'job="sidecars"');
  const mixin = defaultMixin();
  const before = [...files('prometheus/rules', '.yml'), ...files('grafana/dashboards', '.json')]
    .map((f) => jobSelectors(readFileSync(f, 'utf8')).length)
    .reduce((a, b) => a + b, 0);
  let after = 0;
  for (const f of written) {
    const text = readFileSync(f, 'utf8');
    assert.ok(!text.includes(mixin.botSelector) && !text.includes(mixin.sidecarSelector), `${f} keeps a default job`);
    after += jobSelectors(text).filter((s) => s === 'job="bots"' || s === 'job="sidecars"').length;
    if (f.endsWith('.json')) JSON.parse(text);
  }
  assert.equal(after, before, 'every selector was replaced');
  const promtool = requireBinary('promtool');
  if (!promtool.path) return t.skip(promtool.skip);
  const rules = written.filter((f) => f.endsWith('.yml'));
  const r = spawnSync(promtool.path, ['check', 'rules', ...rules], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('a mixin value that is not label matchers is refused with what to write', () => {
  assert.throws(
    () => readMixin({ botSelector: 'trading-bot', sidecarSelector: 'job="s"' }),
    /botSelector must be label matchers/,
  );
  assert.throws(() => readMixin({ botSelector: 'job="b"' }), /sidecarSelector/);
});
