/**
 * The HTML report (src/report/html/) in Debian's headless Chromium, driven by playwright-core as
 * test/browser/demo.test.ts does: a page of 100K objects loads from a file with no console error,
 * the biggest site comes first, the icicle graph has one box per frame of that site (highlighted
 * when it is opened), opening a site renders its objects (a page of them), the filter box filters.
 * Also `kmemleak report --html` on syzkaller's kernel logs. Needs /usr/bin/chromium; without it the
 * suite is skipped with a loud message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildHtmlReport } from '../../src/report/html/page.js';
import type { ViewInput } from '../../src/report/html/view.js';
import { cli, ROOT } from '../cli/helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`\n*** SKIPPING the HTML report browser test: ${CHROMIUM} is missing (apt-get install -y chromium) ***\n`);
}

const frame = (fn: string, line: number) => ({ function: fn, offset: 8, size: 64, file: `src/${fn}.c`, line });
/** Three sites; the middle one in leak order retains the most; 100K objects in all. */
function bigReport(): ViewInput & { sites: ViewInput['sites'] } {
  const traces = [
    [frame('make_small', 3), frame('handle_request', 40), frame('main', 9)],
    [frame('grow_table', 12), frame('table_insert', 30), frame('load_config', 5), frame('main', 11)],
    [frame('dup_name', 7), frame('main', 13)],
  ];
  const leaks: ViewInput['leaks'][number][] = [];
  const counts = [60_000, 39_000, 1_000];
  const sizes = [16, 64, 24];
  counts.forEach((n, s) => {
    for (let i = 0; i < n; i++) {
      leaks.push({ address: 0x10000 + leaks.length * 16, size: sizes[s], kind: 'direct', site: s, hex: '41 42 43 00 ff 10', backtrace: traces[s] });
    }
  });
  const site = (s: number, title: string) => ({
    id: s, title, objects: counts[s], bytes: counts[s] * sizes[s], direct: counts[s], indirect: 0, retained: counts[s] * sizes[s],
    backtrace: traces[s], suppressed: null, baseline: false,
  });
  const sites = [site(1, 'memory leak in grow_table'), site(0, 'memory leak in make_small'), site(2, 'memory leak in dup_name')];
  const bytes = sites.reduce((a, s) => a + s.bytes, 0);
  return { program: 'big.wasm', leaks, sites, summary: { leaks: leaks.length, bytes, sites: 3, direct: leaks.length, indirect: 0, suppressed: { objects: 0, bytes: 0 } } };
}

