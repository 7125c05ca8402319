/**
 * Test helpers for the command line: run `main` in-process with captured output, or as a child
 * process exactly as bin/kmemleak runs it, from the current sources (bundled with esbuild, so no
 * prior `npm run build` is needed and a stale dist/ cannot be what is tested).
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { main } from '../../src/cli/main.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/runtime/${name}`, import.meta.url));

export async function cli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => { out += t; }, err: (t) => { err += t; } }, env);
  return { code, out, err };
}

let bundled: string | null = null;

/** Bundles test/cli/entry.ts (main from src/) once per test file; returns the .mjs path. */
export async function bundleCli(): Promise<string> {
  if (bundled) return bundled;
  const out = join(mkdtempSync(join(tmpdir(), 'kml-cli-')), 'kmemleak.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./entry.ts', import.meta.url))],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  bundled = out;
  return out;
}

export function spawnCli(entry: string, argv: string[], opts: SpawnSyncOptions = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [entry, ...argv], { encoding: 'utf8', cwd: ROOT, timeout: 60_000, ...opts });
  return { code: r.status, out: String(r.stdout ?? ''), err: String(r.stderr ?? '') };
}
