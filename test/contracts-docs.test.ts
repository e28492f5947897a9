// The contract pages link to each other and into architecture.md and alerting.md by heading
// anchors; a renamed heading must not leave a reader at the top of a page. Anchors are
// GitHub's (the slug the runbook page uses too).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { slug } from '../src/sidecar/runbook.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGES = ['docs/api.md', 'docs/metrics.md', 'docs/statistics.md', 'docs/architecture.md', 'README.md'];

function anchors(file: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const h = !fenced && /^#{1,6} (.+)$/.exec(line);
    if (h) out.add(slug(h[1].replace(/`/g, '')));
  }
  return out;
}

test('every relative link of the contract pages reaches an existing file and heading', () => {
  const broken: string[] = [];
  for (const page of PAGES) {
    const text = readFileSync(join(ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1];
      if (/^[a-z]+:/.test(target)) continue;
      const [path, anchor] = target.split('#');
      const file = path === '' ? join(ROOT, page) : join(ROOT, dirname(page), path);
      if (!existsSync(file)) broken.push(`${page}: ${target} (no such file)`);
      else if (anchor !== undefined && file.endsWith('.md') && !anchors(file).has(anchor))
        broken.push(`${page}: ${target} (no heading with that anchor in ${path || page})`);
    }
  }
  assert.deepEqual(broken, [], 'fix the link, or the heading it points to');
});
