// Bundles the command line (dist/cli/main.js and everything it imports) into one file,
// dist/kmemleak-cli.mjs. Why: Node resolves and compiles ~100 small ESM files in 70-180 ms; the
// bundle loads in ~20 ms, and start-up is most of what a short program pays for the detector.
// bin/kmemleak uses the bundle when it exists, else dist/cli/main.js.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  entryPoints: [root + 'dist/cli/main.js'],
  outfile: root + 'dist/kmemleak-cli.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  // commander is CommonJS and requires node built-ins: give the ESM bundle a require().
  banner: { js: "import { createRequire as __kmlCreateRequire } from 'node:module'; const require = __kmlCreateRequire(import.meta.url);" },
});
