// Bundles the command line (dist/cli/main.js and everything it imports) into dist/cli-bundle/:
// main.mjs plus chunks for what loads on demand (the control server, the control client, the
// source-map decoder). Why: Node resolves and compiles ~100 small ESM files in 70-180 ms; the
// bundle loads in ~20 ms, and start-up is most of what a short program pays for the detector.
// bin/kmemleak uses the bundle when it exists, else dist/cli/main.js.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// commander requires node:child_process at load time, for executable subcommands, which we do
// not use; loading it costs every start ~3 ms. Inside commander it becomes a proxy that loads the
// real module on first use.
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
  entryPoints: { main: root + 'dist/cli/main.js' },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  plugins: [lazyChildProcess],
  // commander is CommonJS and requires node built-ins: give the ESM bundle a require().
  banner: { js: "import { createRequire as __kmlCreateRequire } from 'node:module'; const require = __kmlCreateRequire(import.meta.url);" },
});
