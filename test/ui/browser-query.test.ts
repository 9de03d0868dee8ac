/**
 * The web UI's query language, fields and the fixes found walking it as a new user, in a
 * real chromium against a real `daniel serve`: focus after sign-in, accessible toggles, a
 * refused query shown at its position, the field sidebar adding and excluding terms, level
 * colours, the entry view (fields table, pretty JSON, multi-line records), the histogram
 * stacked by level with its total and tooltips, the time-zone switch, "all time" buckets
 * from the data's real extent, dropdowns that close, a fleet of more than 50 hosts, older
 * `filter=` URLs, text selection, live tail after scrolling up, the context width, and a
 * header that keeps one row. The page runs in Asia/Kolkata so local time and UTC differ.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Daniel, hasChromium, Ingester, launchBrowser, ROOT, startDaniel, TOKEN } from './harness.js';

/** UI_SCREENSHOTS=1 saves parts of the fields and entry views into docs/screenshots/ (as browser.test.ts does for the rest). */
const shoot = (page: Page, name: string, clip: { x: number; y: number; width: number; height: number }) =>
  process.env.UI_SCREENSHOTS === '1' ? page.screenshot({ path: join(ROOT, 'docs/screenshots', name), clip }) : Promise.resolve();

if (!hasChromium) console.warn('test/ui/browser-query.test.ts: SKIPPED, /usr/bin/chromium is absent (apt-get install -y chromium)');

function poll<T>(read: () => Promise<T> | T, timeout = 20_000) {
  return expect.poll(read, { timeout, interval: 100 });
}

const LEVELS = ['info', 'info', 'warn', 'error'];
const JSON_LINES = 60;
const FLEET = 55;
const TRACEBACK = 'Traceback (most recent call last):\n  File "job.py", line 3\nValueError: boom';

