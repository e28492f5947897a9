// The sidecar's pages in a real browser: Debian's Chromium, headless, driven by playwright-core,
// against a sidecar on a demo ledger (the back-filled week, then 12 hours of the demo's
// --degrade). Each page loads with no console error and no failed request, shows the figures
// /metrics exports (to the shown rounding), turns momentum's state word to "degraded" once
// the degraded hours are in, passes axe-core with no serious or critical violation, works
// with the keyboard and fits a phone's width. Screenshots land in the test's temp folder
// (EDGEWATCH_PAGES_SHOTS=<dir> keeps them). Without Chromium: skipped with the install
// command; under CI=true that is a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { silentLogger } from '../src/log.js';
import { startSidecar } from '../src/sidecar/server.js';
import { CHROMIUM_INSTALL, findChromium, launchBrowser, type Browser } from '../scripts/lib/browser.js';
import { DEGRADED_STRATEGY, writeDemoBackfill } from '../scripts/lib/demo-ledger.js';
import { parseExposition, tempDir, value, type Sample } from './support/tmp.js';

const chromium = findChromium();
const missing = `Chromium not found: install it with \`${CHROMIUM_INSTALL}\``;
if (!chromium && process.env.CI === 'true') throw new Error(`${missing} (required under CI=true)`);
const skip = chromium ? undefined : missing;
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Watched {
  page: Page;
  problems: string[];
}

/** A page that records console errors, page errors, failed requests and HTTP errors. */
async function watchedPage(browser: Browser, expectStatus: (url: string) => number = () => 200): Promise<Watched> {
  const page = await browser.context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() !== expectStatus(r.url())) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  page.on('dialog', (d) => problems.push(`dialog opened: ${d.message()}`));
  return { page, problems };
}

async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const result = await page.evaluate<{
    violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }>;
  }>(`axe.run(document, { resultTypes: ['violations'] })`);
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** The shown text and exact value of a figure cell of the overview. */
async function cell(page: Page, strategy: string, metric: string, window: string) {
  const loc = page.locator(`section[data-strategy="${strategy}"] td[data-metric="${metric}"][data-window="${window}"]`);
  const text = (await loc.innerText()).trim();
  const data = await loc.locator('data').getAttribute('value');
  return { text, value: data === null ? undefined : Number(data) };
}