describe.skipIf(!haveChromium)('HTML report in headless Chromium', () => {
  let tmp = '';
  let browser: Browser | null = null;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kml-html-'));
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'], timeout: 60_000 });
    page = await browser.newPage();
    page.setDefaultTimeout(30_000);
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('shows 100K objects: biggest site first, one box per frame, objects on opening, filtering', async () => {
    const file = path.join(tmp, 'big.html');
    const report = bigReport();
    fs.writeFileSync(file, buildHtmlReport(report));
    await page.goto('file://' + file, { waitUntil: 'load' });
    expect(await page.textContent('#summary')).toBe('3,480,000 bytes in 100,000 objects at 3 sites (100,000 direct, 0 indirect)');
    const titles = await page.$$eval('.site .title', (els) => els.map((e) => e.textContent));
    expect(titles).toEqual(['memory leak in grow_table', 'memory leak in make_small', 'memory leak in dup_name']);
    // Nothing of a site's objects exists until it is opened.
    expect(await page.$$eval('.obj', (els) => els.length)).toBe(0);

    // The biggest site is highlighted: its frames, outermost first, one box each.
    const lit = await page.$$eval('#flame .box.hl', (els) => els.map((e) => e.textContent));
    expect(lit).toEqual(['main', 'load_config', 'table_insert', 'grow_table']);
    // A box per distinct path node: all, main, 3 second-level frames, and the rest of each path.
    expect(await page.$$eval('#flame .box', (els) => els.length)).toBe(1 + 1 + 3 + 2 + 1);

    await page.click('.site[data-site="0"] summary');
    await page.waitForSelector('.site[data-site="0"] .obj');   // drawn on the (asynchronous) toggle event
    expect(await page.$$eval('.site[data-site="0"] .obj', (els) => els.length)).toBe(100);
    const first = await page.textContent('.site[data-site="0"] .obj');
    expect(first).toContain('unreferenced object 0x');
    expect(first).toContain('(size 64), direct');
    expect(await page.textContent('.site[data-site="0"] .obj pre.hex')).toBe('41 42 43 00 ff 10' + ' '.repeat(32) + 'ABC...\n');
    expect(await page.textContent('.site[data-site="0"] .obj ol.frames')).toContain('table_insert src/table_insert.c:30');
    await page.click('.site[data-site="0"] button.more');
    expect(await page.$$eval('.site[data-site="0"] .obj', (els) => els.length)).toBe(200);

    await page.fill('#filter', 'dup_name');
    await page.waitForFunction(() => document.querySelectorAll('.site').length === 1);
    expect(await page.textContent('.site .title')).toBe('memory leak in dup_name');
    expect(await page.textContent('#count')).toBe('1 of 3 sites');
    await page.fill('#filter', 'handle_request.c');
    await page.waitForFunction(() => document.querySelector('.site .title')?.textContent === 'memory leak in make_small');
    await page.fill('#filter', '');
    await page.waitForFunction(() => document.querySelectorAll('.site').length === 3);
    expect(errors).toEqual([]);
  });

  it("kmemleak report --html on syzkaller's logs: kinds unknown, biggest site first, no console errors", async () => {
    const file = path.join(tmp, 'kernel.html');
    const dir = path.join(ROOT, 'test/fixtures/kernel-reports');
    const logs = fs.readdirSync(dir).filter((f) => f.endsWith('.txt')).map((f) => path.join(dir, f));
    const r = await cli(['report', '--html', '-o', file, ...logs]);
    expect(r.err).toBe('');
    expect(r.code).toBe(23);
    await page.goto('file://' + file, { waitUntil: 'load' });
    expect(await page.textContent('#summary')).toBe('8,844 bytes in 13 objects at 13 sites (kinds unknown: the report has no pointer graph)');
    const first = await page.$eval('.site', (e) => [e.querySelector('.title')!.textContent, e.querySelector('.counts')!.textContent]);
    expect(first[1]).toMatch(/^1 object, 2,048 bytes \(kinds unknown/);
    expect(['memory leak in map_create', 'memory leak in eth_rx_fill']).toContain(first[0]);
    expect(errors).toEqual([]);
  });

  it('kmemleak run --html: the demo program\'s leaks by retained bytes, with kinds, file:line frames', async () => {
    const file = path.join(tmp, 'run.html');
    const r = await cli(['run', '--html', file, '--report', path.join(tmp, 'run.txt'), path.join(ROOT, 'examples/leaks.wasm')]);
    expect(r.code).toBe(23);
    await page.goto('file://' + file, { waitUntil: 'load' });
    expect(await page.textContent('#summary')).toBe('252 bytes in 6 objects at 3 sites (3 direct, 3 indirect)');
    expect(await page.$$eval('.site .title', (els) => els.map((e) => e.textContent))).toEqual([
      'memory leak in make_greeting', 'memory leak in make_cycle', 'memory leak in build_list',
    ]);
    expect(await page.$$eval('#flame .box.hl', (els) => els.map((e) => e.textContent))).toEqual([
      '_start.command_export', '_start', '__original_main', 'make_greeting',
    ]);
    await page.click('.site[data-site="2"] summary');
    await page.waitForSelector('.site[data-site="2"] .objhead');   // drawn on the (asynchronous) toggle event
    expect(await page.$$eval('.site[data-site="2"] .objhead', (els) => els.map((e) => e.textContent!.replace(/0x[0-9a-f]+/, 'ADDR')))).toEqual([
      // allocation order: build_list prepends, so the last node allocated is the head, the one nothing reported points to
      'unreferenced object ADDR (size 24), indirect', 'unreferenced object ADDR (size 24), indirect', 'unreferenced object ADDR (size 24), direct',
    ]);
    expect(await page.textContent('.site[data-site="2"] ol.frames')).toContain('build_list leaks.c:38');
    expect(errors).toEqual([]);
  });
});
