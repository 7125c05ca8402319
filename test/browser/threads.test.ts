/**
 * Emscripten -pthread programs under the detector in a browser (issue 18): a cross-origin
 * isolated page (COOP + COEP headers, so SharedArrayBuffer and shared memories exist), served
 * from localhost by a small server here, Debian's headless Chromium driven by playwright-core.
 * The page loads the browser bundle (scripts/bundle-browser.mjs) and the committed fixture
 * test/fixtures/emscripten-pthread/scenarios.{js,wasm,worker.js}, runs one scenario through
 * kmemleak.emscripten() (the workers get the bootstrap as a blob URL), and at the program's exit
 * runs the exit scan and publishes the leaks. The browser's main thread cannot block in
 * Atomics.wait: its pthread_join busy-waits on Emscripten's clock, where the detector replays the
 * other threads' events.
 * Bounded and self-cleaning as demo.test.ts; needs /usr/bin/chromium (skipped loudly without).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const root = path.join(__dirname, '..', '..');
const fixture = path.join(root, 'test', 'fixtures', 'emscripten-pthread');
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`\n*** SKIPPING the browser threads test: ${CHROMIUM} is missing (apt-get install -y chromium) ***\n`);
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>threads</title>
<script src="/scenarios.js"></script>
<script type="module">
import kmemleak from '/kmemleak.js';
const mode = new URLSearchParams(location.search).get('mode');
const result = { done: false, output: '', detector: [], leaks: [], status: -1, isolated: crossOriginIsolated };
window.result = result;
let k = null;
try {
  const wasm = await (await fetch('/scenarios.wasm')).arrayBuffer();
  const { module, kmemleak: h } = await kmemleak.emscripten(createScenarios, {
    wasm, scan: 'off', minAgeMs: 0, log: (l) => result.detector.push(l),
    moduleArg: {
      noInitialRun: true,
      print: (t) => { result.output += t + '\\n'; },
      onExit: (code) => {
        result.status = code;
        result.exitScan = k.engine.exitScan();
        result.leaks = k.leaks().map((l) => ({ size: l.size, comm: l.comm, pid: l.pid, frames: l.backtrace.map((f) => f.function) }));
        result.done = true;
      },
    },
  });
  k = h;
  try { module.callMain([mode]); } catch (e) { if (!(e && e.name === 'ExitStatus')) throw e; }
} catch (e) {
  result.error = String(e && e.stack || e);
  result.done = true;
}
</script>`;

describe.skipIf(!haveChromium)('Emscripten -pthread in headless Chromium (cross-origin isolated)', () => {
  let tmp = '';
  let server: http.Server | null = null;
  let base = '';
  let context: BrowserContext | null = null;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kml-browser-threads-'));
    execFileSync(process.execPath, [path.join(root, 'scripts', 'bundle-browser.mjs'), '--outdir', tmp], { timeout: 60_000 });
    const files: Record<string, [string, string]> = {
      '/': [PAGE, 'text/html'],
      '/kmemleak.js': [path.join(tmp, 'kmemleak.js'), 'text/javascript'],
      '/scenarios.js': [path.join(fixture, 'scenarios.js'), 'text/javascript'],
      '/scenarios.worker.js': [path.join(fixture, 'scenarios.worker.js'), 'text/javascript'],
      '/scenarios.wasm': [path.join(fixture, 'scenarios.wasm'), 'application/wasm'],
    };
    server = http.createServer((req, res) => {
      const at = new URL(req.url ?? '/', 'http://x').pathname;
      if (at === '/favicon.ico') { res.writeHead(204).end(); return; }
      const f = files[at];
      if (!f) { res.writeHead(404).end(); return; }
      res.writeHead(200, {
        'content-type': f[1],
        // cross-origin isolation: SharedArrayBuffer and shared WebAssembly memories
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
        'cross-origin-resource-policy': 'same-origin',
      });
      res.end(f[0] === PAGE ? PAGE : fs.readFileSync(f[0]));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), { executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 60_000 });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(30_000);
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
  }, 120_000);

  afterAll(async () => {
    await context?.close().catch(() => {});
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  interface Result { done: boolean; error?: string; isolated: boolean; output: string; status: number; exitScan: number; detector: string[];
    leaks: Array<{ size: number; comm: string; pid: number; frames: string[] }> }

  async function run(mode: string): Promise<Result> {
    await page.goto(`${base}/?mode=${mode}`, { waitUntil: 'load' });
    await page.waitForFunction(() => (window as unknown as { result?: { done?: boolean } }).result?.done === true, null, { timeout: 60_000 });
    return page.evaluate(() => (window as unknown as { result: Result }).result);
  }

  it('producer/consumer across workers: the 4 dropped blocks, with the producer thread\'s pid and comm', async () => {
    const r = await run('handoff');
    expect(r.error).toBeUndefined();
    expect(r.isolated).toBe(true);
    expect(r.output).toBe('handoff: 400 items, 4 dropped\n');
    expect(r.status).toBe(0);
    expect(r.detector.filter((l) => !/^kmemleak: \d+ new suspected memory leaks/.test(l))).toEqual([]);
    expect(r.leaks.map((l) => l.size).sort()).toEqual([163, 263, 363, 463]);
    for (const l of r.leaks) expect(l).toMatchObject({ comm: 'producer', frames: ['producer'] });
    expect(new Set(r.leaks.map((l) => l.pid)).size).toBe(1);
    expect(r.leaks[0]!.pid).toBeGreaterThan(1);
    expect(consoleErrors).toEqual([]);
  }, 90_000);

  it('a scan while a thread waits, from the browser\'s main thread (no Atomics.wait there)', async () => {
    const r = await run('blocked');
    expect(r.error).toBeUndefined();
    expect(r.output).toBe('blocked: scan while a thread waits found 5\n');
    expect(r.exitScan).toBe(0);
    expect(r.leaks.map((l) => l.size)).toEqual([300, 302, 304, 306, 308]);
    expect(consoleErrors).toEqual([]);
  }, 90_000);
});
