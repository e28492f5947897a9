// Writes grafana/dashboards/*.json from grafana/dashboards.ts (`npm run dashboards`).
// Files in that folder that no dashboard produces any more are removed, so a renamed
// dashboard does not linger in Grafana.
import { readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderDashboards } from './dashboards.js';

/** grafana/dashboards/ of the repository (this file runs from dist/grafana/). */
export const DASHBOARDS_DIR = fileURLToPath(new URL('../../grafana/dashboards/', import.meta.url));

export function generate(dir = DASHBOARDS_DIR): string[] {
  mkdirSync(dir, { recursive: true });
  const files = renderDashboards();
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.json') && !files.has(name)) rmSync(`${dir}/${name}`);
  }
  for (const [name, text] of files) writeFileSync(`${dir}/${name}`, text);
  return [...files.keys()];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const name of generate()) console.log(`wrote grafana/dashboards/${name}`);
}
