#!/usr/bin/env node
/**
 * Serves the browser demo: examples/browser/ plus the browser bundle (dist/browser/kmemleak.js,
 * from scripts/bundle-browser.mjs) at the same root, on localhost only.
 *
 * Usage: node scripts/serve-demo.mjs [--port N]   (then open the printed URL)
 * Also imported by the end-to-end test: startDemoServer({ bundleDir, port }) -> { url, close() }.
 * Only files directly in the two folders are served (no directory traversal); wasm is served as
 * application/wasm, so instantiateStreaming works.
 */
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { basename, dirname, extname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.c': 'text/plain; charset=utf-8',
};

export async function startDemoServer({ bundleDir = join(root, 'dist', 'browser'), demoDir = join(root, 'examples', 'browser'), port = 0 } = {}) {
  const server = http.createServer(async (req, res) => {
    const name = basename(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)) || 'index.html';
    const dirs = name.startsWith('kmemleak.js') ? [bundleDir] : [demoDir];
    for (const d of dirs) {
      try {
        const body = await readFile(join(d, name));
        res.writeHead(200, { 'content-type': TYPES[extname(name)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
        res.end(body);
        return;
      } catch {
        /* next */
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: p } = server.address();
  return {
    url: `http://127.0.0.1:${p}/`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const port = args.includes('--port') ? Number(args[args.indexOf('--port') + 1]) : 8080;
  startDemoServer({ port }).then(
    (s) => process.stdout.write(`kmemleak demo: ${s.url} (bundle: node scripts/bundle-browser.mjs)\n`),
    (e) => {
      process.stderr.write(`serve-demo: ${e.message}\n`);
      process.exit(1);
    },
  );
}
