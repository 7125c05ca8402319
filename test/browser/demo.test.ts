/**
 * End to end in a real browser: the library bundled for browsers (scripts/bundle-browser.mjs),
 * the demo page (examples/browser/) served from localhost (scripts/serve-demo.mjs), Debian's
 * headless Chromium driven by playwright-core. The page instantiates leaky.wasm through
 * kmemleak, runs it on the WASI shim, scans at exit and shows the report.
 *
 * Bounded and self-cleaning: every wait has a timeout, the browser gets a fresh profile directory,
 * and the server, browser and temporary directories are removed in afterAll.
 * Needs /usr/bin/chromium (apt-get install -y chromium); without it the suite is skipped with a
 * loud message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const root = path.join(__dirname, '..', '..');
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`\n*** SKIPPING the browser end-to-end test: ${CHROMIUM} is missing (apt-get install -y chromium) ***\n`);
}

interface DemoResult {
  done: boolean;
  error?: string;
  status: number;
  found: number;
  report: string;
  output: string;
  leaks: Array<{ size: number; comm: string; backtrace?: Array<{ function: string | null }> }>;
  rescanned?: number;
}

describe.skipIf(!haveChromium)('browser demo in headless Chromium', () => {
  let tmp = '';
  let server: { url: string; close(): Promise<void> } | null = null;
  let context: BrowserContext | null = null;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kml-browser-'));
    const bundleDir = path.join(tmp, 'bundle');
    execFileSync(process.execPath, [path.join(root, 'scripts', 'bundle-browser.mjs'), '--outdir', bundleDir], { timeout: 60_000 });
    const { startDemoServer } = (await import(path.join(root, 'scripts', 'serve-demo.mjs'))) as {
      startDemoServer(o: { bundleDir: string }): Promise<{ url: string; close(): Promise<void> }>;
    };
    server = await startDemoServer({ bundleDir });
    context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      timeout: 60_000,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(30_000);
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
  }, 120_000);

  afterAll(async () => {
    await context?.close().catch(() => {});
    await server?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  async function result(): Promise<DemoResult> {
    await page.waitForFunction(() => (window as unknown as { demo?: { done?: boolean } }).demo?.done === true, null, {
      timeout: 30_000,
    });
    return page.evaluate(() => (window as unknown as { demo: DemoResult }).demo);
  }

  it('loads the leaky module, runs it, scans and shows the report', async () => {
    await page.goto(server!.url, { waitUntil: 'load' });
    const r = await result();
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.output).toBe('kept 3 entries, lost 3\n');
    // The three lost entries and their three name buffers.
    expect(r.found).toBe(6);
    expect(r.leaks.filter((l) => l.size === 12).length).toBe(3);
    for (const l of r.leaks) {
      expect(l.comm).toBe('_start');
      expect(l.backtrace!.map((f) => f.function)).toContain('new_entry');
    }
    const shown = await page.textContent('#report');
    expect(shown).toBe(r.report);
    expect(shown).toMatch(/^unreferenced object 0x[0-9a-f]{8} \(size 12\):\n {2}comm "_start", pid 1, jiffies \d+\n {2}hex dump/);
    expect(shown).toMatch(/\n {4}new_entry\+0x[0-9a-f]+\/0x[0-9a-f]+/);
    expect(await page.textContent('#log')).toMatch(/kmemleak: 6 new suspected memory leaks \(see the report below\)/);
    expect(consoleErrors).toEqual([]);
  });

  /** The HTML report's page in the demo's iframe (srcdoc), once it has drawn its sites. */
  async function view() {
    await page.waitForFunction(() => {
      const d = (document.getElementById('view') as HTMLIFrameElement | null)?.contentDocument;
      return !!d && d.querySelectorAll('.site').length > 0;
    });
    return page.frame({ url: 'about:srcdoc' })!;
  }

  it('shows the same leaks in the HTML report view: sites by retained bytes, the biggest highlighted in the icicle', async () => {
    const f = await view();
    // the lost entries (direct, each retaining its name) before their names (indirect only)
    const titles = await f.$$eval('.site .title', (els) => els.map((e) => e.textContent));
    expect(titles[0]).toBe('memory leak in new_entry');
    expect(await f.textContent('.site .counts')).toMatch(/^3 objects, 36 bytes \(3 direct, 0 indirect\), retained \d+ bytes$/);
    expect(await f.textContent('#summary')).toMatch(/ in 6 objects at 2 sites \(3 direct, 3 indirect\)$/);
    const r = await page.evaluate(() => (window as unknown as { demo: DemoResult }).demo);
    const site0 = r.leaks.find((l) => l.size === 12)!.backtrace!.map((b) => b.function);
    expect(await f.$$eval('#flame .box.hl', (els) => els.map((e) => e.textContent))).toEqual(site0.slice().reverse());
    await f.click('.site summary');
    await f.waitForSelector('.site .obj');   // drawn on the (asynchronous) toggle event
    expect(await f.$$eval('.site .obj', (els) => els.length)).toBe(3);
    expect(consoleErrors).toEqual([]);
  });

  it('runs again with another count from the page, and rescans on demand', async () => {
    await page.fill('#count', '10');
    await page.evaluate(() => {
      (window as unknown as { demo?: unknown }).demo = undefined;
    });
    await page.click('#run');
    const r = await result();
    expect(r.output).toBe('kept 5 entries, lost 5\n');
    expect(r.found).toBe(10);
    await page.click('#scan');
    await page.waitForFunction(() => (window as unknown as { demo: DemoResult }).demo.rescanned !== undefined, null, { timeout: 30_000 });
    const again = await page.evaluate(() => (window as unknown as { demo: DemoResult }).demo);
    expect(again.rescanned).toBe(0); // report-once: nothing new
    expect(again.report).toBe(r.report);
    // the view was redrawn for this run's 10 leaks
    await page.waitForFunction(() =>
      /in 10 objects at/.test((document.getElementById('view') as HTMLIFrameElement).contentDocument?.getElementById('summary')?.textContent ?? ''));
    expect(consoleErrors).toEqual([]);
  });
});
