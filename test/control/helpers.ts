/**
 * Test helpers for the control socket: fresh socket paths in a private temp directory (short
 * enough for the 107-byte Unix socket limit), and bundling a TypeScript entry with esbuild so a
 * child node process can run our sources without a prior tsc build.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';

export function tempDir(prefix = 'kml-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Bundles entry (a .ts file) to an ESM .mjs file for node and returns its path. */
export async function bundleForNode(entry: string, outDir: string): Promise<string> {
  const out = path.join(outDir, path.basename(entry).replace(/\.ts$/, '.mjs'));
  await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return out;
}
