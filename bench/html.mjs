#!/usr/bin/env node
/**
 * The HTML report with many objects: builds pages of N objects (default 100K) in a few sites and in
 * many, and measures (median of 3) the page build in Node, the page's size, and in headless
 * Chromium the time to load it (until the load event: data parsed, icicle and first sites drawn)
 * and to open the biggest site (its first 100 objects rendered).
 * Needs `npm run build` (dist/) and /usr/bin/chromium.
 * Usage: node bench/html.mjs [--objects N]
 */
import { mkdtempSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { buildHtmlReport } from '../dist/report/html/page.js';

const args = process.argv.slice(2);
const N = args.includes('--objects') ? Number(args[args.indexOf('--objects') + 1]) : 100_000;

function report(n, siteCount) {
  const traces = [];
  for (let s = 0; s < siteCount; s++) {
    traces.push([0, 1, 2, 3, 4, 5].map((d) => ({ function: `fn_${s % 97}_${d}_${d < 2 ? s : 0}`, offset: 8, size: 64, file: `src/f${d}.c`, line: 10 + d })));
  }
  const leaks = [];
  const per = new Array(siteCount).fill(0);
  for (let i = 0; i < n; i++) {
    const s = Math.min(siteCount - 1, Math.floor(siteCount * (i / n) ** 2));
    per[s]++;
    leaks.push({ address: 0x10000 + i * 32, size: 32, kind: i % 3 ? 'indirect' : 'direct', site: s, hex: '41 42 43 44 00 00 00 00 10 20 30 40 50 60 70 80 41 42 43 44 00 00 00 00 10 20 30 40 50 60 70 80', backtrace: traces[s] });
  }
  const sites = per.map((c, s) => ({ id: s, title: `memory leak in ${traces[s][0].function}`, objects: c, bytes: c * 32, direct: Math.ceil(c / 3), indirect: c - Math.ceil(c / 3), retained: c * 32, backtrace: traces[s], suppressed: null, baseline: false }))
    .filter((s) => s.objects > 0).sort((a, b) => b.retained - a.retained);
  return { program: 'bench.wasm', leaks, sites, summary: { leaks: n, bytes: n * 32, sites: sites.length, direct: 0, indirect: 0 } };
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const tmp = mkdtempSync(join(tmpdir(), 'kml-html-bench-'));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  console.log(`# HTML report, ${N} objects; ${cpus()[0].model}, ${cpus().length} cores; ${new Date().toISOString()}`);
  for (const siteCount of [20, 10_000]) {
    const r = report(N, siteCount);
    const builds = [];
    let html = '';
    for (let k = 0; k < 3; k++) { const t = performance.now(); html = buildHtmlReport(r); builds.push(performance.now() - t); }
    const file = join(tmp, `r${siteCount}.html`);
    writeFileSync(file, html);
    const loads = [];
    const opens = [];
    for (let k = 0; k < 3; k++) {
      const page = await browser.newPage();
      const t0 = performance.now();
      await page.goto('file://' + file, { waitUntil: 'load' });
      loads.push(performance.now() - t0);
      const t1 = performance.now();
      await page.click('.site summary');
      await page.waitForSelector('.site .obj');
      opens.push(performance.now() - t1);
      await page.close();
    }
    console.log(`${r.sites.length} sites: build ${median(builds).toFixed(0)} ms, page ${(statSync(file).size / 1e6).toFixed(1)} MB, ` +
      `load ${median(loads).toFixed(0)} ms, open biggest site ${median(opens).toFixed(0)} ms`);
  }
} finally {
  await browser.close();
  rmSync(tmp, { recursive: true, force: true });
}
