/**
 * Runs a fixture under the runtime in-process: the program's stdout and stderr go to temp files
 * (read back after the run), kmemleak's own messages are captured separately.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toRunOptions } from '../../src/cli/parse-run.js';
import type { RunOptions } from '../../src/wasm/runtime/options.js';
import { runModule, type RunResult, type RunSession } from '../../src/wasm/runtime/run.js';

export const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/runtime/${name}`, import.meta.url));
export const example = (name: string): string => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));
export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'kml-rt-'));

export interface Ran { result: RunResult; err: string; out: string; progErr: string }

export async function run(module: string, args: string[] = [], o: Partial<RunOptions> = {}, stdin?: string, onStart?: (s: RunSession) => void): Promise<Ran> {
  const dir = tempDir();
  const outPath = join(dir, 'stdout');
  const errPath = join(dir, 'stderr');
  const out = openSync(outPath, 'w+');
  const perr = openSync(errPath, 'w+');
  let inFd: number | undefined;
  if (stdin !== undefined) {
    writeFileSync(join(dir, 'stdin'), stdin);
    inFd = openSync(join(dir, 'stdin'), 'r');
  }
  let err = '';
  try {
    // Every object in the exit text (--report-objects): these tests check what is detected; the
    // per-site exit report has its own tests (test/triage/run.test.ts).
    const opts: RunOptions = { ...toRunOptions(module, args, { dir: [], env: [] }, {}), reportObjects: true, ...o };
    const result = await runModule(opts, { err: (t) => { err += t; }, stdout: out, stderr: perr, ...(inFd !== undefined ? { stdin: inFd } : {}), ...(onStart ? { onStart } : {}) });
    return { result, err, out: readFileSync(outPath, 'utf8'), progErr: readFileSync(errPath, 'utf8') };
  } finally {
    closeSync(out);
    closeSync(perr);
    if (inFd !== undefined) closeSync(inFd);
  }
}

/** The objects of a text report: size and function names of the backtrace. */
export function reported(err: string): Array<{ size: number; fns: string[] }> {
  const out: Array<{ size: number; fns: string[] }> = [];
  for (const block of err.split(/^unreferenced object /m).slice(1)) {
    const size = Number(/\(size (\d+)\)/.exec(block)![1]);
    const bt = block.split(/backtrace \(crc [0-9a-f]{8}\):\n/)[1] ?? '';
    const fns = bt.split('\n').map((l) => /^    (\S+?)\+0x/.exec(l)?.[1]).filter((f): f is string => !!f);
    out.push({ size, fns });
  }
  return out;
}
