// `npm run screenshots`: the README's pictures of the sidecar's pages, made from the demo.
// Writes a demo ledger (the back-filled week, then 12 hours of the demo's --degrade) in a temp
// folder, starts a sidecar on it, and has headless Chromium save docs/pages-overview.png (`/`)
// and docs/pages-strategy.png (`/strategies/momentum`). Run it again after changing a page.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../src/log.js';
import { startSidecar } from '../src/sidecar/server.js';
import { CHROMIUM_INSTALL, findChromium, launchBrowser } from './lib/browser.js';
import { DEGRADED_STRATEGY, writeDemoLedger } from './lib/demo-ledger.js';
import { ROOT } from './lib/processes.js';

const SHOTS = [
  { file: 'docs/pages-overview.png', path: '/', fullPage: true },
  // The top of the strategy page: state, both charts and the start of the versions table.
  { file: 'docs/pages-strategy.png', path: `/strategies/${DEGRADED_STRATEGY}`, fullPage: false },
];

async function main(): Promise<void> {
  const chromium = findChromium();
  if (!chromium) {
    process.stderr.write(`screenshots: Chromium not found: install it with \`${CHROMIUM_INSTALL}\`\n`);
    process.exit(1);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'edgewatch-screenshots-'));
  const db = path.join(dir, 'edgewatch.db');
  try {
    await writeDemoLedger(db, { nowMs: Date.now() });
    const sidecar = await startSidecar({ db, port: 0, logger: silentLogger(), foldIntervalMs: 0 });
    const browser = await launchBrowser(chromium, { width: 1200, height: 1250 });
    try {
      const page = await browser.context.newPage();
      for (const shot of SHOTS) {
        const res = await page.goto(`${sidecar.url}${shot.path}`);
        if (res?.status() !== 200) throw new Error(`${shot.path} answered ${res?.status()}`);
        const file = path.join(ROOT, shot.file);
        await page.screenshot({ path: file, fullPage: shot.fullPage });
        process.stdout.write(`${shot.file} (${Math.round(statSync(file).size / 1024)} KiB) from ${shot.path}\n`);
      }
    } finally {
      await browser.close();
      await sidecar.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`screenshots: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
