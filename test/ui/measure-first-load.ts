/**
 * Measures the web UI's first load on this machine, as docs/ui.md reports it:
 *   node --import tsx test/ui/measure-first-load.ts [--lines N] [--runs N]
 * - bytes: gzip sizes of index.html + JS + CSS (+ icon) as built, and what the browser
 *   actually transferred (Resource Timing, headers included);
 * - time to interactive: navigation start to the filter box being in the page, enabled
 *   (checked every animation frame), with a cold cache each run;
 * - search paint: Enter in the filter box to the first page of results painted, over
 *   `--lines` ingested lines (default 100,000), for a rare needle and for every line.
 * Needs `npm run build` and /usr/bin/chromium.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hasChromium, Ingester, launchBrowser, ROOT, startDaniel, TOKEN } from './harness.js';

const { values } = parseArgs({ options: { lines: { type: 'string', default: '100000' }, runs: { type: 'string', default: '7' } } });
const LINES = Number(values.lines);
const RUNS = Number(values.runs);

function median(numbers: number[]): number {
  const sorted = numbers.slice().sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function builtGzipBytes(): Record<string, number> {
  const sizes: Record<string, number> = {};
  const dist = join(ROOT, 'ui-dist');
  sizes['index.html'] = statSync(join(dist, 'index.html.gz')).size;
  for (const name of readdirSync(join(dist, 'ui'))) {
    if (name.endsWith('.gz')) sizes[name.slice(0, -3)] = statSync(join(dist, 'ui', name)).size;
  }
  return sizes;
}

// In-page code goes in as source text: tsx's transform would add helpers the page lacks.

/** Records in window.__usable when `selector` is in the page, enabled and laid out. */
function usableProbe(token: string, selector: string): string {
  return `
    if (${JSON.stringify(token)}) sessionStorage.setItem('daniel.token', ${JSON.stringify(token)});
    (function check() {
      const input = document.querySelector(${JSON.stringify(selector)});
      if (input && !input.disabled && input.getClientRects().length > 0) window.__usable = performance.now();
      else requestAnimationFrame(check);
    })();`;
}

/** Submits `text` and resolves with the ms until the new count is on screen (one frame after). */
function searchPaintProbe(text: string): string {
  return `new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error('search not painted within 60 s')), 60000);
    const input = document.querySelector('input.filter');
    const before = document.querySelector('.status').textContent;
    input.value = ${JSON.stringify(text)};
    input.dispatchEvent(new Event('input', { bubbles: true }));
    const started = performance.now();
    input.form.requestSubmit();
    (function check() {
      const status = document.querySelector('.status').textContent;
      if (status !== before && /\\d lines/.test(status) && !status.includes('Searching')) requestAnimationFrame(() => resolve(performance.now() - started));
      else requestAnimationFrame(check);
    })();
  })`;
}

/**
 * Waits for a condition checked every frame. page.waitForFunction with source text would
 * need 'unsafe-eval', which the UI's Content-Security-Policy (rightly) refuses.
 */
async function waitInPage(page: import('playwright-core').Page, condition: string): Promise<void> {
  await page.evaluate(`new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out waiting for: ' + ${JSON.stringify(condition)})), 60000);
    (function check() {
      if (${condition}) { clearTimeout(timer); resolve(); } else requestAnimationFrame(check);
    })();
  })`);
}

interface ScrollFigures {
  rows_loaded: number;
  rows_in_dom_max: number;
  frames: number;
  frame_ms_p50: number;
  frame_ms_p95: number;
  frame_ms_max: number;
}

/**
 * Loads 10,000 results (paging by scrolling to the end), then scrolls from the top to the
 * bottom at 1,500 px a frame and records frame intervals and how many rows the DOM held.
 */
