// Loads the bundled command line (dist/cli-bundle/main.cjs) with V8's code cache, so a start does
// not parse and compile ~500 KB of JavaScript again (~20 ms of every run's start-up, about half of
// it without the cache). Node 20 has no module compile cache, hence vm.Script and cachedData.
//
// The cache file lives beside the rewritten-module cache ($KMEMLEAK_CACHE_DIR, else
// $XDG_CACHE_HOME/kmemleak or ~/.cache/kmemleak; KMEMLEAK_CACHE=off disables it). Its name carries
// the bundle's size, mtime and inode and Node's version, because V8 checks only the source's
// length before trusting cached code. V8 rejects data that does not match (then it is rewritten);
// any failure to read or write it just means a slower start. A cache file owned by another user
// or writable by group or others (a shared KMEMLEAK_CACHE_DIR) is not read: it would be code.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

// The same directory rule as src/wasm/runtime/prepare-cache.ts (this file runs before the bundle
// that holds that code is loaded, so it cannot import it).
function cacheDir() {
  if (process.env.KMEMLEAK_CACHE === 'off') return null;
  if (process.env.KMEMLEAK_CACHE_DIR) return process.env.KMEMLEAK_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || path.join(require('node:os').homedir(), '.cache');
  return path.join(base, 'kmemleak');
}

// As makeCacheDir in src/wasm/runtime/cache-dir.ts: one level at a time, each tried once (Node's
// recursive mkdir spins forever where mkdir(2) says ENOENT under an existing parent, e.g. /proc).
function makeCacheDir(dir) {
  try { if (fs.statSync(dir).isDirectory()) return true; } catch { /* make it */ }
  const parent = path.dirname(dir);
  if (parent !== dir && !makeCacheDir(parent)) return false;
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
    return true;
  } catch (e) {
    try { return e.code === 'EEXIST' && fs.statSync(dir).isDirectory(); } catch { return false; }
  }
}

function writeAtomically(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    if (!makeCacheDir(path.dirname(file))) return;
    fs.writeFileSync(tmp, data, { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch {
    try { fs.unlinkSync(tmp); } catch { /* nothing to clean */ }
  }
}

/**
 * Evaluates the CommonJS bundle at `file` and returns its exports. programThread: on the program
 * thread (bin/program-worker.cjs), whose V8 flags differ, so its cached code is kept apart.
 */
function loadCli(file, programThread) {
  // ASCII (scripts/bundle-cli.mjs checks): latin1 is the cheapest decoding, to a one-byte string.
  const source = fs.readFileSync(file, 'latin1');
  const st = fs.statSync(file);
  const dir = cacheDir();
  // V8 rejects code cached under other flags: the program thread (bin/program-thread.cjs, which
  // sets GC flags) and the main thread (kmemleak ctl, KMEMLEAK_THREAD=off) keep a file each.
  const thread = programThread ? '-t' : '';
  const cacheFile = dir && path.join(dir, `cli-${process.version}-${st.size}-${Math.floor(st.mtimeMs)}-${st.ino}${thread}.v8`);
  let cachedData;
  if (cacheFile) {
    try {
      // Compiled code we would run: only from a file this user owns and nobody else can write.
      const cst = fs.statSync(cacheFile);
      const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
      if ((uid < 0 || cst.uid === uid) && (cst.mode & 0o022) === 0) {
        cachedData = fs.readFileSync(cacheFile);
        const now = new Date();
        fs.utimesSync(cacheFile, now, now);   // recently used: the cache's size bound removes the least recently used
      }
    } catch { /* first run */ }
  }
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  // The bundle has no import() left (scripts/bundle-cli.mjs): code from the cache could not run one.
  const script = new vm.Script(wrapped, { filename: file, cachedData });
  if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
    // At exit, so the cache also holds the functions this run compiled lazily.
    process.once('exit', () => writeAtomically(cacheFile, script.createCachedData()));
  }
  const mod = { exports: {} };
  // This file's require: the bundle requires only Node's built-ins, which resolve the same anywhere.
  script.runInThisContext()(mod.exports, require, mod, file, path.dirname(file));
  return mod.exports;
}

/**
 * Runs the command line with argv: the bundle when it is built, else the compiled modules
 * (dist/cli/main.js); process.exitCode is its status.
 */
function startCli(argv, programThread) {
  const root = path.join(__dirname, '..');
  const bundle = path.join(root, 'dist', 'cli-bundle', 'main.cjs');
  const modules = path.join(root, 'dist', 'cli', 'main.js');
  const load = async () => {
    if (fs.existsSync(bundle)) return loadCli(bundle, programThread).main;
    if (fs.existsSync(modules)) return (await import(require('node:url').pathToFileURL(modules).href)).main;
    process.stderr.write(`kmemleak: not built yet: run \`npm ci\` (or \`npm run build\`) in ${root}\n`);
    process.exit(2);
  };
  load().then((run) => run(argv)).then((code) => { process.exitCode = code; }, (e) => {
    process.stderr.write(`kmemleak: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 70;
  });
}

module.exports = { loadCli, startCli };
