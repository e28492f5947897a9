// Renders the rules and dashboards for other scrape jobs (prometheus/mixin.ts):
//   node dist/scripts/mixin.js --bot-selector 'job="bots"' --sidecar-selector 'job="sidecars"' --out DIR
// writes DIR/rules/*.yml and DIR/dashboards/*.json. Refuses when a default selector is left.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultMixin, jobSelectors, readMixin, renderWith } from '../prometheus/mixin.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function renderMixin(out: string, botSelector: string, sidecarSelector: string): string[] {
  const from = defaultMixin();
  const to = readMixin({ botSelector, sidecarSelector });
  const written: string[] = [];
  for (const [dir, ext] of [
    ['prometheus/rules', '.yml'],
    ['grafana/dashboards', '.json'],
  ] as const) {
    const target = path.join(out, path.basename(dir));
    mkdirSync(target, { recursive: true });
    for (const name of readdirSync(path.join(ROOT, dir)).filter((f) => f.endsWith(ext))) {
      const text = renderWith(readFileSync(path.join(ROOT, dir, name), 'utf8'), from, to);
      const left = jobSelectors(text).filter((s) => s === from.botSelector || s === from.sidecarSelector);
      if (left.length && from.botSelector !== to.botSelector)
        throw new Error(`${dir}/${name}: ${left.join(', ')} left after rendering: write it as {${from.botSelector}}`);
      writeFileSync(path.join(target, name), text);
      written.push(path.join(target, name));
    }
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    const v = i > 0 ? process.argv[i + 1] : undefined;
    if (v === undefined) {
      console.error(
        `usage: mixin --bot-selector 'job="..."' --sidecar-selector 'job="..."' --out DIR (missing --${name})`,
      );
      process.exit(2);
    }
    return v;
  };
  for (const f of renderMixin(arg('out'), arg('bot-selector'), arg('sidecar-selector'))) console.log(f);
}
