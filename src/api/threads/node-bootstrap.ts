/**
 * Node's side of reaching pthread workers (glue-hooks.ts): the Worker class to patch, the worker
 * bootstrap as a .cjs file in the OS's temporary directory (written once per content: its name
 * carries the content's hash; written to a temporary name and renamed, so concurrent processes
 * never load a half-written file), and absolute paths for the real worker script.
 * Node-only: loaded on demand, and replaced by a stub in the browser bundle
 * (scripts/bundle-browser.mjs).
 */
import { createHash } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { workerBootstrapSource } from './worker-source.js';

let written: string | null = null;

export function nodeThreadSetup(): { workerClass: unknown; bootstrap: string; absolute(p: string): string } {
  if (!written) {
    const text = workerBootstrapSource();
    const file = join(tmpdir(), `kmemleak-pthread-worker-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.cjs`);
    if (!existsSync(file)) {
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, text);
      renameSync(tmp, file);
    }
    written = file;
  }
  return { workerClass: Worker, bootstrap: written, absolute: (p) => resolve(p) };
}
