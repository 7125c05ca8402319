// Costs of the embedding API (src/api): export wrappers (comm, safe points), and real npm
// packages run instrumented vs plain: sql.js (debug build) and web-tree-sitter (debug build).
// Each configuration runs in its own node process (both libraries keep one module per process);
// medians of N runs.
//   npx tsc -p tsconfig.json && node bench/api.mjs [--runs 5]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const require = createRequire(import.meta.url);
const api = pathToFileURL(path.join(root, 'dist', 'api', 'index.js')).href;
const argv = process.argv.slice(2);
const runs = Number(argv.includes('--runs') ? argv[argv.indexOf('--runs') + 1] : 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const now = () => performance.now();

async function child(kind, detector) {
  const kmemleak = detector ? await import(api) : null;
  const out = {};
  if (kind === 'calls') {
    const bytes = readFileSync(path.join(root, 'test', 'api', 'fixtures', 'leaky.wasm'));
    const imports = { host: { callback: () => {} } };
    const ex = detector
      ? (await kmemleak.instantiate(bytes, imports, { scan: 'off', log: () => {} })).exports
      : (await WebAssembly.instantiate(bytes, imports)).instance.exports;
    ex._initialize();
    const N = 2_000_000;
    let s = 0;
    for (let i = 0; i < 100_000; i++) s += ex.banner_char(i); // warm-up
    const t = now();
    for (let i = 0; i < N; i++) s += ex.banner_char(i);
    out.nsPerCall = ((now() - t) * 1e6) / N;
    out.check = s;
  } else if (kind === 'sqljs') {
    const initSqlJs = require('sql.js/dist/sql-wasm-debug.js');
    const wasm = readFileSync(require.resolve('sql.js/dist/sql-wasm-debug.wasm'));
    let k = null;
    const t0 = now();
    const SQL = detector
      ? ((r) => ((k = r.kmemleak), r.module))(await kmemleak.emscripten(initSqlJs, { wasm, scan: 'off', log: () => {} }))
      : await initSqlJs({ wasmBinary: wasm });
    out.initMs = now() - t0;
    const db = new SQL.Database();
    const t1 = now();
    db.run('CREATE TABLE t(a INTEGER, b TEXT)');
    const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
    for (let i = 0; i < 10_000; i++) ins.run([i, 'value ' + i]);
    ins.free();
    const sel = db.prepare('SELECT sum(a), count(b) FROM t WHERE b LIKE ?');
    for (let i = 0; i < 50; i++) { sel.bind(['%' + i + '%']); sel.step(); sel.reset(); }
    sel.free();
    out.workMs = now() - t1;
    if (k) {
      const t2 = now();
      await k.scan();
      out.scanMs = now() - t2;
      out.objects = k.engine.stats().liveObjects;
    }
    db.close();
  } else if (kind === 'treesitter') {
    const { Parser, Language } = await import('web-tree-sitter/debug');
    const wasm = readFileSync(require.resolve('web-tree-sitter/debug/web-tree-sitter.wasm'));
    let k = null;
    const t0 = now();
    await Parser.init(detector ? { instantiateWasm: kmemleak.instantiateWasmHook(wasm, { scan: 'off', log: () => {} }, (h) => (k = h)) } : { wasmBinary: wasm });
    out.initMs = now() - t0;
    const json = await Language.load(readFileSync(path.join(path.dirname(require.resolve('tree-sitter-json/package.json')), 'tree-sitter-json.wasm')));
    const p = new Parser();
    p.setLanguage(json);
    const doc = JSON.stringify(Array.from({ length: 800 }, (_, i) => ({ id: i, name: 'n' + i, tags: ['a', 'b', i], nested: { x: i / 3 } })));
    const t1 = now();
    for (let i = 0; i < 3; i++) p.parse(doc).delete();
    out.workMs = now() - t1;
    out.docKiB = Math.round(doc.length / 1024);
    if (k) {
      const t2 = now();
      await k.scan();
      out.scanMs = now() - t2;
    }
    p.delete();
  }
  process.stdout.write(JSON.stringify(out));
}

if (argv[0] === '--child') {
  await child(argv[1], argv[2] === 'on');
} else {
  const rows = {};
  for (let r = 0; r < runs; r++) {
    for (const kind of ['calls', 'sqljs', 'treesitter']) {
      for (const mode of ['off', 'on']) {
        const res = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', kind, mode], { cwd: root, encoding: 'utf8' });
        if (res.status !== 0) throw new Error(`${kind} ${mode}: ${res.stderr.split('\n')[0]}`);
        const key = `${kind} ${mode}`;
        const v = JSON.parse(res.stdout);
        rows[key] ??= {};
        for (const [f, x] of Object.entries(v)) (rows[key][f] ??= []).push(x);
      }
    }
  }
  for (const [key, fields] of Object.entries(rows)) {
    process.stdout.write(key + ': ' + Object.entries(fields).map(([f, xs]) => `${f}=${Number(median(xs)).toFixed(2)}`).join(' ') + '\n');
  }
}
