#!/usr/bin/env node
/**
 * Bundles the embedding API (src/api/index.ts) for browsers: one ES module,
 * dist/browser/kmemleak.js (+ source map), with no Node module left in it.
 *
 * The API loads Node-only parts on demand (control sockets over node:net); here those imports
 * resolve to a stub that says so, so the bundle never references node:* modules.
 *
 * Usage: node scripts/bundle-browser.mjs [--outdir DIR] [--minify]
 * Prints the output path and size. Exit status 1 with a one-line message on failure.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';
import { statSync } from 'node:fs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outdir = args.includes('--outdir') ? args[args.indexOf('--outdir') + 1] : join(root, 'dist', 'browser');
const minify = args.includes('--minify');

/** Node-only modules of ours, replaced in the browser bundle. */
const nodeOnly = {
  name: 'kmemleak-node-only',
  setup(b) {
    b.onResolve({ filter: /\/control\/(server|threaded|client)\.js$/ }, (a) => ({ path: a.path, namespace: 'node-only' }));
    b.onLoad({ filter: /.*/, namespace: 'node-only' }, () => ({
      contents:
        "const no = () => { throw new Error('kmemleak: control sockets need Node (node:net); in a browser use handle.read()/write()'); };\n" +
        'export const serveControl = async () => no();\nexport const serveControlThreaded = async () => no();\n' +
        'export const controlRequest = async () => no();\nexport const controlCommand = async () => no();\n',
      loader: 'js',
    }));
    // Node's pthread worker bootstrap (src/api/threads/node-bootstrap.ts): never called in a browser.
    b.onResolve({ filter: /(^|\/)node-bootstrap\.js$/ }, (a) => ({ path: a.path, namespace: 'node-only-threads' }));
    b.onLoad({ filter: /.*/, namespace: 'node-only-threads' }, () => ({
      contents: "export const nodeThreadSetup = () => { throw new Error('kmemleak: node-bootstrap is Node-only'); };\n",
      loader: 'js',
    }));
    // Node's V8 flag (src/api/node-flags.ts, node:v8): only imported when running under Node.
    b.onResolve({ filter: /(^|\/)node-flags\.js$/ }, (a) => ({ path: a.path, namespace: 'node-only-flags' }));
    b.onLoad({ filter: /.*/, namespace: 'node-only-flags' }, () => ({
      contents: "export const keepBytecode = () => {};\n",
      loader: 'js',
    }));
    b.onResolve({ filter: /^(node:|fs$|path$)/ }, (a) => ({ errors: [{ text: `${a.path} imported by ${a.importer} cannot go into the browser bundle` }] }));
  },
};

try {
  const outfile = join(outdir, 'kmemleak.js');
  await build({
    entryPoints: [join(root, 'src', 'api', 'index.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110'],
    sourcemap: true,
    minify,
    legalComments: 'none',
    logLevel: 'silent',
    // source-map's lib/url.js falls back to require('url') only where no URL global exists.
    external: ['url'],
    plugins: [nodeOnly],
  });
  process.stdout.write(`${relative(process.cwd(), outfile)} ${statSync(outfile).size} bytes\n`);
} catch (e) {
  const first = e?.errors?.[0];
  process.stderr.write(`bundle-browser: ${first ? `${first.text}${first.location ? ` (${first.location.file}:${first.location.line})` : ''}` : String(e?.message ?? e).split('\n')[0]}\n`);
  process.exit(1);
}
