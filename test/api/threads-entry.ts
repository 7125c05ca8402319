/**
 * A host program for threads.test.ts, run as a child process (bundled by the test): a program that
 * hangs blocks its thread in Atomics.wait, where no in-process timeout can fire.
 * Loads test/fixtures/emscripten-pthread through kmemleak.emscripten() and runs its main either
 * inside the factory (argv "auto", as the glue does by default) or after the factory returned
 * ("later": noInitialRun, then callMain). Lines starting "host:" on stderr are this host's; the
 * program's stdout and exit status are the program's.
 */
import { readFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { emscripten, type KmemleakHandle } from '../../src/api/index.js';

const dir = process.argv[2]!;
const mode = process.argv[3] ?? 'auto';
const require = createRequire(import.meta.url);
const createThreads = require(`${dir}/threads.js`) as (arg: object) => Promise<{ callMain(args: string[]): void }>;

let k: KmemleakHandle | null = null;
const host = (line: string): void => { writeSync(2, `host: ${line}\n`); };

async function main(): Promise<void> {
  const { module, kmemleak } = await emscripten(createThreads, {
    wasm: readFileSync(`${dir}/threads.wasm`), scan: 'off', minAgeMs: 0,
    moduleArg: {
      noInitialRun: mode === 'later',
      // Called by the glue's exit() before it ends the process with main's status.
      onExit: (code: number) => host(`exit ${code}, leaks ${k ? k.leaks().length : 'no handle'}`),
    },
  });
  k = kmemleak;
  host(`factory returned, leaks ${k.leaks().length}`);
  if (mode === 'later') module.callMain([]);
}
main().catch((e) => { host(`error ${e instanceof Error ? e.message : String(e)}`); process.exitCode = 70; });
