// The browser demo: instantiate leaky.wasm through kmemleak, run it on the WASI shim, scan at
// exit, show the report, and the HTML report's view of it (the page `kmemleak run --html` writes)
// in an iframe, redrawn after each scan. kmemleak.js is the browser bundle (node scripts/bundle-browser.mjs),
// served next to this page by scripts/serve-demo.mjs. window.demo holds the last run's results
// (the end-to-end test reads it).
import kmemleak, { WasiShim } from './kmemleak.js';

const $ = (id) => document.getElementById(id);

async function run(count) {
  $('output').textContent = '';
  $('log').textContent = '';
  $('report').textContent = '(running)';
  const shim = new WasiShim({
    args: ['leaky', String(count)],
    stdout: (t) => ($('output').textContent += t),
    stderr: (t) => ($('output').textContent += t),
  });
  const k = await kmemleak.instantiate(fetch('leaky.wasm'), shim.importObject(), {
    scan: 'off',
    log: (line) => ($('log').textContent += line + '\n'),
    reportLocation: 'the report below',
  });
  const status = shim.start(k.instance);
  // kmemleak's exit scan: minimum age 0, after the program's exit handlers ran.
  const found = await k.exitScan();
  show(k);
  window.demo = { done: true, status, found, leaks: k.leaks(), report: k.read(), output: $('output').textContent };
  $('scan').onclick = async () => {
    const n = await k.scan();
    show(k);
    window.demo = { ...window.demo, rescanned: n, report: k.read() };
  };
  return k;
}

function show(k) {
  const text = k.read();
  $('report').textContent = text || '(no leaks)';
  $('view').srcdoc = kmemleak.htmlReport(k, 'leaky.wasm');
}

$('run').onclick = () => run(Number($('count').value) || 0).catch(fail);

function fail(e) {
  $('report').textContent = `error: ${e && e.message ? e.message : e}`;
  window.demo = { done: true, error: String(e && e.message ? e.message : e) };
}

run(6).catch(fail);
