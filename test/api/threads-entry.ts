/**
 * A host program for threads.test.ts and bench/threads-stress.mjs, run as a child process
 * (bundled by its caller): a program that hangs blocks its thread in Atomics.wait, where no
 * in-process timeout can fire.
 *   argv: FIXTURE_DIR NAME MODE [PROGRAM_ARGS] [MIN_AGE_MS]   (PROGRAM_ARGS: comma-separated)
 * Loads NAME.js/NAME.wasm (an Emscripten -pthread build) through kmemleak.emscripten() and runs
 * its main either inside the factory (MODE "auto", as the glue does by default) or after the
 * factory returned ("later": noInitialRun, then callMain). At exit (the glue's onExit, inside the
 * program's exit path) it runs the exit scan and prints each leak on a "host:" line:
 *   host: leak SIZE COMM PID FRAME<FRAME<...
 * The engine's exitScan is called directly: the handle's exitScan() waits for a safe point, and
 * the process ends inside wasm. Lines starting "host:" on stderr are this host's, "kmemleak:"
 * lines the detector's; the program's stdout and exit status are the program's.
 */
import { readFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { emscripten, type KmemleakHandle } from '../../src/api/index.js';

const [dir, name, mode, arg, minAge] = process.argv.slice(2) as [string, string, string, string | undefined, string | undefined];
const require = createRequire(import.meta.url);
const factory = require(`${dir}/${name}.js`) as (arg: object) => Promise<{ callMain(args: string[]): void }>;

let k: KmemleakHandle | null = null;
const host = (line: string): void => { writeSync(2, `host: ${line}\n`); };
const args = arg ? arg.split(',') : [];

function atExit(code: number): void {
  if (!k) { host(`exit ${code}, leaks no handle`); return; }
  const n = k.engine.exitScan();
  host(`exit ${code}, exit scan ${n}`);
  for (const l of k.leaks()) {
    host(`leak ${l.size} ${l.comm} ${l.pid} ${l.backtrace.map((f) => f.function ?? '?').join('<')}`);
  }
}

async function main(): Promise<void> {
  const { module, kmemleak } = await emscripten(factory, {
    wasm: readFileSync(`${dir}/${name}.wasm`), scan: 'off', minAgeMs: Number(minAge ?? 0),
    log: (line) => { writeSync(2, `${line}\n`); },
    moduleArg: { noInitialRun: mode === 'later', arguments: args, onExit: atExit },
  });
  k = kmemleak;
  host(`factory returned, leaks ${k.leaks().length}`);
  if (mode === 'later') module.callMain(args);
}
main().catch((e) => { host(`error ${e instanceof Error ? e.message : String(e)}`); process.exitCode = 70; });