test(
  "the pages in Chromium: figures equal /metrics, momentum turns degraded under the demo's --degrade, no console error or failed request, axe finds nothing serious, keyboard and phone work",
  { skip, timeout: 240_000 },
  async (t) => {
    const dir = tempDir(t, 'edgewatch-pages-browser-');
    const shots = process.env.EDGEWATCH_PAGES_SHOTS ?? path.join(dir, 'shots');
    mkdirSync(shots, { recursive: true });
    const db = path.join(dir, 'edgewatch.db');
    const nowMs = Date.now();
    const demo = writeDemoBackfill(db, { nowMs, degradedHours: 12 });
    // The sidecar's clock: first just after the back-fill, then at the end of the degraded hours.
    let clock = demo.degradedFromMs + 60_000;
    const sidecar = await startSidecar({ db, port: 0, logger: silentLogger(), now: () => clock, foldIntervalMs: 0 });
    t.after(() => sidecar.close());
    const browser = await launchBrowser(chromium!);
    t.after(() => browser.close());
    const url = (p: string) => `${sidecar.url}${p}`;
    const scrape = async (): Promise<Sample[]> => parseExposition(await (await fetch(url('/metrics'))).text());
    const state = async (page: Page, strategy: string) =>
      page.locator(`section[data-strategy="${strategy}"] [data-state]`).getAttribute('data-state');

    await t.test('before the degraded hours momentum is not degraded', async () => {
      const { page, problems } = await watchedPage(browser);
      await page.goto(url('/'));
      assert.notEqual(await state(page, DEGRADED_STRATEGY), 'degraded');
      assert.deepEqual(problems, []);
      await page.close();
    });

    const recorded = await demo.degrade();
    clock = nowMs;
    t.diagnostic(`demo ledger: ${recorded} trades, the last 12 hours degraded`);

    await t.test(
      'the overview: both strategies, their figures as /metrics exports them, momentum degraded',
      async () => {
        const { page, problems } = await watchedPage(browser);
        await page.goto(url('/'));
        const samples = await scrape();
        const names = await page
          .locator('section[data-strategy]')
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-strategy')));
        assert.deepEqual(names, ['meanrev', 'momentum']);
        for (const strategy of ['meanrev', 'momentum'])
          for (const window of ['24h', '7d']) {
            const labels = { strategy, window };
            const trades = await cell(page, strategy, 'trades', window);
            assert.equal(
              Number(trades.text),
              value(samples, 'edgewatch_window_trades', labels),
              `${strategy} ${window}`,
            );
            // Shown with 2 decimals: within half a cent of the exported value.
            const pnl = await cell(page, strategy, 'net_pnl', window);
            const pnlMetric = value(samples, 'edgewatch_window_net_pnl', labels)!;
            assert.ok(Math.abs(Number(pnl.text) - pnlMetric) <= 0.005 + 1e-9, `${pnl.text} vs ${pnlMetric}`);
            assert.equal(pnl.value, pnlMetric);
            // A percentage with one decimal.
            const win = await cell(page, strategy, 'win_ratio', window);
            const winMetric = value(samples, 'edgewatch_window_win_ratio', labels)!;
            assert.ok(Math.abs(parseFloat(win.text) / 100 - winMetric) <= 0.0005 + 1e-9, `${win.text} vs ${winMetric}`);
            const ppt = await cell(page, strategy, 'pnl_per_trade', window);
            const pptMetric = value(samples, 'edgewatch_window_pnl_per_trade', labels)!;
            assert.ok(Math.abs(Number(ppt.text) - pptMetric) <= 0.0005 + 1e-9, `${ppt.text} vs ${pptMetric}`);
          }
        assert.equal(await state(page, DEGRADED_STRATEGY), 'degraded');
        // The reason names a degradation alert's condition, with the threshold the rule reads.
        const reasons = await page.locator(`section[data-strategy="${DEGRADED_STRATEGY}"] .reasons li`).allInnerTexts();
        const cusum = Math.max(
          ...samples
            .filter((s) => s.name === 'edgewatch_cusum_statistic' && s.labels.strategy === DEGRADED_STRATEGY)
            .map((s) => s.value),
        );
        const line = value(samples, 'edgewatch_threshold', { strategy: DEGRADED_STRATEGY, name: 'cusum_threshold' })!;
        assert.ok(cusum > line, `the demo's degrade should lift the CUSUM over ${line}: ${cusum}`);
        assert.ok(
          reasons.some((r) => r.startsWith(`CUSUM ${cusum.toFixed(1)} nats`) && r.endsWith(`above ${line}`)),
          reasons.join('\n'),
        );
        await page.screenshot({ path: path.join(shots, 'overview.png'), fullPage: true });
        assert.deepEqual(await axeViolations(page), []);
        assert.deepEqual(problems, []);
        await page.close();
      },
    );

    for (const [name, p] of [
      ['strategy page of momentum', `/strategies/${DEGRADED_STRATEGY}`],
      ['strategy page of meanrev', '/strategies/meanrev'],
      ['report page of momentum', `/report/${DEGRADED_STRATEGY}`],
      ['report page of meanrev over 7d', '/report/meanrev?window=7d'],
    ])
      await t.test(`the ${name} loads cleanly and passes axe`, async () => {
        const { page, problems } = await watchedPage(browser);
        await page.goto(url(p));
        await page.screenshot({ path: path.join(shots, `${name.replace(/\W+/g, '-')}.png`), fullPage: true });
        assert.deepEqual(await axeViolations(page), []);
        assert.deepEqual(problems, []);
        await page.close();
      });

    await t.test(
      'the strategy page charts 7d PnL ending at the exported net PnL, marks deploys, lists versions',
      async () => {
        const { page, problems } = await watchedPage(browser);
        await page.goto(url(`/strategies/${DEGRADED_STRATEGY}`));
        const samples = await scrape();
        const shown = await page.locator('figure').first().locator('figcaption data').getAttribute('value');
        assert.equal(
          Number(shown),
          value(samples, 'edgewatch_window_net_pnl', { strategy: DEGRADED_STRATEGY, window: '7d' }),
        );
        // The demo deployed v3 four days ago and started lookback-25 six days ago: both inside 7d.
        const labels = await page.locator('#chart-pnl .marker text').allTextContents();
        assert.ok(labels.includes('v3') && labels.includes('exp lookback-25'), labels.join(', '));
        const rows = await page
          .locator('#versions-table tbody tr')
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-version')));
        assert.deepEqual(rows, ['v3', 'v2', 'v1']);
        for (const v of rows) {
          const ppt = await page
            .locator(`#versions-table tr[data-version="${v}"] td[data-metric="pnl_per_trade"] data`)
            .getAttribute('value');
          const metric = value(samples, 'edgewatch_version_pnl_per_trade', {
            strategy: DEGRADED_STRATEGY,
            param_version: v ?? '',
          });
          assert.ok(Math.abs(Number(ppt) - metric!) < 1e-9, `${v}: ${ppt} vs ${metric}`);
        }
        // The diff link of v3 leads to its parameter changes against v2, on the page.
        await page.locator('#versions-table tr[data-version="v3"] a').click();
        assert.match(page.url(), /#diff-v3$/);
        assert.match(await page.locator('#diff-v3').innerText(), /v3 against v2/);
        assert.deepEqual(problems, []);
        await page.close();
      },
    );

    await t.test(
      'keyboard: the skip link comes first, every link is reachable with Tab, Enter follows one',
      async () => {
        const { page, problems } = await watchedPage(browser);
        await page.goto(url('/'));
        await page.keyboard.press('Tab');
        assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
        // Tab visits every link and scroll region in document order, then leaves the page.
        const describe = `(e) => e ? e.tagName + ' ' + (e.getAttribute('href') ?? e.getAttribute('aria-label')) + ' ' + (e.textContent ?? '').slice(0, 30) : ''`;
        const expected = await page.evaluate<string[]>(
          `[...document.querySelectorAll('a[href], [tabindex="0"]')].map(${describe})`,
        );
        const visited = [await page.evaluate(`(${describe})(document.activeElement)`)];
        for (let i = 1; i < expected.length; i++) {
          await page.keyboard.press('Tab');
          visited.push(await page.evaluate(`(${describe})(document.activeElement)`));
        }
        assert.deepEqual(visited, expected);
        assert.ok(
          expected.some((e) => e.startsWith(`A /strategies/${DEGRADED_STRATEGY} `)),
          expected.join('\n'),
        );
        await page.focus(`section[data-strategy="${DEGRADED_STRATEGY}"] h2 a`);
        await page.keyboard.press('Enter');
        await page.waitForURL(url(`/strategies/${DEGRADED_STRATEGY}`));
        assert.match(await page.locator('h1').innerText(), new RegExp(`^${DEGRADED_STRATEGY}`));
        assert.deepEqual(problems, []);
        await page.close();
      },
    );

    await t.test('on a phone (390 px) no page scrolls sideways; wide tables scroll inside their region', async () => {
      const { page, problems } = await watchedPage(browser);
      await page.setViewportSize({ width: 390, height: 844 });
      for (const p of ['/', `/strategies/${DEGRADED_STRATEGY}`, `/report/${DEGRADED_STRATEGY}`]) {
        await page.goto(url(p));
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= 390, `${p} is ${width} px wide`);
        await page.screenshot({ path: path.join(shots, `phone${p.replace(/\W+/g, '-')}.png`), fullPage: true });
      }
      assert.deepEqual(problems, []);
      await page.close();
    });

    await t.test('an unknown strategy and a hostile name are pages saying so, with no script run', async () => {
      const { page, problems } = await watchedPage(browser, (u) => (u.includes('nosuch') ? 404 : 400));
      await page.goto(url('/strategies/nosuch'));
      assert.equal(await page.locator('h1').innerText(), 'Not found');
      assert.match(await page.locator('main').innerText(), /no strategy "nosuch" in the ledger/);
      await page.goto(url('/report/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E'));
      assert.equal(await page.locator('h1').innerText(), 'Bad request');
      assert.equal(await page.locator('main img').count(), 0);
      assert.deepEqual(await axeViolations(page), []);
      // The expected 404/400 answers show as console errors of the resource load: nothing else may.
      assert.deepEqual(
        problems.filter(
          (p) => !/^console error: Failed to load resource: the server responded with a status of (404|400)/.test(p),
        ),
        [],
      );
      await page.close();
    });
  },
);
