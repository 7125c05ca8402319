/**
 * A host program for threads.test.ts, exit-report.test.ts and bench/threads-stress.mjs, run as a
 * child process (bundled by its caller): a program that hangs blocks its thread in Atomics.wait,
 * where no in-process timeout can fire.
 *   argv: FIXTURE_DIR NAME MODE [PROGRAM_ARGS] [MIN_AGE_MS] [REPORT]   (PROGRAM_ARGS: comma-separated)
 * Loads NAME.js (or NAME.cjs) and NAME.wasm (an Emscripten build, -pthread or not) through
 * kmemleak.emscripten() and runs its main either inside the factory (MODE "auto", as the glue
 * does by default) or after the factory returned ("later": noInitialRun, then callMain). At exit
 * the public `exitReport` option runs the exit scan inside the program's exit path: REPORT "text"
 * lets it write its text (through the log, to stderr); otherwise its callback prints
 *   host: exit report STATUS, exit scan N
 *   host: leak SIZE COMM PID FRAME<FRAME<...      (one per leak)
 * and then the host's own onExit prints "host: exit STATUS" (the user's onExit still runs, after).
 * Lines starting "host:" on stderr are this host's, "kmemleak:" lines the detector's; the
 * program's stdout and exit status are the program's.
 */
import { existsSync, readFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { emscripten, type ExitReport } from '../../src/api/index.js';

const [dir, name, mode, arg, minAge, report] = process.argv.slice(2) as [string, string, string, string | undefined, string | undefined, string | undefined];
const require = createRequire(import.meta.url);
const glue = existsSync(`${dir}/${name}.js`) ? `${dir}/${name}.js` : `${dir}/${name}.cjs`;
const factory = require(glue) as (arg: object) => Promise<{ callMain(args: string[]): void }>;

const host = (line: string): void => { writeSync(2, `host: ${line}\n`); };
const args = arg ? arg.split(',') : [];

function printReport(r: ExitReport): void {
  host(`exit report ${r.status}, exit scan ${r.newLeaks}`);
  for (const l of r.leaks) {
    host(`leak ${l.size} ${l.comm} ${l.pid} ${l.backtrace.map((f) => f.function ?? '?').join('<')}`);
  }
}

async function main(): Promise<void> {
  const { module, kmemleak: k } = await emscripten(factory, {
    wasm: readFileSync(`${dir}/${name}.wasm`), scan: 'off', minAgeMs: Number(minAge ?? 0),
    log: (line) => { writeSync(2, `${line}\n`); },
    exitReport: report === 'text' ? true : printReport,
    moduleArg: { noInitialRun: mode === 'later', arguments: args, onExit: (code: number) => host(`exit ${code}`) },
  });
  host(`factory returned, leaks ${k.leaks().length}`);
  if (mode === 'later') module.callMain(args);
}
main().catch((e) => { host(`error ${e instanceof Error ? e.message : String(e)}`); process.exitCode = 70; });
