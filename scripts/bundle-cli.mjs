// Bundles the command line (dist/cli/main.js and everything it imports) into one CommonJS file,
// dist/cli-bundle/main.cjs. Why: Node resolves and compiles ~100 small ESM files in 70-180 ms; the
// bundle loads in ~20 ms, and ~10 through V8's code cache, which only a classic script can use
// on Node 20 (bin/load-cli.cjs). Start-up is most of what a short program pays for the detector.
// What is rarely needed (the control server and client, the source-map decoder) is imported
// dynamically in the sources: the bundle initialises it on first use. bin/kmemleak uses the
// bundle when it exists, else dist/cli/main.js.
import { build } from 'esbuild';
import { copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// commander requires node:child_process at load time, for executable subcommands, which we do
// not use; loading it costs every start ~3 ms. Inside commander it becomes a proxy that loads the
// real module on first use.
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

const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^node:child_process$/ }, (args) =>
      args.importer.includes('/node_modules/commander/') ? { path: 'lazy-child-process', namespace: 'kml-lazy' } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'kml-lazy' }, () => ({
      contents: "let m; module.exports = new Proxy({}, { get: (_, k) => (m ??= require('node:child_process'))[k] });",
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
  plugins: [lazyChildProcess, builtinImportAsRequire],
  // The sources are ESM: import.meta.url (main.ts finds package.json with it) is the bundle's URL.
  define: { 'import.meta.url': '__kmlBundleUrl' },
  banner: { js: "const __kmlBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
});
// The source-map package reads its wasm decoder from beside its own code (`__dirname`), which in
// the bundle is dist/cli-bundle/.
const require = createRequire(import.meta.url);
copyFileSync(require.resolve('source-map/lib/mappings.wasm'), outdir + '/mappings.wasm');