async function measureScroll(page: import('playwright-core').Page): Promise<ScrollFigures> {
  await page.locator('input.filter').fill('');
  await page.locator('input.filter').press('Enter');
  await page.locator('.status').filter({ hasText: /more as you scroll/ }).waitFor();
  for (let i = 0; i < 200; i++) {
    const loaded = Number(await page.evaluate("document.querySelector('.viewport').getAttribute('aria-rowcount')"));
    if (loaded >= 10_000) break;
    await page.evaluate("(() => { const v = document.querySelector('.viewport'); v.scrollTop = v.scrollHeight; })()");
    await waitInPage(page, `Number(document.querySelector('.viewport').getAttribute('aria-rowcount')) > ${loaded} || !document.querySelector('.status').textContent.includes('more')`);
  }
  const figures = await page.evaluate(`new Promise((resolve) => {
    const v = document.querySelector('.viewport');
    v.scrollTop = 0;
    const gaps = [];
    let last = performance.now();
    let most = 0;
    (function step() {
      const now = performance.now();
      gaps.push(now - last);
      last = now;
      most = Math.max(most, v.querySelectorAll('.row:not(.probe)').length);
      if (v.scrollTop + v.clientHeight >= v.scrollHeight - 1) {
        gaps.shift();
        gaps.sort((a, b) => a - b);
        resolve({ rows_loaded: Number(v.getAttribute('aria-rowcount')), rows_in_dom_max: most, frames: gaps.length,
          frame_ms_p50: gaps[Math.floor(gaps.length / 2)], frame_ms_p95: gaps[Math.floor(gaps.length * 0.95)], frame_ms_max: gaps[gaps.length - 1] });
        return;
      }
      v.scrollTop += 1500;
      requestAnimationFrame(step);
    })();
  })`);
  const raw = figures as ScrollFigures;
  return { ...raw, frame_ms_p50: Math.round(raw.frame_ms_p50 * 10) / 10, frame_ms_p95: Math.round(raw.frame_ms_p95 * 10) / 10, frame_ms_max: Math.round(raw.frame_ms_max * 10) / 10 };
}

if (!hasChromium) {
  console.error('measure-first-load: /usr/bin/chromium is absent (apt-get install -y chromium)');
  process.exit(2);
}

const daniel = await startDaniel();
const browser = await launchBrowser();
try {
  const ingester = new Ingester(daniel.url);
  const start = Date.now() - LINES * 10;
  const BATCH = 5000;
  for (let i = 0; i < LINES; i += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, LINES - i) }, (_, j) => {
      const n = i + j;
      return { line: `${n % 2 ? 'GET' : 'POST'} /api/v1/orders/${n} status=200 bytes=${(n * 7919) % 100000} ${n === Math.floor(LINES / 2) ? 'needle-xyzzy' : ''}`, timeMs: start + n * 10 };
    });
    await ingester.send(`host-${i % 4}`, 'access.log', batch);
  }

  // The API alone, for the same first page, to tell the UI's share of the paint time.
  const apiRare: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    const response = await fetch(`${daniel.url}/logs?filter=needle-xyzzy&count=200`, { headers: { authorization: `Bearer ${TOKEN}` } });
    await response.json();
    apiRare.push(performance.now() - started);
  }

  const tti: number[] = [];
  const signInTti: number[] = [];
  const rarePaint: number[] = [];
  const allPaint: number[] = [];
  let transferred = 0;
  let scroll: ScrollFigures | undefined;
  for (let run = 0; run < RUNS; run++) {
    for (const signedIn of [true, false]) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.addInitScript({ content: usableProbe(signedIn ? TOKEN : '', signedIn ? 'input.filter' : '#token') });
      await page.goto(`${daniel.url}/`);
      await waitInPage(page, 'window.__usable !== undefined');
      const usable = Number(await page.evaluate('window.__usable'));
      (signedIn ? tti : signInTti).push(usable);
      if (signedIn) {
        transferred = Number(await page.evaluate(
          "[...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')].filter((e) => e.name.includes('/ui/') || e.entryType === 'navigation').reduce((sum, e) => sum + e.transferSize, 0)",
        ));
        for (const [needle, bucket] of [['needle-xyzzy', rarePaint], ['', allPaint]] as const) {
          await page.locator('.status').filter({ hasText: /lines|No matching/ }).waitFor();
          const painted = Number(await page.evaluate(searchPaintProbe(needle)));
          bucket.push(painted);
        }
      }
      if (signedIn && run === 0) scroll = await measureScroll(page);
      await context.close();
    }
  }
  const built = builtGzipBytes();
  const firstLoad = Object.values(built).reduce((a, b) => a + b, 0);
  const result = {
    lines: LINES,
    runs: RUNS,
    gzip_bytes_built: built,
    first_load_gzip_bytes: firstLoad,
    first_load_transferred_bytes: transferred,
    tti_ms_median: Math.round(median(tti)),
    tti_ms_max: Math.round(Math.max(...tti)),
    sign_in_tti_ms_median: Math.round(median(signInTti)),
    api_rare_first_page_ms_median: Math.round(median(apiRare)),
    search_paint_rare_ms_median: Math.round(median(rarePaint)),
    search_paint_all_ms_median: Math.round(median(allPaint)),
    scroll,
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await browser.close();
  await daniel.stop();
}
