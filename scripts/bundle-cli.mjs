// Bundles the command line (dist/cli/main.js and everything it imports) into one CommonJS file,
// dist/cli-bundle/main.cjs. Why: Node resolves and compiles ~100 small ESM files in 70-180 ms; the
// bundle loads in ~20 ms, and ~10 through V8's code cache, which only a classic script can use
// on Node 20 (bin/load-cli.cjs). Start-up is most of what a short program pays for the detector.
// What is rarely needed (the control server and client, the source-map decoder) is imported
// dynamically in the sources: the bundle initialises it on first use. bin/kmemleak uses the
// bundle when it exists, else dist/cli/main.js.
import { build } from 'esbuild';
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const requireHere = createRequire(import.meta.url);

// A Node built-in imported dynamically (node:wasi: it warns when loaded) stays an import() in a
// CommonJS bundle, which code from V8's cache cannot run (no dynamic-import host callback): make it
// a require() inside the bundle.
const builtinImportAsRequire = {
  name: 'builtin-import-as-require',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path, namespace: 'kml-builtin' } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'kml-builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

// Node built-ins that a run may never need, loaded on first use: inside the bundle each becomes
// a module of getters, one per export, that require the real module when one is first read (the
// names are this Node's, read here; esbuild's __toESM copies them as getters, so named and
// namespace imports both stay lazy). Loading them all at start cost every run ~15 ms
// (worker_threads, tty and crypto pull in node's streams): worker_threads is needed only for a
// control file or a program that waits for input, tty and net only then, child_process never
// (commander's executable subcommands, which we do not use).
const LAZY_BUILTINS = ['node:child_process', 'node:worker_threads', 'node:tty', 'node:net', 'node:os', 'node:v8', 'node:crypto'];
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_]+$/ }, (args) => {
      const name = args.path.startsWith('node:') ? args.path : 'node:' + args.path;
      if (args.kind === 'dynamic-import' || !LAZY_BUILTINS.includes(name)) return undefined;
      if (args.namespace === 'kml-lazy') return { path: name, external: true };   // the getters' own require
      return { path: name, namespace: 'kml-lazy' };
    });
    b.onLoad({ filter: /.*/, namespace: 'kml-lazy' }, (args) => ({
      contents: `let m; const real = () => (m ??= require(${JSON.stringify(args.path)}));
for (const k of ${JSON.stringify(Object.keys(requireHere(args.path)))}) Object.defineProperty(exports, k, { get: () => real()[k], enumerable: true });`,
      loader: 'js',
    }));
  },
};
const outdir = root + 'dist/cli-bundle';
rmSync(outdir, { recursive: true, force: true });
rmSync(root + 'dist/kmemleak-cli.mjs', { force: true }); // the single-file bundle of earlier builds
await build({
  entryPoints: [root + 'dist/cli/main.js'],
  outfile: outdir + '/main.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  plugins: [lazyBuiltins, builtinImportAsRequire],
  // The sources are ESM: import.meta.url (main.ts finds package.json with it) is the bundle's URL.
  define: { 'import.meta.url': '__kmlBundleUrl' },
  banner: { js: "const __kmlBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  // Every start reads the whole file and V8 checks its code cache against it: ~800 KB as written,
  // ~500 KB without comments and indentation (names are kept: stack traces stay readable). ASCII
  // (esbuild escapes the rest), so bin/load-cli.cjs reads it as latin1 into a one-byte string:
  // one non-ASCII byte made Node decode UTF-8 into a two-byte string (~5 ms a start).
  minifyWhitespace: true,
  minifySyntax: true,
  charset: 'ascii',
});
if (/[^\x00-\x7f]/.test(readFileSync(outdir + '/main.cjs', 'latin1'))) throw new Error('bundle-cli: dist/cli-bundle/main.cjs is not ASCII (bin/load-cli.cjs reads it as latin1)');
// The source-map package reads its wasm decoder from beside its own code (`__dirname`), which in
// the bundle is dist/cli-bundle/.
copyFileSync(requireHere.resolve('source-map/lib/mappings.wasm'), outdir + '/mappings.wasm');