describe.skipIf(!hasChromium)('web UI: queries, fields and fixes in chromium', () => {
  let daniel: Daniel;
  let browser: Browser;
  let page: Page;
  let ingester: Ingester;
  const baseMs = Date.now() - 2 * 3_600_000;
  const histogramRequests: string[] = [];

  const rows = () => page.locator('.viewport .row:not(.probe)');
  const statusText = () => page.getByTestId('status').innerText();
  const box = () => page.locator('input.filter');
  const search = async (text: string) => {
    await box().fill(text);
    await box().press('Enter');
  };
  const q = () => new URL(page.url()).searchParams.get('q');
  const open = async (path: string) => {
    await page.goto(`${daniel.url}${path}`);
    await box().waitFor();
  };

  beforeAll(async () => {
    daniel = await startDaniel();
    ingester = new Ingester(daniel.url);
    const json = Array.from({ length: JSON_LINES }, (_, i) => ({
      // A number JSON.parse would round: the entry view must show it as written.
      line: `${JSON.stringify({ level: LEVELS[i % 4], service: i % 3 === 0 ? 'web' : 'api', msg: `request ${i}${i % 5 === 0 ? ' healthz' : ''}`, status: 200 + (i % 4) * 100 }).slice(0, -1)},"big":12345678901234567890123}`,
      timeMs: baseMs + i * 60_000,
    }));
    await ingester.send('api-1', 'app.json', json);
    await ingester.send('multi-1', 'job.log', [
      { line: TRACEBACK, timeMs: baseMs + 1000 },
      { line: 'level=warn msg="disk almost full" disk=sda', timeMs: baseMs + 2000 },
    ]);
    // Old and new lines on one host: 20 years apart.
    await ingester.send('archive-1', 'old.log', [
      { line: 'from long ago', timeMs: Date.parse('2006-01-01T00:00:00Z') },
      { line: 'from just now', timeMs: Date.now() - 60_000 },
    ]);
    await Promise.all(Array.from({ length: FLEET }, (_, i) => ingester.send(`fleet-${String(i).padStart(2, '0')}`, 'node.log', [{ line: `fleet line ${i}`, timeMs: baseMs + i }])));
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'Asia/Kolkata' });
    page = await context.newPage();
    page.on('request', (request) => {
      if (request.url().includes('/logs/histogram')) histogramRequests.push(request.url());
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await daniel?.stop();
  });

  it('puts the cursor in the search box after sign-in; the toggles have names', async () => {
    await page.goto(`${daniel.url}/?host=api-1`);
    await page.locator('#token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await box().waitFor();
    await poll(() => page.evaluate(() => document.activeElement?.classList.contains('filter') ?? false)).toBe(true);
    expect(await page.getByRole('button', { name: 'Match case', exact: true }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Regular expression', exact: true }).count()).toBe(1);
    await poll(statusText).toMatch(/^60 lines, end of results/);
  }, 60_000);

  it('shows the syntax help, and a refused query with its offending character marked', async () => {
    await page.getByTitle('Query syntax').click();
    await page.getByRole('table', { name: 'Query syntax' }).getByText('status:>=500').waitFor();
    await page.keyboard.press('Escape');
    // The help closes on the next render: counted at once, it was sometimes still there.
    await poll(() => page.getByRole('table', { name: 'Query syntax' }).count()).toBe(0);

    await search('level:error api )');
    await page.getByTestId('query-problem').waitFor();
    expect(await page.getByTestId('query-problem-at').innerText()).toBe(')');
    expect(await page.getByTestId('query-problem').innerText()).toContain('unexpected ")"');
    expect(await page.getByText('unexpected ")"').count()).toBe(1);
    await search('level:error (api');
    await poll(() => page.getByTestId('query-problem').innerText()).toContain('missing ")"');
    expect(await page.getByTestId('query-problem').innerText()).toContain('at character 17');
  }, 60_000);

  it("shows an invalid regex's error once, without the engine's flags", async () => {
    await page.getByRole('button', { name: 'Regular expression', exact: true }).click();
    await search('a(b');
    // The toggle alone re-runs the previous text as a regex, which fails the same way, and
    // a new search first clears the problem: so read the settled page as one state, for
    // 'a(b' itself. The chart's request fails too: its placeholder must not repeat the error.
    await poll(async () => ({
      regex: new URL(page.url()).searchParams.get('regex'),
      shown: await page.getByText('Unterminated group').count(),
      chart: await page.locator('.histogram.placeholder').innerText(),
    })).toEqual({ regex: 'a(b', shown: 1, chart: 'No chart: the query is refused.' });
    expect(await page.locator('body').innerText()).not.toContain('/l');
    await page.getByRole('button', { name: 'Regular expression', exact: true }).click();
  }, 60_000);

  it('lists the fields of the results; a click adds field:value, another control its exclusion', async () => {
    await search('');
    await poll(statusText).toMatch(/^60 lines/);
    const sidebar = page.getByTestId('fields');
    await sidebar.getByRole('button', { name: /^level/, expanded: true }).waitFor();
    await sidebar.getByRole('button', { name: 'Add level:error' }).click();
    await poll(q).toBe('level:error');
    await poll(statusText).toMatch(/^15 lines, end of results/);
    await sidebar.getByRole('button', { name: /^service/, expanded: false }).click();
    await sidebar.getByRole('button', { name: 'Exclude service:web' }).click();
    await poll(q).toBe('level:error -service:web');
    await poll(statusText).toMatch(/^10 lines, end of results/);
    expect(await box().inputValue()).toBe('level:error -service:web');
    await shoot(page, 'fields.png', { x: 0, y: 0, width: 900, height: 470 });
  }, 60_000);

  it('colours lines by level and opens an entry to its fields, JSON pretty-printed', async () => {
    await search('');
    await poll(statusText).toMatch(/^60 lines/);
    const shadow = (level: string) => rows().and(page.locator(`[data-level=${level}]`)).first().evaluate((row) => getComputedStyle(row).boxShadow);
    expect(await shadow('error')).toContain('rgb(217, 45, 32)');
    expect(await shadow('info')).toContain('rgb(46, 144, 250)');
    await rows().and(page.locator('[data-level=error]')).first().click();
    const entry = page.getByTestId('entry');
    await entry.waitFor();
    const text = await entry.getByTestId('entry-text').innerText();
    expect(text).toMatch(/^\{\n {2}"level": "error",\n {2}"service": "(api|web)",/);
    // Values shown as the line has them, never parsed and printed again.
    expect(text).toContain('"big": 12345678901234567890123');
    const table = entry.getByRole('table', { name: 'Fields of the entry' });
    expect(await table.locator('tr', { hasText: 'level' }).first().innerText()).toMatch(/level\s+error/);
    await shoot(page, 'entry.png', { x: 560, y: 0, width: 720, height: 560 });
    await page.keyboard.press('Escape');
  }, 60_000);

  it('shows a multi-line record on one row with ↵, and whole with its line breaks when opened', async () => {
    await open('/?host=multi-1');
    const row = rows().filter({ hasText: 'Traceback' });
    await row.waitFor();
    expect(await row.locator('.cell.text').innerText()).toBe('Traceback (most recent call last):↵  File "job.py", line 3↵ValueError: boom');
    await row.click();
    expect(await page.getByTestId('entry-text').innerText()).toBe(TRACEBACK);
    await page.keyboard.press('Escape');
    // The logfmt line's level colours it too.
    expect(await rows().filter({ hasText: 'disk almost full' }).getAttribute('data-level')).toBe('warn');
  }, 60_000);

  it('stacks the histogram by level, with a total and a tooltip per bar', async () => {
    await open('/?host=api-1');
    await poll(() => page.getByTestId('histogram-total').innerText()).toBe('60 lines');
    await poll(() => page.getByLabel('Levels').innerText()).toMatch(/error\s+warn\s+info/);
    const over = page.locator('[data-testid=histogram] .u-over');
    const area = await over.boundingBox();
    if (!area) throw new Error('no chart');
    let tip = '';
    for (let x = area.x + 2; x < area.x + area.width && !/error: 1|warn: 1|info: 1/.test(tip); x += 4) {
      await page.mouse.move(x, area.y + area.height / 2);
      tip = (await page.getByTestId('histogram-tip').innerText().catch(() => '')) ?? '';
    }
    expect(tip).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} – \d{2}:\d{2}:\d{2}\n1 lines\n(error|warn|info): 1$/);
    await page.mouse.move(0, 0);
  }, 60_000);

  it('labels the time zone and switches between local time and UTC, one format everywhere', async () => {
    await open('/?host=api-1&q=%22request+59%22');
    await poll(() => rows().count()).toBe(1);
    const zone = page.getByTestId('zone');
    expect(await zone.innerText()).toBe('Local');
    expect(await zone.getAttribute('title')).toMatch(/Asia\/(Kolkata|Calcutta)/);
    const utc = new Date(baseMs + 59 * 60_000).toISOString().replace('T', ' ').slice(0, 23);
    const local = new Date(baseMs + 59 * 60_000 + 5.5 * 3_600_000).toISOString().replace('T', ' ').slice(0, 23);
    expect(await rows().first().locator('.cell.time').innerText()).toBe(local);
    await zone.click();
    expect(await zone.innerText()).toBe('UTC');
    expect(await rows().first().locator('.cell.time').innerText()).toBe(utc);
    await rows().first().click();
    expect(await page.getByTestId('entry').locator('.entry-meta').innerText()).toContain(utc);
    await page.keyboard.press('Escape');
    await zone.click();
  }, 60_000);

  it('chooses "All time" buckets from the data\'s real extent', async () => {
    histogramRequests.length = 0;
    await open('/?host=archive-1');
    await poll(() => page.getByTestId('histogram-total').innerText()).toBe('2 lines');
    const spanMs = Date.now() - Date.parse('2006-01-01T00:00:00Z');
    const buckets = histogramRequests.map((url) => new URL(url).searchParams.get('bucket')).filter((b): b is string => b !== null);
    expect(buckets.length).toBeGreaterThan(0);
    const last = buckets.at(-1) ?? '';
    expect(last).toMatch(/^\d+s$/);
    // About 100 bars over the 20 years, not 700,000 fifteen-minute slivers.
    expect(spanMs / (parseInt(last, 10) * 1000)).toBeLessThanOrEqual(400);
  }, 60_000);

  it('closes the Hosts/Files dropdowns on an outside click and Esc, never both open; finds hosts in a fleet', async () => {
    await open('/');
    const hosts = page.getByTestId('host-picker');
    const files = page.getByTestId('file-picker');
    await hosts.locator('.picker-button').click();
    await hosts.locator('.picker-menu').waitFor();
    await files.locator('.picker-button').click();
    await files.locator('.picker-menu').waitFor();
    expect(await hosts.locator('.picker-menu').count()).toBe(0);
    // More than 50 hosts: files are listed per host picked, and the picker says so.
    expect(await files.locator('.picker-menu').innerText()).toContain('Pick a host first');
    await page.locator('.viewport').click({ position: { x: 300, y: 200 } });
    expect(await files.locator('.picker-menu').count()).toBe(0);
    await hosts.locator('.picker-button').click();
    await hosts.getByLabel('Find host').fill('fleet-4');
    await poll(() => hosts.locator('.picker-item').count()).toBe(10);
    await page.keyboard.press('Escape');
    expect(await hosts.locator('.picker-menu').count()).toBe(0);
  }, 60_000);

  it('keeps every filter of an older shared URL', async () => {
    await open('/?filter=request&filter=healthz&host=api-1');
    await poll(statusText).toMatch(/^12 lines, end of results/);
    expect(await box().inputValue()).toBe('"request" "healthz"');
    expect(q()).toBe('"request" "healthz"');
  }, 60_000);

  it('does not open the context panel when text in a row is selected', async () => {
    const row = rows().first();
    const cell = await row.locator('.cell.text').boundingBox();
    if (!cell) throw new Error('no row');
    await page.mouse.move(cell.x + 5, cell.y + cell.height / 2);
    await page.mouse.down();
    await page.mouse.move(cell.x + 120, cell.y + cell.height / 2, { steps: 5 });
    await page.mouse.up();
    expect(await page.evaluate(() => getSelection()?.toString().length ?? 0)).toBeGreaterThan(3);
    // A click with nothing selected still opens it, so the absence below means something.
    expect(await page.getByTestId('context').count()).toBe(0);
    await page.evaluate(() => getSelection()?.removeAllRanges());
    await row.click();
    await page.getByTestId('context').waitFor();
  }, 60_000);

  it('keeps the list readable with the context open', async () => {
    const chars = await page.evaluate(() => {
      const cell = document.querySelector('.viewport .row:not(.probe) .cell.text');
      if (!(cell instanceof HTMLElement)) return 0;
      const probe = document.createElement('span');
      probe.textContent = '0'.repeat(100);
      probe.style.position = 'absolute';
      cell.appendChild(probe);
      const width = probe.getBoundingClientRect().width / 100;
      probe.remove();
      return cell.clientWidth / width;
    });
    expect(chars).toBeGreaterThan(40);
    await page.keyboard.press('Escape');
  }, 60_000);

  it('keeps the header one row when a custom range appears', async () => {
    const header = page.locator('header.top');
    const before = (await header.boundingBox())?.height;
    await page.getByLabel('Time range', { exact: true }).selectOption('custom');
    // The range's own controls are in the page (in a dropdown, not a second header row).
    await page.getByTestId('range-picker').or(page.getByLabel('From')).first().waitFor();
    expect((await header.boundingBox())?.height).toBe(before);
    await page.keyboard.press('Escape');
    await page.getByLabel('Time range', { exact: true }).selectOption('all');
  }, 60_000);

  it('in live mode: the time range is disabled, and a new filter after scrolling up shows the newest lines', async () => {
    await open('/?host=api-1&q=tick&live=1');
    await poll(() => page.getByTestId('live-state').innerText()).toBe('live');
    expect(await page.getByLabel('Time range', { exact: true }).isDisabled()).toBe(true);
    const lines = (word: string, n: number) => Array.from({ length: n }, (_, i) => ({ line: `${word} ${i}`, timeMs: Date.now() }));
    await ingester.send('api-1', 'live.log', lines('tick', 80));
    const texts = () => rows().locator('.cell.text');
    await poll(() => texts().filter({ hasText: /^tick 79$/ }).count()).toBe(1);
    const viewport = page.locator('.viewport');
    const area = await viewport.boundingBox();
    if (!area) throw new Error('no list');
    await page.mouse.move(area.x + 300, area.y + 100);
    await page.mouse.wheel(0, -100_000);
    await page.getByRole('button', { name: /Jump to newest/ }).waitFor();
    await search('tock');
    await poll(() => page.getByTestId('live-state').innerText()).toBe('live');
    await ingester.send('api-1', 'live.log', lines('tock', 80));
    const newest = texts().filter({ hasText: /^tock 79$/ });
    await poll(() => newest.count()).toBe(1);
    // In view: inside the list's visible box.
    const inView = async () => {
      const row = await newest.boundingBox();
      const list = await viewport.boundingBox();
      return !!row && !!list && row.y >= list.y - 1 && row.y + row.height <= list.y + list.height + 1;
    };
    await poll(inView).toBe(true);
    // Scrolled up again, the button brings the newest back.
    await page.mouse.wheel(0, -100_000);
    await page.getByRole('button', { name: /Jump to newest/ }).click();
    await poll(inView).toBe(true);
  }, 60_000);
});
